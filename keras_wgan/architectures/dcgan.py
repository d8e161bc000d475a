"""The original experiment's DCGAN-style image nets: three up/down-sampling stages, 5x5 convs.

The builders reproduce the reference implementation's nets layer for layer, so their
parameter counts match (at ``dim=128``: WGAN-GP generator 6,013,697 / critic
4,107,393; WGAN generator 5,190,657 / critic 4,111,361) and speed comparisons with it
are fair. Which variant each model uses, at which settings, is in ``keras_wgan.presets``.

Both builders take ``num_classes``: None builds the unconditional net; an integer K
builds the class-conditional one of the same shape (``conditional.py``): a conditional
generator is ``G([noise, labels])``, the noise joined with a learned class embedding; a
conditional critic is a projection critic on the flattened features, optionally with
an auxiliary classifier head. Labels are integer class indices of shape (batch,).
"""

import keras
from keras import layers

from keras_wgan import checks
from keras_wgan.architectures import sizes
from keras_wgan.architectures.conditional import (
    check_num_classes,
    critic_head,
    join_class_embedding,
)

NORMALIZATIONS = (None, "batch", "layer")


def _check_image_shape(image_shape):
    image_shape = checks.check_image_shape("image_shape", image_shape)
    height, width, _ = image_shape
    if not sizes.dcgan_fits(height, width):
        raise ValueError(
            "`image_shape` height and width must be divisible by 8 (three 2x "
            f"up/down-sampling stages), got {tuple(image_shape)!r}."
        )
    return image_shape


def family_generator(latent_dim, image_shape, dim, num_classes=None, clipping=False):
    """The registry's generator: WGAN's (``clipping``) keeps its middle block ``dim`` wide,
    WGAN-GP's is ``2 * dim`` (the original experiment's two variants)."""
    return build_generator(latent_dim, image_shape, dim, num_classes=num_classes,
                           middle_filters=dim if clipping else None)


def family_critic(image_shape, dim, num_classes=None, auxiliary_classifier=False,
                  clipping=False):
    """The registry's critic: batch-normalised for WGAN (``clipping``); never for WGAN-GP,
    whose per-sample penalty batch statistics would couple."""
    return build_critic(image_shape, dim, normalization="batch" if clipping else None,
                        num_classes=num_classes, auxiliary_classifier=auxiliary_classifier)


def build_generator(
    latent_dim=128,
    image_shape=(32, 32, 1),
    dim=128,
    middle_filters=None,
    name="generator",
    num_classes=None,
    class_embedding_dim=None,
):
    """The original generator: Dense -> (H/8, W/8, 4*dim), three upsample + 5x5 convs, tanh.

    Blocks use bilinear 2x upsampling followed by a 5x5 "same" convolution with
    ``2*dim``, ``middle_filters`` and ``channels`` filters; BatchNorm + ReLU after the
    dense layer and the first two convolutions. ``middle_filters`` defaults to ``2*dim``
    (the original experiment's WGAN-GP generator); its WGAN generator uses ``dim``
    (``build_generator(..., middle_filters=dim)``; ``WGAN.from_preset`` does so).
    Stock Keras layers only (on TensorFlow the GAN routes the narrow output convolution
    to a faster kernel at run time, ``keras_wgan.backend``).

    Args:
        latent_dim: the noise size.
        image_shape: ``(H, W, C)``, H and W multiples of 8.
        dim: the width: filters of the first block are ``2*dim`` (``4*dim`` units per
            position after the dense layer).
        middle_filters: filters of the second block; None: ``2*dim``.
        name: the model's name.
        num_classes: None for ``G(noise)``; K for ``G([noise, labels])``, the noise
            joined with a learned embedding of the label before the dense layer.
        class_embedding_dim: that embedding's size; None: ``latent_dim``.

    Returns:
        A functional ``keras.Model`` whose outputs are images in [-1, 1].

    Raises:
        ValueError: a size that is not a positive int, or an image side that is not a
            multiple of 8.

    Example:

    ```python
    generator = build_generator(latent_dim=128, image_shape=(32, 32, 1), dim=64)
    images = generator(keras.random.normal((16, 128)))  # (16, 32, 32, 1)
    ```
    """
    latent_dim = checks.check_positive_int("latent_dim", latent_dim)
    num_classes = check_num_classes(num_classes)
    dim = checks.check_positive_int("dim", dim)
    height, width, channels = _check_image_shape(image_shape)
    middle_filters = 2 * dim if middle_filters is None else middle_filters
    middle_filters = checks.check_positive_int("middle_filters", middle_filters)
    h0, w0 = height // 8, width // 8

    z = keras.Input(shape=(latent_dim,), name="noise")
    inputs, x = z, z
    if num_classes is not None:
        embedding_dim = latent_dim if class_embedding_dim is None else class_embedding_dim
        embedding_dim = checks.check_positive_int("class_embedding_dim", embedding_dim)
        inputs, x = join_class_embedding(z, num_classes, embedding_dim)
    x = layers.Dense(h0 * w0 * 4 * dim, name="project")(x)
    x = layers.BatchNormalization(name="project_bn")(x)
    x = layers.ReLU(name="project_relu")(x)
    x = layers.Reshape((h0, w0, 4 * dim), name="reshape")(x)
    for i, filters in enumerate((2 * dim, middle_filters)):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"up{i + 1}")(x)
        x = layers.Conv2D(filters, 5, padding="same", name=f"conv{i + 1}")(x)
        x = layers.BatchNormalization(name=f"bn{i + 1}")(x)
        x = layers.ReLU(name=f"relu{i + 1}")(x)
    x = layers.UpSampling2D(2, interpolation="bilinear", name="up3")(x)
    x = layers.Conv2D(channels, 5, padding="same", name="conv3")(x)
    images = layers.Activation("tanh", name="tanh")(x)
    return keras.Model(inputs, images, name=name)


