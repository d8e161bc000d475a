"""Loss and penalty maths against closed forms and numpy references, on every backend."""

import keras
import numpy as np
import pytest
from testing import weight_gradients
from keras import ops

from keras_wgan import losses

pytestmark = pytest.mark.all_backends


def tensor(x):
    return ops.convert_to_tensor(np.asarray(x, dtype="float32"))


def numpy(x):
    return ops.convert_to_numpy(x)


def linear_critic(weights):
    """D(x) = w . flatten(x): its input gradient is w everywhere, so ||grad|| = ||w||."""
    shape = weights.shape
    inputs = keras.Input(shape=shape)
    flat = keras.layers.Flatten()(inputs)
    dense = keras.layers.Dense(1, use_bias=False)
    model = keras.Model(inputs, dense(flat))
    dense.kernel.assign(weights.reshape(-1, 1))
    return model


@pytest.mark.parametrize("shape", [(2,), (4, 4, 1), (3, 2, 2)])
@pytest.mark.parametrize("scale", [0.3, 1.0, 2.5])
def test_penalty_of_linear_critic_is_closed_form(shape, scale):
    rng = np.random.default_rng(0)
    w = rng.normal(size=shape).astype("float32")
    w *= scale / np.linalg.norm(w)
    critic = linear_critic(w)
    x_hat = tensor(rng.normal(size=(5,) + shape).astype("float32"))
    penalty, norms = losses.gradient_penalty(critic, x_hat)
    np.testing.assert_allclose(numpy(norms), np.full(5, scale), rtol=1e-5)
    np.testing.assert_allclose(float(penalty), (scale - 1.0) ** 2, rtol=1e-4, atol=1e-7)
    # A different target shifts the reference the same way.
    penalty, _ = losses.gradient_penalty(critic, x_hat, target=0.5)
    np.testing.assert_allclose(float(penalty), (scale - 0.5) ** 2, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("scale, expected", [(0.3, 0.0), (2.5, 1.5**2)])
def test_one_sided_penalty_only_punishes_norms_above_target(scale, expected):
    w = np.zeros((3,), "float32")
    w[0] = scale
    critic = linear_critic(w)
    x_hat = tensor(np.ones((4, 3), "float32"))
    penalty, _ = losses.gradient_penalty(critic, x_hat, one_sided=True)
    np.testing.assert_allclose(float(penalty), expected, rtol=1e-5, atol=1e-7)


def test_penalty_second_order_gradient_matches_analytic():
    """d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||: checks the double backward pass."""
    w = np.array([0.6, -1.2, 2.0], "float32")
    critic = linear_critic(w)
    x_hat = tensor(np.random.default_rng(1).normal(size=(7, 3)).astype("float32"))
    (grad,) = weight_gradients(
        lambda: losses.gradient_penalty(critic, x_hat)[0], critic.trainable_variables
    )
    norm = np.linalg.norm(w)
    expected = 2 * (norm - 1) * w / norm
    np.testing.assert_allclose(numpy(grad).ravel(), expected, rtol=1e-4)


def test_zero_gradient_gives_finite_penalty_and_gradients():
    critic = linear_critic(np.zeros((4, 4, 1), "float32"))
    x_hat = tensor(np.ones((3, 4, 4, 1), "float32"))
    penalty, norms = losses.gradient_penalty(critic, x_hat)
    grads = weight_gradients(
        lambda: losses.gradient_penalty(critic, x_hat)[0], critic.trainable_variables
    )
    assert np.all(np.isfinite(numpy(norms)))
    np.testing.assert_allclose(float(penalty), (np.sqrt(losses.NORM_EPSILON) - 1) ** 2, rtol=1e-6)
    assert grads and all(np.all(np.isfinite(numpy(g))) for g in grads)


def test_per_sample_norm_matches_numpy():
    g = np.random.default_rng(2).normal(size=(4, 3, 2, 5)).astype("float32")
    expected = np.sqrt((g.reshape(4, -1) ** 2).sum(axis=1) + losses.NORM_EPSILON)
    np.testing.assert_allclose(numpy(losses.per_sample_norm(tensor(g))), expected, rtol=1e-6)


def test_wasserstein_losses_match_numpy():
    rng = np.random.default_rng(3)
    real, fake = rng.normal(size=(6, 1)), rng.normal(size=(6, 1)) + 1.0
    real_t, fake_t = tensor(real), tensor(fake)
    np.testing.assert_allclose(
        float(losses.critic_loss(real_t, fake_t)), fake.mean() - real.mean(), rtol=1e-5
    )
    np.testing.assert_allclose(
        float(losses.wasserstein_estimate(real_t, fake_t)), real.mean() - fake.mean(), rtol=1e-5
    )
    np.testing.assert_allclose(float(losses.generator_loss(fake_t)), -fake.mean(), rtol=1e-5)
    np.testing.assert_allclose(float(losses.drift_penalty(real_t)), (real**2).mean(), rtol=1e-5)


def test_interpolate_hits_endpoints_and_mixes_per_sample():
    real = tensor(np.ones((3, 2, 2, 1)))
    fake = -real
    alpha = tensor(np.reshape([1.0, 0.0, 0.25], (3, 1, 1, 1)))
    mixed = numpy(losses.interpolate(real, fake, alpha))
    np.testing.assert_allclose(mixed[0], 1.0)
    np.testing.assert_allclose(mixed[1], -1.0)
    np.testing.assert_allclose(mixed[2], -0.5)
