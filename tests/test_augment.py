"""Differentiable augmentation: the ops against numpy, the value range, gradients, the train step.

The ops and their gradients are checked on every backend (eager, cheap); the model
tests prove what the README promises: ``augment=None`` changes nothing, training is
reproducible from the seed and resumes exactly, the generator's gradient is the one
through the augmented fakes (recomputed by hand from the same draws), ``evaluate``
scores the plain images, bad policies are refused.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops
from testing import (
    IMAGE_SHAPE,
    LATENT_DIM,
    assert_weights_equal,
    image_dataset,
    point_dataset,
    run_model_saving_test,
    run_precision_test,
    run_serialization_test,
    tiny_image_gan,
    tiny_mlp_gan,
    weight_gradients,
)

from keras_wgan import WGAN, WGANGP
from keras_wgan import augment as aug
from keras_wgan.architectures import build_critic, build_generator

POLICIES = ["color", "translation", "cutout", "cutout,color,translation"]


@keras.saving.register_keras_serializable(package="keras_wgan_tests")
def flip_half(images, uniform):
    """A user policy: a left-right flip of each image with probability 1/2."""
    flip = ops.reshape(uniform() < 0.5, (-1, 1, 1, 1))
    return ops.where(flip, ops.flip(images, axis=2), images)


def colour_images(n=6, shape=(6, 8, 3), seed=0):
    """Random images in [-1, 1] with the extremes present (range checks bite there)."""
    x = np.random.default_rng(seed).uniform(-1, 1, (n,) + shape).astype("float32")
    x[:, 0, 0, 0], x[:, -1, -1, -1] = 1.0, -1.0
    return x


def fixed_uniform(values):
    """A ``uniform`` that hands out the given (batch, k) arrays in order."""
    queue = list(values)

    def uniform(shape=()):
        return ops.convert_to_tensor(queue.pop(0).reshape((-1,) + tuple(shape)))

    return uniform


def numpy(x):
    return ops.convert_to_numpy(x)


# -------------------------------------------------------- numpy references of the ops
def np_stretch(x, centre, factor, axis):
    """centre + min(factor, the largest factor that stays in range) * (x - centre)."""
    d = x - centre
    up = np.where(d > 1e-6, (1 - centre) / np.where(d > 1e-6, d, 1), np.inf)
    down = np.where(d < -1e-6, (-1 - centre) / np.where(d < -1e-6, d, 1), np.inf)
    largest = np.minimum(up, down).min(axis=axis, keepdims=True)
    return np.clip(centre + np.minimum(factor, largest) * d, -1, 1)


def np_translate(x, shift_y, shift_x):
    out = np.zeros_like(x)
    h, w = x.shape[1:3]
    for i, (dy, dx) in enumerate(zip(shift_y, shift_x)):
        src = x[i, max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
        out[i, max(0, dy):max(0, dy) + src.shape[0], max(0, dx):max(0, dx) + src.shape[1]] = src
    return out


def np_cut_out(x, top, left, size):
    out = x.copy()
    for i, (t, l) in enumerate(zip(top, left)):
        out[i, max(t, 0):max(t + size[0], 0), max(l, 0):max(l + size[1], 0)] = 0
    return out


@pytest.mark.all_backends
def test_colour_ops_match_numpy_and_the_papers_forms_below_factor_one():
    x = colour_images()
    b = np.array([-0.5, -0.2, 0.0, 0.1, 0.3, 0.49], "float32")
    factors = np.array([0.0, 0.5, 0.9, 1.2, 1.6, 2.0], "float32")[:, None, None, None]
    brightened = numpy(aug.adjust_brightness(x, b))
    np.testing.assert_allclose(
        brightened, np.clip((1 - np.abs(b[:, None, None, None])) * x + b[:, None, None, None],
                            -1, 1), atol=1e-6)
    pixel_mean = x.mean(-1, keepdims=True)
    image_mean = x.mean((1, 2, 3), keepdims=True)
    saturated = numpy(aug.adjust_saturation(x, factors[:, 0, 0, 0]))
    contrasted = numpy(aug.adjust_contrast(x, factors[:, 0, 0, 0]))
    np.testing.assert_allclose(saturated, np_stretch(x, pixel_mean, factors, -1), atol=1e-5)
    np.testing.assert_allclose(contrasted, np_stretch(x, image_mean, factors, (1, 2, 3)),
                               atol=1e-5)
    # Factors up to 1 are the paper's own formula; above 1 the stretch stops where the
    # image (which already reaches -1 and 1) would leave the range: it is unchanged.
    low = factors[:, 0, 0, 0] <= 1
    np.testing.assert_allclose(contrasted[low], (image_mean + factors * (x - image_mean))[low],
                               atol=1e-5)
    np.testing.assert_allclose(saturated[low], (pixel_mean + factors * (x - pixel_mean))[low],
                               atol=1e-5)
    np.testing.assert_allclose(contrasted[~low], x[~low], atol=1e-5)
    # A low-contrast image is stretched by the full factor while it fits, then capped
    # exactly at the range's edge.
    faint = 0.6 * x[:2]
    out = numpy(aug.adjust_contrast(faint, np.array([1.5, 2.0], "float32")))
    centre = faint.mean((1, 2, 3), keepdims=True)
    stretched = centre + 1.5 * (faint - centre)
    assert np.abs(stretched[0]).max() < 1
    np.testing.assert_allclose(out[0], stretched[0], atol=1e-5)
    assert np.isclose(np.abs(out[1]).max(), 1.0, atol=1e-6)
    assert np.abs(out[1] - centre[1]).max() > 1.5 * np.abs(faint[1] - centre[1]).max()


@pytest.mark.all_backends
def test_translation_and_cutout_match_numpy():
    x = colour_images()
    shift_y = np.array([-2, -1, 0, 1, 2, 5], "int32")
    shift_x = np.array([1, -3, 0, 2, -1, 0], "int32")
    np.testing.assert_array_equal(numpy(aug.translate(x, shift_y, shift_x)),
                                  np_translate(x, shift_y, shift_x))
    top = np.array([-2, 0, 1, 3, 4, 6], "int32")
    left = np.array([0, -1, 5, 2, 6, -4], "int32")
    np.testing.assert_array_equal(numpy(aug.cut_out(x, top, left, (3, 4))),
                                  np_cut_out(x, top, left, (3, 4)))


@pytest.mark.all_backends
def test_random_ops_draw_the_papers_ranges():
    x = colour_images(n=5, shape=(16, 12, 3))
    u = np.array([0.0, 0.2, 0.5, 0.8, 1 - 1e-7], "float32")
    # Colour: brightness in [-0.5, 0.5), saturation in [0, 2), contrast in [0.5, 1.5).
    draws = np.stack([u, u[::-1], np.roll(u, 1)], axis=1)
    expected = aug.adjust_contrast(
        aug.adjust_saturation(aug.adjust_brightness(x, u - 0.5), 2 * u[::-1]),
        np.roll(u, 1) + 0.5)
    np.testing.assert_allclose(numpy(aug.random_color(x, fixed_uniform([draws]))),
                               numpy(expected), atol=1e-6)
    # Translation: whole pixels up to 1/8 of each side (16 -> 2, 12 -> 2 (1.5 rounded)).
    assert (aug.translation_limit(16), aug.translation_limit(12)) == (2, 2)
    draws = np.stack([u, u[::-1]], axis=1)
    shifts = np.array([-2, -1, 0, 2, 2]), np.array([2, 2, 0, -1, -2])
    np.testing.assert_array_equal(numpy(aug.random_translation(x, fixed_uniform([draws]))),
                                  np_translate(x, *shifts))
    # Cutout: an 8x6 square whose centre is any pixel (and one past the even side).
    assert (aug.cutout_size(16), aug.cutout_size(12)) == (8, 6)
    centres = np.array([0, 3, 8, 13, 16]), np.array([12, 10, 6, 2, 0])
    np.testing.assert_array_equal(numpy(aug.random_cutout(x, fixed_uniform([draws]))),
                                  np_cut_out(x, centres[0] - 4, centres[1] - 3, (8, 6)))


@pytest.mark.all_backends
@pytest.mark.parametrize("policy", POLICIES)
def test_each_policy_keeps_the_range_and_is_differentiable(policy):
    x = colour_images(n=8, shape=(8, 8, 3))
    x[:4] = np.sign(x[:4])  # saturated images: every value at -1 or 1
    draws = np.random.default_rng(1).uniform(size=(3, 8, 3)).astype("float32")
    k = len(policy.split(","))

    def uniform_draws():
        return fixed_uniform([d[:, :2] if "color" not in name else d
                              for name, d in zip(policy.split(","), draws[:k])])

    out = numpy(aug.apply_policy(x, policy, uniform_draws()))
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= -1.0 and out.max() <= 1.0
    assert not np.allclose(out, x)
    images = keras.Variable(x)
    weights = np.random.default_rng(2).normal(size=x.shape).astype("float32")
    (grad,) = weight_gradients(
        lambda: ops.sum(ops.multiply(aug.apply_policy(images, policy, uniform_draws()), weights)),
        [images])
    grad = numpy(grad)
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 0


@pytest.mark.all_backends
def test_brightness_gradient_is_the_blend_weight():
    x = keras.Variable(colour_images(n=3))
    b = np.array([-0.4, 0.0, 0.25], "float32")
    (grad,) = weight_gradients(lambda: ops.sum(aug.adjust_brightness(x, b)), [x])
    # Inside the range every value moves with slope 1 - |b| (no clipping of gradients).
    inside = np.abs(numpy(aug.adjust_brightness(x, b))) < 1
    expected = np.broadcast_to((1 - np.abs(b))[:, None, None, None], x.shape)
    np.testing.assert_allclose(numpy(grad)[inside], expected[inside], atol=1e-6)


def test_bad_policies_are_refused_with_the_valid_names():
    for policy, problem in [("colour", r"unknown name\(s\) \['colour'\]"),
                            ("color,translation,color", "a name is repeated"),
                            ("", r"unknown name\(s\) \[''\]"), (3, "got 3")]:
        with pytest.raises(ValueError, match=r"`augment` must be None, a comma-separated string "
                                             r"of the names 'color', 'translation', 'cutout'.*"
                                             + problem):
            tiny_image_gan(augment=policy)
    with pytest.raises(ValueError, match=r"augments images \(height, width, channels\).*\(2,\)"):
        tiny_mlp_gan(augment="color")
    # Names are canonical in the config (spaces, case), in the order given.
    assert tiny_image_gan(augment=" Cutout, color").get_config()["augment"] == "cutout,color"


def test_callable_policies_must_be_registered_to_be_saved(tmp_path):
    gan = tiny_image_gan(augment=lambda images, uniform: images)
    gan.compile()
    gan.fit(image_dataset(1), epochs=1, verbose=0)  # trains without saving
    with pytest.raises(ValueError, match=r"callable '<lambda>' cannot be saved.*register"):
        gan.save(tmp_path / "gan.keras")
    registered = tiny_image_gan(augment=flip_half, n_critic=1)
    registered.compile()
    registered.fit(image_dataset(2), epochs=1, verbose=0)
    revived = run_serialization_test(registered)
    assert revived.augment is flip_half
    restored = run_model_saving_test(registered, tmp_path / "flip.keras",
                                     np.zeros((2, LATENT_DIM), "float32"))
    assert restored.augment is flip_half


def test_a_policy_that_changes_shape_or_dtype_is_named():
    for policy, got in [
        (lambda images, uniform: images[:, 1:], r"\(15, 16, 1\) float32"),
        (lambda images, uniform: ops.cast(images, "float16"), r"\(16, 16, 1\) float16"),
    ]:
        gan = tiny_image_gan(augment=policy, n_critic=1)
        gan.compile()
        with pytest.raises(ValueError, match=r"must return images of the shape and dtype it "
                                             r"gets, \(16, 16, 1\) float32.*returned " + got):
            gan.fit(image_dataset(1), epochs=1, verbose=0)


def test_evaluate_scores_the_plain_images():
    logs = []
    for policy in (None, "color,translation,cutout"):
        gan = tiny_image_gan(augment=policy)
        gan.compile()
        logs.append(gan.evaluate(image_dataset(2), verbose=0, return_dict=True))
    assert logs[0] == pytest.approx(logs[1], abs=1e-6)


# ------------------------------------------------------------------ the train step
def test_augment_none_is_todays_train_step():
    def train(**kwargs):
        gan = tiny_mlp_gan(n_critic=2, **kwargs)
        gan.compile()
        gan.fit(point_dataset(4), epochs=1, verbose=0)
        return gan

    today, none = train(), train(augment=None)
    assert_weights_equal(none.get_weights(), today.get_weights())
    np.testing.assert_array_equal(numpy(none.seed_generator.state),
                                  numpy(today.seed_generator.state))
    assert "augment" in none.get_config() and none.get_config()["augment"] is None


POLICY = "color,translation,cutout"


def augmented_wgan(policy=POLICY):
    """The cheapest model program (WGAN, one critic update per step, so JAX compiles one
    step variant), with the critic frozen by a zero rate and the generator on SGD(1)."""
    gan = tiny_image_gan(WGAN, n_critic=1, ema_decay=None, clip_value=1e3, augment=policy)
    gan.compile(critic_optimizer=keras.optimizers.SGD(0.0),
                generator_optimizer=keras.optimizers.SGD(1.0))
    return gan


@pytest.fixture(scope="module")
def one_augmented_step():
    """``augmented_wgan()`` through one step on ``image_dataset(1)``, once for two tests.

    Before the step: the generator's gradients with and without the augmentation,
    recomputed by hand from the step's own draws; after it: the generator's step and
    all the model's weights (copies: the reproducibility test goes on training the
    model itself).
    """
    gan = augmented_wgan()
    seed = keras.random.SeedGenerator(0)
    seed.state.assign(numpy(gan.seed_generator.state))
    # Replay the step's draws on a copy of the seed state: the critic step's noise and
    # its two augmentations (real, fake; one draw per policy name each), then the
    # generator step's noise and its own augmentation.
    for _ in range(1 + 2 * len(POLICY.split(","))):
        seed.next()
    noise = keras.random.normal((4, LATENT_DIM), seed=seed)
    draws = []

    def record(shape=()):
        draws.append(numpy(keras.random.uniform((4,) + tuple(shape), seed=seed)))
        return ops.convert_to_tensor(draws[-1])

    aug.apply_policy(np.zeros((4,) + IMAGE_SHAPE, "float32"), POLICY, record)  # fills `draws`

    def gradients(augmented):
        def loss():
            fake = gan.generator(noise, training=True)
            if augmented:
                fake = aug.apply_policy(fake, POLICY, fixed_uniform(draws))
            return -ops.mean(gan.critic(fake, training=True))
        return [numpy(g) for g in weight_gradients(loss, gan.generator.trainable_variables)]

    # Before the step (the critic's zero rate keeps it as it is for the step). These
    # forward passes in training mode move the generator's batch-norm statistics (no
    # gradient depends on them): they are put back, so that the model then takes
    # exactly the step a fresh augmented_wgan() takes.
    untouched = [np.copy(w) for w in gan.get_weights()]
    expected, plain = gradients(True), gradients(False)
    gan.set_weights(untouched)
    before = [numpy(v) for v in gan.generator.trainable_variables]
    gan.fit(image_dataset(1), epochs=1, verbose=0)
    step = [b - numpy(v) for b, v in zip(before, gan.generator.trainable_variables)]
    return {"gan": gan, "expected": expected, "plain": plain, "step": step,
            "weights": [np.copy(w) for w in gan.get_weights()]}


@pytest.mark.all_backends
def test_the_generator_step_trains_through_the_augmented_fakes(one_augmented_step):
    """One step: the generator's SGD(1) update is minus the gradient of -mean D(augment(G(z)))
    with the step's own draws, recomputed here from a copy of the seed state, and not the
    gradient without augmentation."""
    expected, plain = one_augmented_step["expected"], one_augmented_step["plain"]
    for got, want in zip(one_augmented_step["step"], expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    assert max(np.abs(g - w).max() for g, w in zip(plain, expected)) > 1e-3


@pytest.mark.all_backends
def test_augmented_training_is_reproducible_and_resumes_exactly(tmp_path, one_augmented_step):
    """Same seed, same weights; save/load/resume continues exactly (the draws come from
    the saved seed state)."""
    second = augmented_wgan()
    second.fit(image_dataset(1), epochs=1, verbose=0)  # the fixture's step, again
    assert_weights_equal(second.get_weights(), one_augmented_step["weights"])
    first = one_augmented_step["gan"]
    noise = np.random.default_rng(0).normal(size=(3, LATENT_DIM)).astype("float32")
    restored = run_model_saving_test(first, tmp_path / "gan.keras", noise,
                                     resume={"x": image_dataset(2, seed=1)})
    assert restored.augment == POLICY


def test_conditional_colour_wgangp_trains_with_augmentation():
    """Labels pass through untouched (projection critic, real labels for the fakes); the
    augmentation changes what is learned."""
    shape = (16, 16, 3)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8,) + shape).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((images, np.arange(8) % 3)).batch(4)
    trained = []
    for augment in (POLICY, None):
        keras.utils.set_random_seed(0)
        gan = WGANGP(build_generator(LATENT_DIM, shape, 4, num_classes=3),
                     build_critic(shape, 4, num_classes=3), seed=0, n_critic=1,
                     augment=augment)
        gan.compile()
        logs = gan.fit(data, epochs=1, verbose=0).history
        assert all(np.isfinite(v).all() for v in logs.values()), logs
        trained.append(gan)
    assert not np.allclose(trained[0].critic.get_weights()[0], trained[1].critic.get_weights()[0])
    assert trained[0].generate(3, labels=[0, 1, 2]).shape == (3,) + shape


@pytest.mark.all_backends
def test_augmentation_under_mixed_bfloat16():
    if keras.backend.backend() == "jax":
        pytest.skip("the same keras.ops as TensorFlow's; XLA's bfloat16 compile is slow here")
    gan, logs = run_precision_test(tiny_image_gan, "mixed_bfloat16", image_dataset(1),
                                   n_critic=1, augment="color,translation,cutout")
    assert logs["gradient_penalty"] > 0


@pytest.mark.processes
def test_importing_augment_before_keras_works():
    """keras' import hook loads the models (which use augment) while augment is loading."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "from keras_wgan import augment\n"
         "from keras_wgan import WGANGP\nprint(augment.POLICY_NAMES, WGANGP.__name__)"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "('color', 'translation', 'cutout') WGANGP" in result.stdout