def build_critic(
    image_shape=(32, 32, 1),
    dim=128,
    normalization=None,
    name="critic",
    num_classes=None,
    auxiliary_classifier=False,
):
    """The original critic: three 5x5 stride-2 convs (dim, 2*dim, 4*dim), LeakyReLU, Dense(1).

    ``normalization``:
    - ``None`` (default): the original experiment's WGAN-GP critic, convolutions without
      bias (the penalty needs per-sample gradients, so no batch-coupled layers).
    - ``"batch"``: the original experiment's WGAN critic, convolutions with bias and
      BatchNormalization after the second and third convolutions. Do not use it with
      WGANGP.
    - ``"layer"``: LayerNormalization after the second and third convolutions, the
      per-sample normalisation the WGAN-GP paper recommends in place of batch norm.
    The output is an unbounded score (no sigmoid). Stock Keras layers only (on
    TensorFlow the GAN gives the LeakyReLUs a cheaper double backward at run time).

    Args:
        image_shape: ``(H, W, C)``, H and W multiples of 8.
        dim: the width: the convolutions have ``dim``, ``2*dim``, ``4*dim`` filters.
        normalization: None, ``"batch"`` or ``"layer"`` (above).
        name: the model's name.
        num_classes: None for ``D(images)``; K for a projection critic ``D([images,
            labels])`` on the flattened features.
        auxiliary_classifier: with ``num_classes``, a second output of K class logits
            for the GAN's auxiliary-classifier term (``classifier_weight``).

    Returns:
        A functional ``keras.Model``: one score per image (and the logits).

    Raises:
        ValueError: a bad size or ``normalization``, or ``auxiliary_classifier``
            without ``num_classes``.
    """
    dim = checks.check_positive_int("dim", dim)
    num_classes = check_num_classes(num_classes)
    image_shape = _check_image_shape(image_shape)
    if normalization not in NORMALIZATIONS:
        raise ValueError(
            f"`normalization` must be one of {NORMALIZATIONS}, got {normalization!r}."
        )
    use_bias = normalization is not None
    x = images = keras.Input(shape=image_shape, name="images")
    for i, filters in enumerate((dim, 2 * dim, 4 * dim)):
        x = layers.Conv2D(
            filters, 5, strides=2, padding="same", use_bias=use_bias, name=f"conv{i + 1}"
        )(x)
        if i > 0 and normalization == "batch":
            x = layers.BatchNormalization(name=f"bn{i + 1}")(x)
        elif i > 0 and normalization == "layer":
            x = layers.LayerNormalization(axis=(1, 2, 3), name=f"ln{i + 1}")(x)
        x = layers.LeakyReLU(0.2, name=f"lrelu{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    inputs, outputs = critic_head(x, images, num_classes, auxiliary_classifier)
    return keras.Model(inputs, outputs, name=name)
