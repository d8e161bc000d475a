"""keras_wgan.checkpoints in a user's own script: TrainingCheckpoint + fit_resumable.

A crash inside an epoch, then load_checkpoint + fit_resumable, must end as the
uninterrupted run: weights, both optimizers, the unfinished critic block, the epoch
means in History and the per-batch rows of LossHistory. On every backend (the JAX
trainer keeps the state outside the variables during an epoch).
"""

import csv
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from testing import CrashAt, assert_weights_equal, tiny_mlp_gan

from keras_wgan.callbacks import LossHistory
from keras_wgan.checkpoints import (
    TrainingCheckpoint,
    TrainingState,
    fit_resumable,
    load_checkpoint,
    read_state,
)

STEPS, EPOCHS = 5, 3  # n_critic 3: blocks straddle epochs


def make_dataset():
    """The same endless, shuffled stream on every call (a fresh dataset object)."""
    tf.random.set_seed(0)
    # Batches of 16 points (5 a pass), point_dataset's: under JAX the programs compiled
    # for the other tiny MLP tests serve these too (the persistent compilation cache).
    points = np.random.default_rng(0).normal(size=(80, 2)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(points).shuffle(80, seed=1).batch(16).repeat()


def train(directory, state=None, model=None, crash_at=None):
    if model is None:
        model = tiny_mlp_gan(n_critic=3)
        model.compile()
    checkpoint = TrainingCheckpoint(os.path.join(directory, "model.keras"), every_n_steps=4)
    callbacks = [LossHistory(directory, plot=False, flush_every=1)]
    if crash_at:
        callbacks.append(CrashAt(crash_at))
    histories = fit_resumable(model, make_dataset, epochs=EPOCHS, steps_per_epoch=STEPS,
                              checkpoint=checkpoint, state=state, verbose=0,
                              callbacks=callbacks + [checkpoint])
    return model, histories


def read_csv(path):
    with open(path, newline="") as f:
        return [{k: float(v) if v else None for k, v in row.items()} for row in csv.DictReader(f)]


@pytest.mark.all_backends
def test_crash_inside_an_epoch_resumes_exactly(tmp_path):
    reference, histories = train(str(tmp_path / "reference"))
    run = str(tmp_path / "run")
    with pytest.raises(RuntimeError, match="crash"):
        train(run, crash_at=9)  # saves at steps 4, 5 (epoch end), 8; dies at 9
    model, state = load_checkpoint(os.path.join(run, "model.keras"))
    assert (state.epoch, state.step, state.global_step, state.steps_per_epoch) == (1, 3, 8, 5)
    assert int(model.pending_critic_updates) == 2  # 2 of a block of 3 critic updates
    assert set(state.metrics) >= {"critic_loss", "wasserstein"}
    model, resumed = train(run, state=state, model=model)
    assert len(resumed) == 2  # the rest of epoch 2, then epoch 3
    assert_weights_equal(model.get_weights(), reference.get_weights(), atol=1e-6)
    for name in ("critic_optimizer", "generator_optimizer"):
        assert int(getattr(model, name).iterations) == int(getattr(reference, name).iterations)
    assert int(model.critic_optimizer.iterations) == 15
    assert int(model.pending_critic_updates) == int(reference.pending_critic_updates) == 0
    # The epoch mean of the interrupted epoch counts its steps before the crash too.
    expected = histories[-1].history["critic_loss"][1]
    assert resumed[0].history["critic_loss"][-1] == pytest.approx(expected, rel=1e-5)
    for name in ("history.csv", "history_batches.csv"):
        rows = read_csv(os.path.join(run, name))
        want = read_csv(os.path.join(str(tmp_path / "reference"), name))
        assert [r.get("step", r["epoch"]) for r in rows] == \
            [r.get("step", r["epoch"]) for r in want]
        for row, other in zip(rows, want):
            # The same columns, empty cells (None) in the same places, numbers close.
            assert row.keys() == other.keys()
            assert [k for k, v in row.items() if v is None] == \
                [k for k, v in other.items() if v is None]
            numbers = [k for k, v in row.items() if v is not None]
            assert [row[k] for k in numbers] == \
                pytest.approx([other[k] for k in numbers], rel=1e-5, abs=1e-6)
    assert read_state(os.path.join(run, "model.keras")).global_step == 15


def test_fit_resumable_refuses_what_it_cannot_continue(tmp_path):
    model = tiny_mlp_gan()
    model.compile()
    checkpoint = TrainingCheckpoint(str(tmp_path / "model.keras"))
    middle = TrainingState(epoch=1, step=2, global_step=7, steps_per_epoch=5)
    cases = [
        (dict(make_dataset=make_dataset(), epochs=2, steps_per_epoch=5), TypeError,
         "`make_dataset` must be a callable"),
        (dict(epochs=2, steps_per_epoch=None), ValueError, "`steps_per_epoch` must be a "
         "positive integer"),
        (dict(epochs=2, steps_per_epoch=4, state=middle), ValueError,
         r"2 of 5 steps into epoch 2: `steps_per_epoch` must stay 5"),
        (dict(epochs=1, steps_per_epoch=5, state=middle), ValueError,
         "already completed 1 epoch"),
        (dict(epochs=2, steps_per_epoch=5, initial_epoch=1), ValueError,
         "`initial_epoch` is set by fit_resumable"),
    ]
    for kwargs, error, match in cases:
        kwargs = {"make_dataset": make_dataset, "checkpoint": checkpoint, **kwargs}
        with pytest.raises(error, match=match):
            fit_resumable(model, **kwargs)
    with pytest.raises(TypeError, match="`checkpoint` must be a TrainingCheckpoint"):
        fit_resumable(model, make_dataset, epochs=2, steps_per_epoch=5, checkpoint=None)
    with pytest.raises(ValueError, match="`every_n_steps` must be a positive integer"):
        TrainingCheckpoint(str(tmp_path / "m.keras"), every_n_steps=0)
    with pytest.raises(ValueError, match="`every_n_minutes` must be a number > 0"):
        TrainingCheckpoint(str(tmp_path / "m.keras"), every_n_minutes=-1)
    with pytest.raises(FileNotFoundError, match="There is no checkpoint file"):
        load_checkpoint(str(tmp_path / "missing.keras"))
    (tmp_path / "garbage.keras").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="is not a .keras file"):
        load_checkpoint(str(tmp_path / "garbage.keras"))


