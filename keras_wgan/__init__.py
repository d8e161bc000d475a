"""keras-wgan: Wasserstein GANs as first-class Keras 3 models."""

import os

# The train steps use tf.GradientTape (nested, for the penalty), so the
# TensorFlow backend is required; set it before keras is first imported.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"

from keras_wgan.models import WGAN, WGANGP, WassersteinGAN  # noqa: E402
# The nets' custom layers (keras_wgan.ops) must be registered before load_model reads
# a saved model, even in a process that never built one.
import keras_wgan.ops  # noqa: E402, F401

__all__ = ["WGAN", "WGANGP", "WassersteinGAN", "__version__"]
