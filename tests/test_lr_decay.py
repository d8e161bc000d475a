"""--lr-decay linear: the schedule (rate_decay.py), the callback that fixes its line from
the measured speed (callbacks/decay_length.py) and how a run records and keeps the line
(cli/training/lr_decay.py).

The schedule is checked against the formula computed in numpy; the line fixed from the
measured speed against the same arithmetic on a clock the test advances; the retraced
train step against a model whose line was fixed from its first step (the same weights
prove the step used the new rates); the CLI's records against the saved model.
"""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from test_cli import run_cli
from test_max_time import StepClock
from testing import assert_weights_equal, tiny_mlp_gan

from keras_wgan import rate_decay
from keras_wgan.callbacks import decay_length
from keras_wgan.cli.common import CliError
from keras_wgan.cli.training import lr_decay
from keras_wgan.rate_decay import LinearDecayToZero


def reference_rates(rate, steps, decay_steps, start_step):
    steps = np.asarray(steps, dtype=np.float64)
    if decay_steps is None:
        return np.full_like(steps, rate)
    line = rate * np.clip(1.0 - steps / decay_steps, 0.0, None)
    return np.where(steps < start_step, rate, line)


@pytest.mark.parametrize("decay_steps, start_step", [(None, 0), (10, 0), (10, 4), (7, 6)])
def test_the_schedule_follows_its_formula(decay_steps, start_step):
    schedule = LinearDecayToZero(2e-3, decay_steps, start_step)
    steps = np.arange(0, 14)
    got = [float(keras.ops.convert_to_numpy(schedule(step))) for step in steps]
    np.testing.assert_allclose(got, reference_rates(2e-3, steps, decay_steps, start_step),
                               rtol=1e-6, atol=1e-12)


def test_the_schedule_is_saved_by_name_with_its_line():
    schedule = LinearDecayToZero(1e-3)
    schedule.fix(40, 12)
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(revived, LinearDecayToZero)
    assert revived.get_config() == {"learning_rate": 1e-3, "decay_steps": 40, "start_step": 12}


