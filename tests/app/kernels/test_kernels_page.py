"""AppTest runs of the Kernel playground page and its kernel editor widget."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.core.records import TrainedModel
from cnnviz.kernels.bank import CUSTOM
from cnnviz.kernels.ops import PipelineResult
from cnnviz.kernels.presets import preset_kernel
from cnnviz.ui.state import SESSION_MODEL_KEY
from tests.support.apptest import app_test

RESULT_KEY = "kernels_last_result"


def _edit(at: AppTest, grid: str, row: int, col: int, text: object) -> None:
    """Type ``text`` into a data_editor cell the way the browser reports it (edits keyed by row, column name)."""
    at.session_state[grid] = {"edited_rows": {row: {str(col + 1): text}}, "added_rows": [], "deleted_rows": []}


def _result(at: AppTest) -> PipelineResult:
    result = at.session_state[RESULT_KEY]
    assert isinstance(result, PipelineResult)
    return result


def _markdown(at: AppTest) -> str:
    return "\n".join(str(element.value) for element in at.markdown)


@pytest.fixture
def page() -> AppTest:
    at = app_test("pages/kernels.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_starts_with_the_tutorial_experiment(page: AppTest) -> None:
    result = _result(page)
    assert result.conv.shape == (4, 26, 26)
    np.testing.assert_array_equal(result.kernels[0], preset_kernel("Line: diagonal (\\)"))
    text = _markdown(page)
    assert "output height = ⌊(28 + 2×0 − 3) / 1⌋ + 1 = **26**" in text
    assert "cross-correlation" in " ".join(str(c.value) for c in page.caption)
    assert "Output at row 13, column 13:" in text
    # The explained value is the value in the map.
    assert f"**{result.biased[0, 13, 13]:.4g}**" in text
    assert page.selectbox(key="kernels_input_dataset").value == "mnist"


def test_every_widget_has_help(page: AppTest) -> None:
    for kind in ("selectbox", "slider", "radio", "checkbox", "number_input", "select_slider", "button", "toggle"):
        for widget in getattr(page, kind):
            assert widget.help, f"{kind} {widget.label!r} has no help"


def test_choose_a_preset(page: AppTest) -> None:
    page.selectbox(key="kernel_preset_0").set_value("Sobel x (vertical edges)").run()
    assert not page.exception
    np.testing.assert_array_equal(_result(page).kernels[0], preset_kernel("Sobel x (vertical edges)"))
    # The grid restarts with the preset's numbers.
    assert page.session_state["kernel_bank"].revisions[0] == 1


def _pipeline_rows(at: AppTest) -> list[str]:
    """The element id of each kernel's pipeline figure: the browser draws a figure again only when its id changes."""
    charts = {element.key: element.proto.id for element in at.get("plotly_chart")
              if (element.key or "").startswith("kernels_pipeline_row_")}
    return [charts[f"kernels_pipeline_row_{index}"] for index in range(len(charts))]


def test_edit_a_cell(page: AppTest) -> None:
    before = _pipeline_rows(page)
    _edit(page, "kernel_grid_0_0", 1, 1, "5")
    page.run()
    assert not page.exception and not page.error
    assert _result(page).kernels[0][1, 1] == 5.0
    assert page.selectbox(key="kernel_preset_0").value == CUSTOM
    # Only kernel 1's row of the pipeline is a new figure; the other three are the same elements as before.
    after = _pipeline_rows(page)
    assert len(after) == 4 and after[0] != before[0] and after[1:] == before[1:]


@pytest.mark.parametrize(
    "typed,message",
    [("abc", "not a number"), ("", "is empty"), (None, "is empty"), ("nan", "NaN"), ("inf", "infinite")],
)
def test_bad_cell_explains_and_keeps_the_previous_kernel(page: AppTest, typed: object, message: str) -> None:
    _edit(page, "kernel_grid_0_0", 0, 2, typed)
    page.run()
    assert not page.exception
    errors = " ".join(str(e.value) for e in page.error)
    assert "row 1, column 3" in errors and message in errors and "previous values" in errors
    np.testing.assert_array_equal(_result(page).kernels[0], preset_kernel("Line: diagonal (\\)"))


