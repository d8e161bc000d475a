"""WGAN and WGAN-GP as Keras 3 models trained with the standard ``fit``, on every backend.

``base``: ``WassersteinGAN``, everything the two share (backend-neutral);
``optimizers``: the two-optimizer ``compile`` and its saved config;
``sampling``: drawing samples (``generate``, ``generate_from_noise``, ``export``);
``wgan`` / ``wgangp``: the two Lipschitz constraints (weight clipping, gradient penalty).
"""

from keras_wgan.models.base import WassersteinGAN
from keras_wgan.models.wgan import WGAN
from keras_wgan.models.wgangp import WGANGP

__all__ = ["WGAN", "WGANGP", "WassersteinGAN"]
