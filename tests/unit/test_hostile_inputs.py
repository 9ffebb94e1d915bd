"""Property-based tests: hostile values thrown at every public cnnviz function.

The contract (issue 7): NaN and infinite pixels, empty and zero-size arrays, wrong dtypes and
ranks, giant kernels, negative or zero strides, unknown names... each either gives a sensible
result or a ``ValueError`` (or a subclass) whose message is not empty. Any other exception
(TypeError, IndexError, ZeroDivisionError, a TensorFlow error...) fails the test, and so does a
hang (pytest-timeout).

Every call is counted per function; the counts are written to
``test-artifacts/hostile_inputs.json`` for ``tools/reliability_report.py``.

Sizes are kept small on purpose: the machine is shared, and "giant" here means giant for the
function (a 99x99 kernel on a 28x28 image, 10,000 classes), not gigabytes.
"""

from __future__ import annotations

import io
import json
import string
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

pytestmark = [
    pytest.mark.filterwarnings("ignore"),  # NumPy warnings on NaN input are not failures
    pytest.mark.timeout(600),  # a hang fails the test (per-example deadlines flake on a shared 2-core box)
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CALLS: Counter[str] = Counter()
OUTCOMES: dict[str, Counter[str]] = {}

# derandomize: the same examples on every run, so CI never flakes on a newly drawn case.
FAST = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
MODEL = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


#: The module each label's prefix stands for ("spec.layer_table" is cnnviz.train.spec's), for the report: the
#: labels are the short names the functions are imported under below.
MODULES = {
    "augment": "tools.augment",
    "data": "cnnviz.core.datasets",
    "evaluation": "cnnviz.inside.evaluation",
    "explain": "cnnviz.kernels.explain",
    "explore": "cnnviz.data.stats",
    "images": "cnnviz.core.images",
    "inspect": "cnnviz.inside.activations",
    "kernels": "cnnviz.kernels.ops",
    "prediction": "cnnviz.core.predict",
    "preprocess": "cnnviz.sketch.preprocess",
    "presets": "cnnviz.kernels.presets",
    "saliency": "cnnviz.inside.saliency",
    "script": "cnnviz.train.script",
    "spec": "cnnviz.train.spec",
    "store": "cnnviz.core.store",
    "training": "cnnviz.train.loop",
    "uploads": "cnnviz.core.uploads",
}


@pytest.fixture(scope="module", autouse=True)
def _write_counts() -> Any:
    yield
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "hostile_inputs.json"
    previous = json.loads(target.read_text()) if target.is_file() else {}
    for name, outcomes in OUTCOMES.items():
        entry = previous.setdefault(name, {"calls": 0, "ok": 0, "value_error": 0})
        entry["module"] = MODULES[name.split(".", 1)[0]]
        entry["calls"] = CALLS[name]
        entry["ok"] = outcomes["ok"]
        entry["value_error"] = outcomes["value_error"]
    target.write_text(json.dumps(previous, indent=2, sort_keys=True))


def holds(name: str, call: Callable[[], Any], *, also: tuple[type[Exception], ...] = ()) -> Any:
    """Run ``call``; a result or a ValueError with a message is fine; anything else fails.

    ``also`` lists further exception types accepted for this call (only used for passing
    something that is not a model at all, a programming error for which TypeError is right).
    """
    outcomes = OUTCOMES.setdefault(name, Counter())
    try:
        result = call()
    except (ValueError, *also) as error:
        assert str(error).strip(), f"{name} raised {type(error).__name__} without a message"
        outcomes["value_error"] += 1
        CALLS[name] += 1
        return None
    # Counted only once the call has ended: an example hypothesis abandons while drawing an
    # argument (inside the lambda) is not a call.
    outcomes["ok"] += 1
    CALLS[name] += 1
    return result


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------

DTYPES = [np.float32, np.float64, np.float16, np.uint8, np.int64, np.int8, np.bool_]
FLOAT_SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -1.0, 1e30, -1e30, 255.0, 0.5]


