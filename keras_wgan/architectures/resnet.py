"""The WGAN-GP paper's ResNets: residual generator and critic whose stages follow the image size.

Gulrajani et al. (2017) get their best results with residual nets: the CIFAR-10 model
(``gan_cifar_resnet.py`` in the reference code, Inception score 7.86 unconditional,
8.42 conditional) and a deeper 64x64 model (``gan_64x64.py``'s ResNet). These builders
make both, and every size in between and beyond, from one rule.

**Stages.** The generator starts from a grid of 4x4 to 7x7 cells and doubles it
``n`` times; the critic halves the image back. ``n`` follows the image size: the
smaller side must be ``b * 2**n`` with ``b`` in 4..7 and ``n >= 1`` (8, 10, 12, 14, 16,
20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, ...), the other side a multiple of
``2**n``. 32x32 has 3 stages, 64x64 4, 128x128 5. Any other shape is refused
(``ValueError`` naming ``image_shape`` and listing the sizes).

**Widths: the two paper nets, each at the sizes it was made for.**

- Up to 3 stages (32x32 and smaller, and 40 to 56): the CIFAR-10 schedule. Every stage
  is ``dim`` wide; the critic halves the image ``n - 1`` times (at least once), the
  first time in the reference's "optimised" block, then runs two plain blocks. At
  32x32 this is the paper's CIFAR-10 net exactly (``dim=128`` there).
- From 4 stages (64x64 and up): the 64x64 schedule. The widths double from ``dim`` at
  the image's resolution towards the coarse grid, capped at ``8 * dim``: at 64x64 the
  generator's grids 4, 8, 16, 32, 64 have 8, 8, 4, 2, 1 times ``dim`` channels, as in
  ``gan_64x64.py`` (``dim=64`` there); at 128x128, 8, 8, 8, 4, 2, 1 times ``dim``. The
  critic mirrors it: the optimised block and ``n - 1`` down-blocks take the image to
  the coarsest grid (64x64: widths dim, 2, 4, 8, 8 times dim at grids 64, 32, 16, 8, 4).

So ``dim`` is every stage's width up to 32x32 and the finest stage's width from 64x64
on, as in each paper net; a 32x32 net is not a shrunken 64x64 one (the paper's CIFAR
net is much narrower at its coarse grids) and a 64x64 net is not a stretched 32x32 one.

**Blocks** (the reference's, in NHWC, stock Keras layers only):

- generator up-block: BN, ReLU, 2x nearest upsampling, 3x3 conv; BN, ReLU, 3x3 conv;
  plus a 1x1-conv shortcut of the upsampled input (computed before the upsampling,
  which gives the same values: nearest upsampling and a 1x1 conv commute). The first
  conv has a bias only in the CIFAR-10 schedule (batch norm follows it; the 64x64
  reference drops it). The net: Dense to the first grid, the up-blocks, BN, ReLU, a
  3x3 conv to the image channels, tanh.
- critic: the first block is the reference's optimised one (3x3 conv, ReLU, 3x3 conv,
  2x2 mean pool; shortcut: mean pool, 1x1 conv); then down-blocks (ReLU, 3x3 conv,
  ReLU, 3x3 conv, mean pool; shortcut: mean pool, 1x1 conv, which equals the
  reference's 1x1 conv then mean pool) and plain blocks (identity shortcut); ReLU, the
  mean over space, Dense(1). No batch-coupled layer (the penalty needs per-sample
  gradients) and no normalisation, as the CIFAR-10 critic. The 64x64 reference critic
  differs in its details (layer norm in its blocks, a 3x3 input conv before a
  pre-activation block, and a Dense on the flattened 4x4 grid); here the critic keeps
  the CIFAR-10 critic's block design at the 64x64 widths.
- Initialisers as the reference's ``tflib``: 3x3 convs ``he_init`` (uniform, variance
  4 / (fan_in + fan_out)), 1x1 shortcuts, the Dense layers and the CIFAR-10 output
  conv Glorot uniform; batch-norm epsilon 1e-5.

**Parameter counts** (``count_params()``, which includes batch norm's moving mean and
variance, 2 per channel, non-trainable; the reference code keeps them too):

- 32x32x3, ``dim=128``, unconditional: generator 1,206,275 (1,204,483 trainable, the
  reference's printed count), critic 1,053,825: both equal to ``gan_cifar_resnet.py``.
- 64x64x3, ``dim=64``: generator 8,545,347 (8,540,483 trainable), equal to
  ``gan_64x64.py``'s ``GoodGenerator``; critic 7,436,545 (the reference's is 7,491,841:
  its layer norms and flattened 4x4 head, against this critic's conv biases).
- 128x128x3, ``dim=64``: generator 13,531,203, critic 12,418,817 (no reference net).
- At the default ``dim=128`` the 64x64 nets have 32,041,091 / 29,733,377 parameters.

**Conditional** (``num_classes=K``, the DCGAN builders' convention, ``conditional.py``):
the generator is ``G([noise, labels])`` with class-conditional batch norm in every
residual block, as the reference's conditional CIFAR-10 generator (whose final batch
norm, before the output conv, stays unconditional; so here too). Each of those has K x
channels gains and K x channels biases in place of batch norm's 2 x channels, and
keeps its moving statistics (the reference normalises with batch statistics only): at
32x32x3, ``dim=128``, K=10 the generator has 1,220,099 parameters (1,218,307
trainable, the reference's count). The noise is not joined with a class embedding
(the reference's is not). The critic is a projection critic on the pooled features,
``auxiliary_classifier=True`` adds K class logits (the paper's AC-GAN head:
``classifier_weight`` 1 and ``generator_classifier_weight`` 0.1 in the models are its
scales).
"""