def test_change_size_and_bank(page: AppTest) -> None:
    page.radio(key="kernel_size").set_value(5).run()
    page.slider(key="kernel_count").set_value(2).run()
    assert not page.exception
    result = _result(page)
    assert result.kernels.shape == (2, 5, 5) and result.conv.shape == (2, 24, 24)
    page.checkbox(key="kernel_normalise").check().run()
    np.testing.assert_allclose(np.abs(_result(page).kernels).sum(axis=(1, 2)), [1.0, 1.0])


def test_change_stride_and_padding(page: AppTest) -> None:
    page.select_slider(key="kernels_pipe_stride").set_value(2).run()
    assert _result(page).conv.shape == (4, 13, 13)
    page.radio(key="kernels_pipe_padding").set_value("same").run()
    assert _result(page).conv.shape == (4, 14, 14)
    assert "'same' padding chooses the zeros" in _markdown(page)
    page.radio(key="kernels_pipe_padding").set_value("zeros").run()
    page.number_input(key="kernels_pipe_pad_width").set_value(3).run()
    assert not page.exception
    assert _result(page).conv.shape == (4, 16, 16)  # floor((28 + 6 - 3) / 2) + 1


def test_change_bias_activation_and_pooling(page: AppTest) -> None:
    page.number_input(key="kernels_pipe_bias").set_value(-1.0).run()
    page.selectbox(key="kernels_pipe_activation").set_value("threshold").run()
    page.number_input(key="kernels_pipe_threshold").set_value(2.0).run()
    result = _result(page)
    np.testing.assert_array_equal(result.biased, result.conv - 1.0)
    assert set(np.unique(result.activated)) <= {0.0, 1.0}
    page.selectbox(key="kernels_pipe_pool").set_value("max").run()
    page.select_slider(key="kernels_pipe_pool_size").set_value(3).run()
    assert not page.exception
    result = _result(page)
    assert result.pooled is not None and result.pooled.shape == (4, 8, 8)
    assert "pooled height = ⌊(26 − 3) / 3⌋ + 1 = **8**" in _markdown(page)
    assert "Pooled value at row" in _markdown(page)
    page.selectbox(key="kernels_pipe_pool").set_value("min").run()
    assert _result(page).config.pool_mode == "min"


def test_sliders_pick_the_explained_pixel(page: AppTest) -> None:
    page.slider(key="kernels_conv_row").set_value(5).run()
    page.slider(key="kernels_conv_col").set_value(20).run()
    result = _result(page)
    assert "Output at row 5, column 20:" in _markdown(page)
    assert f"**{result.biased[0, 5, 20]:.4g}**" in _markdown(page)


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_an_image_and_bad_uploads(page: AppTest) -> None:
    page.radio(key="kernels_input_source").set_value("Upload an image").run()
    assert not page.exception
    picture = np.zeros((200, 100), dtype=np.uint8)
    picture[:, 40:60] = 255
    page.file_uploader(key="kernels_input_upload").set_value(("bar.png", _png(picture), "image/png")).run()
    assert not page.exception
    first = _result(page)
    assert first.image.shape == (64, 32)  # longest side scaled to 64
    # Not an image: a clear message, the previous picture kept.
    page.file_uploader(key="kernels_input_upload").set_value(("notes.png", b"hello, not a picture", "image/png")).run()
    assert not page.exception
    assert page.error and "previous picture" in " ".join(str(c.value) for c in page.caption)
    assert _result(page).image.shape == (64, 32)


def test_a_first_upload_that_is_no_picture_gets_only_its_error(page: AppTest) -> None:
    """The learner did upload: "Upload a picture to apply your kernels to it" under the error read as if not."""
    page.radio(key="kernels_input_source").set_value("Upload an image").run()
    assert any("Upload a picture" in str(info.value) for info in page.info)  # nothing uploaded yet: the hint
    page.file_uploader(key="kernels_input_upload").set_value(("notes.png", b"hello, not a picture", "image/png")).run()
    assert not page.exception
    assert ["not a picture" in str(error.value) for error in page.error] == [True]
    assert not any("Upload a picture" in str(info.value) for info in page.info), [i.value for i in page.info]


