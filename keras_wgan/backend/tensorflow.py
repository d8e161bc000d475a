"""TensorFlow: GradientTape gradients, the generator update, ``tf.distribute``, two fast paths.

On one device the generator update is a graph-side ``tf.cond``. Under a
``tf.distribute`` strategy with several replicas an optimizer update may not sit in a
``tf.cond`` (its cross-replica ``merge_call``), so the step comes in two traced
variants, critic only and critic + generator, chosen per step on the host
(``keras_wgan.schedule.HostSchedule``); each replica's loss is divided by the number of
replicas (the optimizer sums their gradients), and random rows are drawn for the
global batch and sliced per replica, so the maths is that of one device on the global
batch.

The fast paths make the WGAN-GP step cheaper on TensorFlow without changing a value
or a saved file. They are installed at run time on the *instances* of stock Keras
layers (``LeakyReLU.call``, ``Conv2D.convolution_op``) of the GAN's networks, so the
networks keep stock configs and a ``.keras`` file loads on every backend:

* ``leaky_relu``: the penalty differentiates the critic's input gradient again (a
  double backward). Through a stock leaky ReLU that second derivative is propagated
  through the activation's mask: TensorFlow's ``LeakyReluGrad`` gradient returns
  zeros, which then flow back through every layer below, roughly one extra backward
  pass of the critic per penalty. The mask is piecewise constant, so its derivative is
  exactly zero almost everywhere: not propagating it changes no value.
* ``narrow_conv2d``: oneDNN's direct convolution is very slow when the output has one
  channel (a grayscale generator's image layer), forward and backward.
"""

import contextlib
import functools

import keras
import tensorflow as tf


class GANTrainer:
    """Train-step hooks for Keras' TensorFlow trainer (``train_step(data) -> logs``)."""

    def train_step(self, data):
        return self._train_step(data)

    def test_step(self, data):
        return self._test_step(data)

    def _replicas(self):
        return self.distribute_strategy.num_replicas_in_sync

    def make_train_function(self, force=False):
        if self._replicas() == 1:
            return super().make_train_function(force)
        if self.train_function is not None and not force:
            return self.train_function
        if self.steps_per_execution != 1:
            raise ValueError(
                f"{type(self).__name__} under tf.distribute with {self._replicas()} replicas "
                "needs steps_per_execution=1 (the generator update is chosen per step on the "
                f"host); got {self.steps_per_execution}. Use compile(steps_per_execution=1)."
            )
        variants = {
            decision: self._make_function(functools.partial(self._scheduled_train_step, decision))
            for decision in (False, True)
        }

        def function(iterator):
            if self._schedule is None:
                self._schedule = self._host_schedule()
            logs = variants[self._schedule.completes_block()](iterator)
            self._schedule.step()  # only once the step ran (the data may have ended)
            return logs

        self.train_function = function
        return function

    def _scheduled_train_step(self, decision, data):
        # An argument, not an attribute: MirroredStrategy traces replicas in threads.
        return self._train_step(data, host_decision=decision)

    def _minimize(self, loss_fn, optimizer, variables):
        with tf.GradientTape() as tape:
            loss, aux = loss_fn()
            # Each replica's mean over its share; the optimizer sums the replicas'
            # gradients, so this is the gradient of the global batch's mean.
            scaled = loss / self._replicas() if self._replicas() > 1 else loss
            scaled = optimizer.scale_loss(scaled)  # a LossScaleOptimizer's scale (float16)
        optimizer.apply(tape.gradient(scaled, variables), variables)
        return loss, aux

    def _no_gradient(self):
        return contextlib.nullcontext()  # only what a GradientTape records is differentiated

    def _replica_rows(self, draw, batch_size):
        context = tf.distribute.get_replica_context()
        replicas = self._replicas()
        if context is None or replicas == 1:
            return draw(batch_size)
        replica = tf.cast(context.replica_id_in_sync_group, "int32")
        batch_size = tf.cast(batch_size, "int32")
        rows = draw(batch_size * replicas)
        return rows[replica * batch_size:(replica + 1) * batch_size]

    def _run_if(self, condition, fn):
        # A graph-side conditional: no host synchronisation in the step.
        def run():
            fn()
            return tf.constant(True)

        tf.cond(condition, run, lambda: tf.constant(False))

    def _prepare_networks(self, *networks):
        for network in networks:
            install_fast_paths(network)


