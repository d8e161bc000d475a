"""MaxTime: a wall-clock limit that stops a run as safely as Ctrl-C (callbacks/max_time.py).

The clock is a counter the test advances, so the step the limit falls on is known
exactly: the run must save after that step, say why it stopped, and resume to the same
weights as a run that was never stopped.
"""

import os

import numpy as np
import pytest
import tensorflow as tf
from testing import assert_weights_equal, tiny_mlp_gan

from keras_wgan.callbacks import MaxTime
from keras_wgan.callbacks.max_time import format_duration, parse_duration
from keras_wgan.checkpoints import TrainingCheckpoint, fit_resumable, load_checkpoint

STEPS, EPOCHS = 5, 3


def make_dataset():
    tf.random.set_seed(0)
    # Batches of 16 points (5 a pass), point_dataset's: under JAX the programs compiled
    # for the other tiny MLP tests serve these too (the persistent compilation cache).
    points = np.random.default_rng(0).normal(size=(80, 2)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(points).shuffle(80, seed=1).batch(16).repeat()


class StepClock:
    """A clock that reads one 'second' later after each batch: :meth:`ticker` is the
    callback that advances it (listed before MaxTime, so step k ends at k seconds)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def ticker(self):
        import keras

        clock = self

        class Advance(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                clock.now += 1.0

        return Advance()


def train(directory, model=None, state=None, limit=None):
    if model is None:
        model = tiny_mlp_gan(n_critic=3)
        model.compile()
    checkpoint = TrainingCheckpoint(os.path.join(directory, "model.keras"))
    clock = StepClock()
    callbacks = [clock.ticker()]
    if limit is not None:
        callbacks.append(MaxTime(limit, stopper=checkpoint, clock=clock))
    histories = fit_resumable(model, make_dataset, epochs=EPOCHS, steps_per_epoch=STEPS,
                              checkpoint=checkpoint, state=state, verbose=0,
                              callbacks=callbacks + [checkpoint])
    return model, checkpoint, histories


@pytest.mark.parametrize("text, seconds", [
    ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("90s", 90), ("1.5h", 5400), ("45", 45),
    ("00:12:00:00", 12 * 3600), ("1:30:00", 5400), ("2d", 172800),
])
def test_durations_parse_like_a_user_writes_them(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "0", "-5m", "m", "5x", "1:2:3:4:5", "nan", "inf"])
def test_bad_durations_name_the_forms_that_work(text):
    with pytest.raises(ValueError, match="like 30m, 2h, 1h30m"):
        parse_duration(text)


def test_durations_print_back_exactly():
    assert [format_duration(s) for s in (1800, 5400, 45, 3661, 0.01, 90.5)] == \
        ["30m", "1h30m", "45s", "1h1m1s", "0.01s", "1m30.5s"]
    assert parse_duration(format_duration(3661)) == 3661


@pytest.mark.parametrize("seconds", [0, -1, "30m", True, None])
def test_max_time_refuses_what_is_not_a_positive_number(seconds):
    with pytest.raises(ValueError, match="`seconds` must be a number > 0"):
        MaxTime(seconds)


@pytest.mark.all_backends
def test_the_limit_saves_after_the_step_and_resumes_exactly(tmp_path):
    reference, _, _ = train(str(tmp_path / "reference"))
    run = str(tmp_path / "run")
    # The clock reads k after step k: the limit of 7 s falls on global step 7 (epoch 2,
    # step 2), inside an epoch and inside a block of 3 critic updates.
    model, checkpoint, _ = train(run, limit=7)
    assert checkpoint.stopped_by == "max-time 7s"
    assert checkpoint.state.global_step == 7
    assert int(model.critic_optimizer.iterations) == 7
    loaded, state = load_checkpoint(os.path.join(run, "model.keras"))
    assert (state.epoch, state.step, state.global_step) == (1, 2, 7)
    assert_weights_equal(loaded.get_weights(), model.get_weights())
    # A later limit continues from there and stops again; no limit finishes the run.
    loaded, checkpoint, _ = train(run, model=loaded, state=state, limit=4)
    assert checkpoint.stopped_by == "max-time 4s" and checkpoint.state.global_step == 11
    loaded, state = load_checkpoint(os.path.join(run, "model.keras"))
    finished, checkpoint, _ = train(run, model=loaded, state=state)
    assert checkpoint.stopped_by is None and checkpoint.state.global_step == STEPS * EPOCHS
    assert_weights_equal(finished.get_weights(), reference.get_weights(), atol=1e-6)


def test_without_a_stopper_it_ends_fit_at_the_limit():
    clock = StepClock()
    model = tiny_mlp_gan(n_critic=1)
    model.compile()
    limit = MaxTime(3, clock=clock)
    model.fit(make_dataset(), steps_per_epoch=STEPS, epochs=EPOCHS, verbose=0, shuffle=False,
              callbacks=[clock.ticker(), limit])
    assert limit.reached and int(model.critic_optimizer.iterations) == 3