@st.composite
def plausible_shapes(draw: st.DrawFn) -> tuple[int, ...]:
    """Shapes that a careless caller could pass: right-ish, empty, or of the wrong rank."""
    return draw(
        st.one_of(
            st.sampled_from(
                [(28, 28), (28, 28, 1), (1, 28, 28), (1, 28, 28, 1), (2, 28, 28), (0, 28, 28), (28, 0), (0,), (),
                 (3, 3), (1, 1), (5, 7), (28, 28, 3), (28, 28, 4), (30, 20, 4), (1,), (28,), (2, 2, 2, 2, 2)]
            ),
            hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=9),
        )
    )


@st.composite
def hostile_arrays(draw: st.DrawFn, shapes: st.SearchStrategy[tuple[int, ...]] | None = None) -> Any:
    """NumPy arrays with NaN/inf/huge values, odd dtypes (object, text, complex, bool) and ranks."""
    shape = draw(shapes if shapes is not None else plausible_shapes())
    kind = draw(st.sampled_from(["numeric", "special-fill", "object", "text", "complex"]))
    if kind == "numeric":
        dtype = np.dtype(draw(st.sampled_from(DTYPES)))
        elements = None
        if dtype.kind == "f":
            elements = st.floats(allow_nan=True, allow_infinity=True, width=dtype.itemsize * 8)
        return draw(hnp.arrays(dtype, shape, elements=elements))
    if kind == "special-fill":
        array = np.full(shape, draw(st.sampled_from(FLOAT_SPECIALS)), dtype=np.float32)
        if array.size:
            array.flat[draw(st.integers(0, array.size - 1))] = draw(st.sampled_from(FLOAT_SPECIALS))
        return array
    if kind == "object":
        return np.full(shape, None, dtype=object)
    if kind == "text":
        return np.full(shape, "x", dtype="<U1")
    return np.zeros(shape, dtype=np.complex64) + 1j


hostile_ints = st.one_of(st.integers(-20, 64), st.sampled_from([0, -1, 10_000]))
hostile_floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -1.0, 1e9]))
hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "../../etc/passwd", "MNIST", "mnist\x00", "nope", "fashion-mnist", " mnist", "con"]),
)
weird_values = st.one_of(
    st.none(), hostile_ints, hostile_floats, hostile_text, st.booleans(), st.lists(st.integers(), max_size=3)
)


def image_28(draw: st.DrawFn) -> np.ndarray:
    """A (28, 28) float32 image with NaN/inf sprinkled in (hostile values, right shape)."""
    return draw(
        hnp.arrays(np.float32, (28, 28), elements=st.floats(allow_nan=True, allow_infinity=True, width=32))
    )


# ---------------------------------------------------------------------------------------------
# cnnviz.kernels.ops
# ---------------------------------------------------------------------------------------------


@FAST
@given(data=st.data())
def test_kernels_array_functions(data: st.DataObject) -> None:
    from cnnviz.kernels import explain, presets
    from cnnviz.kernels import ops as kernels

    x = data.draw(hostile_arrays())
    k = data.draw(hostile_arrays(st.sampled_from([(3, 3), (5, 5), (99, 99), (0, 0), (3,), (3, 3, 1), (2, 3, 3)])))
    stride = data.draw(hostile_ints)
    padding = data.draw(st.one_of(st.sampled_from(["valid", "same", "full", "", None, 1, "VALID"]), hostile_text))
    holds("kernels.validate_image", lambda: kernels.validate_image(x))
    holds("kernels.validate_kernel", lambda: kernels.validate_kernel(x))
    holds("kernels.validate_bank", lambda: kernels.validate_bank(x))
    holds("kernels.to_unit_image", lambda: kernels.to_unit_image(x))
    holds("presets.normalise_kernel", lambda: presets.normalise_kernel(k))
    holds("presets.resize_kernel", lambda: presets.resize_kernel(k, stride))
    holds("kernels.convolve2d", lambda: kernels.convolve2d(x, k, stride=stride, padding=padding))
    holds("kernels.convolve_bank", lambda: kernels.convolve_bank(x, k, stride=stride, padding=padding))
    modes = st.sampled_from(["max", "average", "min", ""])
    holds("kernels.pool2d", lambda: kernels.pool2d(x, size=stride, mode=data.draw(modes)))
    activations = st.sampled_from(["relu", "none", "sigmoid", "tanh", "threshold", "bogus"])
    holds("kernels.apply_activation", lambda: kernels.apply_activation(x, data.draw(activations)))
    holds("kernels.pad_image", lambda: kernels.pad_image(x, (3, 3), stride, padding))
    holds(
        "explain.explain_output",
        lambda: explain.explain_output(
            x, k, data.draw(hostile_ints), data.draw(hostile_ints), stride=stride, padding=padding
        ),
    )
    holds(
        "explain.explain_pool",
        lambda: explain.explain_pool(x, data.draw(hostile_ints), data.draw(hostile_ints), size=stride),
    )