def test_kernel_larger_than_image_keeps_previous_result(page: AppTest) -> None:
    page.radio(key="kernels_input_source").set_value("Upload an image").run()
    page.file_uploader(key="kernels_input_upload").set_value(("tiny.png", _png(np.eye(4) * 255), "image/png")).run()
    assert _result(page).image.shape == (4, 4)
    page.radio(key="kernel_size").set_value(5).run()
    assert not page.exception
    errors = " ".join(str(e.value) for e in page.error)
    assert "larger than the input" in errors
    assert _result(page).kernels.shape[1] == 3  # the previous (3x3) result is still shown


def test_latest_sketch_as_input(page: AppTest) -> None:
    page.radio(key="kernels_input_source").set_value("Latest sketch").run()
    assert any("Sketch page" in str(info.value) for info in page.info)
    sketch = np.zeros((28, 28), dtype=np.float32)
    sketch[5:20, 14] = 1.0
    page.session_state["cnnviz_latest_sketch"] = sketch
    page.run()
    np.testing.assert_array_equal(_result(page).image, sketch)


def test_learned_kernels_load_into_editor(page: AppTest, tiny_model) -> None:
    page.session_state[SESSION_MODEL_KEY] = TrainedModel(
        model=tiny_model, dataset="mnist", class_names=tuple(str(i) for i in range(10))
    )
    page.toggle(key="kernels_show_learned").set_value(True).run()
    assert not page.exception, [e.value for e in page.exception]
    page.selectbox(key="kernels_learned_pick").set_value(2)
    page.selectbox(key="kernels_learned_slot").set_value(1)
    page.button(key="kernels_learned_load").click().run()
    assert not page.exception
    expected = tiny_model.get_layer("conv_1").get_weights()[0][:, :, 0, 2]
    np.testing.assert_allclose(_result(page).kernels[1], expected)
    assert page.selectbox(key="kernel_preset_1").value == "Learned #3"


def test_settings_and_kernels_survive_a_visit_to_another_page() -> None:
    at = app_test("app.py").run()
    at.switch_page("pages/kernels.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.select_slider(key="kernels_pipe_stride").set_value(2).run()
    _edit(at, "kernel_grid_0_0", 0, 0, "7")
    at.run()
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/kernels.py").run()
    assert not at.exception
    assert at.select_slider(key="kernels_pipe_stride").value == 2
    assert _result(at).kernels[0][0, 0] == 7.0


def editor_app() -> None:
    import numpy as np
    import streamlit as st

    from cnnviz.kernels.editor import kernel_editor, load_kernel

    st.button("load 5x5", key="load", on_click=load_kernel, args=("ed", 5, np.ones((5, 5))))
    bank = kernel_editor("ed")
    st.text(f"bank {bank.shape}")


def test_kernel_editor_widget_alone_and_loading_a_5x5_kernel() -> None:
    at = AppTest.from_function(editor_app, default_timeout=60).run()
    assert not at.exception
    assert at.text[0].value == "bank (4, 3, 3)"
    at.button(key="load").click().run()
    assert not at.exception
    # Loading a 5x5 kernel into slot 6 switches the bank to 5x5 and grows it to 6 kernels.
    assert at.text[0].value == "bank (6, 5, 5)"
    assert at.radio(key="ed_size").value == 5 and at.slider(key="ed_count").value == 6


def _click(at: AppTest, chart: str, row: int | None, col: int | None) -> None:
    """Simulate what st.plotly_chart(on_select="rerun") stores after a click (or a cleared selection)."""
    points = [] if row is None else [{"x": col, "y": row, "curve_number": 1}]
    at.session_state[chart] = {"selection": {"points": points, "point_indices": [], "box": [], "lasso": []}}


def test_clicking_the_output_map_moves_the_explained_pixel(page: AppTest) -> None:
    _click(page, "kernels_conv_chart", 4, 3)
    page.run()
    assert not page.exception
    assert "Output at row 4, column 3:" in _markdown(page)
    assert page.slider(key="kernels_conv_row").value == 4
    # The sliders still work after a click, and clicking the same pixel again (after Plotly cleared
    # the selection) jumps back to it.
    page.slider(key="kernels_conv_row").set_value(10).run()
    assert "Output at row 10, column 3:" in _markdown(page)
    _click(page, "kernels_conv_chart", None, None)
    page.run()
    _click(page, "kernels_conv_chart", 4, 3)
    page.run()
    assert "Output at row 4, column 3:" in _markdown(page)


def test_clicking_the_pooled_map_explains_its_window(page: AppTest) -> None:
    page.selectbox(key="kernels_pipe_pool").set_value("avg").run()
    _click(page, "kernels_pool_chart", 2, 5)
    page.run()
    assert not page.exception
    result = _result(page)
    assert result.pooled is not None
    text = _markdown(page)
    assert "Pooled value at row 2, column 5:" in text
    window = result.activated[0, 4:6, 10:12]
    assert f"**{window.mean():.4g}**" in text


def _edit_all(at: AppTest, grid: str, text: str, size: int = 3) -> None:
    rows = {row: {str(col + 1): text for col in range(size)} for row in range(size)}
    at.session_state[grid] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}


