"""Families of nets: one registry entry per family, builders one module per family.

The registry (:mod:`.registry`, no Keras): :class:`Architecture` (name, builders, sizes,
default width, what it suits), :func:`register`, :func:`get`, :func:`names`; families
come built in (``dcgan``, ``resnet``, ``mlp``), from Python, or from installed packages'
``keras_wgan.architectures`` entry points. ``presets``, the CLI's ``--arch`` and its
size checks read it.

The builders, loaded on first use (they import Keras):

- :mod:`.dcgan`: the original experiment's DCGAN-style image nets (``build_generator``,
  ``build_critic``; three stages, the reference code's parameter counts).
- :mod:`.resnet`: the WGAN-GP paper's ResNets (``build_resnet_generator``,
  ``build_resnet_critic``; the CIFAR-10 net at 32x32, the deeper 64x64 net, stages that
  follow the image size).
- :mod:`.mlp`: the WGAN-GP paper's toy MLPs (``build_mlp_generator``,
  ``build_mlp_critic``).
- :mod:`.conditional`: what the class-conditional versions share (the labels input, the
  class embedding joined to the noise, class-conditional batch norm, the projection
  critic head with an optional auxiliary classifier).
- :mod:`.sizes`: the built-in families' size rules, plain arithmetic.
- :mod:`.spectral`: spectral normalisation of any family's critic (``critic_norm=
  "spectral"`` in the presets: ``spectral_normalize`` swaps its ``Conv2D`` / ``Dense``
  layers for ``SpectralConv2D`` / ``SpectralDense``), safe under the penalty's double
  gradient on every backend.

Conventions: image builders take ``image_shape`` (H, W, C) and ``dim`` (the width); every
builder takes ``num_classes`` (None: unconditional; K: ``G([noise, labels])`` and
``D([samples, labels])``, labels integer class indices of shape (batch,)) and critics
``auxiliary_classifier``; nets are functional ``keras.Model``s of stock Keras layers
only, so a saved file loads with plain Keras on every backend; docstrings state the
parameter counts of the reference code.
"""

import importlib

from keras_wgan.architectures.registry import (
    BUILT_IN,
    ENTRY_POINT_GROUP,
    Architecture,
    get,
    names,
    register,
    reload_plugins,
    unregister,
)

_LAZY = {
    "NORMALIZATIONS": "dcgan", "build_critic": "dcgan", "build_generator": "dcgan",
    "build_mlp_critic": "mlp", "build_mlp_generator": "mlp",
    "build_resnet_critic": "resnet", "build_resnet_generator": "resnet",
    "CRITIC_NORMS": "spectral", "SpectralConv2D": "spectral", "SpectralDense": "spectral",
    "spectral_normalize": "spectral",
}

__all__ = [
    "Architecture",
    "BUILT_IN",
    "ENTRY_POINT_GROUP",
    "get",
    "names",
    "register",
    "reload_plugins",
    "unregister",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(f"keras_wgan.architectures.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module 'keras_wgan.architectures' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