@FAST
@given(
    size=hostile_ints, kernel=hostile_ints, stride=hostile_ints, padding=st.sampled_from(["valid", "same", "x", None])
)
def test_kernels_size_arithmetic(size: int, kernel: int, stride: int, padding: Any) -> None:
    from cnnviz.kernels import explain
    from cnnviz.kernels import ops as kernels

    holds("kernels.conv_output_size", lambda: kernels.conv_output_size(size, kernel, stride, padding))
    holds("kernels.pool_output_size", lambda: kernels.pool_output_size(size, kernel, stride))
    holds("kernels.padding_amounts", lambda: kernels.padding_amounts(size, kernel, stride, padding))
    holds("explain.conv_size_formula", lambda: explain.conv_size_formula(size, kernel, stride, padding))
    holds("explain.pool_size_formula", lambda: explain.pool_size_formula(size, kernel, stride))


@FAST
@given(data=st.data())
def test_kernels_cells_presets_and_pipeline(data: st.DataObject) -> None:
    from cnnviz.kernels import ops as kernels
    from cnnviz.kernels import presets

    typed = st.sampled_from(["1/9", "1e999", "nan", "-inf", "2**99", "__import__('os')", "", " 3 "])
    cell = data.draw(st.one_of(weird_values, typed))
    holds("presets.parse_cell", lambda: presets.parse_cell(cell, 0, 0))
    cells = data.draw(st.lists(st.lists(st.one_of(hostile_text, hostile_floats, st.none()), max_size=6), max_size=6))
    holds("presets.parse_kernel_cells", lambda: presets.parse_kernel_cells(cells))
    holds("presets.preset_kernel", lambda: presets.preset_kernel(data.draw(hostile_text), data.draw(hostile_ints)))
    config = holds(
        "kernels.PipelineConfig",
        lambda: kernels.PipelineConfig(
            stride=data.draw(hostile_ints),
            padding=data.draw(st.sampled_from(["valid", "same", "bogus"])),
            bias=data.draw(hostile_floats),
            activation=data.draw(st.sampled_from(["relu", "none", "bogus"])),
            pool_mode=data.draw(st.sampled_from(["none", "max", "average", "bogus"])),
            pool_size=data.draw(hostile_ints),
        ),
    )
    if config is not None:
        image = data.draw(hostile_arrays())
        bank = data.draw(hostile_arrays(st.sampled_from([(3, 3), (2, 3, 3), (9, 3, 3), (1, 50, 50), (0, 3, 3)])))
        holds("kernels.run_pipeline", lambda: kernels.run_pipeline(image, bank, config))


# ---------------------------------------------------------------------------------------------
# cnnviz.sketch.preprocess, tools.augment, cnnviz.data.stats
# ---------------------------------------------------------------------------------------------


