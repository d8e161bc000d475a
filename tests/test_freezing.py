"""keras_wgan.models.freezing: ``--freeze-critic N`` counts convolutions and dense layers
only, so a BatchNorm is never frozen and the critic computes the same function after
freezing; on the WGAN critic (with BatchNorm) and the WGAN-GP critic (without)."""

import keras
import numpy as np
import pytest
from testing import IMAGE_SHAPE, image_dataset, tiny_image_gan

from keras_wgan import WGAN, WGANGP
from keras_wgan.architectures import spectral
from keras_wgan.models import freezing


def _wgan():
    return tiny_image_gan(WGAN, normalization="batch")


def _values(layer):
    return [keras.ops.convert_to_numpy(w).copy() for w in layer.weights]


def test_the_wgan_critics_batchnorm_is_not_counted_nor_frozen():
    critic = _wgan().critic
    assert [layer.name for layer in critic.layers if layer.weights] == [
        "conv1", "conv2", "bn2", "conv3", "bn3", "score"]
    frozen = freezing.freeze_first(critic, 3)
    assert [layer.name for layer in frozen] == ["conv1", "conv2", "conv3"]
    state = {layer.name: layer.trainable for layer in critic.layers if layer.weights}
    assert state == {"conv1": False, "conv2": False, "bn2": True, "conv3": False,
                     "bn3": True, "score": True}


@pytest.mark.parametrize("build, count", [(_wgan, 3), (lambda: tiny_image_gan(WGANGP), 2)])
def test_freezing_keeps_the_critics_function_and_trains_only_the_rest(build, count):
    gan = build()
    images = np.random.default_rng(0).uniform(-1, 1, (8, *IMAGE_SHAPE)).astype("float32")
    before = keras.ops.convert_to_numpy(gan.critic(images, training=True))
    frozen = freezing.freeze_first(gan.critic, count)
    # The same function in training mode (a frozen BatchNorm would switch to its moving
    # statistics: another function from step 0).
    np.testing.assert_allclose(keras.ops.convert_to_numpy(gan.critic(images, training=True)),
                               before, rtol=1e-5, atol=1e-6)
    rest = [layer for layer in gan.critic.layers if layer.weights and layer not in frozen]
    start = {layer.name: _values(layer) for layer in gan.critic.layers if layer.weights}
    gan.compile()
    gan.fit(image_dataset(num_batches=5), epochs=1, verbose=0)
    for layer in frozen:
        for a, b in zip(_values(layer), start[layer.name]):
            np.testing.assert_array_equal(a, b)
    for layer in rest:  # every other layer moved: dense, and BatchNorm's scale and stats
        assert any(not np.array_equal(a, b)
                   for a, b in zip(_values(layer), start[layer.name])), layer.name


def test_spectral_layers_count_and_too_many_is_refused_by_name():
    keras.utils.set_random_seed(0)
    critic = spectral.spectral_normalize(tiny_image_gan(WGANGP).critic)
    assert len(freezing.freezable_layers(critic)) == 4  # SpectralConv2D x3, SpectralDense
    with pytest.raises(ValueError, match=r"has 4 convolution and dense layers \(conv1.*"
                                         r"e\.g\. freeze 3"):
        freezing.freeze_first(critic, 5)
    with pytest.raises(ValueError, match="non-negative integer"):
        freezing.freeze_first(critic, -1)
    assert freezing.freeze_first(critic, 0) == []
