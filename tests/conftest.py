"""Pytest fixtures and hooks for the keras-wgan tests (helpers live in tests/testing/).

Backends: the suite runs once per ``KERAS_BACKEND`` (tensorflow by default). Tests of
what depends on the backend (the train step, losses, saving) carry the
``all_backends`` marker; under jax and torch only those are collected, the rest
(data pipelines, files, CLI wiring: backend-independent code) runs with tensorflow.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# XLA's and Grappler's optimisation passes off in every test process, set before any
# framework import (graph_settings.py says why and how to turn them back on).
from graph_settings import apply_test_graph_settings, set_test_environment  # noqa: E402

set_test_environment()
# One persistent XLA cache for this process and every JAX process it starts
# (run_all_backends.sh sets one for the whole run; fork_server.py needs the children's
# JAX_* settings equal to its own, fixed at import).
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="keras_wgan_jax_")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from testing import LATENT_DIM  # noqa: E402

BACKEND = keras.backend.backend()


apply_test_graph_settings()


if BACKEND == "jax":
    # Many tests jit the same tiny train step: compile each distinct program once per
    # session (XLA compilation dominates the JAX run on 2 cores); the JAX processes the
    # tests start share it through the environment set above.
    import jax

    jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
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


@pytest.fixture(scope="session")
def fork_servers():
    """Start programs as forks of a process per backend that has imported the frameworks
    (tests/fork_server.py): ``fork_servers["jax"].start(argv, cwd=..., log=...,
    module="keras_wgan")``. For the tests that are not about a fresh interpreter."""
    from testing.forked import ForkServers

    servers = ForkServers()
    yield servers
    servers.close()