def test_time_based_checkpoints(tmp_path):
    from testing import tiny_image_gan

    from keras_wgan import cli

    assert cli.training.loop.checkpoint_frequency("90s") == (None, 1.5)
    assert cli.training.loop.checkpoint_frequency("2m") == (None, 2.0)
    assert cli.training.loop.checkpoint_frequency("500") == (500, None)
    gan = tiny_image_gan()
    gan.compile()
    for minutes, saved in ((1e-9, [1, 2, 3]), (60.0, [None, None, None])):
        checkpoint = TrainingCheckpoint(str(tmp_path / f"{minutes}.keras"),
                                        every_n_minutes=minutes)
        checkpoint.set_model(gan)
        checkpoint.set_params({"steps": 10})
        checkpoint.on_train_begin()
        checkpoint.on_epoch_begin(0)
        seen = []
        for batch in range(3):  # the clock always moves on between two steps
            checkpoint.on_train_batch_end(batch, {"critic_loss": 1.0})
            seen.append(checkpoint.state and checkpoint.state.global_step)
        assert seen == saved


def test_a_checkpoint_that_does_not_write_follows_the_position_and_stops(tmp_path):
    """writes=False (another process of a multi-process run): the same position and
    stops as a writing checkpoint, and no file."""
    path = str(tmp_path / "model.keras")
    model = tiny_mlp_gan(n_critic=3)
    model.compile()
    follower = TrainingCheckpoint(path, every_n_steps=4, writes=False)
    fit_resumable(model, make_dataset, epochs=2, steps_per_epoch=STEPS,
                  checkpoint=follower, verbose=0, callbacks=[follower])
    state = follower.state
    assert (state.epoch, state.step, state.global_step) == (2, 0, 2 * STEPS)
    assert os.listdir(tmp_path) == []

    class StopAt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                follower.request_stop("SIGTERM")

    model = tiny_mlp_gan(n_critic=3)
    model.compile()
    follower = TrainingCheckpoint(path, writes=False)
    fit_resumable(model, make_dataset, epochs=2, steps_per_epoch=STEPS,
                  checkpoint=follower, verbose=0, callbacks=[StopAt(), follower])
    assert follower.stopped_by == "SIGTERM"
    assert (follower.state.epoch, follower.state.step, follower.state.global_step) == (0, 2, 2)
    assert os.listdir(tmp_path) == []
