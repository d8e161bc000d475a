"""The quality yardstick end to end: DomainYardstick, the QualityMetrics callback and
`keras-wgan evaluate` / `demo`, on tiny labelled IDX files written here."""

import json
import os
import struct
from pathlib import Path

import keras
import numpy as np
import pytest
from testing import image_dataset, tiny_image_gan
from PIL import Image

from keras_wgan import cli
from keras_wgan.callbacks import LossHistory, QualityMetrics
from keras_wgan.evaluation import DomainYardstick, evaluate_images, real_floor


def write_labelled_idx(directory, prefix, images, labels):
    header = struct.pack(">BBBBIII", 0, 0, 8, 3, *images.shape)
    (directory / f"{prefix}-images-idx3-ubyte").write_bytes(header + images.tobytes())
    label_header = struct.pack(">BBBBI", 0, 0, 8, 1, len(labels))
    (directory / f"{prefix}-labels-idx1-ubyte").write_bytes(label_header + labels.tobytes())


def striped(n, seed):
    """Two easy classes: horizontal or vertical stripes, with pixel noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n).astype(np.uint8)
    stripes = (np.arange(28) // 4 % 2 * 200).astype(np.uint8)
    images = np.where(labels[:, None, None] == 0, stripes[None, :, None], stripes[None, None, :])
    images = np.clip(images + rng.integers(0, 40, (n, 28, 28)), 0, 255).astype(np.uint8)
    return images, labels


@pytest.fixture(scope="module")
def labelled_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("labelled")
    write_labelled_idx(directory, "train", *striped(96, 0))
    write_labelled_idx(directory, "t10k", *striped(48, 1))
    return directory


@pytest.fixture(scope="module")
def yardstick_cache(tmp_path_factory):
    """The cache folder of the module's yardstick: the classifier of ``labelled_dir`` at
    16x16x1 is trained once (by ``yardstick``), and the tests that only use it load it
    from here. (The test of ``evaluate``'s first run keeps a cache of its own: it checks
    that the classifier is trained and cached.)"""
    return str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def yardstick(labelled_dir, yardstick_cache):
    return DomainYardstick.for_dataset(str(labelled_dir), (16, 16, 1), cache_dir=yardstick_cache,
                                       kid_num_subsets=5)


def test_yardstick_scores_like_evaluate_images_and_floor(yardstick):
    images = np.random.default_rng(0).uniform(-1, 1, (32, 16, 16, 1)).astype("float32")
    reference = evaluate_images(images, yardstick.classifier,
                                reference_features=yardstick.reference_features,
                                kid_num_subsets=5)
    assert yardstick.score(images) == reference
    floor = yardstick.floor(32)
    assert floor == real_floor(yardstick.classifier, yardstick.train_images, num_images=32,
                               reference_features=yardstick.reference_features,
                               kid_num_subsets=5)
    assert floor["fd"] < reference["fd"]  # real stripes sit far closer than uniform noise
    assert yardstick.train_images.shape == (96, 16, 16, 1)


def test_quality_metrics_callback_adds_figures_to_every_log(yardstick, tmp_path):
    gan = tiny_image_gan(n_critic=2)
    gan.compile()
    quality = QualityMetrics(yardstick, every_n_epochs=2, num_samples=16, seed=3)
    history = gan.fit(image_dataset(2), epochs=4, verbose=0,
                      callbacks=[quality, LossHistory(str(tmp_path))])
    expected = yardstick.score(gan.generate(16, seed=3), seed=3)
    assert len(history.history["quality_fd"]) == 2  # epochs 2 and 4
    assert history.history["quality_fd"][-1] == pytest.approx(expected["fd"])
    assert history.history["quality_modes"][-1] == expected["modes_covered"]
    assert history.history["quality_fd_floor"][-1] == pytest.approx(yardstick.floor(16)["fd"])
    with open(tmp_path / "history.csv") as f:
        header = f.readline().strip().split(",")
    assert "quality_fd" in header and "quality_is_floor" in header
    with pytest.raises(TypeError, match="yardstick"):
        QualityMetrics("fashion_mnist")


def test_evaluate_command_prints_figures_beside_the_floor(labelled_dir, tmp_path, capsys):
    out = str(tmp_path / "run")
    assert cli.main(["train", "--dataset", str(labelled_dir), "--epochs", "1",
                     "--steps-per-epoch", "2", "--batch-size", "4", "--dim", "4",
                     "--latent-dim", "8", "--image-size", "16", "--n-critic", "2",
                     "--num-samples", "4", "--verbose", "0", "--out", out]) == 0
    capsys.readouterr()
    report = str(tmp_path / "figures.json")
    code = cli.main(["evaluate", os.path.join(out, "model.keras"), "--dataset",
                     str(labelled_dir), "--n", "20", "--cache-dir", str(tmp_path / "cache"),
                     "--json", report])
    printed = capsys.readouterr().out
    assert code == 0
    assert "generated" in printed and "real train (floor)" in printed
    # The first evaluation says it trains the classifier, shows its epochs, and where it
    # is cached; the next one loads that file and trains nothing.
    cache = DomainYardstick.cache_path(str(labelled_dir), (16, 16, 1), str(tmp_path / "cache"))
    assert cache.is_file()
    assert "is cached yet, so one is trained now" in printed
    assert "Classifier epoch 1/" in printed and f"Cached the classifier at {cache}" in printed
    assert cli.main(["evaluate", os.path.join(out, "model.keras"), "--dataset",
                     str(labelled_dir), "--n", "20", "--cache-dir", str(tmp_path / "cache")]) == 0
    again = capsys.readouterr().out
    assert f"classifier cached at {cache}" in again and "Classifier epoch" not in again
    assert f"{json.loads(Path(report).read_text())['generated']['fd']:.3f}" in again
    with open(report) as f:
        figures = json.load(f)
    gan = keras.models.load_model(os.path.join(out, "model.keras"))
    stick = DomainYardstick.for_dataset(str(labelled_dir), (16, 16, 1),
                                        cache_dir=str(tmp_path / "cache"))
    expected = stick.score(gan.generate(20, seed=0))
    assert figures["generated"]["fd"] == pytest.approx(expected["fd"], rel=1e-6)
    assert figures["floor"]["num_images"] == 20
    assert f"{figures['floor']['fd']:.3f}" in printed


def test_evaluate_errors(tmp_path, capsys):
    assert cli.main(["evaluate", str(tmp_path / "missing.keras")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_demo_command_writes_its_panel(tmp_path, capsys):
    out = str(tmp_path / "demo.png")
    assert cli.main(["demo", "--out", out, "--steps", "2", "--width", "8",
                     "--sets", "8gaussians", "--models", "wgan-gp"]) == 0
    with Image.open(out) as image:
        assert image.size == (400, 400)  # one set x one model: a 4-inch panel at 100 dpi
    assert cli.main(["demo", "--sets", "moons"]) == 2
    assert "unknown toy set" in capsys.readouterr().err


def test_class_accuracy_per_class_and_balanced_mean():
    from keras_wgan.evaluation import class_accuracy

    labels = np.array([0, 0, 0, 0, 1, 1, 2])
    predicted = np.array([0, 0, 1, 0, 1, 0, 0])
    figures = class_accuracy(predicted, labels, num_classes=4)
    assert figures["per_class"] == [0.75, 0.5, 0.0, None]  # class 3 has no images
    assert figures["mean"] == pytest.approx((0.75 + 0.5 + 0.0) / 3)
    with pytest.raises(ValueError, match="6 entries for 7 predictions"):
        class_accuracy(predicted, labels[:6], 4)


def test_conditional_train_evaluate_and_quality_report_class_accuracy(labelled_dir, tmp_path,
                                                                      capsys, yardstick,
                                                                      yardstick_cache):
    out = str(tmp_path / "run")
    assert cli.main(["train", "--dataset", str(labelled_dir), "--conditional", "--epochs", "1",
                     "--steps-per-epoch", "2", "--batch-size", "4", "--dim", "4",
                     "--latent-dim", "8", "--image-size", "16", "--n-critic", "2",
                     "--num-samples", "4", "--verbose", "0", "--out", out]) == 0
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f)["class_names"] == ["0", "1"]
    capsys.readouterr()
    report = str(tmp_path / "figures.json")
    cache = yardstick_cache  # the module's classifier, trained once
    assert cli.main(["evaluate", os.path.join(out, "model.keras"), "--dataset",
                     str(labelled_dir), "--n", "20", "--cache-dir", cache, "--json", report]) == 0
    printed = capsys.readouterr().out
    with open(report) as f:
        figures = json.load(f)["class_accuracy"]
    gan = keras.models.load_model(os.path.join(out, "model.keras"))
    assert gan.num_classes == 2
    stick = DomainYardstick.for_dataset(str(labelled_dir), (16, 16, 1), cache_dir=cache)
    labels = np.arange(20) % 2
    predicted = stick.classifier.probabilities(gan.generate(20, seed=0, labels=labels)).argmax(1)
    assert figures["generated"]["per_class"] == [
        float(np.mean(predicted[labels == k] == k)) for k in (0, 1)
    ]
    # The ceiling: the same classifier on the real test split (t10k, 48 striped images).
    from keras_wgan.data import load_labelled_arrays

    test_x, test_y = load_labelled_arrays(str(labelled_dir), "test", image_size=(16, 16),
                                          channels=1)
    real_predicted = stick.classifier.probabilities(test_x).argmax(1)
    assert figures["real"]["per_class"] == [
        float(np.mean(real_predicted[test_y == k] == k)) for k in (0, 1)
    ]
    assert figures["real"]["mean"] > 0.9  # stripes are easy: the classifier is near perfect
    assert "of the real-image ceiling" in printed and f"{figures['real']['mean']:.3f}" in printed

    # The callback logs the same pair for a conditional model.
    quality = QualityMetrics(stick, every_n_epochs=1, num_samples=8, seed=3)
    gan.compile()
    history = gan.fit(image_dataset(2, labels=True).map(lambda x, y: (x, y % 2)), epochs=1,
                      verbose=0, callbacks=[quality])
    expected = stick.class_accuracy(gan.generate(8, seed=3, labels=np.arange(8) % 2),
                                    np.arange(8) % 2)
    assert history.history["quality_class_accuracy"][0] == pytest.approx(expected["mean"])
    assert history.history["quality_class_accuracy_real"][0] == figures["real"]["mean"]


def test_keep_best_keeps_the_model_of_the_lowest_fd_epoch(labelled_dir, tmp_path, capsys,
                                                          monkeypatch, yardstick,
                                                          yardstick_cache):
    """``train --keep-best``: fd after every epoch in history.csv, best.json naming the
    epoch of the lowest, best.keras a model that sample takes. (That the file holds
    exactly that epoch's weights: the scripted test below.)"""
    import csv

    from keras_wgan.callbacks.best import read_best

    # The default cache (as a user's): the module's classifier, trained once.
    monkeypatch.setenv("KERAS_WGAN_CACHE", yardstick_cache)
    out = str(tmp_path / "run")
    assert cli.main(["train", "--dataset", str(labelled_dir), "--batch-size", "8", "--dim",
                     "4", "--latent-dim", "8", "--image-size", "16", "--n-critic", "2",
                     "--steps-per-epoch", "4", "--num-samples", "4", "--verbose", "0",
                     "--keep-best", "--epochs", "2", "--out", out]) == 0
    assert f"  best       {out}/best.keras (epoch " in capsys.readouterr().out
    with open(os.path.join(out, "history.csv"), newline="") as f:
        fds = [float(row["quality_fd"]) for row in csv.DictReader(f)]
    assert len(fds) == 2
    best = read_best(os.path.join(out, "best.json"))
    assert best["epoch"] == 1 + int(np.argmin(fds))
    assert best["quality_fd"] == pytest.approx(min(fds), rel=1e-6)
    grid = str(tmp_path / "grid.png")
    assert cli.main(["sample", os.path.join(out, "best.keras"), "--n", "4", "--out",
                     grid]) == 0
    # --quality-every 2: epochs 2 and 4 scored, the others' quality_fd left empty.
    every = str(tmp_path / "every")
    assert cli.main(["train", "--dataset", str(labelled_dir), "--batch-size", "8", "--dim",
                     "4", "--latent-dim", "8", "--image-size", "16", "--n-critic", "2",
                     "--steps-per-epoch", "2", "--num-samples", "4", "--verbose", "0",
                     "--keep-best", "--quality-every", "2", "--epochs", "4",
                     "--out", every]) == 0
    with open(os.path.join(every, "history.csv"), newline="") as f:
        scored = [row["epoch"] for row in csv.DictReader(f) if row.get("quality_fd")]
    assert scored == ["2", "4"]
    assert read_best(os.path.join(every, "best.json"))["epoch"] in (2, 4)
    assert cli.main(["train", "--dataset", str(labelled_dir), "--quality-every", "2",
                     "--out", str(tmp_path / "refused")]) == 2
    assert not os.path.exists(tmp_path / "refused")


@pytest.fixture(scope="module")
def keeper_gan():
    """One compiled tiny GAN for the scripted KeepBest tests (its train step traced
    once): each test fits it further and compares the weights of its own fit's epochs."""
    gan = tiny_image_gan(n_critic=2)
    gan.compile()
    return gan


def test_keep_best_saves_the_epoch_with_the_lowest_figure_not_the_last(tmp_path, keeper_gan):
    """Figures scripted per epoch (3, 1, 2): best.keras holds the weights of epoch 2."""
    from keras_wgan.callbacks import KeepBest
    from keras_wgan.callbacks.best import read_best

    class Scripted(keras.callbacks.Callback):
        def __init__(self, values):
            super().__init__()
            self.values, self.weights = values, []

        def on_epoch_end(self, epoch, logs=None):
            logs["quality_fd"] = self.values[epoch]
            self.weights.append([keras.ops.convert_to_numpy(w)
                                 for w in self.model.sampling_generator.weights])

    gan = keeper_gan
    scripted = Scripted([3.0, 1.0, 2.0])
    path = str(tmp_path / "best.keras")
    gan.fit(image_dataset(num_batches=4).repeat(), epochs=3, steps_per_epoch=4, verbose=0,
            callbacks=[scripted, KeepBest(path)])
    record = read_best(str(tmp_path / "best.json"))
    assert {k: record[k] for k in ("epoch", "quality_fd")} == {"epoch": 2, "quality_fd": 1.0}
    kept = keras.models.load_model(path)
    for a, b in zip(kept.sampling_generator.weights, scripted.weights[1]):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), b)
    assert not all(np.array_equal(a, b) for a, b in zip(scripted.weights[1],
                                                          scripted.weights[2]))
    # A new run on the same file remembers the best so far: 1.5 does not replace 1.0.
    again = KeepBest(path)
    assert again.best_value == 1.0


