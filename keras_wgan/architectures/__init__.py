"""Network builders, one module per family, all with the same conventions.

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

Conventions: image builders take ``image_shape`` (H, W, C) and ``dim`` (the width); every
builder takes ``num_classes`` (None: unconditional; K: ``G([noise, labels])`` and
``D([samples, labels])``, labels integer class indices of shape (batch,)) and critics
``auxiliary_classifier``; nets are functional ``keras.Model``s of stock Keras layers
only, so a saved file loads with plain Keras on every backend; docstrings state the
parameter counts of the reference code. Which family and settings each recipe uses is
in ``keras_wgan.presets``.
"""

from keras_wgan.architectures.dcgan import NORMALIZATIONS, build_critic, build_generator
from keras_wgan.architectures.mlp import build_mlp_critic, build_mlp_generator
from keras_wgan.architectures.resnet import build_resnet_critic, build_resnet_generator

__all__ = [
    "NORMALIZATIONS",
    "build_critic",
    "build_generator",
    "build_mlp_critic",
    "build_mlp_generator",
    "build_resnet_critic",
    "build_resnet_generator",
]
