"""Class-conditional WGAN / WGAN-GP: labels through fit, evaluate, generate, saving.

The backend-sensitive checks (label plumbing, the auxiliary term, save/load/resume)
run on every backend; the toy experiment that shows conditioning is learned runs on
TensorFlow only (the slowest test here, a few seconds).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from testing import IMAGE_SHAPE, LATENT_DIM, run_model_saving_test, run_serialization_test

from keras_wgan import WGAN, WGANGP
from keras_wgan.architectures import (
    build_critic,
    build_generator,
    build_mlp_critic,
    build_mlp_generator,
)

NUM_CLASSES = 3


def conditional_image_gan(cls=WGANGP, seed=0, normalization=None,
                          auxiliary_classifier=False, **kwargs):
    keras.utils.set_random_seed(seed)
    generator = build_generator(LATENT_DIM, IMAGE_SHAPE, 4, num_classes=NUM_CLASSES)
    critic = build_critic(IMAGE_SHAPE, 4, normalization=normalization,
                          num_classes=NUM_CLASSES, auxiliary_classifier=auxiliary_classifier)
    return cls(generator, critic, seed=seed, **kwargs)


def conditional_mlp_gan(cls=WGANGP, seed=0, auxiliary_classifier=False, **kwargs):
    keras.utils.set_random_seed(seed)
    generator = build_mlp_generator(2, 2, width=8, depth=2, num_classes=NUM_CLASSES)
    critic = build_mlp_critic(2, width=8, depth=2, num_classes=NUM_CLASSES,
                              auxiliary_classifier=auxiliary_classifier)
    return cls(generator, critic, seed=seed, **kwargs)


def labelled_images(num_batches=4, batch_size=4, seed=0):
    rng = np.random.default_rng(seed)
    n = num_batches * batch_size
    images = rng.uniform(-1, 1, (n,) + IMAGE_SHAPE).astype("float32")
    labels = rng.integers(0, NUM_CLASSES, n).astype("int32")
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size)


def labelled_points(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, 2)).astype("float32"),
            rng.integers(0, NUM_CLASSES, n).astype("int32"))


def seeded_normal_like(gan, shape):
    """The noise the model's next draw will give, from a copy of its seed state."""
    copy = keras.random.SeedGenerator(0)
    copy.state.assign(keras.ops.convert_to_numpy(gan.seed_generator.state))
    return keras.ops.convert_to_numpy(keras.random.normal(shape, seed=copy))