def _chart(at: AppTest, key: str) -> dict:
    import json

    (chart,) = [element for element in at.get("plotly_chart") if element.proto.id.endswith(key) or key in element.key]
    return json.loads(chart.proto.spec)


def test_a_hostile_kernel_cell_is_echoed_as_typed_not_as_markdown(page: AppTest) -> None:
    _edit(page, "kernel_grid_0_0", 0, 0, "**bold** [x](https:evil.example)")
    page.run()
    (error,) = [str(e.value) for e in page.error]
    # Every Markdown character is escaped: no bold text and no link can render.
    assert r"\*\*bold\*\* \[x\]\(https\:evil\.example\)" in error
    assert "**bold**" not in error and "](" not in error


def test_an_uploaded_file_name_is_not_html_in_the_image_title(page: AppTest) -> None:
    page.radio(key="kernels_input_source").set_value("Upload an image").run()
    name = '<b>x</b><a href="https://evil.example">y</a>.png'
    page.file_uploader(key="kernels_input_upload").set_value((name, _png(np.eye(8) * 255), "image/png")).run()
    assert not page.exception
    title = _chart(page, "kernels_input_plot")["layout"]["title"]["text"]
    assert "<" not in title and "&lt;b&gt;x&lt;/b&gt;" in title


def test_an_overflowing_kernel_says_so_and_a_huge_one_too(page: AppTest) -> None:
    _edit_all(page, "kernel_grid_0_0", "1e308")
    page.run()
    assert not page.exception and not page.error
    warnings = " ".join(str(w.value) for w in page.warning)
    assert "overflowed" in warnings
    assert not np.all(np.isfinite(_result(page).conv[0]))
    _edit_all(page, "kernel_grid_0_0", "1e9")
    page.run()
    warnings = " ".join(str(w.value) for w in page.warning)
    assert "huge" in warnings and "overflowed" not in warnings


def test_a_5x5_kernel_keeps_the_explained_pixel_where_it_was(page: AppTest) -> None:
    page.slider(key="kernels_conv_row").set_value(5).run()
    page.slider(key="kernels_conv_col").set_value(20).run()
    page.radio(key="kernel_size").set_value(5).run()
    assert not page.exception
    # 26x26 -> 24x24: the same relative place, not (0, 0) where every product is 0.
    assert (page.slider(key="kernels_conv_row").value, page.slider(key="kernels_conv_col").value) == (5, 18)
    assert "Output at row 5, column 18:" in _markdown(page)


