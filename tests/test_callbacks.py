"""SampleGrid, LossHistory and AtomicModelCheckpoint on a tiny WGAN-GP.

One module fixture trains 2 epochs, snapshots the run directory, then resumes from the
saved model for a third epoch, so the fit-based tests share two short fits. The
other tests drive the callbacks by hand (no fit) to stay fast.
"""

import csv
import json
import math
import os
import shutil
import types

import keras
import numpy as np
import pytest
from testing import LATENT_DIM, image_dataset, tiny_image_gan
from PIL import Image

from keras_wgan.callbacks import (
    AtomicModelCheckpoint,
    LossHistory,
    SampleGrid,
    checkpoint_epochs,
    checkpoint_state_path,
)
from keras_wgan.callbacks.position import EpochProgress
from keras_wgan.checkpoints import TrainingCheckpoint, TrainingState, fit_resumable
from keras_wgan.images import SEPARATOR, tile_images

STEPS = 4  # batches per epoch
N_CRITIC = 2
NUM_SAMPLES = 6  # a 3 x 2 grid of 16 x 16 tiles


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_png(path):
    with Image.open(path) as image:
        return image.mode, image.size, np.asarray(image)


def callbacks_for(run):
    return [
        LossHistory(run),
        SampleGrid(os.path.join(run, "samples"), num_samples=NUM_SAMPLES, seed=3),
        SampleGrid(
            os.path.join(run, "every2"), num_samples=2, every_n_epochs=2, columns=1,
            filename_format="grid-{epoch}.png",
        ),
        AtomicModelCheckpoint(os.path.join(run, "model.keras")),
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("callbacks")
    run = str(root / "run")
    gan = tiny_image_gan(n_critic=N_CRITIC)
    gan.compile()
    first_callbacks = callbacks_for(run)
    first = gan.fit(
        image_dataset(STEPS), epochs=2, verbose=0, shuffle=False, callbacks=first_callbacks
    )
    snapshot = str(root / "after_two_epochs")
    shutil.copytree(run, snapshot)
    final_grid = tile_images(gan.generate_from_noise(first_callbacks[1].noise))

    restored = keras.models.load_model(os.path.join(run, "model.keras"))
    initial_epoch = checkpoint_epochs(os.path.join(run, "model.keras"), restored)
    second = restored.fit(
        image_dataset(STEPS, seed=1), epochs=3, initial_epoch=initial_epoch, verbose=0,
        shuffle=False, callbacks=callbacks_for(run),
    )
    return types.SimpleNamespace(
        run=run, snapshot=snapshot, first=first.history, second=second.history,
        first_callbacks=first_callbacks, final_grid=final_grid, gan=gan,
        initial_epoch=initial_epoch,
    )


class StopAt(keras.callbacks.Callback):
    """Ask ``fit`` to stop after step ``at`` (1-based) of an epoch, as Ctrl-C does."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_train_batch_end(self, batch, logs=None):
        if batch + 1 == self.at:
            self.model.stop_training = True


@pytest.fixture
def progress_updates(monkeypatch):
    """Every ``(current, target, finalize)`` the progress bars show."""
    updates = []
    update = keras.utils.Progbar.update

    def spy(self, current, values=None, finalize=None):
        updates.append((current, self.target, bool(finalize)))
        return update(self, current, values, finalize)

    monkeypatch.setattr(keras.utils.Progbar, "update", spy)
    return updates


def test_an_epoch_stopped_inside_writes_no_grid_or_epoch_row_and_its_bar_stops_there(
    tmp_path, progress_updates
):
    gan = tiny_image_gan(n_critic=N_CRITIC)
    gan.compile()
    run = str(tmp_path)
    gan.fit(image_dataset(STEPS), epochs=2, verbose=1,
            callbacks=[LossHistory(run), SampleGrid(os.path.join(run, "samples")),
                       EpochProgress(epochs=2), StopAt(3)])
    assert os.listdir(os.path.join(run, "samples")) == []  # epoch 1 did not complete
    assert read_csv(os.path.join(run, "history.csv")) == []
    assert [row["step"] for row in read_csv(os.path.join(run, "history_batches.csv"))] == \
        ["1", "2", "3"]
    assert progress_updates[-1] == (3, STEPS, True)  # 3/4, not 4/4


def test_a_resumed_epoch_counts_its_steps_from_the_checkpoint(
    tmp_path, progress_updates, capsys
):
    gan = tiny_image_gan(n_critic=N_CRITIC)
    gan.compile()
    run = str(tmp_path)
    state = TrainingState(epoch=0, step=3, global_step=3, steps_per_epoch=STEPS)
    fit_resumable(gan, lambda: image_dataset(STEPS).repeat(), epochs=2, steps_per_epoch=STEPS,
                  checkpoint=TrainingCheckpoint(os.path.join(run, "model.keras")),
                  state=state, verbose=1,
                  callbacks=[SampleGrid(os.path.join(run, "samples"))])
    # The rest of epoch 1 is step 4 of 4 (not 1/1), then epoch 2 runs 1..4 of 4.
    assert [u for u in progress_updates if u[2]] == [(STEPS, STEPS, True)] * 2
    assert [u[0] for u in progress_updates if not u[2]][0] == 4
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "Epoch 1/1" not in out
    assert sorted(os.listdir(os.path.join(run, "samples"))) == ["epoch_001.png", "epoch_002.png"]


# ------------------------------------------------------------------ SampleGrid


def test_sample_grid_files_per_epoch_continuing_after_resume(runs):
    assert sorted(os.listdir(os.path.join(runs.snapshot, "samples"))) == [
        "epoch_001.png", "epoch_002.png",
    ]
    assert sorted(os.listdir(os.path.join(runs.run, "samples"))) == [
        "epoch_001.png", "epoch_002.png", "epoch_003.png",
    ]
    for name in ("epoch_001.png", "epoch_003.png"):
        mode, size, _ = read_png(os.path.join(runs.run, "samples", name))
        assert mode == "L"
        assert size == (3 * 16 + 2 * SEPARATOR, 2 * 16 + SEPARATOR)
    # every_n_epochs=2 and a custom file name: only epoch 2 of 3.
    assert os.listdir(os.path.join(runs.run, "every2")) == ["grid-2.png"]
    _, size, _ = read_png(os.path.join(runs.run, "every2", "grid-2.png"))
    assert size == (16, 2 * 16 + SEPARATOR)


def test_sample_grid_noise_is_fixed_and_same_weights_give_the_same_grid(runs):
    grid = runs.first_callbacks[1]
    expected = np.random.default_rng(3).standard_normal((NUM_SAMPLES, LATENT_DIM))
    np.testing.assert_allclose(grid.noise, expected.astype("float32"))
    _, _, last = read_png(os.path.join(runs.snapshot, "samples", "epoch_002.png"))
    # Exact: the same model, noise and batch through the same code, in this process.
    np.testing.assert_array_equal(last, runs.final_grid)  # the weights after epoch 2
    _, _, first = read_png(os.path.join(runs.snapshot, "samples", "epoch_001.png"))
    assert not np.array_equal(first, last)  # training changed the generator
    # The checkpoint holds the same weights: the same noise gives the same grid (exact:
    # float32 weights round-trip unchanged and the same code runs on the same batch).
    restored = keras.models.load_model(os.path.join(runs.snapshot, "model.keras"))
    np.testing.assert_array_equal(tile_images(restored.generate_from_noise(grid.noise)), last)


def test_sample_grid_of_a_conditional_model_has_one_row_per_class(tmp_path):
    from keras_wgan import WGANGP
    from keras_wgan.architectures import build_critic, build_generator

    keras.utils.set_random_seed(0)
    gan = WGANGP(build_generator(LATENT_DIM, (16, 16, 1), 4, num_classes=3),
                 build_critic((16, 16, 1), 4, num_classes=3))
    callback = SampleGrid(tmp_path / "s", num_samples=7, seed=2)
    callback.set_model(gan)
    callback.on_train_begin()
    callback.on_epoch_end(0)
    _, size, grid = read_png(tmp_path / "s" / "epoch_001.png")
    assert size == (2 * 16 + SEPARATOR, 3 * 16 + 2 * SEPARATOR)  # 7 // 3 = 2 per class
    # Row k, column j: noise vector j at label k (the same two vectors on every row).
    row_noise = np.random.default_rng(2).standard_normal((2, LATENT_DIM)).astype("float32")
    expected = gan.generate_from_noise(np.tile(row_noise, (3, 1)), labels=[0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(grid, tile_images(expected, columns=2))


def test_sample_grid_by_hand_with_wgan_and_ema(tmp_path):
    from keras_wgan import WGAN

    gan = tiny_image_gan(WGAN, normalization="batch", ema_decay=0.9)
    callback = SampleGrid(tmp_path / "s", num_samples=4, seed=None, columns=4)
    callback.set_model(gan)
    callback.on_train_begin()
    noise = callback.noise.copy()
    callback.on_epoch_end(4)  # a resumed fit's 5th epoch
    callback.on_train_begin()  # a further fit keeps the noise
    np.testing.assert_array_equal(callback.noise, noise)
    mode, size, pixels = read_png(tmp_path / "s" / "epoch_005.png")
    assert (mode, size) == ("L", (4 * 16 + 3 * SEPARATOR, 16))
    # generate_from_noise uses the EMA generator: equal to calling it directly (another
    # code path, so to float rounding: at most one grey level apart).
    expected = tile_images(np.asarray(gan.ema_generator(noise, training=False)), columns=4)
    np.testing.assert_allclose(pixels.astype(int), expected.astype(int), rtol=0, atol=1)


def test_sample_grid_errors(tmp_path):
    with pytest.raises(ValueError, match="`num_samples` must be a positive integer"):
        SampleGrid(tmp_path, num_samples=0)
    with pytest.raises(ValueError, match="`every_n_epochs`"):
        SampleGrid(tmp_path, every_n_epochs=-1)
    with pytest.raises(ValueError, match="`filename_format`"):
        SampleGrid(tmp_path, filename_format="grid_{step}.png")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="not a directory"):
        SampleGrid(tmp_path / "file")
    callback = SampleGrid(tmp_path / "s")
    callback.set_model(keras.Sequential([keras.layers.Dense(1)]))
    with pytest.raises(TypeError, match="SampleGrid needs a keras_wgan model"):
        callback.on_train_begin()


# ----------------------------------------------------------------- LossHistory


def test_loss_history_epoch_rows_equal_keras_history(runs):
    rows = read_csv(os.path.join(runs.snapshot, "history.csv"))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert set(rows[0]) == {"epoch", *runs.first}
    for name, values in runs.first.items():
        np.testing.assert_allclose([float(r[name]) for r in rows], values, rtol=1e-7)


def test_loss_history_batch_rows(runs):
    rows = read_csv(os.path.join(runs.snapshot, "history_batches.csv"))
    assert len(rows) == 2 * STEPS
    assert [int(r["step"]) for r in rows] == list(range(1, 2 * STEPS + 1))
    assert [int(r["epoch"]) for r in rows] == [1] * STEPS + [2] * STEPS
    # The generator is updated on every N_CRITIC-th step only; the others leave it blank.
    assert [r["generator_loss"] != "" for r in rows] == [False, True] * STEPS
    # Per-batch values average back to Keras' epoch values.
    for epoch, history_index in ((1, 0), (2, 1)):
        epoch_rows = [r for r in rows if int(r["epoch"]) == epoch]
        for name in ("critic_loss", "wasserstein", "gradient_penalty", "generator_loss"):
            values = [float(r[name]) for r in epoch_rows if r[name] != ""]
            np.testing.assert_allclose(
                np.mean(values), runs.first[name][history_index], rtol=1e-5, err_msg=name
            )


def test_loss_history_appends_on_resume(runs):
    before = read_csv(os.path.join(runs.snapshot, "history.csv"))
    after = read_csv(os.path.join(runs.run, "history.csv"))
    assert runs.initial_epoch == 2
    assert after[:2] == before
    assert int(after[2]["epoch"]) == 3
    for name, (value,) in runs.second.items():
        np.testing.assert_allclose(float(after[2][name]), value, rtol=1e-7)
    batches_before = read_csv(os.path.join(runs.snapshot, "history_batches.csv"))
    batches = read_csv(os.path.join(runs.run, "history_batches.csv"))
    assert batches[: 2 * STEPS] == batches_before
    assert [int(r["step"]) for r in batches] == list(range(1, 3 * STEPS + 1))
    assert {int(r["epoch"]) for r in batches[2 * STEPS :]} == {3}


def test_loss_history_plot(runs):
    for directory in (runs.snapshot, runs.run):
        mode, (width, height), pixels = read_png(os.path.join(directory, "losses.png"))
        assert mode == "RGBA"
        assert (width, height) == (1100, 640)  # 2 x 2 panels for the 4 WGAN-GP metrics
        # Each of the 2 x 2 panels draws its moving average (matplotlib's "C1" orange)
        # across most of its 550 px width: a curve, not only the legend's short sample.
        orange = (np.abs(pixels[..., :3].astype(int) - (255, 127, 14)) <= (10, 25, 50)).all(-1)
        for rows in (slice(0, 320), slice(320, 640)):
            for columns in (slice(0, 550), slice(550, 1100)):
                assert orange[rows, columns].any(axis=0).sum() > 300, (rows, columns)
    leftovers = [n for n in os.listdir(runs.run) if n.startswith(".tmp") or "tmp" in n]
    assert leftovers == []


class _FakeModel:
    """Enough of a model for LossHistory driven by hand: no Mean trackers."""

    metrics = []


def drive(history, epochs, batch_logs, epoch_logs):
    """Run ``history`` through ``epochs`` (0-based indices) like fit does."""
    history.set_model(_FakeModel())
    history.on_train_begin()
    for epoch in epochs:
        history.on_epoch_begin(epoch)
        for batch, logs in enumerate(batch_logs):
            history.on_train_batch_end(batch, logs)
        history.on_epoch_end(epoch, epoch_logs)
    history.on_train_end()


def test_loss_history_merges_new_columns_on_resume(tmp_path):
    drive(LossHistory(tmp_path, plot=False), [0, 1], [{"a": 1.0}], {"a": 1.5})
    resumed = LossHistory(tmp_path, plot=False)
    drive(resumed, [2], [{"a": 2.0, "b": 3.0}], {"a": 2.5, "b": 4.0})
    # The plotted series include the rows logged before the resume.
    assert list(resumed._series["a"][0]) == [1, 2, 3]
    assert list(resumed._series["b"][0]) == [3]
    with open(tmp_path / "history.csv") as f:
        assert f.read().splitlines() == ["epoch,a,b", "1,1.5,", "2,1.5,", "3,2.5,4.0"]
    with open(tmp_path / "history_batches.csv") as f:
        assert f.read().splitlines() == ["epoch,step,a,b", "1,1,1.0,", "2,2,1.0,", "3,3,2.0,3.0"]
    assert not (tmp_path / "losses.png").exists()  # plot=False


def test_loss_history_keeps_earlier_rows_when_a_column_appears_mid_fit(tmp_path):
    # QualityMetrics adds its columns at epoch N: the file is rewritten with the merged
    # header, and the rows this fit wrote before must stay.
    history = LossHistory(tmp_path, plot=False)
    history.set_model(_FakeModel())
    history.on_train_begin()
    for epoch, logs in enumerate([{"a": 1.0}, {"a": 2.0, "q": 5.0}]):
        history.on_epoch_begin(epoch)
        history.on_train_batch_end(0, {"a": logs["a"]})
        history.on_epoch_end(epoch, logs)
    with open(tmp_path / "history.csv") as f:
        assert f.read().splitlines() == ["epoch,a,q", "1,1.0,", "2,2.0,5.0"]


def test_loss_history_drops_rows_of_unsaved_epochs_and_broken_lines(tmp_path):
    # A run killed during epoch 3 after logging epoch 3's first batches and a partial
    # line; its checkpoint holds 2 epochs, so the resumed fit starts at epoch index 2.
    drive(LossHistory(tmp_path, plot=False), [0, 1, 2], [{"a": 1.0}, {"a": 2.0}], {"a": 1.5})
    with open(tmp_path / "history_batches.csv", "a") as f:
        f.write("3,7")
    drive(LossHistory(tmp_path, plot=False), [2], [{"a": 5.0}], {"a": 5.0})
    epochs = read_csv(tmp_path / "history.csv")
    assert [(r["epoch"], r["a"]) for r in epochs] == [("1", "1.5"), ("2", "1.5"), ("3", "5.0")]
    batches = read_csv(tmp_path / "history_batches.csv")
    assert [(r["epoch"], r["step"], r["a"]) for r in batches] == [
        ("1", "1", "1.0"), ("1", "2", "2.0"), ("2", "3", "1.0"), ("2", "4", "2.0"),
        ("3", "5", "5.0"),
    ]


def test_loss_history_flushes_batches_periodically(tmp_path):
    history = LossHistory(tmp_path, plot=False, flush_every=3)
    history.set_model(_FakeModel())
    history.on_train_begin()
    history.on_epoch_begin(0)
    for batch in range(7):
        history.on_train_batch_end(batch, {"loss": float(batch)})
    # Killed here: the first 6 batch rows are on disk already.
    assert len(read_csv(tmp_path / "history_batches.csv")) == 6


def test_loss_history_plot_without_known_metrics_and_nan(tmp_path):
    history = LossHistory(tmp_path, smoothing=2)
    drive(history, [0], [{"loss": 1.0}, {"loss": math.nan}, {"loss": 3.0}], {"loss": 2.0})
    mode, (width, height), _ = read_png(tmp_path / "losses.png")
    assert (width, height) == (550, 320)  # one panel


def test_loss_history_errors(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="`directory`"):
        LossHistory(tmp_path / "file")
    with pytest.raises(ValueError, match="`flush_every` must be a positive integer"):
        LossHistory(tmp_path, flush_every=0)
    (tmp_path / "history.csv").write_text("step,loss\n1,2.0\n")
    with pytest.raises(ValueError, match="not a LossHistory CSV"):
        drive(LossHistory(tmp_path), [0], [], {})


# ------------------------------------------------------------------ checkpoint


def test_checkpoint_files_and_epoch_count(runs):
    path = os.path.join(runs.snapshot, "model.keras")
    with open(checkpoint_state_path(path)) as f:
        state = json.load(f)
    assert state["epochs"] == 2
    assert state["optimizer_iterations"] == 2 * STEPS
    assert state["previous"] == {"epochs": 1, "optimizer_iterations": STEPS}
    assert checkpoint_epochs(path) == 2
    assert checkpoint_epochs(os.path.join(runs.run, "model.keras")) == 3
    assert not [n for n in os.listdir(runs.run) if "tmp" in n]


def _with_iterations(n):
    return types.SimpleNamespace(optimizer=types.SimpleNamespace(iterations=np.int64(n)))


def test_checkpoint_state_written_before_the_replace_resolves_to_the_file(tmp_path):
    # Killed after the state named epoch 3 but before model.keras was replaced:
    # the file still holds epoch 2, whose step count the state's previous entry has.
    path = tmp_path / "model.keras"
    state = {"epochs": 3, "optimizer_iterations": 30,
             "previous": {"epochs": 2, "optimizer_iterations": 20}}
    (tmp_path / "model.state.json").write_text(json.dumps(state))
    assert checkpoint_epochs(path, _with_iterations(20)) == 2
    assert checkpoint_epochs(path, _with_iterations(30)) == 3
    with pytest.raises(ValueError, match="matches no entry"):
        checkpoint_epochs(path, _with_iterations(25))
    with pytest.raises(FileNotFoundError, match="No readable checkpoint state"):
        checkpoint_epochs(tmp_path / "other.keras")


def test_checkpoint_after_such_a_kill_records_the_file_it_replaces(tmp_path):
    # Resumed from the model file of epoch 2 (20 steps) while the state already names
    # epoch 3: the next save's "previous" must be epoch 2, the file it replaces.
    path = tmp_path / "model.keras"
    state = {"epochs": 3, "optimizer_iterations": 30,
             "previous": {"epochs": 2, "optimizer_iterations": 20}}
    (tmp_path / "model.state.json").write_text(json.dumps(state))
    model = _with_iterations(20)
    model.save = lambda file, overwrite: open(file, "w").write("model")
    checkpoint = AtomicModelCheckpoint(path)
    checkpoint.set_model(model)
    checkpoint.on_train_begin()
    model.optimizer.iterations = np.int64(30)
    checkpoint.on_epoch_end(2)
    with open(tmp_path / "model.state.json") as f:
        assert json.load(f) == {"epochs": 3, "optimizer_iterations": 30,
                                "previous": {"epochs": 2, "optimizer_iterations": 20}}
    assert sorted(os.listdir(tmp_path)) == ["model.keras", "model.state.json"]


def test_checkpoint_errors(tmp_path):
    with pytest.raises(ValueError, match="must end with '.keras'"):
        AtomicModelCheckpoint(tmp_path / "model.h5")
    (tmp_path / "dir.keras").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory"):
        AtomicModelCheckpoint(tmp_path / "dir.keras")