class _Scripted(keras.callbacks.Callback):
    """Writes the scripted figure of each epoch as ``quality_fd``, and keeps the sampling
    generator's weights at each epoch's end."""

    def __init__(self, values):
        super().__init__()
        self.values, self.weights = values, []

    def on_epoch_end(self, epoch, logs=None):
        logs["quality_fd"] = self.values[epoch]
        self.weights.append([keras.ops.convert_to_numpy(w)
                             for w in self.model.sampling_generator.weights])


def _assert_pair_agrees(path, weights):
    """best.json names best.keras's SHA-256 and this yardstick, and the file holds
    ``weights``."""
    from keras_wgan.callbacks.best import read_best
    from keras_wgan.evaluation import YARDSTICK_VERSION
    from keras_wgan.files import sha256_of

    record = read_best(os.path.splitext(path)[0] + ".json")
    assert record["sha256"] == sha256_of(path)
    assert record["yardstick_version"] == YARDSTICK_VERSION
    kept = keras.models.load_model(path)
    for a, b in zip(kept.sampling_generator.weights, weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), b)
    return record


@pytest.mark.parametrize("crash_in", ["write_json", "_install"])
def test_keep_best_pair_agrees_after_a_crash_between_its_writes(tmp_path, monkeypatch,
                                                                crash_in, keeper_gan):
    """A kill between writing the model and best.json (simulated by raising there, at
    epoch 2's new best): the next KeepBest on the path finds a pair that agrees, either
    epoch 1's (crash before best.json: the pending model is dropped) or epoch 2's (crash
    after it: the pending model is put in place), and remembers that pair's figure."""
    from keras_wgan.callbacks import KeepBest, best

    gan = keeper_gan
    scripted = _Scripted([3.0, 1.0])
    path = str(tmp_path / "best.keras")
    keeper = KeepBest(path)
    real = {"write_json": best.files.write_json, "_install": keeper._install}
    calls = []

    def crash(*args):
        calls.append(args)
        if len(calls) == 2:  # the second new best: epoch 2
            raise RuntimeError("killed")
        return real[crash_in](*args)

    if crash_in == "write_json":
        monkeypatch.setattr(best.files, "write_json", crash)
    else:
        monkeypatch.setattr(keeper, "_install", crash)
    with pytest.raises(RuntimeError, match="killed"):
        gan.fit(image_dataset(num_batches=4).repeat(), epochs=2, steps_per_epoch=4,
                verbose=0, callbacks=[scripted, keeper])
    monkeypatch.undo()
    assert os.path.exists(str(tmp_path / "best.pending.keras"))  # the cut-short write
    again = KeepBest(path)
    assert not os.path.exists(str(tmp_path / "best.pending.keras"))
    epoch = 1 if crash_in == "write_json" else 2
    record = _assert_pair_agrees(path, scripted.weights[epoch - 1])
    assert record["epoch"] == epoch and again.best_value == scripted.values[epoch - 1]
    assert again.notice is None


