"""GANTensorBoard and SampleGrid(log_dir=...): the event files, read back, hold the run.

Each test trains a tiny model, reads the event files with
``tf.compat.v1.train.summary_iterator`` and compares every scalar with what ``History``
and ``LossHistory``'s CSVs hold, and every image with the PNG written for that epoch.
"""

import csv
import importlib.util
import io
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from testing import CrashAt

from keras_wgan import WGANGP, cli
from keras_wgan.architectures import (
    build_critic,
    build_generator,
    build_mlp_critic,
    build_mlp_generator,
)
from keras_wgan.callbacks import GANTensorBoard, LossHistory, SampleGrid
from keras_wgan.checkpoints import TrainingCheckpoint, fit_resumable, load_checkpoint

# CI installs it (the `test` extra); only the missing-package test runs without it.
needs_tensorboard = pytest.mark.skipif(
    importlib.util.find_spec("tensorboard") is None,
    reason='needs the tensorboard package: pip install "keras-wgan[tensorboard]"',
)

IMAGE_SHAPE = (16, 16, 1)
LATENT_DIM = 8
STEPS = 4  # batches per epoch
CRITIC_RATE, GENERATOR_RATE = 2e-3, 5e-4
METRICS = ("critic_loss", "generator_loss", "wasserstein", "gradient_penalty")


def tiny_image_gan():
    keras.utils.set_random_seed(0)
    gan = WGANGP(build_generator(LATENT_DIM, IMAGE_SHAPE, 4), build_critic(IMAGE_SHAPE, 4),
                 n_critic=2, seed=0)
    gan.compile(critic_optimizer=keras.optimizers.Adam(CRITIC_RATE),
                generator_optimizer=keras.optimizers.Adam(GENERATOR_RATE))
    return gan


def image_dataset(seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (STEPS * 4,) + IMAGE_SHAPE).astype("float32")
    return tf.data.Dataset.from_tensor_slices(images).batch(4)


def read_events(directory):
    """``{tag: [(step, value), ...]}`` in the order written, over every event file."""
    events = {}
    paths = sorted(
        (os.path.join(directory, name) for name in os.listdir(directory)
         if name.startswith("events.out.tfevents")),
        key=os.path.getmtime,
    )
    for path in paths:
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                events.setdefault(value.tag, []).append(
                    (event.step, tf.make_ndarray(value.tensor))
                )
    return events


def scalars(events, tag):
    return [(step, float(value)) for step, value in events[tag]]


def decode_image(value):
    width, height, png = value  # tf.summary.image: [width, height, PNG bytes]
    with Image.open(io.BytesIO(png)) as image:
        pixels = np.asarray(image)
    assert pixels.shape[:2] == (int(height), int(width))
    return pixels


def read_png(path):
    with Image.open(path) as image:
        return np.asarray(image)


def read_csv(path):
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]


def window_means(rows, name, ends):
    """The mean of ``name`` over the CSV's batch rows in each window (previous end, end]."""
    means, start = [], 0
    for end in ends:
        values = [r[name] for r in rows if start < r["step"] <= end and name in r]
        if values:
            means.append((end, float(np.mean(values))))
        start = end
    return means


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tensorboard")
    logs, csvs = str(root / "logs"), str(root / "csv")
    gan = tiny_image_gan()

    def callbacks():
        return [
            LossHistory(csvs, plot=False, flush_every=1),
            SampleGrid(str(root / "samples"), num_samples=4, seed=3,
                       log_dir=os.path.join(logs, "samples")),
            GANTensorBoard(logs, every_n_steps=1),
            GANTensorBoard(str(root / "every3"), every_n_steps=3, write_graph=False),
        ]

    first = gan.fit(image_dataset(), epochs=2, verbose=0, shuffle=False, callbacks=callbacks())
    # A later fit continues the run (epoch 3), as a resumed one does: new callbacks.
    second = gan.fit(image_dataset(1), epochs=3, initial_epoch=2, verbose=0, shuffle=False,
                     callbacks=callbacks())
    return root, first.history, second.history


@needs_tensorboard
def test_epoch_scalars_are_the_history_at_the_epoch_number(run):
    root, first, second = run
    events = read_events(os.path.join(root, "logs", "train"))
    assert set(METRICS) == set(first)
    for name in METRICS:
        expected = list(zip([1, 2, 3], first[name] + second[name], strict=True))
        got = scalars(events, f"epoch_{name}")
        assert [step for step, _ in got] == [1, 2, 3]
        np.testing.assert_allclose([v for _, v in got], [v for _, v in expected], rtol=1e-6)
    # learning_rate is the critic's (the model's `optimizer`); the generator's beside it.
    for tag, rate in (("epoch_learning_rate", CRITIC_RATE),
                      ("epoch_generator_learning_rate", GENERATOR_RATE)):
        steps, values = zip(*scalars(events, tag), strict=True)
        assert steps == (1, 2, 3)
        np.testing.assert_allclose(values, rate, rtol=1e-6)


