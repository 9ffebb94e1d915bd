"""The Kernels page's share link (AppTest): the bank, the pipeline and the image round-trip through the URL."""

from __future__ import annotations

import numpy as np

from cnnviz.kernels.presets import preset_kernel
from cnnviz.kernels.share import KERNELS_TABLE
from tests.support.apptest import app_test

#: Every setting away from its default (the dataset sample as input; the upload's settings are tested below).
QUERY = {
    "ksize": "5", "kcount": "8", "knorm": "1", "k1": "sobel-x", "k2": "box-blur", "k3": "identity", "k4": "emboss",
    "k5": "laplacian", "k6": "sharpen", "k7": "outline", "k8": "2_-1_-1_-1_2_-1_-1_-1_2",
    "stride": "2", "pad": "zeros", "padw": "2", "bias": "-1.5", "act": "threshold", "thr": "1.5", "pool": "avg",
    "psize": "3", "pstride": "1", "data": "digits", "cls": "7", "img": "4", "anim": "1",
}


def _open(query: dict[str, str]):
    app = app_test("pages/kernels.py")
    app.query_params.update(query)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_every_setting_round_trips_through_the_url():
    app = _open(QUERY)
    values, ignored = KERNELS_TABLE.decode(QUERY)
    assert ignored == []
    widgets = {key: value for key, value in values.items() if not key.startswith("kernel_")}
    assert {key: app.session_state[key] for key in widgets} == widgets
    bank = app.session_state["kernel_bank"]
    assert (bank.size, bank.count, bank.normalise) == (5, 8, True)
    np.testing.assert_array_equal(bank.kernels[0], preset_kernel("Sobel x (vertical edges)", 5))
    assert bank.kernels[7][1:4, 1:4].tolist() == [[2, -1, -1], [-1, 2, -1], [-1, -1, 2]]
    # The editor shows the linked bank: its size, count and each kernel's preset box.
    assert app.radio(key="kernel_size").value == 5 and app.slider(key="kernel_count").value == 8
    assert app.selectbox(key="kernel_preset_1").value == "Box blur"
    # The page's link is the one it was opened with (the 3x3 weights now written as the 5x5 bank holds them).
    assert {name: text for name, text in app.query_params.items() if name != "k8"} == {
        name: text for name, text in QUERY.items() if name != "k8"}
    assert KERNELS_TABLE.decode(app.query_params)[0]["kernel_k8"] == (0.0,) * 6 + (2.0, -1.0, -1.0, 0.0, 0.0, -1.0,
                                                                                  2.0, -1.0, 0.0, 0.0, -1.0, -1.0,
                                                                                  2.0) + (0.0,) * 6


def test_the_upload_settings_round_trip():
    app = _open({"src": "upload", "res": "48", "inv": "0"})
    assert app.radio(key="kernels_input_source").value == "Upload an image"
    assert app.select_slider(key="kernels_input_resolution").value == 48
    assert app.checkbox(key="kernels_input_invert").value is False
    assert app.query_params == {"src": "upload", "res": "48", "inv": "0"}


def test_an_edit_in_the_playground_updates_the_url():
    app = _open({})
    assert app.query_params == {}
    app.selectbox(key="kernels_pipe_activation").set_value("relu").run()
    app.slider(key="kernel_count").set_value(2).run()
    assert app.query_params == {"kcount": "2", "act": "relu"}
