"""PyTorch's run-time layout path: the one-channel convolution equals Keras' own op and
makes the image nets trainable under ``mixed_bfloat16`` where PyTorch's CPU bfloat16
convolution falls back to ``slow_conv2d`` (reproduced on any CPU by switching oneDNN
off, which is what a CPU without oneDNN's bfloat16 path does).

Collected under every backend (``all_backends``) but runs under KERAS_BACKEND=torch only.
"""

import json

import keras
import numpy as np
import pytest
from testing import image_dataset, tiny_image_gan

pytestmark = [
    pytest.mark.all_backends,
    pytest.mark.skipif(keras.backend.backend() != "torch", reason="PyTorch backend only"),
]


def _torch():
    import torch

    from keras_wgan.backend import torch as torch_backend

    return torch, torch_backend


@pytest.mark.parametrize("size, kernel, strides, padding", [
    (8, 5, 1, "same"), (7, 3, 2, "same"), (9, 4, 2, "same"), (8, 3, 1, "valid"),
])
def test_single_channel_conv_equals_keras_conv_to_second_order(size, kernel, strides, padding):
    torch, torch_backend = _torch()
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(2, size, size, 3)).astype("float32")
    w = torch.tensor(rng.normal(size=(kernel, kernel, 3, 1)).astype("float32"),
                     requires_grad=True)

    def value_and_penalty_gradient(conv):
        x = torch.tensor(x0, requires_grad=True)
        y = conv(x, w)
        (gx,) = torch.autograd.grad(y.sin().sum(), x, create_graph=True)
        (gw,) = torch.autograd.grad(gx.square().sum(), w)
        return y.detach().numpy(), gw.numpy()

    stock = value_and_penalty_gradient(
        lambda x, k: keras.ops.conv(x, k, strides=strides, padding=padding))
    routed = value_and_penalty_gradient(
        lambda x, k: torch_backend.single_channel_conv2d(x, k, (strides, strides), padding))
    assert stock[0].shape == routed[0].shape
    for a, b in zip(routed, stock):  # float32 sums in another order: relative to the scale
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 * float(np.abs(b).max()))


def test_the_path_is_installed_on_one_channel_convs_only_and_saves_stock():
    _, torch_backend = _torch()
    gan = tiny_image_gan()
    conv3 = gan.generator.get_layer("conv3")  # the image layer: one channel
    assert "convolution_op" in vars(conv3)
    assert "convolution_op" in vars(gan.ema_generator.get_layer("conv3"))
    assert "convolution_op" not in vars(gan.generator.get_layer("conv1"))
    assert not any("convolution_op" in vars(layer) for layer in gan.critic.layers)
    saved = json.dumps(keras.saving.serialize_keras_object(gan.generator))
    assert "keras_wgan" not in saved
    torch_backend.remove_layout_paths(gan.generator)
    assert "convolution_op" not in vars(conv3)


def test_bfloat16_image_nets_train_where_the_cpu_has_no_onednn_bfloat16():
    torch, _ = _torch()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        gan = tiny_image_gan(n_critic=1)
        gan.compile()
        with torch.backends.mkldnn.flags(enabled=False):  # PyTorch's slow_conv2d path
            history = gan.fit(image_dataset(1), epochs=1, verbose=0).history
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert int(gan.generator_optimizer.iterations) == 1
    assert all(np.isfinite(values[0]) for values in history.values()), history
    assert history["gradient_penalty"][0] > 0
