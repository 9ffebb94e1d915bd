"""The Train page's share link (AppTest): every control round-trips through the URL, a bad link never breaks it."""

from __future__ import annotations

from typing import Any

from cnnviz.core.share import ParamTable
from cnnviz.train.loop import TrainConfig
from cnnviz.train.share import TRAIN_TABLE
from tests.support.apptest import app_test

#: Widgets of the page that are actions or views, not settings of the design or the training.
NOT_SETTINGS = {"train_start", "train_repeat", "train_watch_image", "train_share",
                "train_layer_stack", "train_download_script", "train_download_notebook"}


def _other_value(param: Any) -> str:
    """A URL value other than the default that the control offers."""
    default = param.text(param.default)
    for text in ("4", "3", "5", "2", "1", "0", "0.2", "0.15", "0.5", "valid", "average", "tanh", "sgd", "0.01", "64",
                 "256", "digits", "1_7", "constant"):
        try:
            if text != default and param.text(param.parse(text)) == text:
                return text
        except ValueError:
            continue
    raise AssertionError(f"no other value for {param.name}")


def _every_setting_changed(table: ParamTable) -> dict[str, str]:
    query = {param.name: _other_value(param) for param in table.params}
    # Every block and dense layer shown, a dataset that always loads, and fewer images than it has.
    query.update({"blocks": "4", "dense": "3", "data": "digits", "n": "1000", "val": "0.2", "early": "0"})
    return query


def _state(app, keys) -> dict[str, Any]:
    return {key: app.session_state[key] for key in keys if key in app.session_state}


def test_every_control_round_trips_through_the_url():
    query = _every_setting_changed(TRAIN_TABLE)
    app = app_test("pages/train.py")
    app.query_params.update(query)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    expected, ignored = TRAIN_TABLE.decode(query)
    assert ignored == []
    # Every control shows the link's value...
    assert _state(app, expected) == expected
    # ... the page's link says exactly that (nothing lost, nothing added) ...
    assert app.query_params == query
    # ... and every setting on the page has a place in the link, every place a setting.
    keys = {getattr(widget, "key", None) for widget in app.main} - {None}
    assert set(TRAIN_TABLE.defaults()) <= keys
    assert {key for key in keys if key.startswith("train_")} - set(TRAIN_TABLE.defaults()) <= NOT_SETTINGS

def test_a_changed_control_updates_the_url_and_defaults_leave_it_bare():
    app = app_test("pages/train.py").run()
    assert app.query_params == {}
    app.slider(key="train_epochs").set_value(12).run()
    app.selectbox(key="train_optimizer").set_value("adadelta").run()
    assert app.query_params == {"epochs": "12", "opt": "adadelta"}
    # The copy-link box holds the same link.
    assert "/train?opt=adadelta&epochs=12" in [code.value for code in app.code]


def test_a_hand_edited_link_opens_with_defaults_and_names_what_it_ignored():
    app = app_test("pages/train.py")
    app.query_params.update({"epochs": "999", "b1f": "seven", "lr": "1", "color": "red", "blocks": ""})
    app.run()
    assert not app.exception
    notes = [info.value for info in app.info if "Ignored from the link" in info.value]
    assert notes and all(name in notes[0] for name in ("epochs", "b1f", "color", "blocks"))
    assert app.session_state["train_epochs"] == TrainConfig().epochs and app.session_state["train_lr"] == 1.0
    assert app.query_params == {"lr": "1"}  # the page's own link replaces the broken one


def test_a_rerun_carrying_the_browsers_previous_url_keeps_the_newest_change():
    # Keys pressed faster than the browser applies the page's URL update: the rerun brings an URL the page
    # wrote itself earlier. Reading it back would undo the newest change (lost slider presses in Chromium).
    app = app_test("pages/train.py").run()
    app.slider(key="train_epochs").set_value(12).run()
    app.slider(key="train_epochs").set_value(14).run()
    assert app.query_params == {"epochs": "14"}
    app.slider(key="train_epochs").set_value(16)
    app.query_params.clear()
    app.query_params.update({"epochs": "12"})  # the browser had not applied the URL of epochs 14 yet
    app.run()
    assert app.session_state["train_epochs"] == 16
    assert app.query_params == {"epochs": "16"}