@needs_tensorboard
def test_step_scalars_are_the_loss_history_batch_rows(run):
    root = run[0]
    events = read_events(os.path.join(root, "logs", "train"))
    rows = read_csv(os.path.join(root, "csv", LossHistory.BATCH_FILE))
    assert [r["step"] for r in rows] == list(range(1, 3 * STEPS + 1))
    for name in METRICS:
        expected = [(int(r["step"]), r[name]) for r in rows if name in r]
        got = scalars(events, f"step_{name}")
        assert [step for step, _ in got] == [step for step, _ in expected], name
        np.testing.assert_allclose([v for _, v in got], [v for _, v in expected],
                                   rtol=1e-5, atol=1e-6)
    # n_critic=2: the generator loss exists on every second step only.
    assert [step for step, _ in scalars(events, "step_generator_loss")] == [2, 4, 6, 8, 10, 12]


@needs_tensorboard
def test_every_n_steps_writes_window_means_and_the_epoch_remainder(run):
    root = run[0]
    events = read_events(os.path.join(root, "every3", "train"))
    rows = read_csv(os.path.join(root, "csv", LossHistory.BATCH_FILE))
    # Windows end at multiples of 3 and at each epoch's last step (4, 8, 12).
    ends = [3, 4, 6, 8, 9, 12]
    for name in METRICS:
        expected = window_means(rows, name, ends)
        got = scalars(events, f"step_{name}")
        assert [step for step, _ in got] == [step for step, _ in expected], name
        np.testing.assert_allclose([v for _, v in got], [v for _, v in expected],
                                   rtol=1e-5, atol=1e-6)


@needs_tensorboard
def test_images_are_the_png_grids_of_each_epoch(run):
    root = run[0]
    events = read_events(os.path.join(root, "logs", "samples"))
    assert [step for step, _ in events["samples"]] == [1, 2, 3]
    grids = []
    for step, value in events["samples"]:
        png = read_png(os.path.join(root, "samples", f"epoch_{step:03d}.png"))
        pixels = decode_image(value)
        np.testing.assert_array_equal(pixels.reshape(png.shape), png)
        grids.append(png)
    assert not np.array_equal(grids[0], grids[-1])  # the steps tell different grids apart


@needs_tensorboard
def test_fit_without_step_scalars_writes_epochs_only(tmp_path):
    gan = tiny_image_gan()
    history = gan.fit(image_dataset(), epochs=1, verbose=0, shuffle=False,
                      callbacks=[GANTensorBoard(str(tmp_path))])
    events = read_events(str(tmp_path / "train"))
    assert not [tag for tag in events if tag.startswith("step_")]
    assert scalars(events, "epoch_critic_loss") == [
        (1, pytest.approx(history.history["critic_loss"][0], rel=1e-6))
    ]


# ------------------------------------------------------- resuming inside an epoch

RESUME_STEPS, RESUME_EPOCHS = 5, 3


def make_points():
    points = np.random.default_rng(0).normal(size=(40, 2)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(points).batch(8).repeat()


def train_points(directory, state=None, model=None, crash_at=None):
    if model is None:
        keras.utils.set_random_seed(0)
        model = WGANGP(build_mlp_generator(2, 2, width=8, depth=2),
                       build_mlp_critic(2, width=8, depth=2), n_critic=3, seed=0)
        model.compile()
    checkpoint = TrainingCheckpoint(os.path.join(directory, "model.keras"), every_n_steps=4)
    callbacks = [GANTensorBoard(os.path.join(directory, "logs"), every_n_steps=1,
                                write_graph=False)]
    if crash_at:
        callbacks.append(CrashAt(crash_at))
    fit_resumable(model, make_points, epochs=RESUME_EPOCHS, steps_per_epoch=RESUME_STEPS,
                  checkpoint=checkpoint, state=state, verbose=0,
                  callbacks=callbacks + [checkpoint])
    return model


@pytest.mark.all_backends
@needs_tensorboard
def test_resume_inside_an_epoch_continues_the_steps(tmp_path):
    reference_dir, run_dir = str(tmp_path / "reference"), str(tmp_path / "run")
    train_points(reference_dir)
    with pytest.raises(RuntimeError, match="crash"):
        train_points(run_dir, crash_at=9)  # checkpoints at steps 4, 5, 8; dies after 9
    model, state = load_checkpoint(os.path.join(run_dir, "model.keras"))
    assert (state.epoch, state.step, state.global_step) == (1, 3, 8)
    train_points(run_dir, state=state, model=model)

    reference = read_events(os.path.join(reference_dir, "logs", "train"))
    resumed = read_events(os.path.join(run_dir, "logs", "train"))
    total = RESUME_EPOCHS * RESUME_STEPS
    for name in ("critic_loss", "wasserstein", "gradient_penalty", "generator_loss"):
        want = dict(scalars(reference, f"step_{name}"))
        got = scalars(resumed, f"step_{name}")
        steps = [step for step, _ in got]
        # The crashed run wrote steps 1..9, the resumed one 9..15: step 9 twice, the
        # same value (resuming is exact); no restart at 0, no gap.
        assert sorted(set(steps)) == sorted(want), name
        assert steps == sorted(steps) and steps.count(9) == (2 if 9 in want else 1)
        for step, value in got:
            assert value == pytest.approx(want[step], rel=1e-5, abs=1e-6), (name, step)
    assert sorted(dict(scalars(reference, "step_critic_loss"))) == list(range(1, total + 1))
    # The interrupted epoch's scalar counts its steps before the crash too.
    for name in ("critic_loss", "wasserstein"):
        got = scalars(resumed, f"epoch_{name}")
        want = scalars(reference, f"epoch_{name}")
        assert [step for step, _ in got] == [1, 2, 3]
        np.testing.assert_allclose([v for _, v in got], [v for _, v in want], rtol=1e-5)


# -------------------------------------------------------------------- errors


@needs_tensorboard
def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="`every_n_steps` must be a positive integer"):
        GANTensorBoard(str(tmp_path), every_n_steps=0)
    with pytest.raises(ValueError, match="`every_n_steps=N`"):
        GANTensorBoard(str(tmp_path), update_freq="batch")
    callback = GANTensorBoard(str(tmp_path))
    callback.set_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
    with pytest.raises(TypeError, match="needs a compiled keras_wgan model"):
        callback.on_train_begin()


