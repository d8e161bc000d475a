"""Shared fixtures and property helpers for the keras-wgan tests.

Tiny shapes everywhere (16x16 images, dim 4, 2-D toy points) so the whole suite runs in
minutes on 2 CPU cores. One helper per property, as keras-hub does.

Backends: the suite runs once per ``KERAS_BACKEND`` (tensorflow by default). Tests of
what depends on the backend (the train step, losses, saving) carry the
``all_backends`` marker; under jax and torch only those are collected, the rest
(data pipelines, files, CLI wiring: backend-independent code) runs with tensorflow.
"""

import json
import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_wgan import WGAN, WGANGP  # noqa: E402
from keras_wgan.architectures import (  # noqa: E402
    build_critic,
    build_generator,
    build_mlp_critic,
    build_mlp_generator,
)

IMAGE_SHAPE = (16, 16, 1)
LATENT_DIM = 8


def tiny_image_gan(cls=WGANGP, dim=4, seed=0, normalization=None, **kwargs):
    """A WGAN/WGANGP on 16x16x1 images with the original experiment's nets at a tiny width."""
    keras.utils.set_random_seed(seed)
    generator = build_generator(LATENT_DIM, IMAGE_SHAPE, dim)
    critic = build_critic(IMAGE_SHAPE, dim, normalization=normalization)
    return cls(generator, critic, seed=seed, **kwargs)


def tiny_mlp_gan(cls=WGANGP, width=8, seed=0, **kwargs):
    """A WGAN/WGANGP on 2-D points with the toy MLPs at a tiny width."""
    keras.utils.set_random_seed(seed)
    generator = build_mlp_generator(2, 2, width=width, depth=2)
    critic = build_mlp_critic(2, width=width, depth=2)
    return cls(generator, critic, seed=seed, **kwargs)


def image_dataset(num_batches=10, batch_size=4, seed=0, labels=False):
    """Random images in [-1, 1], a fixed order (no shuffle) so runs are comparable."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (num_batches * batch_size,) + IMAGE_SHAPE).astype("float32")
    if labels:
        ys = rng.integers(0, 10, num_batches * batch_size)
        return tf.data.Dataset.from_tensor_slices((images, ys)).batch(batch_size)
    return tf.data.Dataset.from_tensor_slices(images).batch(batch_size)


def point_dataset(num_batches=10, batch_size=16, seed=0):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(num_batches * batch_size, 2)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(points).batch(batch_size)


BACKEND = keras.backend.backend()

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


def weight_gradients(loss_fn, variables):
    """Gradients of ``loss_fn()`` with respect to ``variables``, with the backend's own autograd.

    A reference for the library's gradient code, computed without it.
    """
    if BACKEND == "tensorflow":
        with tf.GradientTape() as tape:
            loss = loss_fn()
        return tape.gradient(loss, variables)
    if BACKEND == "torch":
        import torch

        return torch.autograd.grad(loss_fn(), [v.value for v in variables])
    import jax

    def bound(values):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return loss_fn()

    return jax.grad(bound)([v.value for v in variables])


def assert_weights_equal(a, b, atol=0.0):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=0)


def plain(config):
    """A config as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(config))


def run_serialization_test(model):
    """get_config -> from_config gives the same class and the same config."""
    config = model.get_config()
    restored = type(model).from_config(config)
    assert type(restored) is type(model)
    assert plain(restored.get_config()) == plain(config)
    return restored


def run_model_saving_test(model, path, noise):
    """Save as .keras, load, and check class, config, outputs and both optimizers' state."""
    model.save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        restored = keras.models.load_model(path)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "skipping" in m.lower() or "compile()" in m], messages
    assert type(restored) is type(model)
    assert plain(restored.get_config()) == plain(model.get_config())
    np.testing.assert_array_equal(
        restored.generate_from_noise(noise), model.generate_from_noise(noise)
    )
    for name in ("critic_optimizer", "generator_optimizer"):
        saved, loaded = getattr(model, name), getattr(restored, name)
        assert type(loaded) is type(saved)
        assert int(loaded.iterations) == int(saved.iterations)
        assert len(loaded.variables) == len(saved.variables)
        assert_weights_equal(
            [v.numpy() for v in loaded.variables], [v.numpy() for v in saved.variables]
        )
    assert int(restored.pending_critic_updates) == int(model.pending_critic_updates)
    return restored


@pytest.fixture
def noise():
    return np.random.default_rng(123).normal(size=(6, LATENT_DIM)).astype("float32")
