"""The recipe search's levers that needed code, each checked against a reference computed
another way: a spectrally normalised critic (numpy's SVD), the penalty at the midpoint,
the lazy penalty (its weight and the steps that take it), and separate critic and
generator rates and betas. Saved files keep every option, and a resume is exact.
"""

import keras
import numpy as np
import pytest
from keras import ops
from testing import (
    IMAGE_SHAPE,
    LATENT_DIM,
    image_dataset,
    run_model_saving_test,
    run_serialization_test,
    tiny_image_gan,
    tiny_mlp_gan,
)

from keras_wgan import WGAN, WGANGP
from keras_wgan.architectures import build_critic, build_generator, spectral

pytestmark = pytest.mark.all_backends


def _top_singular_value(kernel):
    return np.linalg.svd(np.asarray(kernel).reshape(-1, kernel.shape[-1]),
                         compute_uv=False)[0]


def _spectral_critic(dim=4, seed=0):
    keras.utils.set_random_seed(seed)
    return spectral.spectral_normalize(build_critic(IMAGE_SHAPE, dim))


# ------------------------------------------------------------ spectral norm
def test_the_power_iteration_converges_to_numpys_largest_singular_value():
    critic = _spectral_critic()
    layers = spectral.spectral_layers(critic)
    assert [type(layer).__name__ for layer in layers] == ["SpectralConv2D"] * 3 + ["SpectralDense"]
    for _ in range(60):
        spectral.refresh(layers)
    for layer in layers:
        kernel = ops.convert_to_numpy(layer.kernel)
        expected = _top_singular_value(kernel)
        assert float(layer.sigma()) == pytest.approx(expected, rel=1e-3), layer.name
        normalized = ops.convert_to_numpy(layer.normalized_kernel())
        assert _top_singular_value(normalized) == pytest.approx(1.0, rel=1e-3), layer.name


def test_a_normalised_layer_computes_the_stock_layer_on_the_divided_kernel():
    keras.utils.set_random_seed(1)
    plain = build_critic(IMAGE_SHAPE, 4)
    critic = spectral.spectral_normalize(plain)
    layers = spectral.spectral_layers(critic)
    for _ in range(200):
        spectral.refresh(layers)
    # The reference: the stock critic with each kernel divided by numpy's sigma.
    for layer in layers:
        stock = plain.get_layer(layer.name)
        kernel = ops.convert_to_numpy(layer.kernel)
        np.testing.assert_array_equal(ops.convert_to_numpy(stock.kernel), kernel)
        stock.kernel.assign(kernel / _top_singular_value(kernel))
    images = np.random.default_rng(0).uniform(-1, 1, (3,) + IMAGE_SHAPE).astype("float32")
    np.testing.assert_allclose(ops.convert_to_numpy(critic(images)),
                               ops.convert_to_numpy(plain(images)), rtol=2e-3, atol=1e-5)


def test_a_spectral_wgan_gp_trains_refreshes_u_once_per_critic_update_and_resumes_exactly(
        tmp_path, noise):
    keras.utils.set_random_seed(0)
    gan = WGANGP(build_generator(LATENT_DIM, IMAGE_SHAPE, 4), _spectral_critic(),
                 n_critic=2, seed=0)
    gan.compile()
    layer = spectral.spectral_layers(gan.critic)[0]
    u_before = ops.convert_to_numpy(layer.spectral_u).copy()
    # The reference: the same single power-iteration step, in numpy, on the kernel the
    # critic update left (u refreshes after the update, from the new kernel).
    gan.fit(image_dataset(1), epochs=1, verbose=0)
    matrix = ops.convert_to_numpy(layer.kernel).reshape(-1, layer.filters)
    v = matrix @ u_before
    u = matrix.T @ (v / np.linalg.norm(v))
    np.testing.assert_allclose(ops.convert_to_numpy(layer.spectral_u), u / np.linalg.norm(u),
                               rtol=1e-4, atol=1e-6)
    gan.fit(image_dataset(4), epochs=1, verbose=0)  # leaves one pending critic update
    history = gan.history.history
    assert all(np.isfinite(v[-1]) for v in history.values())
    revived = run_serialization_test(gan)
    assert spectral.spectral_layers(revived.critic)
    restored = run_model_saving_test(gan, tmp_path / "spectral.keras", noise,
                                     resume={"x": image_dataset(2)})
    np.testing.assert_allclose(
        ops.convert_to_numpy(spectral.spectral_layers(restored.critic)[0].spectral_u),
        ops.convert_to_numpy(layer.spectral_u), atol=1e-6)


