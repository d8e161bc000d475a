"""TensorFlow's run-time fast paths: same values and derivatives (to second order) as stock
TF, installed on stock layers without changing what a saved file holds.

Collected only under KERAS_BACKEND=tensorflow (no ``all_backends`` marker).
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_wgan import WGANGP
from keras_wgan.architectures import (
    build_critic,
    build_generator,
    build_resnet_critic,
    build_resnet_generator,
)
from keras_wgan.backend import tensorflow as ops


def test_leaky_relu_matches_stock_value_first_and_penalty_gradients():
    x = tf.constant(np.random.default_rng(0).normal(size=(4, 6)).astype("float32"))
    w = tf.Variable(np.random.default_rng(1).normal(size=(6, 1)).astype("float32"))

    def penalty(activation):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                scores = tf.matmul(activation(tf.matmul(x, tf.tile(w, (1, 6)))), w)
            grad = inner.gradient(scores, x)
            value = tf.reduce_mean(tf.square(tf.norm(grad, axis=1) - 1.0))
        return scores, grad, value, outer.gradient(value, w)

    stock = penalty(lambda t: tf.nn.leaky_relu(t, alpha=0.2))
    fast = penalty(lambda t: ops.leaky_relu(t, 0.2))
    for a, b in zip(stock, fast):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("c_in, c_out", [(3, 1), (5, 3)])
def test_narrow_conv2d_matches_conv2d_to_second_order(c_in, c_out):
    rng = np.random.default_rng(2)
    x = tf.constant(rng.normal(size=(2, 7, 6, c_in)).astype("float32"))
    kernel = tf.Variable(rng.normal(size=(5, 5, c_in, c_out)).astype("float32"))

    def run(conv):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = conv(x, kernel)
                loss = tf.reduce_sum(tf.sin(y))
            dx, dw = inner.gradient(loss, [x, kernel])
            second = tf.reduce_sum(tf.square(dx)) + tf.reduce_sum(tf.square(dw))
        return y, dx, dw, outer.gradient(second, kernel)

    stock = run(lambda a, k: tf.nn.conv2d(a, k, 1, "SAME"))
    fast = run(ops.narrow_conv2d)
    for a, b in zip(stock, fast):
        # float32 sums in another order: compare relative to the tensor's scale
        scale = float(np.abs(a.numpy()).max())
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-5 * scale)


def test_the_narrow_path_applies_only_to_the_convolutions_it_computes():
    assert ops.narrow_conv_applies(keras.layers.Conv2D(1, 5, padding="same"))
    assert not ops.narrow_conv_applies(keras.layers.Conv2D(1, 5, strides=2, padding="same"))
    assert not ops.narrow_conv_applies(keras.layers.Conv2D(64, 5, padding="same"))
    assert not ops.narrow_conv_applies(keras.layers.Conv2D(1, 4, padding="same"))
    # Colour outputs: slower than conv2d there (benchmarks/resnet_fast_paths.py).
    assert not ops.narrow_conv_applies(keras.layers.Conv2D(3, 3, padding="same"))
    with pytest.raises(ValueError, match="odd kernel"):
        ops.narrow_conv2d(tf.zeros((1, 4, 4, 1)), tf.zeros((4, 4, 1, 1)))


def _clean_copy(model):
    """The same net and weights without fast paths (clone_model builds fresh layers)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def test_the_gan_routes_its_nets_to_the_fast_paths_without_changing_them():
    generator = build_generator(6, (16, 16, 1), dim=4)
    critic = build_critic((16, 16, 1), dim=4)
    stock_generator, stock_critic = _clean_copy(generator), _clean_copy(critic)
    configs = json.dumps([generator.get_config(), critic.get_config()])
    gan = WGANGP(generator, critic, seed=0)
    # conv3 (1 output channel) and the critic's three LeakyReLUs are routed...
    assert generator.get_layer("conv3").convolution_op is ops.narrow_conv2d
    assert "convolution_op" not in vars(generator.get_layer("conv1"))
    assert all("call" in vars(critic.get_layer(f"lrelu{i}")) for i in (1, 2, 3))
    copy = _clean_copy(critic)
    assert ops.install_fast_paths(copy) == 3
    ops.remove_fast_paths(copy)
    assert not any("call" in vars(layer) for layer in copy.layers)
    assert ops.install_fast_paths(copy, leaky_relu=False) == 0
    # ...as run-time attributes only: configs and saved classes stay stock Keras.
    assert json.dumps([generator.get_config(), critic.get_config()]) == configs
    assert "keras_wgan" not in json.dumps(keras.saving.serialize_keras_object(gan.generator))
    # Same values, and the same penalty gradients, as the untouched nets.
    z = np.random.default_rng(1).normal(size=(3, 6)).astype("float32")
    images = generator(z)
    np.testing.assert_allclose(images.numpy(), stock_generator(z).numpy(), atol=1e-5)

    def penalty_gradients(net):
        x = tf.constant(images)
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                scores = net(x)
            norms = tf.norm(tf.reshape(inner.gradient(scores, x), (3, -1)), axis=1)
            penalty = tf.reduce_mean(tf.square(norms - 1.0))
        return [penalty] + outer.gradient(penalty, net.trainable_variables)

    for fast, stock in zip(penalty_gradients(critic), penalty_gradients(stock_critic)):
        if stock is None:  # the score's bias does not move the input gradient
            assert fast is None
            continue
        scale = float(np.abs(stock.numpy()).max())
        np.testing.assert_allclose(fast.numpy(), stock.numpy(), atol=1e-5 * scale + 1e-7)


def test_the_resnets_keep_keras_own_ops():
    """No LeakyReLU and a 3-channel output conv: the fast paths leave the ResNets alone
    (the narrow path is slower than conv2d from 3 channels, benchmarks/resnet_fast_paths.py)."""
    generator = build_resnet_generator(6, (8, 8, 3), dim=4, num_classes=3)
    critic = build_resnet_critic((8, 8, 3), dim=4, num_classes=3)
    WGANGP(generator, critic, seed=0)
    for net in (generator, critic):
        assert not any("call" in vars(layer) or "convolution_op" in vars(layer)
                       for layer in net.layers)
    grayscale = build_resnet_generator(6, (8, 8, 1), dim=4)
    assert ops.install_fast_paths(grayscale) == 1  # its 1-channel output conv
    assert grayscale.get_layer("output_conv").convolution_op is ops.narrow_conv2d


def test_a_subclass_with_its_own_call_is_left_alone():
    class Custom(keras.layers.LeakyReLU):
        def call(self, inputs):
            return 2.0 * super().call(inputs)

    inputs = keras.Input((3,))
    model = keras.Model(inputs, Custom(0.2)(keras.layers.LeakyReLU(0.2)(inputs)))
    assert ops.install_fast_paths(model) == 1
    assert "call" not in vars(model.layers[-1])