@pytest.mark.parametrize("kwargs, name", [
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"learning_rate": 1e-3, "decay_steps": 5, "start_step": 5}, "decay_steps"),
    ({"learning_rate": 1e-3, "decay_steps": 5.5}, "decay_steps"),
    ({"learning_rate": 1e-3, "decay_steps": 5, "start_step": -1}, "start_step"),
])
def test_the_schedule_names_a_bad_argument(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        LinearDecayToZero(**kwargs)


def points():
    tf.random.set_seed(0)
    data = np.random.default_rng(0).normal(size=(96, 2)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(data).batch(16).repeat()


def decaying_gan(line=None):
    gan = tiny_mlp_gan(n_critic=2)
    gan.compile(**lr_decay.decaying_optimizers(
        {"critic_optimizer": keras.optimizers.Adam(1e-2),
         "generator_optimizer": keras.optimizers.Adam(5e-3)}))
    if line is not None:
        rate_decay.fix_line(gan, line)
    return gan


def test_the_line_is_fixed_from_the_measured_speed_and_the_step_follows_it(monkeypatch):
    # Each step takes 20 "seconds": the first minute after step 1 ends at step 4.
    monkeypatch.setattr(decay_length, "MEASURE_SECONDS", 60.0)
    clock, limit, seconds_per_step = StepClock(), 400.0, 20.0
    recorded = []

    class Tick(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            clock.now += seconds_per_step

    gan = decaying_gan()
    length = decay_length.DecayLength(lambda: limit - clock.now, on_fixed=recorded.append,
                                  clock=clock)
    gan.fit(points(), epochs=1, steps_per_epoch=12, verbose=0, shuffle=False,
            callbacks=[Tick(), length])
    # Fixed after step 4 (at 80 s; 60 s after step 1's 20 s): 320 s left at one critic
    # step (half a generator step) per 20 s, of which KEPT_SPEED is expected.
    left = limit - 4 * seconds_per_step
    expected = {"critic_optimizer": (4 + int(left / 20.0 * decay_length.KEPT_SPEED), 4),
                "generator_optimizer": (2 + int(left / 40.0 * decay_length.KEPT_SPEED), 2)}
    assert recorded == [expected] and length.line == expected
    for name, (decay_steps, start) in expected.items():
        assert rate_decay.decaying_schedules(gan)[name].get_config()["decay_steps"] == \
            decay_steps
    # The same run with the line fixed before its first step: every step the first run
    # took after fixing used the new line only if its traced step was rebuilt.
    again = decaying_gan(expected)
    again.fit(points(), epochs=1, steps_per_epoch=12, verbose=0, shuffle=False)
    assert_weights_equal(again.get_weights(), gan.get_weights(), atol=1e-6)
    untouched = decaying_gan()
    untouched.fit(points(), epochs=1, steps_per_epoch=12, verbose=0, shuffle=False)
    assert not np.allclose(untouched.generator.get_weights()[0], gan.generator.get_weights()[0])


def _said():
    said = []
    return said, lambda text, flush=False: said.append(text)


def test_the_epochs_fix_the_line_before_the_first_step_and_a_recorded_line_wins():
    gan, settings = decaying_gan(), {"epochs": 3, "lr_decay": "linear"}
    lr_decay.follow(gan, settings, steps_per_epoch=10)
    assert settings["lr_decay_steps"] == {"critic_optimizer": 30, "generator_optimizer": 15}
    assert settings["lr_decay_start"] == {"critic_optimizer": 0, "generator_optimizer": 0}
    # A resume with the same --epochs keeps the line (a resume is exact); one with
    # another --epochs moves the end of a line --epochs fixed (it starts at step 0)
    # there, and says so.
    same, (said, say) = decaying_gan(), _said()
    lr_decay.follow(same, dict(settings), steps_per_epoch=10, say=say)
    assert rate_decay.decaying_schedules(same)["generator_optimizer"].get_config() == {
        "learning_rate": 5e-3, "decay_steps": 15, "start_step": 0}
    assert said == []
    resumed, longer, (said, say) = decaying_gan(), {**settings, "epochs": 9}, _said()
    resumed.critic_optimizer.iterations.assign(24)
    resumed.generator_optimizer.iterations.assign(12)
    lr_decay.follow(resumed, longer, steps_per_epoch=10, say=say)
    assert rate_decay.decaying_schedules(resumed)["generator_optimizer"].get_config() == {
        "learning_rate": 5e-3, "decay_steps": 45, "start_step": 0}
    assert longer["lr_decay_steps"] == {"critic_optimizer": 90, "generator_optimizer": 45}
    assert "reach 0 at generator update 45 (the end of epoch 9) instead of 15" in said[0]
    assert f"from {1 - 12 / 45:.0%} of the full rate" in said[0]
    # A line the time limit fixed (it starts later) stays as recorded; past its end a
    # resume says the rates are 0.
    timed = {"epochs": 9, "lr_decay": "linear",
             "lr_decay_steps": {"critic_optimizer": 24, "generator_optimizer": 12},
             "lr_decay_start": {"critic_optimizer": 4, "generator_optimizer": 2}}
    kept, (said, say) = decaying_gan(), _said()
    kept.critic_optimizer.iterations.assign(24)
    kept.generator_optimizer.iterations.assign(12)
    lr_decay.follow(kept, timed, steps_per_epoch=10, say=say)
    assert rate_decay.decaying_schedules(kept)["generator_optimizer"].get_config() == {
        "learning_rate": 5e-3, "decay_steps": 12, "start_step": 2}
    assert "the rates reached 0 at generator update 12" in said[0]
    assert "start a new run" in said[0]
    # With --max-time and no line yet, none is fixed before the speed is measured.
    timed, fresh = decaying_gan(), {"epochs": 3, "lr_decay": "linear"}
    lr_decay.follow(timed, fresh, steps_per_epoch=10, max_time=60.0)
    assert "lr_decay_steps" not in fresh
    assert rate_decay.decaying_schedules(timed)["critic_optimizer"].decay_steps is None


def test_several_processes_cannot_measure_the_line_with_max_time():
    settings = {"lr_decay": "linear"}
    with pytest.raises(CliError, match="--lr-decay linear --epochs N"):
        lr_decay.check_can_fix(settings, 60.0, 2)
    lr_decay.check_can_fix(settings, None, 2)  # --epochs fixes it
    lr_decay.check_can_fix(settings, 60.0, 1)


def test_train_records_the_line_and_resumes_along_it(tmp_path, capsys):
    images = np.random.default_rng(5).integers(0, 256, (8, 16, 16, 1)).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    out = str(tmp_path / "run")
    common = ["--dataset", str(tmp_path / "images.npy"), "--out", out, "--batch-size", "4",
              "--dim", "4", "--latent-dim", "8", "--image-size", "16", "--num-samples",
              "4", "--verbose", "0", "--steps-per-epoch", "2"]
    code, _, err = run_cli(capsys, "train", "--epochs", "2", "--lr-decay", "linear", *common)
    assert code == 0, err
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    assert config["lr_decay"] == "linear"
    assert config["lr_decay_steps"] == {"critic_optimizer": 4, "generator_optimizer": 4}
    gan = keras.models.load_model(os.path.join(out, "model.keras"))
    for name in lr_decay.OPTIMIZERS:
        optimizer = getattr(gan, name)
        assert optimizer._learning_rate.get_config()["decay_steps"] == 4
        assert float(optimizer.learning_rate) == 0.0  # the line's end, at step 4
    # A longer resume moves the line's end to its last epoch, records and saves it.
    code, said, err = run_cli(capsys, "train", "--resume", "--out", out, "--epochs", "3",
                              "--verbose", "0")
    assert code == 0, err
    assert "the rates now reach 0 at generator update 6 (the end of epoch 3) instead of " \
        "4; they go on from 33% of the full rate" in said
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f)["lr_decay_steps"] == {"critic_optimizer": 6,
                                                  "generator_optimizer": 6}
    gan = keras.models.load_model(os.path.join(out, "model.keras"))
    for name in lr_decay.OPTIMIZERS:
        optimizer = getattr(gan, name)
        assert optimizer._learning_rate.get_config()["decay_steps"] == 6
        assert int(optimizer.iterations) == 6 and float(optimizer.learning_rate) == 0.0
    code, _, err = run_cli(capsys, "train", "--resume", "--out", out, "--lr-decay", "off",
                           "--epochs", "4", "--verbose", "0")
    assert code == 2 and "--lr-decay off differs from the run's linear" in err
    # --restart starts a new line for its own epochs.
    code, _, err = run_cli(capsys, "train", "--restart", "--epochs", "3", *common)
    assert code == 0, err
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f)["lr_decay_steps"]["critic_optimizer"] == 6


def test_max_time_fixes_the_line_records_it_and_saves_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(decay_length, "MEASURE_SECONDS", 0.0)  # fixed after the second step
    images = np.random.default_rng(6).integers(0, 256, (8, 16, 16, 1)).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    out = str(tmp_path / "run")
    # 10 epochs of 2 steps end long before the time limit: the line, measured after
    # step 2, ends at the epochs' last step (a tiny step takes milliseconds, so the
    # limit's 10 minutes would buy far more).
    code, said, err = run_cli(
        capsys, "train", "--dataset", str(tmp_path / "images.npy"), "--out", out,
        "--batch-size", "4", "--dim", "4", "--latent-dim", "8", "--image-size", "16",
        "--num-samples", "4", "--verbose", "0", "--steps-per-epoch", "2", "--epochs", "10",
        "--n-critic", "2", "--lr-decay", "linear", "--max-time", "10m")
    assert code == 0, err
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    line = {"critic_optimizer": (20, 2), "generator_optimizer": (10, 1)}
    assert lr_decay.recorded_line(config) == line
    gan = keras.models.load_model(os.path.join(out, "model.keras"))
    for name, (decay_steps, start) in line.items():
        optimizer = getattr(gan, name)
        assert optimizer._learning_rate.get_config() == {
            "learning_rate": pytest.approx(1e-3), "decay_steps": decay_steps,
            "start_step": start}
        assert float(optimizer.learning_rate) == 0.0


@pytest.mark.parametrize("given, max_time, processes, resume, chosen", [
    (None, 1500.0, 1, False, "linear"),   # the run knows its end
    (None, None, 1, False, "linear"),     # to the end of --epochs
    (None, None, 2, False, "linear"),     # --epochs fixes it on several processes too
    (None, 1500.0, 2, False, "off"),      # each process would measure its own speed
    (None, 1500.0, 1, True, "off"),       # a run recorded without it keeps constant rates
    ("off", 1500.0, 1, False, "off"),
    ("linear", None, 1, False, "linear"),
    (None, None, "paper", False, "off"),  # --paper-optimizers: the papers' constant rates
])
def test_left_out_the_decay_follows_the_time_limit(given, max_time, processes, resume,
                                                   chosen):
    settings, said = {"lr_decay": given, "epochs": 7}, []
    if processes == "paper":
        settings["paper_optimizers"], processes = True, 1
    lr_decay.choose(settings, max_time, processes, resume,
                    say=lambda text, flush=False: said.append(text))
    assert settings["lr_decay"] == chosen
    assert bool(said) == (given is None and chosen == "linear")
    if said:
        assert ("at the time limit" if max_time else "at the end of epoch 7") in said[0]
