"""WassersteinGAN.export: a SavedModel whose `generate` endpoint is the sampling generator.

A tiny model is trained a few steps (so the weight average differs from the live
generator), exported, reloaded with ``tf.saved_model.load`` and called; its samples
must be ``generate_from_noise``'s. Under TensorFlow and JAX (jax2tf) export works;
under PyTorch it must refuse with the way out.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_wgan import WGANGP
from keras_wgan.architectures import build_critic, build_generator

IMAGE_SHAPE = (16, 16, 1)
LATENT_DIM = 8
NUM_CLASSES = 3
EXPORTS = keras.backend.backend() in ("tensorflow", "jax")


def trained_gan(num_classes=None):
    """A tiny WGAN-GP after 4 steps (2 generator updates): the average has moved off."""
    keras.utils.set_random_seed(0)
    gan = WGANGP(build_generator(LATENT_DIM, IMAGE_SHAPE, 4, num_classes=num_classes),
                 build_critic(IMAGE_SHAPE, 4, num_classes=num_classes), n_critic=2, seed=0)
    gan.compile()
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (16,) + IMAGE_SHAPE).astype("float32")
    data = images if num_classes is None else (images, rng.integers(0, num_classes, 16))
    gan.fit(tf.data.Dataset.from_tensor_slices(data).batch(4), epochs=1, verbose=0,
            shuffle=False)
    return gan


def noise_and_labels(n=6):
    noise = np.random.default_rng(1).standard_normal((n, LATENT_DIM)).astype("float32")
    return noise, (np.arange(n) % NUM_CLASSES).astype("int32")


def check_signature(loaded, names):
    args, kwargs = loaded.signatures["serving_default"].structured_input_signature
    assert not args
    assert sorted(kwargs) == sorted(names)
    assert kwargs["noise"].dtype == tf.float32
    assert tuple(kwargs["noise"].shape) == (None, LATENT_DIM)
    if "labels" in names:
        assert kwargs["labels"].dtype == tf.int32 and tuple(kwargs["labels"].shape) == (None,)


@pytest.mark.all_backends
@pytest.mark.skipif(not EXPORTS, reason="Keras exports SavedModels from tensorflow and jax")
def test_unconditional_export_generates_the_weight_averaged_samples(tmp_path, capsys):
    gan = trained_gan()
    noise, _ = noise_and_labels()
    path = str(tmp_path / "generator")
    capsys.readouterr()
    gan.export(path)
    assert capsys.readouterr().out == ""  # quiet by default
    loaded = tf.saved_model.load(path)
    served = loaded.generate(tf.constant(noise)).numpy()
    expected = gan.generate_from_noise(noise)
    assert served.dtype == np.float32 and served.shape == (6,) + IMAGE_SHAPE
    np.testing.assert_allclose(served, expected, atol=1e-5)
    # It is the weight average that was exported, not the live generator.
    live = keras.ops.convert_to_numpy(gan.generator(noise, training=False))
    assert np.abs(live - served).max() > 1e-3
    check_signature(loaded, ["noise"])
    outputs = loaded.signatures["serving_default"](noise=tf.constant(noise))
    (output,) = outputs.values()
    np.testing.assert_allclose(output.numpy(), expected, atol=1e-5)


@pytest.mark.all_backends
@pytest.mark.skipif(not EXPORTS, reason="Keras exports SavedModels from tensorflow and jax")
def test_conditional_export_takes_noise_and_labels(tmp_path, capsys):
    gan = trained_gan(NUM_CLASSES)
    noise, labels = noise_and_labels()
    path = str(tmp_path / "conditional")
    capsys.readouterr()
    gan.export(path, verbose=True)
    assert "Captures" in capsys.readouterr().out  # Keras' listing, when asked for
    loaded = tf.saved_model.load(path)
    served = loaded.generate(tf.constant(noise), tf.constant(labels)).numpy()
    np.testing.assert_allclose(served, gan.generate_from_noise(noise, labels=labels), atol=1e-5)
    other = loaded.generate(tf.constant(noise), tf.constant((labels + 1) % NUM_CLASSES)).numpy()
    assert np.abs(other - served).max() > 1e-3  # the label reaches the generator
    check_signature(loaded, ["noise", "labels"])


@pytest.mark.all_backends
@pytest.mark.skipif(EXPORTS, reason="only backends Keras cannot export a SavedModel from")
def test_export_on_torch_names_the_way_out(tmp_path):
    gan = trained_gan()
    with pytest.raises(NotImplementedError, match="KERAS_BACKEND=tensorflow") as error:
        gan.export(str(tmp_path / "generator"))
    assert "torch_xla" in str(error.value)
    assert not os.path.exists(tmp_path / "generator")


def test_bad_arguments(tmp_path):
    keras.utils.set_random_seed(0)
    gan = WGANGP(build_generator(LATENT_DIM, IMAGE_SHAPE, 4), build_critic(IMAGE_SHAPE, 4))
    with pytest.raises(ValueError, match=r"gan.sampling_generator.export\(path, format='onnx'\)"):
        gan.export(str(tmp_path / "g"), format="onnx")
    with pytest.raises(TypeError, match="`filepath` must be a path"):
        gan.export(3)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file; a SavedModel is a directory"):
        gan.export(str(tmp_path / "file"))
    assert not os.path.exists(tmp_path / "g")
