"""Tiny GANs and data sets: shapes small enough that the suite runs on 2 CPU cores.

16x16x1 images at width 4, 2-D toy points through 8-wide MLPs; every builder seeds
Keras first, so two calls with the same arguments build the same weights.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_wgan import WGANGP
from keras_wgan.architectures import (
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
    """Standard-normal 2-D points in a fixed order."""
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(num_batches * batch_size, 2)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(points).batch(batch_size)


def stripe_images(n, rng):
    """``(images, labels)``: two classes, horizontal (0) vs vertical (1) stripes, with noise.

    A task any small classifier learns in two epochs: the yardstick's tests use it.
    """
    labels = np.arange(n) % 2
    grid = np.arange(32)
    images = np.empty((n, 32, 32, 1), np.float32)
    for i, label in enumerate(labels):
        phase = rng.integers(0, 8)
        wave = np.sign(np.sin((grid + phase) * np.pi / 4))
        img = np.tile(wave[:, None], (1, 32)) if label == 0 else np.tile(wave, (32, 1))
        images[i, ..., 0] = img * 0.8 + rng.normal(0, 0.1, (32, 32))
    return np.clip(images, -1, 1), labels


class CrashAt(keras.callbacks.Callback):
    """Raise ``RuntimeError("crash")`` at the end of training batch number ``at`` (1-based)."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen = at, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            raise RuntimeError("crash")

