"""keras-wgan: Wasserstein GANs as first-class Keras 3 models, on every Keras backend.

The backend is Keras' own choice (``KERAS_BACKEND``: tensorflow, jax or torch; Keras'
default is tensorflow), made before keras is first imported.
"""

__version__ = "0.2.0"

from keras_wgan.models import WGAN, WGANGP, WassersteinGAN  # noqa: E402

# Files saved by keras-wgan 0.1 name the layer classes of keras_wgan.ops: register them
# before load_model reads such a file, even in a process that never built a model.
import keras_wgan.ops  # noqa: E402, F401

__all__ = ["WGAN", "WGANGP", "WassersteinGAN", "__version__"]