@FAST
@given(data=st.data())
def test_preprocess_functions(data: st.DataObject) -> None:
    from cnnviz.sketch import preprocess

    x = data.draw(hostile_arrays())
    for name in ("ink_bounding_box", "crop_to_ink", "scale_into_box", "centre_of_mass", "place_centred",
                 "place_by_centre_of_mass", "normalise_digit", "check_image", "limit_size",
                 "luminance", "detect_background", "extract_ink", "otsu_threshold", "photo_to_ink",
                 "preprocess_steps", "sketch_to_input"):
        function = getattr(preprocess, name)
        holds(f"preprocess.{name}", lambda function=function: function(x))
    holds("preprocess.framing_for", lambda: preprocess.framing_for(data.draw(hostile_text)))
    holds("preprocess.scale_into_box(box)", lambda: preprocess.scale_into_box(np.ones((5, 5)), data.draw(hostile_ints)))
    holds("preprocess.limit_size(max_side)", lambda: preprocess.limit_size(np.ones((5, 5)), data.draw(hostile_ints)))
    holds("preprocess.sketch_to_input(photo)", lambda: preprocess.sketch_to_input(x, photo=True))


@FAST
@given(data=st.data())
def test_augment_and_explore(data: st.DataObject) -> None:
    from cnnviz.data import stats as explore
    from tools import augment

    images = data.draw(hostile_arrays())
    labels = data.draw(hostile_arrays(st.sampled_from([(0,), (1,), (2,), (3,), (28,), (2, 2)])))
    n = data.draw(hostile_ints)
    rng = np.random.default_rng(0)
    holds("augment.augment_digit", lambda: augment.augment_digit(images, rng))
    holds("augment.augment_dataset",
          lambda: augment.augment_dataset(images, labels, copies=data.draw(st.integers(-2, 2))))
    holds("explore.sample_indices_per_class",
          lambda: explore.sample_indices_per_class(labels, n, data.draw(hostile_ints)))
    holds("explore.montage",
          lambda: explore.montage(images, data.draw(st.integers(-3, 8)), data.draw(st.integers(-3, 8)),
                                  pad=data.draw(st.integers(-3, 5))))
    holds("explore.class_montage",
          lambda: explore.class_montage(images, labels, data.draw(st.integers(-3, 12)), data.draw(st.integers(-3, 8))))
    holds("explore.class_counts", lambda: explore.class_counts(labels, n))
    holds("explore.mean_images", lambda: explore.mean_images(images, labels, n))
    holds("explore.pixel_histogram", lambda: explore.pixel_histogram(images, data.draw(hostile_ints)))


# ---------------------------------------------------------------------------------------------
# cnnviz.inside.evaluation and cnnviz.core.predict (NumPy parts)
# ---------------------------------------------------------------------------------------------


@FAST
@given(data=st.data())
def test_evaluation_numpy_functions(data: st.DataObject) -> None:
    from cnnviz.core import images
    from cnnviz.core import predict as prediction
    from cnnviz.inside import activations as inspect
    from cnnviz.inside import evaluation, saliency

    y_true = data.draw(hostile_arrays(st.sampled_from([(0,), (4,), (5,), (4, 1), ()])))
    y_pred = data.draw(hostile_arrays(st.sampled_from([(0,), (4,), (5,)])))
    probabilities = data.draw(hostile_arrays(st.sampled_from([(4, 10), (4, 3), (0, 10), (10,), (4, 0), (4, 10, 1)])))
    classes = data.draw(st.one_of(st.lists(st.text(max_size=3), max_size=11), st.just("0123456789")))
    num_classes = data.draw(hostile_ints)
    holds("evaluation.confusion_matrix", lambda: evaluation.confusion_matrix(y_true, y_pred, num_classes))
    holds("evaluation.class_metrics", lambda: evaluation.class_metrics(probabilities))
    holds("evaluation.most_confused_pair", lambda: evaluation.most_confused_pair(probabilities))
    holds("evaluation.evaluate_predictions", lambda: evaluation.evaluate_predictions(y_true, probabilities, classes))
    holds("evaluation.pca_2d", lambda: evaluation.pca_2d(probabilities))
    holds("evaluation.sample_indices", lambda: evaluation.sample_indices(y_true, data.draw(hostile_ints)))
    holds("prediction.top_guesses", lambda: prediction.top_guesses(probabilities, classes, k=data.draw(hostile_ints)))
    holds("prediction.is_unsure", lambda: prediction.is_unsure(probabilities, data.draw(hostile_floats)))
    holds("images.to_model_batch", lambda: images.to_model_batch(probabilities))
    holds("images.to_unit", lambda: images.to_unit(probabilities))
    holds("inspect.filter_images", lambda: inspect.filter_images(probabilities, data.draw(hostile_ints)))
    holds("saliency.upsample", lambda: saliency.upsample(probabilities))


