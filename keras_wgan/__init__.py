"""keras-wgan: Wasserstein GANs as first-class Keras 3 models, on every Keras backend.

The backend is Keras' own choice (``KERAS_BACKEND``: tensorflow, jax or torch; Keras'
default is tensorflow), made before keras is first imported.

Importing the package does not import keras (so ``keras-wgan --help`` answers at once):
``WGAN``, ``WGANGP`` and ``WassersteinGAN`` load on first use, and the classes that saved
``.keras`` files name are registered with Keras as soon as keras is imported, before or
after this package, so ``import keras_wgan`` is enough for ``keras.models.load_model``.
"""

import importlib
import importlib.util
import sys

__version__ = "0.2.0"

__all__ = ["WGAN", "WGANGP", "WassersteinGAN", "__version__"]

_LAZY = {"WGAN": "keras_wgan.models", "WGANGP": "keras_wgan.models",
         "WassersteinGAN": "keras_wgan.models"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'keras_wgan' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def _register_with_keras():
    """Define (and so register) every class a saved file can name: the models, the rate
    schedule and 0.1's layers."""
    importlib.import_module("keras_wgan.models")
    importlib.import_module("keras_wgan.rate_decay")
    importlib.import_module("keras_wgan.legacy_layers")


class _RegisterWhenKerasLoads:
    """A one-shot import hook: runs :func:`_register_with_keras` right after keras loads."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        load = spec.loader.exec_module

        def load_then_register(module):
            load(module)
            _register_with_keras()

        spec.loader.exec_module = load_then_register
        return spec


if "keras" in sys.modules:
    _register_with_keras()
elif not any(isinstance(f, _RegisterWhenKerasLoads) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterWhenKerasLoads())
