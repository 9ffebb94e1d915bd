"""cnnviz.train.spec: the shape arithmetic is checked against Keras itself, the oracle."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from cnnviz.train.spec import (
    ConvBlockSpec,
    ModelSpec,
    SpecError,
    build_model,
    layer_plan,
    layer_table,
    total_params,
    validate_spec,
)


def random_spec(rng: random.Random) -> ModelSpec:
    """A random spec that may or may not be buildable."""
    blocks = tuple(
        ConvBlockSpec(
            filters=rng.choice([1, 3, 8, 16]),
            kernel_size=rng.choice([1, 3, 5]),
            stride=rng.choice([1, 1, 2]),
            padding=rng.choice(["valid", "same"]),
            activation=rng.choice(["relu", "sigmoid", "tanh"]),
            pooling=rng.choice(["none", "max", "average"]),
            pool_size=rng.choice([2, 2, 3]),
        )
        for _ in range(rng.randint(1, 4))
    )
    return ModelSpec(
        conv_blocks=blocks,
        batch_norm=rng.random() < 0.5,
        dropout=rng.choice([0.0, 0.25, 0.5]),
        dense_units=tuple(rng.choice([4, 16, 32]) for _ in range(rng.randint(0, 3))),
        dense_activation=rng.choice(["relu", "tanh"]),
    )


def buildable_specs(count: int, seed: int = 1234) -> list[tuple[ModelSpec, int]]:
    rng = random.Random(seed)
    found: list[tuple[ModelSpec, int]] = []
    while len(found) < count:
        spec = random_spec(rng)
        num_classes = rng.choice([2, 10])
        try:
            validate_spec(spec, num_classes)
        except SpecError:
            continue
        found.append((spec, num_classes))
    return found


@pytest.mark.parametrize("spec,num_classes", buildable_specs(24))
def test_layer_table_matches_keras(spec: ModelSpec, num_classes: int) -> None:
    model = build_model(spec, num_classes)
    rows = layer_table(spec, num_classes)
    assert [row.name for row in rows] == [layer.name for layer in model.layers]
    for row, layer in zip(rows, model.layers):
        assert row.output_shape == tuple(layer.output.shape[1:]), row.name
        assert row.params == layer.count_params(), row.name
    assert total_params(spec, num_classes) == model.count_params()


def test_default_spec_builds_named_functional_model() -> None:
    model = build_model(ModelSpec(), 10, seed=0)
    assert model.input.name == "input" or model.layers[0].name == "input"
    assert tuple(model.input.shape) == (None, 28, 28, 1)
    assert tuple(model.output.shape) == (None, 10)
    names = [layer.name for layer in model.layers]
    assert names == [
        "input", "conv_1", "pool_1", "conv_2", "pool_2", "conv_3", "pool_3", "flatten", "dropout", "dense_1",
        "predictions",
    ]
    probabilities = model.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_seed_makes_initial_weights_reproducible() -> None:
    spec = ModelSpec(conv_blocks=(ConvBlockSpec(filters=4),), dense_units=())
    first = build_model(spec, 10, seed=7).get_weights()
    second = build_model(spec, 10, seed=7).get_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_too_many_valid_convolutions_explain_the_formula() -> None:
    block = ConvBlockSpec(filters=4, kernel_size=5, padding="valid", pooling="max")
    spec = ModelSpec(conv_blocks=(block,) * 3, dense_units=())
    with pytest.raises(SpecError) as error:
        validate_spec(spec)
    message = str(error.value)
    # 28 -> 24 -> 12 -> 8 -> 4 -> conv_3 on 4x4 with k=5 gives floor((4 + 0 - 5) / 1) + 1 = 0.
    assert "conv_3" in message
    assert "floor((4 + 2*0 - 5) / 1) + 1 = 0" in message
    assert "same" in message


def test_pooling_below_one_pixel_is_blocked() -> None:
    block = ConvBlockSpec(filters=2, kernel_size=3, stride=2, padding="same", pooling="max")
    spec = ModelSpec(conv_blocks=(block,) * 4)
    # 28 -> 14 -> 7 -> 4 -> 2 -> 1 -> 1 -> 1 -> pool on 1x1 gives 0.
    with pytest.raises(SpecError, match=r"pool_3 .* 1x1 input.*= 0"):
        validate_spec(spec)


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec(conv_blocks=()),
        ModelSpec(conv_blocks=(ConvBlockSpec(),) * 5),
        ModelSpec(conv_blocks=(ConvBlockSpec(filters=0),)),
        ModelSpec(conv_blocks=(ConvBlockSpec(kernel_size=4.0),)),  # type: ignore[arg-type]
        ModelSpec(conv_blocks=(ConvBlockSpec(padding="full"),)),
        ModelSpec(conv_blocks=(ConvBlockSpec(activation="softmax"),)),
        ModelSpec(conv_blocks=(ConvBlockSpec(pooling="min"),)),
        ModelSpec(dropout=1.0),
        ModelSpec(dense_units=(8, 8, 8, 8)),
        ModelSpec(dense_units=(0,)),
    ],
)
def test_invalid_settings_raise_spec_error_naming_the_value(spec: ModelSpec) -> None:
    with pytest.raises(SpecError, match="got"):
        validate_spec(spec)
    with pytest.raises(ValueError):
        build_model(spec)


def test_dict_round_trip_through_json() -> None:
    spec = ModelSpec(
        conv_blocks=(ConvBlockSpec(filters=8, kernel_size=5, pooling="average"), ConvBlockSpec(stride=2)),
        batch_norm=True,
        dropout=0.5,
        dense_units=(64, 32),
        dense_activation="tanh",
    )
    assert ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert ModelSpec.from_dict({}) == ModelSpec()
    with pytest.raises(SpecError, match="Unknown"):
        ModelSpec.from_dict({"layers": 3})
    with pytest.raises(SpecError, match="Unknown conv block keys"):
        ModelSpec.from_dict({"conv_blocks": [{"filter": 3}]})


def test_build_model_instantiates_the_layer_plan() -> None:
    spec = ModelSpec(conv_blocks=(ConvBlockSpec(filters=8, kernel_size=5, stride=2, pooling="average"),),
                     batch_norm=True, dropout=0.25, dense_units=(16,), dense_activation="tanh")
    plan = layer_plan(spec, 3)
    model = build_model(spec, 3)
    assert [type(layer).__name__ for layer in model.layers] == [call.kind for call in plan]
    for call, layer in zip(plan[1:], model.layers[1:]):
        config = layer.get_config()
        for key, value in call.kwargs.items():
            assert config[key] in (value, (value, value)), (call.name, key)  # Keras keeps 5 as (5, 5)
