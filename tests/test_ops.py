"""The fast ops compute the same values and derivatives (to second order) as stock TF."""

import numpy as np
import pytest
import tensorflow as tf

from keras_wgan import ops


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


def test_conv2d_layer_uses_the_narrow_path_only_where_it_applies():
    assert ops.Conv2D(1, 5, padding="same")._narrow()
    assert not ops.Conv2D(1, 5, strides=2, padding="same")._narrow()
    assert not ops.Conv2D(64, 5, padding="same")._narrow()
    assert not ops.Conv2D(1, 4, padding="same")._narrow()
    with pytest.raises(ValueError, match="odd kernel"):
        ops.narrow_conv2d(tf.zeros((1, 4, 4, 1)), tf.zeros((4, 4, 1, 1)))