def test_keep_best_starts_over_on_another_yardstick_version_or_a_foreign_file(tmp_path,
                                                                             capsys,
                                                                             keeper_gan):
    from keras_wgan.callbacks import KeepBest
    from keras_wgan.files import write_json

    gan = keeper_gan
    path = str(tmp_path / "best.keras")
    gan.fit(image_dataset(num_batches=4).repeat(), epochs=1, steps_per_epoch=4, verbose=0,
            callbacks=[_Scripted([2.0]), KeepBest(path)])
    record = json.loads((tmp_path / "best.json").read_text())
    assert KeepBest(path).best_value == 2.0
    write_json(str(tmp_path / "best.json"), {**record, "yardstick_version": 1})
    capsys.readouterr()
    older = KeepBest(path)
    assert older.best is None and older.best_value == float("inf")
    assert "measured with yardstick version 1, this run measures with version 2" in \
        capsys.readouterr().out
    # A record of an older library (no hash, no version) is not trusted either.
    write_json(str(tmp_path / "best.json"), {"epoch": 1, "quality_fd": 2.0})
    assert KeepBest(path).best is None
    # Another model file under the name: the record does not describe it.
    write_json(str(tmp_path / "best.json"), record)
    with open(path, "ab") as f:
        f.write(b"other bytes")
    foreign = KeepBest(path)
    assert foreign.best is None and "does not describe" in foreign.notice