import keras
from keras import layers

from keras_wgan import checks
from keras_wgan.architectures import sizes
from keras_wgan.architectures.conditional import (
    batch_norm,
    check_num_classes,
    critic_head,
    label_input,
)

# Up to this many stages the CIFAR-10 schedule (constant width), from one more the
# 64x64 schedule (widths doubling towards the coarse grid).
CIFAR_MAX_STAGES = 3
# The 64x64 schedule's widest stage, in multiples of ``dim``.
WIDTH_CAP = 8
# How many plain blocks the CIFAR-10 critic runs after its down-blocks.
CIFAR_PLAIN_BLOCKS = 2


def valid_sizes(limit=128):
    """The image sides up to ``limit`` the nets accept (for a square image)."""
    return sizes.square_sizes(sizes.resnet_fits, limit)


def stages_for(image_shape):
    """``(stages, (rows, cols))``: how many 2x stages and the first grid, for an image shape.

    Refuses shapes that have none (:func:`keras_wgan.architectures.sizes.resnet_stages`).
    """
    height, width, _ = checks.check_image_shape("image_shape", image_shape)
    stages = sizes.resnet_stages(height, width)
    if stages is None:
        checks.refuse(
            "image_shape",
            "(height, width, channels) whose smaller side is 4 to 7 times a power of two "
            f">= 2 ({', '.join(map(str, valid_sizes()))}, ...) and whose other side is a "
            "multiple of the same power",
            image_shape,
            hint="The ResNets start from a 4x4 to 7x7 grid and double it at each stage.",
        )
    return stages, (height // 2**stages, width // 2**stages)


def stage_widths(stages, dim):
    """Channels of each grid, coarsest first (``stages + 1`` values; see the module docstring)."""
    if stages <= CIFAR_MAX_STAGES:
        return [dim] * (stages + 1)
    return [dim * min(WIDTH_CAP, 2 ** (stages - i)) for i in range(stages + 1)]


def _he():
    # tflib's he_init: uniform with variance 4 / (fan_in + fan_out).
    return keras.initializers.VarianceScaling(2.0, mode="fan_avg", distribution="uniform")


def _conv(filters, size, name, he=True, use_bias=True):
    return layers.Conv2D(
        filters, size, padding="same", use_bias=use_bias, name=name,
        kernel_initializer=_he() if he else "glorot_uniform",
    )


def _up_block(x, filters, name, labels, num_classes, first_bias):
    """Pre-activation residual block that doubles the grid (BN, ReLU, up, conv, BN, ReLU, conv)."""
    shortcut = _conv(filters, 1, f"{name}_shortcut", he=False)(x)
    shortcut = layers.UpSampling2D(2, name=f"{name}_shortcut_up")(shortcut)
    y = batch_norm(x, f"{name}_bn1", labels, num_classes)
    y = layers.ReLU(name=f"{name}_relu1")(y)
    y = layers.UpSampling2D(2, name=f"{name}_up")(y)
    y = _conv(filters, 3, f"{name}_conv1", use_bias=first_bias)(y)
    y = batch_norm(y, f"{name}_bn2", labels, num_classes)
    y = layers.ReLU(name=f"{name}_relu2")(y)
    y = _conv(filters, 3, f"{name}_conv2")(y)
    return layers.Add(name=f"{name}_add")([shortcut, y])


def _optimised_block(x, inner, filters, name):
    """The critic's first block (the reference's optimised one): no activation on the image.

    3x3 conv to ``inner``, ReLU, 3x3 conv to ``filters``, 2x2 mean pool; shortcut: mean
    pool, 1x1 conv.
    """
    y = _conv(inner, 3, f"{name}_conv1")(x)
    y = layers.ReLU(name=f"{name}_relu")(y)
    y = _conv(filters, 3, f"{name}_conv2")(y)
    y = layers.AveragePooling2D(2, name=f"{name}_pool")(y)
    shortcut = layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(x)
    shortcut = _conv(filters, 1, f"{name}_shortcut", he=False)(shortcut)
    return layers.Add(name=f"{name}_add")([shortcut, y])


def _critic_block(x, filters, name, down):
    """Pre-activation residual critic block: ReLU, 3x3 conv, ReLU, 3x3 conv[, 2x2 mean pool].

    A down-block's first conv keeps the input's width and its shortcut is a mean pool
    and a 1x1 conv; a plain block's first conv has ``filters`` and its shortcut is the
    identity when the width does not change.
    """
    y = layers.ReLU(name=f"{name}_relu1")(x)
    y = _conv(x.shape[-1] if down else filters, 3, f"{name}_conv1")(y)
    y = layers.ReLU(name=f"{name}_relu2")(y)
    y = _conv(filters, 3, f"{name}_conv2")(y)
    shortcut = x
    if down:
        y = layers.AveragePooling2D(2, name=f"{name}_pool")(y)
        shortcut = layers.AveragePooling2D(2, name=f"{name}_shortcut_pool")(shortcut)
    if down or x.shape[-1] != filters:
        shortcut = _conv(filters, 1, f"{name}_shortcut", he=False)(shortcut)
    return layers.Add(name=f"{name}_add")([shortcut, y])


def build_resnet_generator(
    latent_dim=128,
    image_shape=(32, 32, 3),
    dim=128,
    num_classes=None,
    name="resnet_generator",
):
    """The WGAN-GP paper's residual generator for ``image_shape`` (see the module docstring).

    Dense -> (rows, cols, widths[0]) -> one up-block per stage -> BN, ReLU, 3x3 conv,
    tanh. At 32x32x3 and ``dim=128``: the CIFAR-10 net, 1,206,275 parameters; at
    64x64x3 and ``dim=64``: the 64x64 net, 8,545,347.

    Args:
        latent_dim: the noise size.
        image_shape: ``(H, W, C)``; each side 4 to 7 times a power of two (8, 12, 16,
            24, 28, 32, 48, 64, 96, 128, ...), the stages following it.
        dim: the width (the channels of the last stage).
        num_classes: None for ``G(noise)``; K for ``G([noise, labels])`` with
            class-conditional batch norm in every residual block.
        name: the model's name.

    Returns:
        A functional ``keras.Model`` whose outputs are images in [-1, 1].

    Raises:
        ValueError: a size that is not a positive int, or an image side the stages
            cannot reach (the message lists the sizes that work).
    """
    latent_dim = checks.check_positive_int("latent_dim", latent_dim)
    num_classes = check_num_classes(num_classes)
    dim = checks.check_positive_int("dim", dim)
    stages, (rows, cols) = stages_for(image_shape)
    channels = image_shape[-1]
    widths = stage_widths(stages, dim)
    cifar = stages <= CIFAR_MAX_STAGES

    noise = keras.Input(shape=(latent_dim,), name="noise")
    inputs, labels = noise, None
    if num_classes is not None:
        labels = label_input()
        inputs = [noise, labels]
    x = layers.Dense(rows * cols * widths[0], name="project")(noise)
    x = layers.Reshape((rows, cols, widths[0]), name="reshape")(x)
    for i in range(stages):
        x = _up_block(x, widths[i + 1], f"up{i + 1}", labels, num_classes, first_bias=cifar)
    x = batch_norm(x, "output_bn")  # unconditional, as in the reference
    x = layers.ReLU(name="output_relu")(x)
    x = _conv(channels, 3, "output_conv", he=not cifar)(x)
    images = layers.Activation("tanh", name="tanh")(x)
    return keras.Model(inputs, images, name=name)


def build_resnet_critic(
    image_shape=(32, 32, 3),
    dim=128,
    num_classes=None,
    auxiliary_classifier=False,
    name="resnet_critic",
):
    """The WGAN-GP paper's residual critic for ``image_shape`` (see the module docstring).

    Optimised first block and down-blocks with 2x2 mean pooling, then (up to 32x32) two
    plain blocks; ReLU, the mean over space, Dense(1): an unbounded score, no
    batch-coupled layers. At 32x32x3 and ``dim=128``: the CIFAR-10 critic, 1,053,825
    parameters.

    Args:
        image_shape: ``(H, W, C)``, sides as for :func:`build_resnet_generator`.
        dim: the width of every block.
        num_classes: None for ``D(images)``; K for a projection critic ``D([images,
            labels])`` on the pooled features.
        auxiliary_classifier: with ``num_classes``, a second output of K class logits
            (the paper's AC-GAN head, ``classifier_weight``).
        name: the model's name.

    Returns:
        A functional ``keras.Model``: one score per image (and the logits).

    Raises:
        ValueError: a bad size, or ``auxiliary_classifier`` without ``num_classes``.
    """
    dim = checks.check_positive_int("dim", dim)
    num_classes = check_num_classes(num_classes)
    auxiliary_classifier = checks.check_bool("auxiliary_classifier", auxiliary_classifier)
    stages, _ = stages_for(image_shape)
    widths = stage_widths(stages, dim)[::-1]  # finest first: widths[k] at side / 2**k
    if stages <= CIFAR_MAX_STAGES:
        downs, plain = max(1, stages - 1), CIFAR_PLAIN_BLOCKS
    else:
        downs, plain = stages, 0

    x = images = keras.Input(shape=tuple(image_shape), name="images")
    x = _optimised_block(x, widths[0], widths[1], "block1")
    for k in range(1, downs):
        x = _critic_block(x, widths[k + 1], f"block{k + 1}", down=True)
    for j in range(plain):
        x = _critic_block(x, widths[downs], f"block{downs + j + 1}", down=False)
    x = layers.ReLU(name="relu")(x)
    features = layers.GlobalAveragePooling2D(name="mean")(x)
    inputs, outputs = critic_head(features, images, num_classes, auxiliary_classifier)
    return keras.Model(inputs, outputs, name=name)