def test_missing_tensorboard_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # `import tensorboard` fails
    install = 'pip install "keras-wgan[tensorboard]"'
    with pytest.raises(ImportError, match=r'pip install "keras-wgan\[tensorboard\]"'):
        GANTensorBoard(str(tmp_path / "logs"))
    with pytest.raises(ImportError, match="SampleGrid"):
        SampleGrid(str(tmp_path / "samples"), log_dir=str(tmp_path / "logs"))
    out = str(tmp_path / "run")
    code = cli.main(["train", "--dataset", str(tmp_path / "never-read.npy"), "--out", out,
                     "--tensorboard", str(tmp_path / "logs")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and install in err and err.startswith("keras-wgan train: error:")
    assert not os.path.exists(out)  # refused before anything was written


# ----------------------------------------------------------------------- CLI

CLI_TINY = [
    "--batch-size", "4", "--dim", "4", "--latent-dim", "8", "--image-size", "16",
    "--n-critic", "2", "--num-samples", "4", "--verbose", "0", "--steps-per-epoch", "4",
]


@needs_tensorboard
def test_cli_tensorboard_logs_and_resume_continues(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (16, 16, 16, 1)).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    out, logs = str(tmp_path / "run"), str(tmp_path / "logs")
    common = ["--dataset", str(tmp_path / "images.npy"), "--out", out, *CLI_TINY]
    assert cli.main(["train", "--epochs", "1", "--tensorboard", logs, *common]) == 0
    # --resume takes --tensorboard from the run's config.json and continues the steps.
    assert cli.main(["train", "--resume", "--out", out, "--epochs", "2", "--verbose", "0"]) == 0

    events = read_events(os.path.join(logs, "train"))
    epochs = read_csv(os.path.join(out, "history.csv"))
    rows = read_csv(os.path.join(out, "history_batches.csv"))
    assert [r["epoch"] for r in epochs] == [1, 2]
    for name in METRICS:
        got = scalars(events, f"epoch_{name}")
        assert [step for step, _ in got] == [1, 2]
        np.testing.assert_allclose([v for _, v in got], [r[name] for r in epochs], rtol=1e-6)
        # Every cli.train.TENSORBOARD_EVERY_N_STEPS steps and at each epoch end (steps 4, 8).
        every = cli.train.TENSORBOARD_EVERY_N_STEPS
        ends = sorted({*range(every, 9, every), 4, 8})
        expected = window_means(rows, name, ends)
        got = scalars(events, f"step_{name}")
        assert [step for step, _ in got] == [step for step, _ in expected], name
        np.testing.assert_allclose([v for _, v in got], [v for _, v in expected],
                                   rtol=1e-5, atol=1e-6)
    samples = read_events(os.path.join(logs, "samples"))["samples"]
    assert [step for step, _ in samples] == [1, 2]
    for step, value in samples:
        png = read_png(os.path.join(out, "samples", f"epoch_{step:03d}.png"))
        np.testing.assert_array_equal(decode_image(value).reshape(png.shape), png)


@needs_tensorboard
def test_an_epoch_stopped_inside_logs_its_steps_but_no_epoch_scalars(tmp_path):
    class StopAt3(keras.callbacks.Callback):  # as Ctrl-C asks fit to stop
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = batch + 1 == 3

    logs = str(tmp_path / "logs")
    tiny_image_gan().fit(image_dataset(), epochs=2, verbose=0,
                         callbacks=[GANTensorBoard(logs, every_n_steps=1), StopAt3()])
    events = read_events(os.path.join(logs, "train"))
    assert [step for step, _ in scalars(events, "step_critic_loss")] == [1, 2, 3]
    assert not [tag for tag in events if tag.startswith("epoch_")]  # epoch 1 did not end
