"""PyTorch: eager autograd, a host-side generator update, ``create_graph`` for the penalty.

Keras' torch trainer calls ``train_step(data) -> logs`` eagerly (``torch.compile``
with ``jit_compile=True``). Gradients are taken with ``torch.autograd.grad`` for the
exact variable list of each optimizer, so no ``.grad`` accumulates on the other
network.
"""

import keras
import torch
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
        """No fast paths on PyTorch."""


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
