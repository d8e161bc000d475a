"""WGAN / WGANGP behaviour through the public Keras API: fit, evaluate, save, load, resume."""

import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from testing import (
    IMAGE_SHAPE,
    LATENT_DIM,
    assert_weights_equal,
    image_dataset,
    point_dataset,
    run_model_saving_test,
    run_serialization_test,
    tiny_image_gan,
    tiny_mlp_gan,
)

from keras_wgan import WGAN, WGANGP
from keras_wgan.schedule import HostSchedule
from keras_wgan.architectures import build_critic, build_generator

pytestmark = pytest.mark.all_backends


# ------------------------------------------------------------------ schedule
@pytest.mark.parametrize("cls", [WGAN, WGANGP])
@pytest.mark.parametrize("n_critic, batches, epochs", [(5, 10, 2), (2, 6, 1), (1, 3, 2)])
def test_exact_update_counts_after_whole_epochs(cls, n_critic, batches, epochs):
    gan = tiny_mlp_gan(cls, n_critic=n_critic)
    gan.compile()
    gan.fit(point_dataset(batches), epochs=epochs, verbose=0)
    critic_updates = int(gan.critic_optimizer.iterations)
    generator_updates = int(gan.generator_optimizer.iterations)
    assert critic_updates == batches * epochs  # one critic update per real batch
    assert critic_updates == n_critic * generator_updates
    assert int(gan.pending_critic_updates) == 0


def test_partial_block_carries_over_and_warns():
    gan = tiny_mlp_gan(n_critic=5)
    gan.compile()
    with pytest.warns(UserWarning, match="not a multiple of n_critic"):
        gan.fit(point_dataset(7), epochs=1, verbose=0)
    assert int(gan.critic_optimizer.iterations) == 7
    assert int(gan.generator_optimizer.iterations) == 1
    assert int(gan.pending_critic_updates) == 2
    with pytest.warns(UserWarning):
        gan.fit(point_dataset(3), epochs=1, verbose=0)  # completes the pending block
    assert int(gan.generator_optimizer.iterations) == 2
    assert int(gan.pending_critic_updates) == 0


def test_wgan_paper_schedule_uses_100_critic_updates_early():
    gan = tiny_mlp_gan(WGAN, n_critic=5, critic_schedule="wgan_paper")
    gan.compile()
    gan.fit(point_dataset(41), epochs=5, verbose=0)  # 205 critic updates
    assert int(gan.critic_optimizer.iterations) == 205
    assert int(gan.generator_optimizer.iterations) == 2
    assert int(gan.pending_critic_updates) == 5


@pytest.mark.parametrize("schedule", ["fixed", "wgan_paper"])
def test_host_schedule_follows_the_device_rule(schedule):
    """JAX (and TF under tf.distribute) count blocks on the host: same rule as the device."""
    gan = tiny_mlp_gan(WGAN, n_critic=3, critic_schedule=schedule)
    gan.compile()
    host = HostSchedule(schedule, 3, pending=0, generator_updates=0)
    for done in (0, 1, 24, 25, 26, 499, 500, 501, 1000):
        gan.generator_optimizer.iterations.assign(done)
        host.generator_updates = done
        device = int(keras.ops.convert_to_numpy(gan._required_critic_updates()))
        assert host.required() == device, done
    host = HostSchedule("fixed", 3, pending=1, generator_updates=7)
    assert [host.step() for _ in range(5)] == [False, True, False, False, True]
    assert (host.pending, host.generator_updates) == (0, 9)


def test_steps_per_execution_keeps_the_schedule():
    gan = tiny_mlp_gan(n_critic=3)
    gan.compile(steps_per_execution=4)
    if keras.backend.backend() == "torch":  # Keras' own, clear refusal
        with pytest.raises(ValueError, match="steps_per_execution.*PyTorch"):
            gan.fit(point_dataset(12), epochs=1, verbose=0)
        return
    gan.fit(point_dataset(12), epochs=1, verbose=0)
    assert int(gan.critic_optimizer.iterations) == 12
    assert int(gan.generator_optimizer.iterations) == 4