# ---------------------------------------------------------------------------------------------
# Functions that take a model: hostile images and hostile "models"
# ---------------------------------------------------------------------------------------------

NOT_MODELS = [None, "model.keras", 3, object(), np.zeros((3, 3))]


@MODEL
@given(data=st.data())
def test_model_functions_with_hostile_images(data: st.DataObject, tiny_model: Any) -> None:
    from cnnviz.core import predict as prediction
    from cnnviz.core.layers import conv_weights
    from cnnviz.inside import activations as inspect
    from cnnviz.inside import evaluation, saliency
    from cnnviz.kernels import presets

    x = data.draw(hostile_arrays())
    layer = data.draw(st.one_of(st.none(), st.sampled_from(["conv_1", "flatten", "nope", ""]), hostile_text))
    class_index = data.draw(st.one_of(st.none(), hostile_ints))
    holds("inspect.compute_activations", lambda: inspect.compute_activations(tiny_model, x))
    holds("inspect.compute_activations(layers)",
          lambda: inspect.compute_activations(tiny_model, np.zeros((28, 28)), [layer]))
    holds("prediction.predict_probabilities", lambda: prediction.predict_probabilities(tiny_model, x))
    holds("evaluation.predict_with_features",
          lambda: evaluation.predict_with_features(tiny_model, x, batch_size=data.draw(st.integers(-2, 600))))
    holds("saliency.gradient_saliency", lambda: saliency.gradient_saliency(tiny_model, x, class_index))
    holds("saliency.grad_cam", lambda: saliency.grad_cam(tiny_model, x, class_index, layer))
    holds("presets.learned_kernels", lambda: presets.learned_kernels(conv_weights(tiny_model)))


@pytest.mark.parametrize("not_a_model", NOT_MODELS, ids=[type(m).__name__ for m in NOT_MODELS])
def test_model_functions_with_things_that_are_not_models(not_a_model: Any) -> None:
    # Not user input (pages always pass a picked model), so a TypeError is acceptable here;
    # AttributeError, IndexError or a TensorFlow error would still fail.
    from cnnviz.core import predict as prediction
    from cnnviz.core.layers import conv_weights
    from cnnviz.inside import activations as inspect
    from cnnviz.inside import evaluation, saliency
    from cnnviz.kernels import presets

    image = np.zeros((28, 28), dtype=np.float32)
    calls = {
        "inspect.inspectable_layers": lambda: inspect.inspectable_layers(not_a_model),
        "inspect.last_conv_layer_name": lambda: inspect.last_conv_layer_name(not_a_model),
        "inspect.compute_activations(model)": lambda: inspect.compute_activations(not_a_model, image),
        "prediction.predict_probabilities(model)": lambda: prediction.predict_probabilities(not_a_model, image),
        "evaluation.predict_with_features(model)": lambda: evaluation.predict_with_features(not_a_model, image[None]),
        "saliency.gradient_saliency(model)": lambda: saliency.gradient_saliency(not_a_model, image),
        "presets.learned_kernels(model)": lambda: presets.learned_kernels(conv_weights(not_a_model)),
    }
    for name, call in calls.items():
        holds(name, call, also=(TypeError,))


# ---------------------------------------------------------------------------------------------
# cnnviz.train.spec and cnnviz.train.loop configuration
# ---------------------------------------------------------------------------------------------

spec_values = st.one_of(hostile_ints, st.sampled_from([0, -1, 99, 1.5, "3", None, True]))


