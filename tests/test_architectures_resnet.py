"""The ResNet builders make the WGAN-GP paper's nets and refuse sizes they cannot build.

Parameter counts are checked against formulas written here from the reference code's
layer lists (gan_cifar_resnet.py, gan_64x64.py); conditional batch norm and the
projection head are recomputed in numpy from the weights. Training, saving and mixed
precision run on every backend on 8x8 nets of width 4.
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from testing import run_model_saving_test, run_precision_test, run_serialization_test

from keras_wgan import WGAN, WGANGP, conditioning
from keras_wgan.architectures import build_resnet_critic, build_resnet_generator


# ------------------------------------------------------- the reference's layer lists
def conv(k, c_in, c_out, bias=True):
    return k * k * c_in * c_out + (c_out if bias else 0)


def linear(n_in, n_out):
    return n_in * n_out + n_out


def batchnorm(c):
    # tflib's fused Batchnorm: offset, scale, moving_mean, moving_variance.
    return 4 * c


def reference_cifar_generator(dim=128, latent=128):
    """gan_cifar_resnet.py's Generator: Linear, 3 ResidualBlock('up'), OutputN, Output."""
    block = (batchnorm(dim) + conv(3, dim, dim)     # N1, Conv1 (UpsampleConv)
             + batchnorm(dim) + conv(3, dim, dim)   # N2, Conv2
             + conv(1, dim, dim))                   # Shortcut (UpsampleConv, 1x1)
    return linear(latent, 4 * 4 * dim) + 3 * block + batchnorm(dim) + conv(3, dim, 3)


def reference_cifar_critic(dim=128):
    """gan_cifar_resnet.py's Discriminator: OptimizedResBlockDisc1, down, 2 plain, Output."""
    first = conv(3, 3, dim) + conv(3, dim, dim) + conv(1, 3, dim)
    down = conv(3, dim, dim) + conv(3, dim, dim) + conv(1, dim, dim)
    plain = conv(3, dim, dim) + conv(3, dim, dim)  # identity shortcut
    return first + down + 2 * plain + linear(dim, 1)


def reference_64_generator(dim=64, latent=128):
    """gan_64x64.py's GoodGenerator: Linear to 4x4x8dim, Res1-4 ('up', Conv1 without bias)."""
    widths = [8 * dim, 8 * dim, 4 * dim, 2 * dim, dim]
    total = linear(latent, 4 * 4 * widths[0])
    for c_in, c_out in zip(widths, widths[1:]):
        total += (batchnorm(c_in) + conv(3, c_in, c_out, bias=False)
                  + batchnorm(c_out) + conv(3, c_out, c_out) + conv(1, c_in, c_out))
    return total + batchnorm(dim) + conv(3, dim, 3)


def documented_deep_critic(widths):
    """This library's critic from 4 stages (module docstring): optimised block, down-blocks."""
    total = conv(3, 3, widths[0]) + conv(3, widths[0], widths[1]) + conv(1, 3, widths[1])
    for c_in, c_out in zip(widths[1:], widths[2:]):
        total += conv(3, c_in, c_in) + conv(3, c_in, c_out) + conv(1, c_in, c_out)
    return total + linear(widths[-1], 1)


def trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_weights)


def test_parameter_counts_equal_the_reference_code():
    generator, critic = build_resnet_generator(), build_resnet_critic()
    assert generator.count_params() == reference_cifar_generator() == 1_206_275
    assert critic.count_params() == reference_cifar_critic() == 1_053_825
    # The reference prints its trainable count (moving statistics excluded: 7 BNs).
    assert trainable(generator) == 1_206_275 - 7 * 2 * 128 == 1_204_483
    # The conditional generator: K x C gains and biases per block norm instead of 2 x C.
    conditional = build_resnet_generator(num_classes=10)
    assert trainable(conditional) == 1_204_483 + 6 * (2 * 10 * 128 - 2 * 128) == 1_218_307
    # gan_64x64.py's ResNet generator at its DIM 64, and the critic the docstring states.
    assert build_resnet_generator(image_shape=(64, 64, 3), dim=64).count_params() == \
        reference_64_generator() == 8_545_347
    assert build_resnet_critic((64, 64, 3), dim=64).count_params() == \
        documented_deep_critic([64, 128, 256, 512, 512]) == 7_436_545