# ---------------------------------------------------------------- constraints
def test_wgan_clips_trainable_critic_weights_but_not_batchnorm_statistics():
    gan = tiny_image_gan(WGAN, normalization="batch", clip_value=0.02, n_critic=2)
    gan.compile(critic_optimizer=keras.optimizers.RMSprop(1e-2))  # big steps hit the clip
    gan.fit(image_dataset(4), epochs=1, verbose=0)
    trainable = gan.critic.trainable_variables
    assert max(float(np.abs(v.numpy()).max()) for v in trainable) <= 0.02 + 1e-7
    assert any(float(np.abs(v.numpy()).max()) == pytest.approx(0.02) for v in trainable)
    variances = [v for v in gan.critic.non_trainable_variables if "moving_variance" in v.path]
    assert variances and all(float(v.numpy().min()) > 0.02 for v in variances)


def test_wgangp_logs_the_penalty_and_its_metric_names(seed_7_run):
    gan, history = seed_7_run
    names = ["critic_loss", "generator_loss", "wasserstein", "gradient_penalty"]
    assert [m.name for m in gan.metrics] == names
    assert all(isinstance(m, keras.metrics.Mean) for m in gan.metrics)
    assert sorted(history.history) == sorted(names)
    assert all(len(v) == 2 and np.all(np.isfinite(v)) for v in history.history.values())
    assert min(history.history["gradient_penalty"]) > 0


def test_history_holds_epoch_means_not_last_batch_values():
    batch_logs = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: batch_logs.append(dict(logs))
    )
    gan = tiny_mlp_gan(WGAN, n_critic=1)
    gan.compile()
    history = gan.fit(point_dataset(6), epochs=1, verbose=0, callbacks=[record])
    # Recover each step's own critic loss from the running means, then average.
    means = np.array([logs["critic_loss"] for logs in batch_logs])
    steps = np.arange(1, len(means) + 1)
    per_step = steps * means - np.concatenate([[0.0], (steps * means)[:-1]])
    np.testing.assert_allclose(history.history["critic_loss"][0], per_step.mean(), rtol=1e-4)
    assert not np.allclose(per_step, per_step[-1])  # so the mean differs from the last value


def test_wgan_metric_names():
    gan = tiny_mlp_gan(WGAN)
    gan.compile()
    history = gan.fit(point_dataset(5), epochs=1, verbose=0)
    assert sorted(history.history) == ["critic_loss", "generator_loss", "wasserstein"]
    logs = gan.evaluate(point_dataset(2), verbose=0, return_dict=True)
    assert sorted(logs) == ["critic_loss", "generator_loss", "wasserstein"]


def test_critic_objective_and_reported_wasserstein_agree():
    """With n_critic=1 and no penalty the critic loss is exactly -wasserstein per step."""
    gan = tiny_mlp_gan(WGANGP, gp_weight=0.0, n_critic=1)
    gan.compile()
    history = gan.fit(point_dataset(3), epochs=1, verbose=0)
    np.testing.assert_allclose(
        history.history["critic_loss"], -np.array(history.history["wasserstein"]), rtol=1e-5
    )


def test_trainable_weights_are_the_two_networks_once():
    """The generator's moving average is updated by assignment: not a trainable weight."""
    gan = tiny_image_gan(WGANGP, ema_decay=0.9)
    expected = gan.generator.trainable_weights + gan.critic.trainable_weights
    assert [id(w) for w in gan.trainable_weights] == [id(w) for w in expected]
    assert gan.ema_generator.trainable_weights == []
    # Nothing but the block counter is the model's own variable (saved once, by path).
    own = [v.path for v in gan.weights if not any(v is w for w in
           gan.generator.weights + gan.critic.weights + gan.ema_generator.weights)]
    assert len(own) == 1 and own[0].endswith("/pending_critic_updates")


