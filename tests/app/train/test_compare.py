"""The Train page's run comparison: two runs in the session -> what changed, the settings side by side, both curves."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from cnnviz.core.records import RunRecord
from cnnviz.train.loop import TrainConfig
from cnnviz.train.spec import ModelSpec
from cnnviz.ui.state import RUNS_KEY
from tests.support.apptest import APP_TIMEOUT_S


def _compare_script():  # no annotations: the body runs as a script
    from cnnviz.train.compare_widgets import compare_two_runs

    compare_two_runs()


def _run(run_id: int, dropout: float, train: float, val: float) -> RunRecord:
    return RunRecord(run_id=run_id, dataset="digits", spec=ModelSpec(dropout=dropout).to_dict(),
                     config=TrainConfig(epochs=2).to_dict(), status="finished",
                     history={"loss": [1.0, 0.5], "accuracy": [0.8, train], "val_loss": [1.0, 0.6],
                              "val_accuracy": [0.8, val]})


def _app(runs: list[RunRecord]) -> AppTest:
    app = AppTest.from_function(_compare_script, default_timeout=APP_TIMEOUT_S)
    app.session_state[RUNS_KEY] = runs
    app.run()
    assert not app.exception, [error.value for error in app.exception]
    return app


def test_two_runs_show_what_changed_side_by_side() -> None:
    app = _app([_run(1, 0.3, 0.950, 0.930), _run(2, 0.5, 0.942, 0.934)])
    said = " ".join(element.value.replace("\\", "") for element in app.markdown)
    assert "**What changed:** dropout 0.3 -> 0.5: validation accuracy +0.4 points, train-validation gap -1.2 points." \
        in said
    table = app.dataframe[0].value
    assert list(table.columns) == ["Setting", "Run 1", "Run 2", "Changed"]
    assert table.iloc[0].tolist() == ["Dropout", "0.3", "0.5", True]  # the change first, then the shared settings
    assert not table["Changed"].iloc[1:].any()
    assert len(table) > 20  # every setting, the shared ones too
    app.toggle(key="train_compare_two_only_changes").set_value(True).run()
    assert app.dataframe[0].value["Setting"].tolist() == ["Dropout"]
    assert len(app.get("plotly_chart")) == 2  # accuracy and loss, both runs overlaid


def test_the_same_run_twice_and_a_single_run_say_what_to_do() -> None:
    app = _app([_run(1, 0.3, 0.95, 0.93), _run(2, 0.5, 0.94, 0.93), _run(3, 0.5, 0.94, 0.94)])
    app.selectbox(key="train_compare_two_first").set_value(3).run()
    assert "Pick two different runs" in app.info[0].value
    single = _app([_run(1, 0.3, 0.95, 0.93)])
    assert "Train a second run" in single.caption[0].value and not single.dataframe