def test_the_animation_slides_the_chosen_kernel_and_steps(page: AppTest) -> None:
    assert _markdown(page).count("Watch one kernel at work") == 1
    page.toggle(key="kernels_animate").set_value(True).run()
    assert not page.exception, [e.value for e in page.exception]
    figure = _chart(page, "kernels_animation_plot")
    assert len(figure["frames"]) == 26 * 26  # one step per output position of the 28x28 digit
    assert figure["layout"]["sliders"][0]["active"] == 0
    page.button(key="kernels_anim_next").click().run()
    page.button(key="kernels_anim_next").click().run()
    page.button(key="kernels_anim_back").click().run()
    figure = _chart(page, "kernels_animation_plot")
    assert figure["layout"]["sliders"][0]["active"] == 1
    result = _result(page)
    assert f"= {result.conv[0, 0, 1]:.4g}" in figure["layout"]["sliders"][0]["steps"][1]["label"]
    # Stride 2 and pooling: fewer steps, and the pooling window animates the same way.
    page.select_slider(key="kernels_pipe_stride").set_value(2).run()
    page.selectbox(key="kernels_pipe_pool").set_value("max").run()
    assert len(_chart(page, "kernels_animation_plot")["frames"]) == 13 * 13
    page.radio(key="kernels_anim_stage").set_value("Pooling").run()
    assert not page.exception
    assert len(_chart(page, "kernels_animation_plot")["frames"]) == 6 * 6


def test_a_big_upload_is_animated_scaled_down_and_says_so(page: AppTest) -> None:
    page.radio(key="kernels_input_source").set_value("Upload an image").run()
    page.select_slider(key="kernels_input_resolution").set_value(96).run()
    picture = (np.random.default_rng(0).random((96, 96)) * 255).astype(np.uint8)
    page.file_uploader(key="kernels_input_upload").set_value(("big.png", _png(picture), "image/png")).run()
    page.toggle(key="kernels_animate").set_value(True).run()
    assert not page.exception
    assert len(_chart(page, "kernels_animation_plot")["frames"]) == 26 * 26
    assert any("96×96" in str(c.value) and "scaled down to 28×28" in str(c.value) for c in page.caption)


def _inside_link(**changes: object) -> object:
    from cnnviz.ui.links import Link

    image = np.zeros((28, 28))
    image[6:22, 12:16] = 1.0  # a vertical bar
    payload: dict[str, object] = {
        "kernel": [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]],
        "bias": 0.5,
        "image": image,
        "layer": "conv_1",
        "filter": 3,
        "test_index": 7,
        "stride": 1,
        "padding": "same",
        "activation": "relu",
    }
    payload.update(changes)
    return Link(page="pages/kernels.py", payload=payload, origin="pages/inside.py")


def test_a_kernel_linked_from_inside_is_applied_to_the_same_image() -> None:
    from cnnviz.ui.links import LINK_KEY

    at = app_test("pages/kernels.py")
    link = _inside_link()
    at.session_state[LINK_KEY] = link
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    result = _result(at)
    assert result.kernels.shape == (1, 3, 3)  # the linked kernel alone
    np.testing.assert_array_equal(result.kernels[0], np.array(link.payload["kernel"]))
    np.testing.assert_array_equal(result.image, link.payload["image"])
    assert (result.config.bias, result.config.padding, result.config.activation) == (0.5, "same", "relu")
    assert result.conv.shape == (1, 28, 28)
    assert at.radio(key="kernels_input_source").value == "From Inside"
    assert at.selectbox(key="kernel_preset_0").value == "Inside: conv_1, filter 3"
    assert any("Opened from Inside" in info.value for info in at.info)
    assert [b.label for b in at.button if b.label == "Back to Inside"]
    # Read once: the next run keeps the learner's edits, and 'From Inside' stays offered.
    at.number_input(key="kernels_pipe_bias").set_value(-1.0).run()
    assert _result(at).config.bias == -1.0
    assert not any("Opened from Inside" in info.value for info in at.info)
    at.radio(key="kernels_input_source").set_value("Dataset sample").run()
    assert _result(at).image.shape == (28, 28) and not np.array_equal(_result(at).image, link.payload["image"])
    assert "From Inside" in at.radio(key="kernels_input_source").options


def test_a_malformed_link_is_ignored_with_a_note() -> None:
    from cnnviz.ui.links import LINK_KEY

    at = app_test("pages/kernels.py")
    at.session_state[LINK_KEY] = _inside_link(kernel=[[1.0, 2.0], [3.0, 4.0]])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("could not be used" in warning.value for warning in at.warning)
    assert _result(at).kernels.shape == (4, 3, 3)  # the page as it starts
    assert "From Inside" not in at.radio(key="kernels_input_source").options
