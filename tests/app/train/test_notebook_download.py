"""The Train page offers the notebook beside the script, before any training."""

from __future__ import annotations

from tests.support.apptest import app_test


def test_the_code_tab_offers_the_script_and_the_notebook() -> None:
    app = app_test("pages/train.py").run()
    assert not app.exception, [error.value for error in app.exception]
    labels = [button.proto.label for button in app.get("download_button")]
    assert "Download train_cnn.py" in labels and "Download train_cnn.ipynb" in labels
    help_text = next(button.proto.help for button in app.get("download_button")
                     if button.proto.label == "Download train_cnn.ipynb")
    assert "Jupyter notebook" in help_text
