"""Layer classes that files saved by keras-wgan 0.1 name, kept so those files still load.

keras-wgan 0.1 built its nets with ``keras_wgan>LeakyReLU`` and ``keras_wgan>Conv2D``,
TensorFlow-only subclasses carrying the fast paths. The fast paths are now installed at
run time on stock layers (``keras_wgan.backend.tensorflow``) and the builders use stock
layers, so new files name only Keras classes. These two stay registered, with stock
behaviour on every backend, so an old file loads anywhere.
"""

import keras


@keras.saving.register_keras_serializable(package="keras_wgan")
class LeakyReLU(keras.layers.LeakyReLU):
    """``keras.layers.LeakyReLU`` under the name keras-wgan 0.1 saved it with."""


@keras.saving.register_keras_serializable(package="keras_wgan")
class Conv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` under the name keras-wgan 0.1 saved it with."""
