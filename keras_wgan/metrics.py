"""Deprecated: the old name of :mod:`keras_wgan.evaluation` (it shadowed ``keras.metrics``)."""

import warnings

from keras_wgan import evaluation as _evaluation

__all__ = list(_evaluation.__all__)


def __getattr__(name):
    value = getattr(_evaluation, name)  # AttributeError for a name evaluation lacks
    warnings.warn(f"keras_wgan.metrics is deprecated: use `from keras_wgan.evaluation import "
                  f"{name}`", DeprecationWarning, stacklevel=2)
    return value