# ------------------------------------------------------------ label plumbing
@pytest.mark.all_backends
def test_evaluate_scores_real_and_fake_samples_with_their_labels():
    gan = conditional_mlp_gan(WGAN, ema_decay=None)
    gan.compile()
    points, labels = labelled_points(8)
    noise = seeded_normal_like(gan, (8, 2))
    logs = gan.evaluate(points, labels, batch_size=8, verbose=0, return_dict=True)
    # The reference, computed from the nets directly: fakes for the real batch's labels.
    fake = keras.ops.convert_to_numpy(gan.generator([noise, labels]))
    real_scores = keras.ops.convert_to_numpy(gan.critic([points, labels]))
    fake_scores = keras.ops.convert_to_numpy(gan.critic([fake, labels]))
    np.testing.assert_allclose(
        logs["critic_loss"], fake_scores.mean() - real_scores.mean(), rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(logs["generator_loss"], -fake_scores.mean(), rtol=1e-4, atol=1e-6)
    # Other labels give other scores, so the check above would see wrong labels.
    shifted = keras.ops.convert_to_numpy(gan.critic([points, (labels + 1) % NUM_CLASSES]))
    assert np.abs(shifted - real_scores).max() > 1e-4


@pytest.mark.all_backends
def test_auxiliary_classifier_loss_is_the_cross_entropy_on_real_samples():
    gan = conditional_mlp_gan(WGANGP, auxiliary_classifier=True)
    gan.compile()
    points, labels = labelled_points(8)
    logs = gan.evaluate(points, labels, batch_size=8, verbose=0, return_dict=True)
    logits = keras.ops.convert_to_numpy(gan.critic([points, labels])[1]).astype("float64")
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -log_softmax[np.arange(8), labels].mean()
    np.testing.assert_allclose(logs["classifier_loss"], expected, rtol=1e-5)
    assert [m.name for m in gan.metrics] == [
        "critic_loss", "generator_loss", "wasserstein", "classifier_loss", "gradient_penalty"
    ]


@pytest.mark.all_backends
@pytest.mark.parametrize("label_sampling", ["batch", "uniform"])
def test_conditional_fit_counts_and_generate_by_label(label_sampling):
    gan = conditional_mlp_gan(WGANGP, n_critic=2, label_sampling=label_sampling)
    gan.compile()
    points, labels = labelled_points(16)
    history = gan.fit(points, labels, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert int(gan.critic_optimizer.iterations) == 4
    assert int(gan.generator_optimizer.iterations) == 2
    assert np.isfinite(history.history["gradient_penalty"][0])
    noise = np.random.default_rng(1).normal(size=(2, 2)).astype("float32")
    # generate(labels=k) is the sampling generator at label k, per sample.
    by_int = gan.generate(2, labels=2, seed=5)
    same_noise = keras.ops.convert_to_numpy(keras.random.normal((2, 2), seed=5))
    np.testing.assert_allclose(
        by_int, gan.generate_from_noise(same_noise, labels=[2, 2]), atol=1e-6
    )
    mixed = gan.generate_from_noise(noise, labels=[0, 1])
    assert np.abs(mixed[0] - mixed[1]).max() > 1e-6
    np.testing.assert_allclose(gan.generate_from_noise(noise[1:], labels=[1])[0], mixed[1],
                               atol=1e-5)
    # None: a uniform mix, reproducible with a seed.
    np.testing.assert_array_equal(gan.generate(6, seed=3), gan.generate(6, seed=3))


@pytest.mark.all_backends
@pytest.mark.parametrize(
    "cls, kwargs",
    [(WGAN, {"label_sampling": "uniform"}),
     (WGANGP, {"auxiliary_classifier": True, "ema_decay": 0.9})],
)
def test_conditional_save_load_resume(tmp_path, cls, kwargs):
    gan = conditional_mlp_gan(cls, n_critic=2, **kwargs)
    gan.compile()
    run_serialization_test(gan)
    points, labels = labelled_points(12)
    gan.fit(points, labels, batch_size=4, shuffle=False, verbose=0)  # one critic update pending
    assert int(gan.pending_critic_updates) == 1
    noise = np.random.default_rng(2).normal(size=(3, 2)).astype("float32")
    points, labels = labelled_points(12, seed=1)
    restored = run_model_saving_test(
        gan, tmp_path / "conditional.keras", noise, labels=[0, 1, 2],
        resume={"x": points, "y": labels, "batch_size": 4, "shuffle": False},
    )
    assert restored.num_classes == NUM_CLASSES
    assert int(restored.critic_optimizer.iterations) == 6
    assert int(restored.generator_optimizer.iterations) == 3


def test_conditional_image_nets_train_with_a_batch_norm_critic():
    gan = conditional_image_gan(WGAN, n_critic=2, normalization="batch")
    gan.compile()
    gan.fit(labelled_images(4), epochs=1, verbose=0)
    assert int(gan.generator_optimizer.iterations) == 2
    # One noise vector at the three labels: three different images.
    noise = np.repeat(np.random.default_rng(0).normal(size=(1, LATENT_DIM)), 3, axis=0)
    images = gan.generate_from_noise(noise.astype("float32"), labels=[0, 1, 2])
    assert images.shape == (3,) + IMAGE_SHAPE
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert np.abs(images[a] - images[b]).max() > 1e-6


# ----------------------------------------------------------------- bad input
@pytest.mark.all_backends
def test_conditional_fit_refuses_samples_without_labels():
    gan = conditional_mlp_gan()
    gan.compile()
    images = np.zeros((8, 2), "float32")
    with pytest.raises(ValueError, match=r"conditional \(num_classes=3\).*without labels"):
        gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(4), verbose=0)
    with pytest.raises(ValueError, match=r"fit\(samples, labels"):
        gan.fit(images, batch_size=4, verbose=0)
    with pytest.raises(ValueError, match=r"holds the label 7, outside \[0, 3\)"):
        gan.fit(images, np.array([0, 1, 2, 7, 0, 1, 2, 0]), batch_size=4, verbose=0)


@pytest.mark.all_backends
def test_labels_out_of_range_or_for_an_unconditional_model_are_refused():
    gan = conditional_mlp_gan()
    with pytest.raises(ValueError, match=r"holds the label 5, outside \[0, 3\)"):
        gan.generate(2, labels=5)
    with pytest.raises(ValueError, match=r"holds the label -1"):
        gan.generate(2, labels=[0, -1])
    with pytest.raises(ValueError, match="has 3 entries but n=2"):
        gan.generate(2, labels=[0, 1, 2])
    with pytest.raises(ValueError, match="`labels` are required"):
        gan.generate_from_noise(np.zeros((2, 2), "float32"))
    keras.utils.set_random_seed(0)
    plain_gan = WGANGP(build_mlp_generator(2, 2, width=8, depth=2),
                       build_mlp_critic(2, width=8, depth=2))
    with pytest.raises(ValueError, match=r"`labels` were given \(1\).*unconditional"):
        plain_gan.generate(2, labels=1)


def test_mismatched_conditional_networks_are_refused():
    conditional_generator = build_mlp_generator(2, 2, width=8, depth=2, num_classes=3)
    plain_critic = build_mlp_critic(2, width=8, depth=2)
    with pytest.raises(ValueError, match="critic neither takes them"):
        WGANGP(conditional_generator, plain_critic)
    with pytest.raises(ValueError, match="need a conditional generator"):
        WGANGP(build_mlp_generator(2, 2, width=8, depth=2),
               build_mlp_critic(2, width=8, depth=2, num_classes=3))
    with pytest.raises(ValueError, match="num_classes=4 does not match"):
        WGANGP(conditional_generator, build_mlp_critic(2, width=8, depth=2, num_classes=3),
               num_classes=4)
    with pytest.raises(ValueError, match="label_sampling"):
        WGANGP(conditional_generator, build_mlp_critic(2, width=8, depth=2, num_classes=3),
               label_sampling="fixed")


def test_conditional_dataset_with_float_labels_is_refused():
    gan = conditional_mlp_gan()
    gan.compile()
    points, labels = labelled_points(8)
    dataset = tf.data.Dataset.from_tensor_slices((points, labels.astype("float32"))).batch(4)
    with pytest.raises(ValueError, match="integer class labels, got dtype float32"):
        gan.fit(dataset, verbose=0)


# ------------------------------------------------------- conditioning learned
def test_conditional_wgangp_puts_label_k_samples_at_centre_k_on_8_gaussians():
    """Eight Gaussians labelled by their mode: samples for label k land at centre k.

    An unconditional model on the same data, asked the same question, places samples
    at centre k only by chance (about 1/8).
    """
    from keras_wgan.toy import toy_centers

    centers, std = toy_centers("8gaussians")
    rng = np.random.default_rng(0)
    modes = rng.integers(0, 8, 4096).astype("int32")
    points = (centers[modes] + rng.normal(0, std, (4096, 2))).astype("float32")
    asked = np.repeat(np.arange(8), 50)

    def share_at_asked_centre(samples):
        nearest = np.linalg.norm(samples[:, None] - centers[None], axis=-1).argmin(axis=1)
        return np.mean(nearest == asked)

    keras.utils.set_random_seed(0)
    conditional = WGANGP(
        build_mlp_generator(2, 2, width=64, depth=2, num_classes=8),
        build_mlp_critic(2, width=64, depth=2, num_classes=8, auxiliary_classifier=True),
        # The auxiliary term at full weight on the generator side (the paper's code: 0.1
        # for CIFAR-10) lets 640 critic updates suffice (at least 0.88 over 4 seeds).
        seed=0, ema_decay=None, generator_classifier_weight=1.0,
    )
    conditional.compile()
    conditional.fit(points, modes, batch_size=64, epochs=10, verbose=0)
    assert share_at_asked_centre(conditional.generate(400, labels=asked, seed=1)) > 0.75

    keras.utils.set_random_seed(0)
    unconditional = WGANGP(build_mlp_generator(2, 2, width=64, depth=2),
                           build_mlp_critic(2, width=64, depth=2), seed=0, ema_decay=None)
    unconditional.compile()
    unconditional.fit(points, modes, batch_size=64, epochs=10, verbose=0)  # labels ignored
    assert share_at_asked_centre(unconditional.generate(400, seed=1)) < 0.35