def test_critic_norm_is_a_preset_setting_and_bad_values_are_refused():
    gan = WGAN.from_preset("fashion_mnist_32", dim=4, critic_norm="spectral")
    assert len(spectral.spectral_layers(gan.critic)) == 4
    assert not spectral.spectral_layers(WGAN.from_preset("fashion_mnist_32", dim=4).critic)
    with pytest.raises(ValueError, match="critic_norm.*spectral"):
        WGANGP.from_preset("fashion_mnist_32", dim=4, critic_norm="batch")


# ------------------------------------------------------------ the penalty
def _penalty_reference(gan, real, fake, alpha):
    """E[(||grad D(x)|| - 1)^2] by central finite differences in numpy."""
    points = alpha * real + (1 - alpha) * fake
    flat = points.reshape(len(points), -1).astype("float64")
    eps = 1e-2
    norms = []
    for x in flat:  # every +/- eps perturbation of one sample, scored in one call
        steps = np.eye(x.size) * eps
        both = np.concatenate([x + steps, x - steps]).astype("float32")
        scores = ops.convert_to_numpy(gan.critic(both.reshape((-1,) + points.shape[1:])))
        scores = scores.ravel().astype("float64")
        norms.append(np.linalg.norm((scores[:x.size] - scores[x.size:]) / (2 * eps)))
    return np.mean((np.asarray(norms) - 1.0) ** 2)


def test_the_midpoint_penalty_equals_a_finite_difference_reference_at_the_midpoints():
    keras.utils.set_random_seed(0)
    generator = build_generator(LATENT_DIM, (8, 8, 1), 2)
    critic = build_critic((8, 8, 1), 2)
    gan = WGANGP(generator, critic, penalty_at="midpoint", seed=0)
    gan.compile()
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (2, 8, 8, 1)).astype("float32")
    fake = rng.uniform(-1, 1, (2, 8, 8, 1)).astype("float32")
    term, extras = gan.critic_regularizer(real, fake, None, training=False)
    expected = _penalty_reference(gan, real, fake, 0.5)
    assert float(extras["gradient_penalty"]) == pytest.approx(expected, rel=2e-2)
    assert float(term) == pytest.approx(10.0 * float(extras["gradient_penalty"]), rel=1e-6)
    # The weights really are 1/2 (no draw): the model's noise stream is untouched.
    state = ops.convert_to_numpy(gan.seed_generator.state).copy()
    assert np.all(ops.convert_to_numpy(gan._interpolation_weights(real)) == 0.5)
    np.testing.assert_array_equal(ops.convert_to_numpy(gan.seed_generator.state), state)