def input_gradients(fn, x):
    """d sum(fn(x)) / dx, recorded so that an outer tape can differentiate it again."""
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs = fn(x)
    return tape.gradient(outputs, x)


# ------------------------------------------------------------------ fast paths


def install_fast_paths(model, leaky_relu=True, narrow_conv=True):
    """Route the stock ``LeakyReLU`` and narrow ``Conv2D`` layers of ``model`` to the fast ops.

    Only layers that use Keras' own implementation are touched (a subclass with its own
    ``call`` or ``convolution_op`` keeps it). Same values and gradients; nothing about
    the layers' configs or weights changes. ``leaky_relu`` / ``narrow_conv`` choose the
    kinds. Returns the number of layers routed.
    """
    routed = 0
    for layer in model._flatten_layers(include_self=False):
        if leaky_relu and _is_stock(layer, keras.layers.LeakyReLU, "call"):
            layer.call = functools.partial(_leaky_relu_call, layer)
            routed += 1
        elif narrow_conv and _is_stock(layer, keras.layers.Conv2D, "convolution_op") and (
            narrow_conv_applies(layer)
        ):
            layer.convolution_op = narrow_conv2d
            routed += 1
    return routed


def remove_fast_paths(model):
    """Undo :func:`install_fast_paths`: every layer of ``model`` runs Keras' own code again."""
    for layer in model._flatten_layers(include_self=False):
        for name, base in (("call", keras.layers.LeakyReLU), ("convolution_op", keras.layers.Conv2D)):
            if isinstance(layer, base):
                vars(layer).pop(name, None)


def _is_stock(layer, base, method):
    return isinstance(layer, base) and getattr(type(layer), method) is getattr(base, method)


def _leaky_relu_call(layer, inputs):
    return leaky_relu(inputs, negative_slope=layer.negative_slope)


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


# Output-channel counts up to which ``Conv2D`` takes the depthwise path: a grayscale
# image output. Measured on a 2-core AVX-512 CPU (oneDNN), a 5x5 "same" convolution
# of (64, 32, 32, 64) to 1 channel takes ~46 ms forward and ~100 ms forward+backward
# as a plain conv2d, ~8 ms and ~56 ms here; from 256 channels ~180/435 ms vs ~37/123 ms.
# The path costs one depthwise convolution per output channel, so it loses from 3
# (colour): on (64, 32, 32, 64..256) it takes 1.2-1.8x the plain conv2d's time with a
# 3x3 kernel (forward+backward) and 0.85-1.3x with a 5x5 one, against 0.4-0.8x for 1
# channel (``benchmarks/resnet_fast_paths.py``).
NARROW_CONV_MAX_FILTERS = 1


def narrow_conv_applies(layer):
    """Whether a ``Conv2D`` layer's configuration is one :func:`narrow_conv2d` computes."""
    return (
        layer.filters <= NARROW_CONV_MAX_FILTERS
        and tuple(layer.strides) == (1, 1)
        and tuple(layer.dilation_rate) == (1, 1)
        and layer.groups == 1
        and layer.padding == "same"
        and layer.data_format == "channels_last"
        and all(k % 2 == 1 for k in layer.kernel_size)
    )


def narrow_conv2d(inputs, kernel):
    """Stride-1 "same" 2-D convolution (NHWC), fast when the kernel has few output channels.

    The same sum as ``tf.nn.conv2d``, computed per output channel as a depthwise
    convolution of every input channel followed by a sum over channels; the gradients
    use two matmuls on the kernel-sized patches of the (narrow) output gradient. Equal
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
