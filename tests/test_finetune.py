"""``keras-wgan train --init-from MODEL.keras``: fine-tuning a trained model on a small
folder, with ``--freeze-critic N`` (FreezeD); its refusals; an exact resume."""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from keras_wgan import cli

TINY = ["--batch-size", "4", "--dim", "4", "--latent-dim", "8", "--image-size", "16",
        "--n-critic", "2", "--num-samples", "4", "--verbose", "0"]


def folder(root, count, mode="L", seed=0):
    """``count`` 16x16 pictures in ``root`` (a small set of one kind)."""
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    shape = (16, 16) if mode == "L" else (16, 16, 3)
    for i in range(count):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(
            os.path.join(root, f"{i:03d}.png"))
    return str(root)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("source")
    data = folder(root / "data", 24, seed=1)
    out = str(root / "run")
    assert cli.main(["train", "--dataset", data, "--steps-per-epoch", "4", "--epochs", "1",
                     "--out", out, *TINY]) == 0
    return os.path.join(out, "model.keras")


def weights(net):
    return [keras.ops.convert_to_numpy(w) for w in net.weights]


def test_fine_tuning_starts_from_the_source_and_freezes_the_critics_first_layers(
        source, tmp_path, capsys):
    small = folder(tmp_path / "small", 12, seed=2)
    out = str(tmp_path / "ft")
    assert cli.main(["train", "--init-from", source, "--dataset", small, "--freeze-critic",
                     "1", "--steps-per-epoch", "4", "--epochs", "1", "--batch-size", "4",
                     "--n-critic", "2", "--num-samples", "4", "--verbose", "0", "--out",
                     out]) == 0
    assert f"Fine-tuning (from {os.path.abspath(source)})" in capsys.readouterr().out
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    assert config["init_from"] == os.path.abspath(source)
    assert (config["dim"], config["latent_dim"], config["freeze_critic"]) == (4, 8, 1)
    tuned = keras.models.load_model(os.path.join(out, "model.keras"))
    original = keras.models.load_model(source)
    # Fresh optimizers: this run's 4 steps only.
    assert int(tuned.critic_optimizer.iterations) == 4
    assert int(tuned.generator_optimizer.iterations) == 2
    frozen, *rest = [layer for layer in tuned.critic.layers if layer.weights]
    before, *others = [layer for layer in original.critic.layers if layer.weights]
    assert not frozen.trainable  # kept in the saved file
    for a, b in zip(weights(frozen), weights(before)):
        np.testing.assert_array_equal(a, b)  # frozen: exactly the source's
    assert any(not np.array_equal(a, b) for layer, other in zip(rest, others)
               for a, b in zip(weights(layer), weights(other)))  # the rest trained


def test_freezing_the_wgan_critic_counts_convolutions_and_leaves_batchnorm_training(
        tmp_path):
    """``--model wgan``: its critic is conv1, conv2, bn2, conv3, bn3, score. N=3 freezes
    the three convolutions; the BatchNorms are not counted, stay trainable in the saved
    file and keep adapting (their moving statistics move from the source's)."""
    data = folder(tmp_path / "data", 16, seed=4)
    source_run = str(tmp_path / "source")
    assert cli.main(["train", "--model", "wgan", "--dataset", data, "--steps-per-epoch", "4",
                     "--epochs", "1", "--out", source_run, *TINY]) == 0
    out = str(tmp_path / "ft")
    assert cli.main(["train", "--init-from", os.path.join(source_run, "model.keras"),
                     "--dataset", folder(tmp_path / "small", 12, seed=5), "--freeze-critic",
                     "3", "--steps-per-epoch", "4", "--epochs", "1", "--batch-size", "4",
                     "--n-critic", "2", "--num-samples", "4", "--verbose", "0", "--out",
                     out]) == 0
    tuned = keras.models.load_model(os.path.join(out, "model.keras"))
    original = keras.models.load_model(os.path.join(source_run, "model.keras"))
    state = {layer.name: layer.trainable for layer in tuned.critic.layers if layer.weights}
    assert state == {"conv1": False, "conv2": False, "bn2": True, "conv3": False,
                     "bn3": True, "score": True}
    for name in ("conv1", "conv2", "conv3"):
        for a, b in zip(weights(tuned.critic.get_layer(name)),
                        weights(original.critic.get_layer(name))):
            np.testing.assert_array_equal(a, b)
    for name in ("bn2", "bn3"):
        tuned_mean = keras.ops.convert_to_numpy(tuned.critic.get_layer(name).moving_mean)
        source_mean = keras.ops.convert_to_numpy(original.critic.get_layer(name).moving_mean)
        assert not np.array_equal(tuned_mean, source_mean), name


@pytest.mark.parametrize("extra, expected", [
    (["--dim", "8"], "--dim 8 contradicts --init-from"),
    (["--freeze-critic", "99"],
     "--freeze-critic 99: the critic has 4 convolution and dense layers"),
    (["--resume"], "--init-from starts a new run from a trained model"),
])
def test_fine_tuning_refuses_what_contradicts_the_source(source, tmp_path, capsys, extra,
                                                         expected):
    small = folder(tmp_path / "small", 8)
    out = str(tmp_path / "ft")
    code = cli.main(["train", "--init-from", source, "--dataset", small, "--out", out,
                     "--batch-size", "4", *extra])
    assert code == 2
    assert expected in capsys.readouterr().err
    assert not os.path.exists(os.path.join(out, "model.keras"))


def test_fine_tuning_refuses_images_of_another_shape_naming_it(source, tmp_path, capsys):
    colour = folder(tmp_path / "colour", 8, mode="RGB")
    assert cli.main(["train", "--init-from", source, "--dataset", colour, "--out",
                     str(tmp_path / "ft"), "--batch-size", "4"]) == 2
    err = capsys.readouterr().err
    assert "makes 16x16x1 images but --dataset" in err and "16x16x3 (channels differ)" in err
    assert cli.main(["train", "--freeze-critic", "1", "--out", str(tmp_path / "x")]) == 2
    assert "--freeze-critic belongs to fine-tuning: add --init-from" in capsys.readouterr().err


def test_a_fine_tuned_run_resumes_exactly(source, tmp_path):
    small = folder(tmp_path / "small", 12, seed=3)
    # Constant rates: a run planned for 1 epoch and resumed to 2 moves its rates' decay
    # to the new end (tests/test_lr_decay.py), so only then are both runs one computation.
    common = ["--steps-per-epoch", "4", "--batch-size", "4", "--n-critic", "2",
              "--num-samples", "4", "--verbose", "0", "--lr-decay", "off"]
    whole, halves = str(tmp_path / "whole"), str(tmp_path / "halves")
    assert cli.main(["train", "--init-from", source, "--dataset", small, "--epochs", "2",
                     "--freeze-critic", "2", "--out", whole, *common]) == 0
    assert cli.main(["train", "--init-from", source, "--dataset", small, "--epochs", "1",
                     "--freeze-critic", "2", "--out", halves, *common]) == 0
    assert cli.main(["train", "--resume", "--out", halves, "--epochs", "2",
                     "--verbose", "0"]) == 0
    a = keras.models.load_model(os.path.join(whole, "model.keras"))
    b = keras.models.load_model(os.path.join(halves, "model.keras"))
    # Exact: the same seeded run on one backend, resumed from its own checkpoint.
    for net in ("generator", "critic"):
        for x, y in zip(weights(getattr(a, net)), weights(getattr(b, net))):
            np.testing.assert_array_equal(x, y)
    assert int(b.critic_optimizer.iterations) == 8