@FAST
@given(data=st.data())
def test_spec_functions(data: st.DataObject) -> None:
    from cnnviz.train import script
    from cnnviz.train import spec as spec_module

    block = holds(
        "spec.ConvBlockSpec",
        lambda: spec_module.ConvBlockSpec(
            filters=data.draw(spec_values),
            kernel_size=data.draw(spec_values),
            stride=data.draw(spec_values),
            padding=data.draw(st.sampled_from(["same", "valid", "bogus", "", None])),
            activation=data.draw(st.sampled_from(["relu", "tanh", "sigmoid", "bogus", None])),
            pooling=data.draw(st.sampled_from(["max", "average", "none", "bogus", None])),
            pool_size=data.draw(spec_values),
        ),
    )
    blocks = (block,) * data.draw(st.integers(0, 6)) if block is not None else ()
    model_spec = holds(
        "spec.ModelSpec",
        lambda: spec_module.ModelSpec(
            conv_blocks=blocks,
            dropout=data.draw(hostile_floats),
            dense_units=tuple(data.draw(st.lists(spec_values, max_size=5))),
        ),
    )
    num_classes = data.draw(st.one_of(hostile_ints, st.just(10)))
    if model_spec is not None:
        holds("spec.validate_spec", lambda: spec_module.validate_spec(model_spec, num_classes))
        holds("spec.layer_table", lambda: spec_module.layer_table(model_spec, num_classes))
        holds("spec.total_params", lambda: spec_module.total_params(model_spec, num_classes))
        holds("script.keras_code",
              lambda: script.keras_code(model_spec, num_classes=num_classes, dataset=data.draw(hostile_text)))
    raw = data.draw(
        st.one_of(
            st.dictionaries(
                st.sampled_from(["conv_blocks", "dropout", "dense_units", "batch_norm", "x"]), weird_values, max_size=5
            ),
            st.none(),
            st.lists(st.integers(), max_size=2),
        )
    )
    holds("spec.ModelSpec.from_dict", lambda: spec_module.ModelSpec.from_dict(raw))


@FAST
@given(data=st.data())
def test_training_configuration(data: st.DataObject) -> None:
    from cnnviz.train import loop as training

    raw = data.draw(
        st.dictionaries(
            st.sampled_from(["optimizer", "learning_rate", "batch_size", "epochs", "train_size", "validation_split",
                             "patience", "seed", "x"]),
            weird_values,
            max_size=6,
        )
    )
    config = holds("training.TrainConfig.from_dict", lambda: training.TrainConfig.from_dict(raw))
    if config is not None:
        holds("training.validate_config", lambda: training.validate_config(config))


def test_build_model_refuses_impossible_specs() -> None:
    from cnnviz.train import spec as spec_module

    tiny_spatial = spec_module.ModelSpec(
        conv_blocks=tuple(spec_module.ConvBlockSpec(kernel_size=7, padding="valid", pooling="max") for _ in range(4))
    )
    holds("spec.build_model", lambda: spec_module.build_model(tiny_spatial))
    holds("spec.build_model(classes)", lambda: spec_module.build_model(spec_module.ModelSpec(), num_classes=0))


# ---------------------------------------------------------------------------------------------
# cnnviz.core.datasets
# ---------------------------------------------------------------------------------------------