# ------------------------------------------------------------------ stages and widths
def conv_filters(model, suffix):
    return [layer.filters for layer in model.layers
            if isinstance(layer, keras.layers.Conv2D) and layer.name.endswith(suffix)]


@pytest.mark.parametrize("side, widths, critic_grid", [
    (32, [1, 1, 1, 1], 8),              # CIFAR-10: constant width, critic ends at 8x8
    (64, [8, 8, 4, 2, 1], 4),           # gan_64x64.py's schedule, to 4x4
    (128, [8, 8, 8, 4, 2, 1], 4),       # the same rule, capped at 8 * dim
])
def test_stages_and_widths_follow_the_image_size(side, widths, critic_grid):
    dim = 2
    generator = build_resnet_generator(8, (side, side, 3), dim)
    critic = build_resnet_critic((side, side, 3), dim)
    assert generator.output_shape == (None, side, side, 3)
    assert critic.output_shape == (None, 1)
    assert generator.get_layer("reshape").output.shape == (None, 4, 4, widths[0] * dim)
    assert conv_filters(generator, "_conv2") == [w * dim for w in widths[1:]]
    # The critic mirrors the generator, finest grid first; up to 32x32 every stage is dim.
    mirrored = [w * dim for w in widths[::-1]]
    assert critic.get_layer("block1_conv1").filters == mirrored[0]
    pooled = [layer.name for layer in critic.layers if layer.name.endswith("_pool")
              and "shortcut" not in layer.name]
    if side == 32:  # the optimised block and one down-block, then two plain blocks
        assert conv_filters(critic, "_conv2") == [dim] * 4
        assert pooled == ["block1_pool", "block2_pool"]
    else:  # the optimised block and down-blocks to the 4x4 grid
        assert conv_filters(critic, "_conv2") == mirrored[1:]
        assert pooled == [f"block{i + 1}_pool" for i in range(len(widths) - 1)]
    assert critic.get_layer("relu").output.shape[1:3] == (critic_grid, critic_grid)


@pytest.mark.parametrize("shape, first_grid", [
    ((8, 8, 3), (4, 4)), ((28, 28, 1), (7, 7)), ((48, 48, 3), (6, 6)),
    ((32, 64, 4), (4, 8)), ((20, 40, 3), (5, 10)),
])
def test_other_sizes_start_from_a_4_to_7_cell_grid(shape, first_grid):
    generator = build_resnet_generator(8, shape, 2)
    assert generator.get_layer("reshape").output.shape[1:3] == first_grid
    assert generator.output_shape == (None,) + shape
    assert build_resnet_critic(shape, 2).output_shape == (None, 1)


SIZES = ("8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, ...")


@pytest.mark.parametrize("shape", [(30, 30, 3), (36, 36, 3), (6, 6, 3), (32, 36, 3)])
def test_sizes_without_a_stage_count_are_refused_with_the_valid_sizes(shape):
    message = (
        "`image_shape` must be (height, width, channels) whose smaller side is 4 to 7 "
        f"times a power of two >= 2 ({SIZES}) and whose other side is a multiple of the "
        f"same power, got {shape!r}. The ResNets start from a 4x4 to 7x7 grid and double "
        "it at each stage."
    )
    for build in (lambda: build_resnet_generator(8, shape, 4),
                  lambda: build_resnet_critic(shape, 4)):
        with pytest.raises(ValueError) as info:
            build()
        assert str(info.value) == message


