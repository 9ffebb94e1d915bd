"""cnnviz.train.pretrace: a traced model takes over a fresh model's whole state and trains without tracing again.

In-process and tiny. That a job on a ready child gives exactly a fresh child's history (op determinism on, real
children) is tested in test_worker.py.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnnviz.train.loop import TrainConfig, compile_model, prepare_data, train_model
from cnnviz.train.pretrace import TracedModel
from cnnviz.train.spec import ConvBlockSpec, ModelSpec, build_model
from tests.support.training import make_tiny

#: Dropout, so that the random generators' state is part of what the traced model must take over.
SPEC = ModelSpec(conv_blocks=(ConvBlockSpec(filters=4, pooling="max"),), dropout=0.5, dense_units=(8,))
CONFIG = TrainConfig(epochs=2, batch_size=16, train_size=96, validation_split=0.25, early_stopping=False, seed=3)


def _tracings(function) -> int:
    """How often the tf.functions behind a Keras ``train_function``/``test_function`` were traced."""
    counts = [cell.cell_contents.experimental_get_tracing_count() for cell in function.__closure__
              if hasattr(cell.cell_contents, "experimental_get_tracing_count")]
    assert counts, "no tf.function found behind the Keras function"
    return sum(counts)


def _job_model(seed: int = CONFIG.seed) -> tuple[keras.Model, str]:
    """The job's model as a training child builds it: seeded, from the server's JSON, with its weights."""
    server_model = build_model(SPEC, 2, seed=seed)
    compile_model(server_model, CONFIG)  # the server compiles its model too; the JSON then says so
    keras.utils.set_random_seed(seed)
    model = keras.models.model_from_json(server_model.to_json())
    model.set_weights(server_model.get_weights())
    return model, server_model.to_json()


@pytest.fixture()
def traced() -> TracedModel:
    keras.utils.set_random_seed(0)
    return TracedModel.prepare(build_model(SPEC, 2).to_json(), CONFIG)


def test_an_adopted_model_has_the_jobs_state_a_reset_optimizer_and_trains_without_tracing(traced) -> None:
    fresh, job_json = _job_model()
    assert traced.matches(job_json)
    train_function, test_function = traced.model.train_function, traced.model.test_function
    before = _tracings(train_function), _tracings(test_function)
    model = traced.adopt(fresh)
    # Every variable, the dropout layer's random-generator state included, is the fresh model's.
    assert len(model.variables) == len(fresh.variables) > len(model.weights)
    for got, want in zip(model.variables, fresh.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(got.value), np.asarray(want.value))
    result = train_model(model, prepare_data(make_tiny(), CONFIG), CONFIG)
    assert result.epochs_done == 2 and result.test_metrics
    # train_model's compile kept the traced steps, and the job (other data sizes) traced nothing new.
    assert model.train_function is train_function and model.test_function is test_function
    assert (_tracings(train_function), _tracings(test_function)) == before
    # The optimizer started from step 0: two epochs of 72 images in batches of 16 are 10 steps.
    assert int(model.optimizer.iterations.numpy()) == 10
    assert not traced.matches(job_json)  # one job per traced model


def test_another_learning_rate_reuses_the_steps_and_another_optimizer_compiles_afresh(traced) -> None:
    fresh, _ = _job_model()
    model = traced.adopt(fresh)
    train_function = model.train_function
    compile_model(model, TrainConfig(learning_rate=0.05))
    assert model.train_function is train_function
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.05)
    assert int(model.optimizer.iterations.numpy()) == 0
    compile_model(model, TrainConfig(optimizer="sgd"))  # another optimizer: Keras's own compile, traced anew
    assert isinstance(model.optimizer, keras.optimizers.SGD) and model.train_function is None
    assert model.fit(np.zeros((4, 28, 28, 1), np.float32), np.zeros(4, np.int64), verbose=0).history["loss"]


def test_another_architecture_does_not_match_and_is_refused(traced) -> None:
    other = build_model(ModelSpec(conv_blocks=(ConvBlockSpec(filters=6),), dropout=0.5, dense_units=(8,)), 2)
    assert not traced.matches(other.to_json())
    with pytest.raises(ValueError, match="traced architecture"):
        traced.adopt(other)