@pytest.mark.processes
def test_resume_with_keep_best_through_the_cli_keeps_the_pair_agreeing(labelled_dir,
                                                                       tmp_path):
    """``train --keep-best`` for one epoch, its record made to look like yardstick version
    1's, then ``train --resume``: the run says it starts over, and ends with a pair that
    agrees, measured with this version."""
    import subprocess
    import sys

    from keras_wgan.callbacks.best import read_best
    from keras_wgan.files import sha256_of, write_json

    env = {**os.environ, "KERAS_WGAN_CACHE": str(tmp_path / "cache"),
           "KERAS_BACKEND": "tensorflow"}
    out = str(tmp_path / "run")

    def train(*extra):
        result = subprocess.run(
            [sys.executable, "-m", "keras_wgan", "train", "--out", out, "--verbose", "0",
             *extra], capture_output=True, text=True, timeout=600, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    train("--dataset", str(labelled_dir), "--batch-size", "8", "--dim", "4",
          "--latent-dim", "8", "--image-size", "16", "--n-critic", "2",
          "--steps-per-epoch", "2", "--num-samples", "4", "--keep-best", "--epochs", "1")
    first = read_best(os.path.join(out, "best.json"))
    assert first["epoch"] == 1 and first["sha256"] == sha256_of(os.path.join(out, "best.keras"))
    write_json(os.path.join(out, "best.json"), {**first, "yardstick_version": 1})
    printed = train("--resume", "--epochs", "2")
    assert "measured with yardstick version 1" in printed and "starts over" in printed
    second = read_best(os.path.join(out, "best.json"))
    assert second["epoch"] == 2  # the first scored epoch after starting over
    assert second["sha256"] == sha256_of(os.path.join(out, "best.keras"))
    assert second["yardstick_version"] == 2
    assert not os.path.exists(os.path.join(out, "best.pending.keras"))