@pytest.mark.parametrize("build, kwargs, message", [
    (build_resnet_generator, {"image_shape": (32, 32)},
     "`image_shape` must be (height, width, channels) with positive integers, got (32, 32)."),
    (build_resnet_critic, {"image_shape": (32, 32, 0)},
     "`image_shape` must be (height, width, channels) with positive integers, got (32, 32, 0)."),
    (build_resnet_generator, {"dim": 0}, "`dim` must be a positive integer, got 0."),
    (build_resnet_critic, {"num_classes": 1},
     "`num_classes` must be an integer >= 2 or None, got 1."),
    (build_resnet_critic, {"auxiliary_classifier": True}, "`auxiliary_classifier=True` needs"),
    (build_resnet_critic, {"num_classes": 3, "auxiliary_classifier": "yes"},
     "`auxiliary_classifier` must be True or False, got 'yes'."),
])
def test_bad_arguments_are_refused(build, kwargs, message):
    with pytest.raises(ValueError) as info:
        build(**kwargs)
    assert str(info.value).startswith(message)


def test_nets_are_stock_keras_and_the_critic_has_no_batch_coupled_layer():
    generator = build_resnet_generator(8, (8, 8, 3), 4, num_classes=3)
    critic = build_resnet_critic((8, 8, 3), 4, num_classes=3, auxiliary_classifier=True)
    for model in (generator, critic):
        for layer in model.layers:
            assert type(layer).__module__.startswith("keras."), (layer.name, type(layer))
        assert "keras_wgan" not in json.dumps(keras.saving.serialize_keras_object(model))
    assert not any(isinstance(layer, (keras.layers.BatchNormalization,
                                      keras.layers.LayerNormalization))
                   for layer in critic.layers)


# ---------------------------------------------------------------- conditional pieces
def set_random_weights(model, seed):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") if "variance" in v.path
                       else rng.normal(0, 0.5, w.shape).astype("float32")
                       for v, w in zip(model.weights, model.get_weights())])


@pytest.mark.parametrize("training", [False, True])
def test_conditional_batch_norm_is_a_per_class_gain_and_bias(training):
    """gain[y] * (x - mean) / sqrt(var + 1e-5) + bias[y], recomputed from the weights."""
    keras.utils.set_random_seed(0)
    generator = build_resnet_generator(6, (8, 8, 3), 4, num_classes=5)
    set_random_weights(generator, 1)
    noise = np.random.default_rng(2).normal(size=(4, 6)).astype("float32")
    labels = np.array([0, 3, 4, 3], "int32")
    inputs = [tf.constant(noise), tf.constant(labels)]
    probe = keras.Model(generator.inputs, [generator.get_layer("reshape").output,
                                           generator.get_layer("up1_bn1_shift").output])
    x, got = (keras.ops.convert_to_numpy(t).astype("float64")
              for t in probe(inputs, training=training))
    norm = generator.get_layer("up1_bn1")
    assert not norm.center and not norm.scale  # no parameters of its own
    if training:  # batch statistics, as the reference always normalises
        mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    else:
        mean, var = (keras.ops.convert_to_numpy(v) for v in (norm.moving_mean,
                                                             norm.moving_variance))
    (gain,) = generator.get_layer("up1_bn1_gain").get_weights()
    (bias,) = generator.get_layer("up1_bn1_bias").get_weights()
    expected = (gain[labels][:, None, None] * (x - mean) / np.sqrt(var + 1e-5)
                + bias[labels][:, None, None])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    # A fresh net starts as plain batch norm: gains 1, biases 0.
    fresh = build_resnet_generator(6, (8, 8, 3), 4, num_classes=5)
    np.testing.assert_array_equal(fresh.get_layer("up1_bn2_gain").get_weights()[0], 1.0)
    np.testing.assert_array_equal(fresh.get_layer("up1_bn2_bias").get_weights()[0], 0.0)
    assert isinstance(fresh.get_layer("output_bn"), keras.layers.BatchNormalization)
    assert fresh.get_layer("output_bn").scale  # the output norm is unconditional