class _LogPenalty(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.values = []

    def on_train_batch_end(self, batch, logs=None):
        self.values.append(float(logs["gradient_penalty"]))


def test_a_lazy_penalty_is_taken_every_k_critic_updates_at_k_times_the_weight(tmp_path,
                                                                               noise):
    k = 3
    lazy = tiny_image_gan(WGANGP, penalty_every=k, n_critic=1, ema_decay=None)
    lazy.compile(critic_optimizer=keras.optimizers.SGD(0.0),
                 generator_optimizer=keras.optimizers.SGD(0.0))
    # With rates of 0 nothing moves: each step's critic loss is the plain loss plus the
    # penalty term on due steps only, which a model with penalty_every=1 gives apart.
    every = tiny_image_gan(WGANGP, n_critic=1, ema_decay=None)
    every.compile(critic_optimizer=keras.optimizers.SGD(0.0),
                  generator_optimizer=keras.optimizers.SGD(0.0))
    real = next(iter(image_dataset(1)))
    real = ops.convert_to_numpy(real)
    # The same fakes and interpolation weights at every step (nothing moves), so the
    # full penalty term is computed once; only the step counter changes below.
    fake = ops.convert_to_numpy(lazy.generate(len(real), seed=0))
    alpha = np.full((len(real), 1, 1, 1), 0.25, "float32")
    lazy._interpolation_weights = lambda x, a=alpha: ops.convert_to_tensor(a)
    every._interpolation_weights = lambda x, a=alpha: ops.convert_to_tensor(a)
    full_term, full_extras = every.critic_regularizer(real, fake, None, training=True)
    for step in range(2 * k):
        lazy.critic_optimizer.iterations.assign(step)
        lazy_term, lazy_extras = lazy.critic_regularizer(real, fake, None, training=True)
        value, weight = lazy_extras["gradient_penalty"]
        due = step % k == 0
        assert float(weight) == float(due)
        expected = k * float(full_term) if due else 0.0
        assert float(lazy_term) == pytest.approx(expected, rel=1e-5, abs=1e-7), step
    # Trained for real: the logged penalty averages the due steps only; the file keeps
    # the options, and a resume is exact.
    gan = tiny_image_gan(WGANGP, penalty_every=2, penalty_at="midpoint", n_critic=2)
    gan.compile()
    logger = _LogPenalty()
    gan.fit(image_dataset(3), epochs=1, verbose=0, callbacks=[logger])
    assert all(v > 0 for v in logger.values)
    revived = run_serialization_test(gan)
    assert (revived.penalty_every, revived.penalty_at) == (2, "midpoint")
    run_model_saving_test(gan, tmp_path / "lazy.keras", noise, resume={"x": image_dataset(3)})


def test_penalty_options_refuse_bad_values():
    with pytest.raises(ValueError, match="penalty_at.*midpoint"):
        tiny_image_gan(WGANGP, penalty_at="middle")
    with pytest.raises(ValueError, match="penalty_every"):
        tiny_image_gan(WGANGP, penalty_every=0)


# ---------------------------------------------------- two rates, the betas
def test_separate_rates_and_betas_reach_each_optimizer_and_the_saved_file(tmp_path, noise):
    gan = WGANGP.from_preset("fashion_mnist_32", dim=4, critic_learning_rate=3e-4,
                             generator_learning_rate=1e-4, beta_1=0.0, beta_2=0.99)
    critic, generator = gan.critic_optimizer, gan.generator_optimizer
    assert float(critic.learning_rate) == pytest.approx(3e-4)
    assert float(generator.learning_rate) == pytest.approx(1e-4)
    for optimizer in (critic, generator):
        assert (optimizer.beta_1, optimizer.beta_2) == (0.0, 0.99)
    wgan = WGAN.from_preset("fashion_mnist_32", dim=4, optimizers="adam", beta_1=0.0)
    assert type(wgan.critic_optimizer).__name__ == "Adam"
    assert wgan.critic_optimizer.beta_1 == 0.0
    with pytest.raises(ValueError, match="beta_1.*Adam.*optimizers='adam'"):
        WGAN.from_preset("fashion_mnist_32", dim=4, beta_1=0.0)
    with pytest.raises(ValueError, match="critic_learning_rate"):
        WGANGP.from_preset("fashion_mnist_32", dim=4, critic_learning_rate=-1)
    gan.save(tmp_path / "rates.keras")
    restored = keras.models.load_model(tmp_path / "rates.keras")
    assert float(restored.critic_optimizer.learning_rate) == pytest.approx(3e-4)
    assert float(restored.generator_optimizer.learning_rate) == pytest.approx(1e-4)
    assert restored.generator_optimizer.beta_2 == pytest.approx(0.99)


# ------------------------------------------------------- the generator's batch
def _conditional_mlp_gan(**kwargs):
    from keras_wgan.architectures import build_mlp_critic, build_mlp_generator

    keras.utils.set_random_seed(0)
    return WGANGP(build_mlp_generator(2, 2, width=8, depth=2, num_classes=3),
                  build_mlp_critic(2, width=8, depth=2, num_classes=3), seed=0, **kwargs)


@pytest.mark.parametrize("conditional", [False, True])
def test_the_generator_update_scores_factor_times_the_real_batch(conditional, tmp_path,
                                                                 noise):
    """Each generator update draws ``factor * batch`` noise rows (the critic update: the
    batch's own count) and its loss is the mean critic score of exactly those fakes,
    computed here by hand; with labels, the real batch's labels repeated ``factor``
    times."""
    factor, batch = 3, 4
    if conditional:
        gan = _conditional_mlp_gan(n_critic=1, ema_decay=None,
                                   generator_batch_factor=factor)
    else:
        gan = tiny_mlp_gan(n_critic=1, ema_decay=None, generator_batch_factor=factor)
    gan.compile(critic_optimizer=keras.optimizers.SGD(0.0),
                generator_optimizer=keras.optimizers.SGD(0.0), run_eagerly=True)
    drawn = {}

    def fixed_noise(n):  # one fixed draw per size, so the loss can be recomputed
        n = int(n)
        drawn.setdefault(n, np.random.default_rng(n).normal(
            size=(n, gan.latent_dim)).astype("float32"))
        return ops.convert_to_tensor(drawn[n])

    gan.sample_noise = fixed_noise
    rng = np.random.default_rng(1)
    points = rng.normal(size=(batch, 2)).astype("float32")
    labels = np.array([0, 2, 1, 2], "int32")
    seen = []
    generate = gan._generate
    gan._generate = lambda net, z, y, training: (
        seen.append(None if y is None else ops.convert_to_numpy(y)),
        generate(net, z, y, training))[1]
    logs = gan.fit(*((points, labels) if conditional else (points,)), batch_size=batch,
                   shuffle=False, epochs=1, verbose=0).history
    assert sorted(drawn) == [batch, factor * batch]
    z = drawn[factor * batch]
    if conditional:
        repeated = np.concatenate([labels] * factor)
        np.testing.assert_array_equal(seen[-1], repeated)
        z, repeated = ops.convert_to_tensor(z), ops.convert_to_tensor(repeated)
        fakes = gan.generator([z, repeated], training=True)
        scores = gan.critic([fakes, repeated], training=True)
    else:
        assert seen[-1] is None
        z = ops.convert_to_tensor(z)
        scores = gan.critic(gan.generator(z, training=True), training=True)
    expected = -float(np.mean(ops.convert_to_numpy(scores)))
    assert logs["generator_loss"][0] == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_the_generator_batch_factor_is_saved_resumes_exactly_and_refuses_bad_values(
        tmp_path, noise):
    gan = WGANGP.from_preset("fashion_mnist_32", dim=4, image_shape=(16, 16, 1),
                             latent_dim=LATENT_DIM, generator_batch_factor=2)
    assert gan.generator_batch_factor == 2
    revived = run_serialization_test(gan)
    assert revived.generator_batch_factor == 2
    run_model_saving_test(gan, tmp_path / "g_batch.keras", noise,
                          resume={"x": image_dataset(2)})
    for bad in (0, 1.5, "2"):
        with pytest.raises(ValueError, match="generator_batch_factor"):
            tiny_mlp_gan(generator_batch_factor=bad)
