"""Ops that make the gradient penalty cheaper without changing its value.

The WGAN-GP penalty differentiates the critic's input gradient again (a double
backward). Through a stock ``LeakyReLU`` that second derivative is propagated
through the activation's mask: TensorFlow's ``LeakyReluGrad`` gradient returns
``zeros_like(features)``, and those zeros then flow back through every layer below
(convolution input *and* filter gradients computed on zeros), roughly one extra
backward pass of the critic per penalty. The mask is piecewise constant, so its
derivative is exactly zero almost everywhere: not propagating it changes no value.
"""

import keras
import tensorflow as tf


def leaky_relu(x, negative_slope=0.2):
    """``max(x, negative_slope * x)`` whose gradient treats the mask as a constant.

    Forward value and first derivative equal ``tf.nn.leaky_relu``'s; the gradient of
    the gradient with respect to ``x`` (zero almost everywhere) is not propagated, so
    a double backward stops at the activation instead of back-propagating zeros.
    """
    alpha = float(negative_slope)

    @tf.custom_gradient
    def _leaky_relu(features):
        def grad(upstream):
            # stop_gradient: the outer tape of a double backward sees no path from
            # this gradient back to ``features`` (the mask's derivative is zero).
            return tf.raw_ops.LeakyReluGrad(
                gradients=upstream, features=tf.stop_gradient(features), alpha=alpha
            )

        return tf.nn.leaky_relu(features, alpha=alpha), grad

    return _leaky_relu(tf.convert_to_tensor(x))


@keras.saving.register_keras_serializable(package="keras_wgan")
class LeakyReLU(keras.layers.LeakyReLU):
    """Drop-in ``keras.layers.LeakyReLU`` using :func:`leaky_relu` (cheaper penalty)."""

    def call(self, inputs):
        return leaky_relu(inputs, negative_slope=self.negative_slope)


# Output-channel counts up to which ``Conv2D`` takes the depthwise path: image outputs
# (1 or 3 channels). Measured on a 2-core AVX-512 CPU (oneDNN), a 5x5 "same" convolution
# of (64, 32, 32, 64) to 1 channel takes ~46 ms forward and ~100 ms forward+backward
# as a plain conv2d, ~8 ms and ~56 ms here; from 256 channels ~180/435 ms vs ~37/123 ms.
NARROW_CONV_MAX_FILTERS = 4


def narrow_conv2d(inputs, kernel):
    """Stride-1 "same" 2-D convolution (NHWC), fast when the kernel has few output channels.

    Why: oneDNN's direct convolution is very slow when the output has 1-4 channels
    (the seed generator's last layer: 64*dim channels in, 1 out), forward and backward.
    The same sum is computed here as, per output channel, a depthwise convolution of
    every input channel followed by a sum over channels; the gradients use two matmuls
    on the 5x5 patches of the (narrow) output gradient. Same maths as ``tf.nn.conv2d``
    up to float rounding; differentiable to any order.
    """
    kh, kw, c_in, c_out = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"narrow_conv2d needs odd kernel sizes, got {kh}x{kw}.")

    @tf.custom_gradient
    def _conv(x, w):
        outputs = [
            tf.reduce_sum(
                tf.nn.depthwise_conv2d(x, w[:, :, :, o : o + 1], [1, 1, 1, 1], "SAME"),
                axis=-1,
                keepdims=True,
            )
            for o in range(c_out)
        ]
        y = outputs[0] if c_out == 1 else tf.concat(outputs, axis=-1)

        def grad(dy):
            # patches[b, i, j, (ky, kx, o)] = dy[b, i + ky - kh//2, j + kx - kw//2, o]
            patches = tf.image.extract_patches(
                dy, [1, kh, kw, 1], [1, 1, 1, 1], [1, 1, 1, 1], "SAME"
            )
            patches = tf.reshape(patches, (-1, kh * kw * c_out))
            flipped = tf.reverse(w, [0, 1])  # (kh, kw, c_in, c_out)
            # dx[b, i, j, c] = sum_{ky, kx, o} patches[.., (ky, kx, o)] * flipped[ky, kx, c, o]
            w_matrix = tf.reshape(tf.transpose(flipped, [0, 1, 3, 2]), (kh * kw * c_out, c_in))
            dx = tf.reshape(tf.matmul(patches, w_matrix), tf.shape(x))
            # dw[ky, kx, c, o] = sum_{b, i, j} x[b, i, j, c] * patches[.., (kh-1-ky, kw-1-kx, o)]
            dw = tf.matmul(tf.reshape(x, (-1, c_in)), patches, transpose_a=True)
            dw = tf.reshape(tf.transpose(dw), (kh, kw, c_out, c_in))
            dw = tf.transpose(tf.reverse(dw, [0, 1]), [0, 1, 3, 2])
            return dx, dw

        return y, grad

    return _conv(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


@keras.saving.register_keras_serializable(package="keras_wgan")
class Conv2D(keras.layers.Conv2D):
    """Drop-in ``keras.layers.Conv2D`` using :func:`narrow_conv2d` when it applies.

    Applies to stride 1, dilation 1, one group, "same" padding, channels_last, odd
    kernel and at most ``NARROW_CONV_MAX_FILTERS`` filters (e.g. a generator's image
    output layer); any other configuration is the stock convolution. Same weights and
    config as ``keras.layers.Conv2D``.
    """

    def _narrow(self):
        return (
            self.filters <= NARROW_CONV_MAX_FILTERS
            and tuple(self.strides) == (1, 1)
            and tuple(self.dilation_rate) == (1, 1)
            and self.groups == 1
            and self.padding == "same"
            and self.data_format == "channels_last"
            and all(k % 2 == 1 for k in self.kernel_size)
        )

    def convolution_op(self, inputs, kernel):
        if self._narrow():
            return narrow_conv2d(inputs, kernel)
        return super().convolution_op(inputs, kernel)
