"""Pytest fixtures and hooks for the keras-wgan tests (helpers live in tests/testing/).

Backends: the suite runs once per ``KERAS_BACKEND`` (tensorflow by default). Tests of
what depends on the backend (the train step, losses, saving) carry the
``all_backends`` marker; under jax and torch only those are collected, the rest
(data pipelines, files, CLI wiring: backend-independent code) runs with tensorflow.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The tests' nets are tiny: on a CPU, XLA's optimisation passes cost far more than they
# save (a first model build 12 s -> 2 s, a first fit 21 s -> 6 s, measured on 2 cores).
# Set in the environment, so the JAX processes the tests start inherit it too.
os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from testing import LATENT_DIM  # noqa: E402

BACKEND = keras.backend.backend()

if BACKEND == "tensorflow":
    # The same for TensorFlow's graph optimiser (Grappler) in this process: the first fit
    # of a tiny model 30-40% faster. It rewrites graphs for speed, not meaning; the tests
    # that start processes of their own (CLI runs, workers) keep TensorFlow's default.
    import tensorflow as tf

    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})

if BACKEND == "jax":
    # Many tests jit the same tiny train step: compile each distinct program once per
    # session (XLA compilation dominates the JAX run on 2 cores).
    import tempfile

    import jax

    jax.config.update("jax_compilation_cache_dir", tempfile.mkdtemp(prefix="keras_wgan_jax_"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def pytest_collection_modifyitems(config, items):
    if BACKEND == "tensorflow":
        return
    keep = [item for item in items if item.get_closest_marker("all_backends")]
    dropped = [item for item in items if not item.get_closest_marker("all_backends")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture
def noise():
    return np.random.default_rng(123).normal(size=(6, LATENT_DIM)).astype("float32")
