"""PyTorch: eager autograd, a host-side generator update, ``create_graph`` for the penalty.

Keras' torch trainer calls ``train_step(data) -> logs`` eagerly (``torch.compile``
with ``jit_compile=True``). Gradients are taken with ``torch.autograd.grad`` for the
exact variable list of each optimizer, so no ``.grad`` accumulates on the other
network.

One run-time layout path, installed like TensorFlow's fast paths on the *instances* of
stock ``Conv2D`` layers (configs and saved files unchanged): ``single_channel_conv2d``
for convolutions to one output channel (a grayscale generator's image layer). Keras
hands PyTorch such a kernel in the channels-last memory format, and where PyTorch's
CPU bfloat16 convolution falls back to its ``slow_conv2d`` kernel (CPUs or builds
without oneDNN's bfloat16 path; seen with PyTorch 2.14 on an AMD EPYC) its weight
gradient then fails ("slow_conv2d: grad_weight must be contiguous"), so training
under ``mixed_bfloat16`` crashed. The path gives PyTorch the kernel in the default
layout (the images stay channels-last), which its slow kernels differentiate; where
Keras' layout works it costs the same within noise (``benchmarks/torch_layout.py``, 2
AVX-512 cores: the penalty's double backward of a 5x5 convolution of (64, 32, 32, 64)
to one channel, 111 vs 98 ms float32 and 40 vs 40 ms bfloat16 with oneDNN; 467 vs 460
ms float32 on the slow kernels, 622 ms in bfloat16 where Keras' layout fails).
"""

import functools
import math

import keras
import torch
import torch.nn.functional as F
from keras import ops


class GANTrainer:
    """Train-step hooks for Keras' torch trainer (``train_step(data) -> logs``)."""

    def train_step(self, data):
        return self._train_step(data)

    def test_step(self, data):
        return self._test_step(data)

    def make_train_function(self, force=False):
        _check_trainable_here(self)
        return super().make_train_function(force)

    def _minimize(self, loss_fn, optimizer, variables):
        loss, aux = loss_fn()
        tensors = [v.value for v in variables]
        # scale_loss: a LossScaleOptimizer's scale (float16); apply() unscales.
        grads = torch.autograd.grad(optimizer.scale_loss(loss), tensors, allow_unused=True)
        grads = [torch.zeros_like(t) if g is None else g for g, t in zip(grads, tensors)]
        with torch.no_grad():
            optimizer.apply(grads, variables)
        return loss.detach(), _detach(aux)

    def _run_if(self, condition, fn):
        # Eager: the condition is one scalar already on the host (CPU) or one sync (GPU).
        if bool(ops.convert_to_numpy(condition)):
            fn()

    def _no_gradient(self):
        return torch.no_grad()  # e.g. the critic update's fakes: no graph through the generator

    def _replica_rows(self, draw, batch_size):
        return draw(batch_size)  # one process, one device

    def _prepare_networks(self, *networks):
        for network in networks:
            install_layout_paths(network)


def _detach(tree):
    if isinstance(tree, torch.Tensor):
        return tree.detach()
    if isinstance(tree, dict):
        return {k: _detach(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_detach(v) for v in tree)
    return tree


def input_gradients(fn, x):
    """d sum(fn(x)) / dx with ``create_graph=True``, so the penalty can be differentiated.

    Grad mode is switched on locally: Keras runs ``test_step`` under ``torch.no_grad``
    and ``evaluate`` still reports the penalty.
    """
    with torch.enable_grad():
        x = ops.convert_to_tensor(x).detach().requires_grad_(True)
        outputs = fn(x)
        (grads,) = torch.autograd.grad(outputs.sum(), x, create_graph=True)
    return grads


def _check_trainable_here(model):
    """PyTorch's CPU float16 convolution has no weight gradient: say so before training."""
    if torch.cuda.is_available():
        return
    for network in (model.generator, model.critic):
        for layer in network._flatten_layers():
            convolution = "Conv" in type(layer).__name__
            if convolution and keras.backend.standardize_dtype(
                layer.dtype_policy.compute_dtype
            ) == "float16":
                raise ValueError(
                    f"The torch backend cannot train the float16 convolution "
                    f"{layer.name!r} of {network.name!r} on CPU (PyTorch's CPU float16 "
                    "conv2d has no weight gradient). Use the mixed_bfloat16 policy, the "
                    "tensorflow or jax backend, or a GPU."
                )


# ------------------------------------------------------------------ layout path


def install_layout_paths(model):
    """Route ``model``'s stock one-output-channel ``Conv2D`` layers to :func:`single_channel_conv2d`.

    Only layers that use Keras' own ``convolution_op`` in a configuration the function
    computes are touched; returns the number routed.
    """
    routed = 0
    for layer in model._flatten_layers(include_self=False):
        if single_channel_conv_applies(layer):
            layer.convolution_op = functools.partial(_single_channel_op, layer)
            routed += 1
    return routed


def remove_layout_paths(model):
    """Undo :func:`install_layout_paths`: every layer runs Keras' own code again."""
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Conv2D):
            vars(layer).pop("convolution_op", None)


def single_channel_conv_applies(layer):
    """Whether ``layer`` is a stock ``Conv2D`` to one channel that the layout path computes."""
    return (
        isinstance(layer, keras.layers.Conv2D)
        and type(layer).convolution_op is keras.layers.Conv2D.convolution_op
        and layer.filters == 1
        and tuple(layer.dilation_rate) == (1, 1)
        and layer.groups == 1
        and layer.padding in ("same", "valid")
        and layer.data_format == "channels_last"
    )


def _single_channel_op(layer, inputs, kernel):
    return single_channel_conv2d(inputs, kernel, strides=layer.strides, padding=layer.padding)


def single_channel_conv2d(inputs, kernel, strides=(1, 1), padding="same"):
    """``keras.ops.conv`` (NHWC inputs, HWIO kernel) with the kernel in PyTorch's default layout.

    The images go to PyTorch channels-last (a free view of NHWC), the kernel contiguous
    in (out, in, h, w) order. "same" pads as Keras and TensorFlow do (the odd pixel at
    the bottom / right). Equal to Keras' own op up to float rounding, differentiable to
    any order.
    """
    x = ops.convert_to_tensor(inputs).permute(0, 3, 1, 2)
    w = ops.convert_to_tensor(kernel).permute(3, 2, 0, 1).contiguous()
    if padding == "same":
        pads = []
        for size, k, s in zip(x.shape[2:], w.shape[2:], strides):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
    x = x.contiguous(memory_format=torch.channels_last)
    return F.conv2d(x, w, stride=tuple(strides)).permute(0, 2, 3, 1)