def test_projection_head_and_auxiliary_classifier_on_the_pooled_features():
    """D([x, y]) = w . phi(x) + b + e_y . phi(x), logits = W phi(x) + c; phi = mean of ReLU."""
    keras.utils.set_random_seed(0)
    critic = build_resnet_critic((8, 8, 3), 4, num_classes=5, auxiliary_classifier=True)
    set_random_weights(critic, 3)
    images = np.random.default_rng(4).uniform(-1, 1, (4, 8, 8, 3)).astype("float32")
    labels = np.array([1, 0, 4, 1], "int32")
    probe = keras.Model(critic.inputs[0], critic.get_layer("block3_add").output)
    last = keras.ops.convert_to_numpy(probe(images)).astype("float64")
    phi = np.maximum(last, 0).mean(axis=(1, 2))
    w, b = critic.get_layer("score").get_weights()
    (embedding,) = critic.get_layer("class_projection").get_weights()
    W, c = critic.get_layer("class_logits").get_weights()
    score, logits = (keras.ops.convert_to_numpy(t)
                     for t in critic([tf.constant(images), tf.constant(labels)]))
    np.testing.assert_allclose(
        score, phi @ w + b + np.sum(embedding[labels] * phi, axis=1, keepdims=True),
        rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(logits, phi @ W + c, rtol=1e-4, atol=1e-4)


def test_the_model_reads_the_class_count_from_the_conditional_generator():
    generator = build_resnet_generator(6, (8, 8, 3), 4, num_classes=7)
    critic = build_resnet_critic((8, 8, 3), 4, num_classes=7)
    assert conditioning.resolve_num_classes(generator, critic, None) == 7
    assert WGANGP(generator, critic).num_classes == 7
    # The noise is not joined with a class embedding (the reference's is not).
    assert generator.get_layer("project").input.shape == (None, 6)


# --------------------------------------------------------- training, on every backend
def image_data(n, labels, shape=(8, 8, 3)):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (n,) + shape).astype("float32")
    if labels:
        return tf.data.Dataset.from_tensor_slices((images, np.arange(n) % 3)).batch(4)
    return tf.data.Dataset.from_tensor_slices(images).batch(4)


def tiny_resnet_gan(cls=WGANGP, num_classes=3, **kwargs):
    keras.utils.set_random_seed(0)
    return cls(build_resnet_generator(6, (8, 8, 3), 4, num_classes=num_classes),
               build_resnet_critic((8, 8, 3), 4, num_classes=num_classes,
                                   auxiliary_classifier=num_classes is not None),
               seed=0, **kwargs)


@pytest.mark.all_backends
def test_a_conditional_resnet_wgangp_trains_saves_and_resumes(tmp_path):
    # n_critic 1: every step updates both nets, so JAX compiles one step variant (the
    # block schedule itself is test_models.py's).
    gan = tiny_resnet_gan(n_critic=1, ema_decay=0.9)
    gan.compile()
    before = [w.copy() for w in gan.get_weights()]
    logs = gan.fit(image_data(16, labels=True), epochs=1, verbose=0).history
    assert int(gan.critic_optimizer.iterations) == 4
    assert int(gan.generator_optimizer.iterations) == 4
    assert {"classifier_loss", "gradient_penalty", "wasserstein"} <= set(logs)
    assert all(np.isfinite(values[0]) for values in logs.values())
    assert any(not np.array_equal(a, b) for a, b in zip(before, gan.get_weights()))
    run_serialization_test(gan)
    noise = np.random.default_rng(1).normal(size=(3, 6)).astype("float32")
    run_model_saving_test(gan, tmp_path / "resnet.keras", noise, atol=1e-6,
                          resume={"x": image_data(8, labels=True), "epochs": 1})


@pytest.mark.all_backends
def test_a_resnet_wgan_trains_under_mixed_bfloat16_and_saves(tmp_path):
    # WGAN (weight clipping) on the unconditional nets, low-precision compute. One step
    # of one critic and one generator update (n_critic 1, as test_mixed_precision.py's
    # steps): JAX compiles one step variant in bfloat16, not two.
    gan, _ = run_precision_test(tiny_resnet_gan, "mixed_bfloat16", image_data(4, False),
                                save_path=tmp_path / "mixed.keras", cls=WGAN,
                                num_classes=None, n_critic=1)
    assert max(float(np.abs(w).max()) for w in gan.critic.get_weights()) <= 0.01 + 1e-7