# -------------------------------------------------------------- reproducibility
def _train(seed, data_seed=0):
    """A tiny image WGAN-GP (n_critic 2) after 2 epochs of 4 batches: 8 critic updates."""
    gan = tiny_image_gan(WGANGP, seed=seed, n_critic=2)
    gan.compile()
    history = gan.fit(image_dataset(4, seed=data_seed), epochs=2, verbose=0)
    return gan, history


def _weights(gan):
    return gan.generator.get_weights() + gan.critic.get_weights()


@pytest.fixture(scope="module")
def seed_7_run():
    """One training shared by the metric names test and the reproducibility test (which
    only reads its weights)."""
    return _train(seed=7)


def test_same_seed_reproduces_training_exactly(seed_7_run):
    # Exact: `seed=` reproducibility within a backend is the README's promise, and both
    # runs are in this process.
    first = _weights(seed_7_run[0])
    assert_weights_equal(_weights(_train(seed=7)[0]), first)
    assert any(not np.array_equal(a, b) for a, b in zip(first, _weights(_train(seed=8)[0])))


# --------------------------------------------------------------------- sampling
def test_generate_predict_and_call_agree(noise):
    gan = tiny_image_gan(WGANGP)
    images = gan.generate(10, seed=3, batch_size=4)
    assert images.shape == (10,) + IMAGE_SHAPE and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1
    # The seed fixes the noise whatever the batch size; the images then agree to float
    # tolerance (kernels may differ per batch size, so not bit for bit).
    expected = gan.generate_from_noise(keras.random.normal((10, LATENT_DIM), seed=3))
    np.testing.assert_allclose(images, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(gan.generate(10, seed=3, batch_size=10), expected, rtol=0,
                               atol=1e-6)
    assert not np.array_equal(images, gan.generate(10, seed=4))
    np.testing.assert_allclose(gan.predict(noise, verbose=0), gan.generate_from_noise(noise),
                               atol=1e-6)
    with pytest.raises(ValueError, match="noise"):
        gan.generate_from_noise(noise[:, :3])
    with pytest.raises(ValueError, match="`n`"):
        gan.generate(0)


@pytest.mark.parametrize("decay", [0.5, 0.05])
def test_ema_averages_generator_weights_and_is_used_for_samples(noise, decay):
    gan = tiny_mlp_gan(WGANGP, n_critic=1, ema_decay=decay)
    gan.compile()
    before = [w.numpy() for w in gan.generator.trainable_weights]
    gan.fit(point_dataset(1), epochs=1, verbose=0)  # exactly one generator update
    after = [w.numpy() for w in gan.generator.trainable_weights]
    average = [w.numpy() for w in gan.ema_generator.trainable_weights]
    effective = min(decay, (1 + 1) / (10 + 1))  # warm-up at the first generator update
    for b, a, e in zip(before, after, average):
        np.testing.assert_allclose(e, effective * b + (1 - effective) * a, rtol=1e-5, atol=1e-7)
    z = noise[:, :2]
    np.testing.assert_allclose(gan.generate_from_noise(z),
                               keras.ops.convert_to_numpy(gan.ema_generator(z)), atol=1e-6)
    assert not np.allclose(gan.generate_from_noise(z),
                           keras.ops.convert_to_numpy(gan.generator(z)))


@pytest.mark.parametrize(
    "cls, optimizer_class, paper_settings",
    [(WGAN, keras.optimizers.RMSprop, {"learning_rate": 5e-5, "rho": 0.9}),
     (WGANGP, keras.optimizers.Adam, {"learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.9})],
)
def test_defaults_are_the_paper_optimizers_at_rate_1e3_with_weight_averaging(
    noise, cls, optimizer_class, paper_settings
):
    gan = tiny_mlp_gan(cls)
    assert gan.ema_decay == 0.999 and gan.get_config()["ema_decay"] == 0.999
    assert gan.ema_generator is not None and gan.sampling_generator is gan.ema_generator
    gan.compile()
    defaults = {**paper_settings, "learning_rate": 1e-3}
    paper = cls.paper_optimizers()
    assert sorted(paper) == ["critic_optimizer", "generator_optimizer"]
    assert paper["critic_optimizer"] is not paper["generator_optimizer"]
    live = tiny_mlp_gan(cls, ema_decay=None)
    live.compile(**paper)
    for optimizers, settings in (
        ((gan.critic_optimizer, gan.generator_optimizer), defaults),
        ((live.critic_optimizer, live.generator_optimizer), paper_settings),
    ):
        for optimizer in optimizers:
            assert isinstance(optimizer, optimizer_class)
            config = optimizer.get_config()
            for key, value in settings.items():
                assert config[key] == pytest.approx(value), key
    # Without averaging, samples come from the live generator.
    assert live.ema_generator is None and live.sampling_generator is live.generator
    z = noise[:, :2]
    np.testing.assert_allclose(live.generate_from_noise(z),
                               keras.ops.convert_to_numpy(live.generator(z)), atol=1e-6)


# ----------------------------------------------------------------- saving
@pytest.mark.parametrize(
    "cls, kwargs",
    [(WGAN, {"normalization": "batch", "clip_value": 0.02}),  # the clipping test's programs
     (WGANGP, {"gp_weight": 5.0, "one_sided": True, "drift_weight": 1e-3, "ema_decay": 0.9})],
)
def test_save_load_resume_round_trip(tmp_path, noise, cls, kwargs):
    gan = tiny_image_gan(cls, n_critic=2, **kwargs)
    gan.compile()
    run_serialization_test(gan)
    gan.fit(image_dataset(5), epochs=1, verbose=0)  # leaves one pending critic update
    assert int(gan.pending_critic_updates) == 1
    # Resuming needs no compile; both models then continue identically.
    restored = run_model_saving_test(gan, tmp_path / "gan.keras", noise,
                                     resume={"x": image_dataset(3)})
    assert int(restored.critic_optimizer.iterations) == 8
    assert int(restored.generator_optimizer.iterations) == 4
    assert int(restored.pending_critic_updates) == 0


@pytest.mark.processes
def test_saved_model_loads_in_a_fresh_process_after_importing_keras_wgan(tmp_path, noise):
    # A process that only imports keras_wgan (like `keras-wgan sample` / `evaluate`)
    # must find its classes when loading.
    if keras.backend.backend() == "tensorflow":
        pytest.skip("on TensorFlow, test_package.py::test_import_keras_wgan_is_enough_to_"
                    "load_a_saved_model loads a saved model this way, in both import orders")
    gan = tiny_image_gan(WGANGP)
    gan.compile()
    path = tmp_path / "gan.keras"
    gan.save(path)
    np.save(tmp_path / "noise.npy", noise)
    expected = gan.generate_from_noise(noise)
    script = (
        "import sys, numpy as np, keras, keras_wgan\n"
        "gan = keras.models.load_model(sys.argv[1])\n"
        "np.save(sys.argv[3], gan.generate_from_noise(np.load(sys.argv[2])))\n"
        "print(type(gan).__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(path), str(tmp_path / "noise.npy"),
         str(tmp_path / "out.npy")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("WGANGP")
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-5)


def test_custom_optimizers_survive_saving(tmp_path, noise):
    gan = tiny_mlp_gan(WGANGP)
    gan.compile(critic_optimizer=keras.optimizers.Adam(3e-4, beta_1=0.0, beta_2=0.99),
                generator_optimizer="sgd")
    gan.fit(point_dataset(5), epochs=1, verbose=0)
    restored = run_model_saving_test(gan, tmp_path / "gan.keras", noise[:, :2])
    assert restored.critic_optimizer.get_config()["beta_2"] == pytest.approx(0.99)
    assert isinstance(restored.generator_optimizer, keras.optimizers.SGD)


# ---------------------------------------------------------------- bad input
def test_images_with_labels_are_accepted():
    # One step of both updates (n_critic 1): JAX compiles one step variant, not two.
    gan = tiny_image_gan(WGANGP, n_critic=1)
    gan.compile()
    gan.fit(image_dataset(1, labels=True), epochs=1, verbose=0)
    assert int(gan.generator_optimizer.iterations) == 1


@pytest.mark.parametrize(
    "dataset, match",
    [
        (tf.data.Dataset.from_tensor_slices(np.zeros((8, 8, 8, 1), "float32")).batch(4),
         r"shape \(8, 8, 1\).*critic expects \(16, 16, 1\)"),
        (tf.data.Dataset.from_tensor_slices(np.zeros((8,) + IMAGE_SHAPE, "uint8")).batch(4),
         "floating-point"),
        (tf.data.Dataset.from_tensor_slices({"a": np.zeros((8,) + IMAGE_SHAPE, "float32")})
         .batch(4), "batches of samples"),
    ],
)
def test_fit_refuses_data_that_is_not_matching_images(dataset, match):
    gan = tiny_image_gan(WGANGP)
    gan.compile()
    with pytest.raises(ValueError, match=match):
        gan.fit(dataset, epochs=1, verbose=0)


def test_fit_before_compile_is_refused():
    gan = tiny_mlp_gan()
    with pytest.raises(RuntimeError, match="compile"):
        gan.fit(point_dataset(2), epochs=1, verbose=0)


def test_mismatched_networks_are_refused():
    generator = build_generator(LATENT_DIM, (16, 16, 1), 4)
    with pytest.raises(ValueError, match="output shape .* differs from the critic"):
        WGANGP(generator, build_critic((32, 32, 1), 4))
    with pytest.raises(ValueError, match="latent_dim"):
        WGANGP(generator, build_critic((16, 16, 1), 4), latent_dim=LATENT_DIM + 1)
    with pytest.raises(TypeError, match="critic"):
        WGANGP(generator, "critic")


@pytest.mark.parametrize(
    "cls, kwargs, match",
    [
        (WGAN, {"n_critic": 0}, "n_critic"),
        (WGAN, {"clip_value": 0.0}, "clip_value"),
        (WGANGP, {"gp_weight": -1.0}, "gp_weight"),
        (WGANGP, {"drift_weight": -0.1}, "drift_weight"),
        (WGANGP, {"critic_schedule": "sometimes"}, "critic_schedule"),
        (WGANGP, {"ema_decay": 1.0}, "ema_decay"),
    ],
)
def test_bad_settings_are_refused(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_mlp_gan(cls, **kwargs)


def test_bad_compile_arguments_are_refused():
    gan = tiny_mlp_gan()
    optimizer = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two different"):
        gan.compile(critic_optimizer=optimizer, generator_optimizer=optimizer)
    with pytest.raises(ValueError, match="`loss` is not accepted"):
        gan.compile(loss="mse")
    with pytest.raises(ValueError, match="critic_optimizer"):
        gan.compile(critic_optimizer=42)


def test_batchnorm_critic_warns_for_gradient_penalty():
    with pytest.warns(UserWarning, match="BatchNormalization"):
        tiny_image_gan(WGANGP, normalization="batch")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tiny_image_gan(WGANGP, normalization="layer")
    assert not [w for w in caught if "BatchNormalization" in str(w.message)]


def test_compiling_the_abstract_base_class_names_the_concrete_ones():
    from keras_wgan import WassersteinGAN

    keras.utils.set_random_seed(0)
    gan = WassersteinGAN(build_generator(LATENT_DIM, IMAGE_SHAPE, 4),
                         build_critic(IMAGE_SHAPE, 4))
    with pytest.raises(TypeError, match="abstract base class. Use WGAN or WGANGP"):
        gan.compile()