@FAST
@given(name=st.one_of(hostile_text, st.none(), st.integers()))
def test_load_dataset_with_unknown_names(name: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    from cnnviz.core.datasets import load_dataset

    assume(name not in ("mnist", "fashion_mnist", "kmnist", "digits"))
    holds("data.load_dataset", lambda: load_dataset(name, allow_download=False))


@FAST
@given(payload=st.one_of(st.binary(max_size=64), st.sampled_from([
    b"", b"\x00\x00\x08\x03" + b"\x00" * 12,
    b"\x00\x00\x08\x03\xff\xff\xff\xff\x00\x00\x00\x1c\x00\x00\x00\x1c", b"\x1f\x8b\x08\x00garbage",
])))
def test_dataset_readers_with_corrupt_files(payload: bytes) -> None:
    import tempfile

    from cnnviz.core.datasets import read_idx, read_npz

    with tempfile.TemporaryDirectory() as folder:
        for suffix in ("-idx3-ubyte", "-idx3-ubyte.gz", ".npz"):
            path = Path(folder) / f"train-images{suffix}"
            path.write_bytes(payload)
            reader = read_npz if suffix == ".npz" else read_idx
            holds(f"data.{reader.__name__}", lambda: reader(path))  # noqa: B023 - holds() calls it at once


@FAST
@given(labels=hostile_arrays(st.sampled_from([(0,), (1,), (3,), (10,), (2, 2), ()])), fraction=hostile_floats)
def test_stratified_split(labels: Any, fraction: float) -> None:
    from cnnviz.core.datasets import stratified_split

    holds("data.stratified_split", lambda: stratified_split(labels, test_fraction=fraction))


# ---------------------------------------------------------------------------------------------
# cnnviz.core.uploads and cnnviz.core.store
# ---------------------------------------------------------------------------------------------


def _png(width: int = 8, height: int = 8) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray((np.arange(width * height).reshape(height, width) % 256).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


VALID_IMAGES = {"png": _png()}


@FAST
@given(data=st.data())
def test_decode_image_with_hostile_bytes(data: st.DataObject) -> None:
    from cnnviz.core.uploads import decode_image

    base = VALID_IMAGES["png"]
    kind = data.draw(st.sampled_from(["random", "bitflip", "truncate", "splice"]))
    if kind == "random":
        payload = data.draw(st.binary(max_size=256))
    elif kind == "bitflip":
        array = bytearray(base)
        for _ in range(data.draw(st.integers(1, 8))):
            position = data.draw(st.integers(0, len(array) - 1))
            array[position] ^= 1 << data.draw(st.integers(0, 7))
        payload = bytes(array)
    elif kind == "truncate":
        payload = base[: data.draw(st.integers(0, len(base)))]
    else:
        payload = base[:33] + data.draw(st.binary(max_size=64)) + base[33:]
    mode = data.draw(st.sampled_from(["L", "RGB", "RGBA"]))
    result = holds("uploads.decode_image", lambda: decode_image(payload, mode=mode, max_side=64))
    if result is not None:
        assert result.dtype == np.uint8 and max(result.shape[:2]) <= 64


@FAST
@given(name=st.one_of(
    st.text(max_size=600), st.sampled_from(["../x", "a/b", "a\\b", "\x00", "CON", "a" * 500, "..", "."])
))
def test_sanitize_model_name_always_safe(name: str) -> None:
    import re

    from cnnviz.core.store import sanitize_model_name

    safe = holds("store.sanitize_model_name", lambda: sanitize_model_name(name))
    if safe is not None:
        assert re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", safe)
        assert sanitize_model_name(safe) == safe


class _FakeModel:
    """Writes a small valid zip, like a Keras model would, without TensorFlow."""

    def save(self, path: str) -> None:
        import zipfile

        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("config.json", "{}")


@FAST
@given(
    name=st.text(max_size=80),
    junk=st.dictionaries(st.text(string.ascii_letters + "._-", min_size=1, max_size=12), st.binary(max_size=40),
                         max_size=4),
)
def test_store_never_writes_outside_its_folder(
    name: str, junk: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory
) -> None:
    from cnnviz.core.store import list_models, save_model

    root = tmp_path_factory.mktemp("store")
    models = root / "models"
    models.mkdir()
    for junk_name, content in junk.items():
        if junk_name not in (".", ".."):
            (models / junk_name).write_bytes(content)
    meta = {"dataset": "digits", "class_names": ["0", "1"]}
    holds("store.save_model", lambda: save_model(_FakeModel(), name, meta, models_dir=models))
    assert [path.name for path in root.iterdir()] == ["models"], "a file was written outside models/"
    records = holds("store.list_models", lambda: list_models(models))
    assert records is not None  # list_models never raises
    assert not any(path.name.startswith(".tmp-") for path in models.iterdir())


def test_counts_are_meaningful() -> None:
    # Sanity check that the property tests above really exercised many functions.
    assert len(CALLS) >= 40 or not CALLS, f"only {len(CALLS)} functions were exercised"
