"""The keras-wgan command line, called in-process through ``cli.main`` (fast).

A module fixture trains a tiny WGAN-GP for 2 epochs on IDX files written here, snapshots
the run directory, then resumes it to 3 epochs; the tests read the files both left.
"""

import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import types

import numpy as np
import pytest
from graph_settings import xla_flags_with_host_devices
from PIL import Image

from keras_wgan import cli
from keras_wgan.images import SEPARATOR, tile_images

TINY = [
    "--batch-size", "4", "--dim", "4", "--latent-dim", "8", "--image-size", "16",
    "--n-critic", "2", "--num-samples", "4", "--verbose", "0",
]
RUN_FILES = [
    "config.json", "history.csv", "history_batches.csv", "losses.png", "model.keras",
    "model.state.json", "samples",
]


def write_idx_images(directory, images):
    """A minimal IDX writer (uint8, 3 dims) for train-images-idx3-ubyte."""
    os.makedirs(directory, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">III", *images.shape)
    with open(os.path.join(directory, "train-images-idx3-ubyte"), "wb") as f:
        f.write(header + images.astype(np.uint8).tobytes())


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("idx")
    images = np.random.default_rng(0).integers(0, 256, (24, 28, 28))
    write_idx_images(str(directory), images)
    return str(directory)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, idx_dir):
    root = tmp_path_factory.mktemp("cli")
    out = str(root / "run")
    train = ["train", "--dataset", "fashion_mnist", "--data-dir", idx_dir,
             "--steps-per-epoch", "2", "--out", out]
    assert cli.main(train + ["--epochs", "2", *TINY]) == 0
    snapshot = str(root / "after_two_epochs")
    shutil.copytree(out, snapshot)
    # Only --epochs is given on resume: the rest comes from the run's config.json.
    assert cli.main(["train", "--resume", "--out", out, "--epochs", "3", "--verbose", "0"]) == 0
    return types.SimpleNamespace(out=out, snapshot=snapshot, idx_dir=idx_dir)


def test_train_writes_every_file(trained):
    assert sorted(os.listdir(trained.snapshot)) == RUN_FILES
    assert sorted(os.listdir(os.path.join(trained.snapshot, "samples"))) == [
        "epoch_001.png", "epoch_002.png",
    ]
    with Image.open(os.path.join(trained.snapshot, "samples", "epoch_002.png")) as image:
        assert image.mode == "L"
        assert image.size == (2 * 16 + SEPARATOR, 2 * 16 + SEPARATOR)  # 4 samples, 2 x 2
    with Image.open(os.path.join(trained.snapshot, "losses.png")) as image:
        # LossHistory's plot: 2 x 2 panels (the 4 WGAN-GP metrics), 5.5 x 3.2 in at 100 dpi.
        assert (image.mode, image.size) == ("RGBA", (1100, 640))
    with open(os.path.join(trained.snapshot, "config.json")) as f:
        config = json.load(f)
    assert config["model"] == "wgan-gp"
    assert config["dataset"] == "fashion_mnist"
    assert config["data_dir"] == trained.idx_dir
    assert (config["dim"], config["latent_dim"], config["n_critic"]) == (4, 8, 2)
    assert (config["epochs"], config["batch_size"], config["steps_per_epoch"]) == (2, 4, 2)
    rows = read_csv(os.path.join(trained.snapshot, "history.csv"))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert len(read_csv(os.path.join(trained.snapshot, "history_batches.csv"))) == 4


def test_trained_model_is_the_requested_wgan_gp(trained):
    import keras

    from keras_wgan import WGANGP

    gan = keras.models.load_model(os.path.join(trained.out, "model.keras"))
    assert type(gan) is WGANGP
    assert (gan.latent_dim, gan.n_critic, gan.sample_shape) == (8, 2, (16, 16, 1))
    assert gan.critic.get_layer("conv1").filters == 4
    batch_norm = keras.layers.BatchNormalization
    assert not any(isinstance(layer, batch_norm) for layer in gan.critic.layers)
    assert int(gan.critic_optimizer.iterations) == 3 * 2  # 3 epochs of 2 steps


def test_resume_continues_the_epoch_count_and_appends_history(trained):
    assert sorted(os.listdir(os.path.join(trained.out, "samples"))) == [
        "epoch_001.png", "epoch_002.png", "epoch_003.png",
    ]
    before = read_csv(os.path.join(trained.snapshot, "history.csv"))
    after = read_csv(os.path.join(trained.out, "history.csv"))
    assert [r["epoch"] for r in after] == ["1", "2", "3"]
    assert after[:2] == before
    batches = read_csv(os.path.join(trained.out, "history_batches.csv"))
    assert [r["step"] for r in batches] == ["1", "2", "3", "4", "5", "6"]
    with open(os.path.join(trained.out, "model.state.json")) as f:
        assert json.load(f)["epochs"] == 3
    with open(os.path.join(trained.out, "config.json")) as f:
        assert json.load(f)["epochs"] == 3


def test_resume_with_a_target_already_reached_is_refused(trained, capsys):
    code, _, err = run_cli(capsys, "train", "--resume", "--out", trained.out, "--epochs", "3")
    assert code == 2
    assert "already done 3 epochs" in err
    assert "Traceback" not in err


def test_resume_refuses_to_change_the_model(trained, capsys):
    code, _, err = run_cli(
        capsys, "train", "--resume", "--out", trained.out, "--epochs", "9", "--dim", "8"
    )
    assert code == 2
    assert "--dim 8 differs from the run's 4" in err


def test_sample_on_the_trained_model(trained, tmp_path, capsys):
    model = os.path.join(trained.out, "model.keras")
    out = str(tmp_path / "grids" / "grid.png")
    code, stdout, _ = run_cli(capsys, "sample", model, "--n", "6", "--seed", "1",
                              "--out", out, "--columns", "3")
    assert code == 0
    assert out in stdout
    with Image.open(out) as image:
        assert image.mode == "L"
        assert image.size == (3 * 16 + 2 * SEPARATOR, 2 * 16 + SEPARATOR)
        first = np.asarray(image)
    again = str(tmp_path / "again.png")
    assert cli.main(["sample", model, "--n", "6", "--seed", "1", "--out", again,
                     "--columns", "3"]) == 0
    with Image.open(again) as image:
        np.testing.assert_array_equal(np.asarray(image), first)  # same seed, same grid


def test_train_wgan_with_ema_from_a_npy_file(tmp_path, capsys):
    images = np.random.default_rng(1).integers(0, 256, (16, 16, 16, 1)).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    out = str(tmp_path / "wgan")
    code, stdout, _ = run_cli(
        capsys, "train", "--model", "wgan", "--dataset", str(tmp_path / "images.npy"),
        "--epochs", "1", "--ema-decay", "0.9", "--out", out, *TINY,
    )
    assert code == 0
    assert os.path.join(out, "model.keras") in stdout
    assert sorted(os.listdir(out)) == RUN_FILES

    import keras

    from keras_wgan import WGAN

    gan = keras.models.load_model(os.path.join(out, "model.keras"))
    assert type(gan) is WGAN
    assert gan.ema_decay == 0.9
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in gan.critic.layers)
    assert gan.generator.get_layer("conv2").filters == 4  # middle_filters=dim
    # No --steps-per-epoch: 16 images / 4 = 4 batches, a multiple of --n-critic 2.
    assert int(gan.critic_optimizer.iterations) == 4


def test_paper_recipe_flags_train_without_averaging_and_resume_keeps_them(tmp_path, capsys):
    images = np.random.default_rng(2).integers(0, 256, (8, 16, 16, 1)).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    out = str(tmp_path / "paper")
    common = ["--dataset", str(tmp_path / "images.npy"), "--out", out, *TINY]
    code, _, err = run_cli(capsys, "train", "--epochs", "1", "--ema-decay", "off",
                           "--paper-optimizers", *common)
    assert code == 0, err
    config_path = os.path.join(out, "config.json")
    with open(config_path) as f:
        config = json.load(f)
    # Off is recorded as null, as the benchmarks and the model's config write it.
    assert config["ema_decay"] is None and config["paper_optimizers"] is True

    import keras

    gan = keras.models.load_model(os.path.join(out, "model.keras"))
    assert gan.ema_decay is None and gan.ema_generator is None
    for optimizer in (gan.critic_optimizer, gan.generator_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(1e-4)  # WGAN-GP paper
        assert float(optimizer.beta_1) == pytest.approx(0.5)
    # The paper's algorithm, not only its optimizers: the penalty at random points on
    # every critic step, no drift term (the recipe's 0.001 is gone).
    assert (gan.penalty_at, gan.penalty_every, gan.gp_weight, gan.drift_weight) == \
        ("random", 1, 10.0, 0.0)
    # The settings are the saved model's: changing them on resume is refused ...
    code, _, err = run_cli(capsys, "train", "--resume", "--epochs", "2", "--ema-decay",
                           "0.999", *common)
    assert code == 2 and "--ema-decay 0.999 differs from the run's off" in err
    # ... also in a run directory written before off was null (it recorded 0.0) ...
    config["ema_decay"] = 0.0
    with open(config_path, "w") as f:
        json.dump(config, f)
    code, _, err = run_cli(capsys, "train", "--resume", "--epochs", "2", "--ema-decay",
                           "0.999", *common)
    assert code == 2 and "--ema-decay 0.999 differs from the run's off" in err
    # ... and resuming it without them, or with the same ones, keeps them.
    code, _, err = run_cli(capsys, "train", "--resume", "--epochs", "2", "--ema-decay", "off",
                           *common)
    assert code == 0, err
    gan = keras.models.load_model(os.path.join(out, "model.keras"))
    assert gan.ema_generator is None
    assert float(gan.generator_optimizer.learning_rate) == pytest.approx(1e-4)
    assert int(gan.critic_optimizer.iterations) == 4  # 2 batches per epoch, 2 epochs
    with open(config_path) as f:
        assert json.load(f)["ema_decay"] is None  # rewritten in today's form


SMALL = ["--batch-size", "4", "--dim", "4", "--latent-dim", "8", "--image-size", "16",
         "--num-samples", "4", "--verbose", "0", "--epochs", "1", "--steps-per-epoch", "1"]


@pytest.mark.parametrize("model, flags, n_critic, expected", [
    # The recipe search's winners (presets fashion_mnist_32) on data that is not a folder.
    ("wgan-gp", [], 1, {"penalty_at": "random", "drift_weight": 0.001,
                        "optimizer": ("Adam", 1e-3, 0.0)}),
    ("wgan", [], 5, {"clip_value": 0.02, "optimizer": ("RMSprop", 1e-3, None)}),
    # --paper-optimizers: the papers' algorithm, 5 critic steps unless --n-critic.
    ("wgan-gp", ["--paper-optimizers"], 5, {"drift_weight": 0.0, "penalty_every": 1,
                                            "optimizer": ("Adam", 1e-4, 0.5)}),
    ("wgan", ["--paper-optimizers"], 5, {"clip_value": 0.01,
                                         "optimizer": ("RMSprop", 5e-5, None)}),
    ("wgan-gp", ["--paper-optimizers", "--n-critic", "3"], 3, {"penalty_every": 1}),
])
def test_the_recipe_and_n_critic_follow_the_model_and_the_paper_flag(
        tmp_path, capsys, model, flags, n_critic, expected):
    import keras

    images = np.random.default_rng(3).integers(0, 256, (8, 16, 16, 1)).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    out = str(tmp_path / "run")
    code, said, err = run_cli(capsys, "train", "--model", model, "--dataset",
                              str(tmp_path / "images.npy"), "--out", out, *SMALL, *flags)
    assert code == 0, err
    assert "recipe fashion_mnist_32" in said  # the rule says which recipe it took
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    assert (config["n_critic"], config["recipe"]) == (n_critic, "fashion_mnist_32")
    gan = keras.models.load_model(os.path.join(out, "model.keras"))
    assert gan.n_critic == n_critic
    expected = dict(expected)  # the parameter is shared between runs: left unchanged
    kind, rate, beta_1 = expected.pop("optimizer", (None, None, None))
    for name, value in expected.items():
        assert getattr(gan, name) == pytest.approx(value), name
    paper = "--paper-optimizers" in flags
    assert config["lr_decay"] == ("off" if paper else "linear")  # the papers' rates: constant
    for optimizer in (gan.critic_optimizer, gan.generator_optimizer):
        if kind is not None:
            assert type(optimizer).__name__ == kind
            # The recipe's rate: constant, or where the default decay to 0 starts from.
            schedule = optimizer._learning_rate
            start = float(optimizer.learning_rate) if paper else \
                schedule.get_config()["learning_rate"]
            assert start == pytest.approx(rate)
        if beta_1 is not None:
            assert float(optimizer.beta_1) == pytest.approx(beta_1)


def test_max_time_stops_cleanly_draws_where_and_resumes_to_the_end(tmp_path, capsys):
    import re

    images = np.random.default_rng(4).integers(0, 256, (8, 16, 16, 1)).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    out = str(tmp_path / "run")
    common = ["--dataset", str(tmp_path / "images.npy"), "--out", out, "--batch-size", "4",
              "--dim", "4", "--latent-dim", "8", "--image-size", "16", "--num-samples",
              "4", "--verbose", "0", "--steps-per-epoch", "2"]
    # 10 ms of a 6-step run (3 epochs): the first step alone (tracing) outlasts it on any
    # machine, so the run stops after step 1, inside epoch 1.
    code, said, err = run_cli(capsys, "train", "--epochs", "3", "--max-time", "0.01s",
                              *common)
    assert code == 0, err
    with open(os.path.join(out, "model.state.json")) as f:
        step = json.load(f)["global_step"]
    assert 1 <= step < 6
    assert f"Stopped at the time limit (max-time 0.01s) after step {step}" in said
    grids = os.listdir(os.path.join(out, "samples"))
    stopped = [name for name in grids if name.startswith("stopped_at")]
    assert stopped == [f"stopped_at_step_{step:07d}.png"]
    assert all(re.fullmatch(r"epoch_\d{3}\.png", name) for name in set(grids) - set(stopped))
    assert len(read_csv(os.path.join(out, "history_batches.csv"))) == step
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    assert "max_time" not in config  # per invocation, not a setting of the run
    # A run that knows its end decays its rates to 0 there (tests/test_lr_decay.py); this
    # one stopped before its first minute, so before its line was fixed.
    assert config["lr_decay"] == "linear" and config["lr_decay_steps"] is None
    assert "--max-time: both rates decay linearly to 0 at the time limit" in said
    # Resumed without a limit, it runs to the end.
    code, _, err = run_cli(capsys, "train", "--resume", "--out", out, "--verbose", "0")
    assert code == 0, err
    with open(os.path.join(out, "model.state.json")) as f:
        assert json.load(f)["global_step"] == 6


def test_resume_of_an_old_run_directory_with_ema_decay_0_builds_without_averaging(
    tmp_path, capsys
):
    """A run recorded before off was null (``"ema_decay": 0.0``) and never checkpointed:
    --resume builds its model from config.json, with averaging off."""
    images = np.random.default_rng(3).integers(0, 256, (8, 16, 16, 1)).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    out = tmp_path / "old"
    out.mkdir()
    settings = dict(cli.training.settings.TRAIN_DEFAULTS, dataset=str(tmp_path / "images.npy"), epochs=1,
                    batch_size=4, dim=4, latent_dim=8, image_size=16, n_critic=2,
                    num_samples=4, ema_decay=0.0)
    (out / "config.json").write_text(json.dumps(settings))
    code, _, err = run_cli(capsys, "train", "--resume", "--out", str(out), "--verbose", "0")
    assert code == 0, err

    import keras

    gan = keras.models.load_model(str(out / "model.keras"))
    assert gan.ema_decay is None and gan.ema_generator is None
    assert json.loads((out / "config.json").read_text())["ema_decay"] is None


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "0"], "argument --epochs: must be a positive integer, got 0."),
        (["train", "--batch-size", "-4"], "argument --batch-size: must be a positive integer"),
        (["train", "--dim", "0"], "argument --dim: must be a positive integer"),
        (["train", "--steps-per-epoch", "x"],
         "argument --steps-per-epoch: must be a positive integer, got 'x'."),
        (["train", "--model", "gan"], "argument --model: invalid choice: 'gan'"),
        (["train", "--image-size", "20", "--arch", "dcgan", "--out", "runs/never-made"],
         "error: --image-size 20 does not fit --arch dcgan, whose sizes are 8, 16, 24, 32, "),
        (["train", "--image-size", "36", "--arch", "resnet", "--out", "runs/never-made"],
         "error: --image-size 36 does not fit --arch resnet, whose sizes are 8, 10, 12, 14, "
         "16, 20, 24, 28, 32, 40, "),
        (["train", "--augment", "blur"],
         "argument --augment: must be 'off' or names from color, translation, cutout joined "
         "by commas, e.g. color,translation,cutout, got 'blur'"),
        (["train", "--checkpoint-every", "0m"],
         "argument --checkpoint-every: must be a number of steps (e.g. 500) or of minutes / "
         "seconds (e.g. 2m, 90s), got '0m'."),
        (["train", "--ema-decay", "1.5"], "argument --ema-decay: must be a number in (0, 1)"),
        (["train", "--ema-decay", "none"], "argument --ema-decay: must be a number in (0, 1), e.g. 0.999, or 'off', got 'none'."),
        (["train", "--seed", "-1"], "argument --seed: must be a non-negative integer, got -1."),
        (["sample", "m.keras", "--n", "0"], "argument --n: must be a positive integer"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_flags_exit_2_with_a_message(argv, message, capsys):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def _error(capsys, *argv):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_missing_model_file(tmp_path, capsys):
    missing = str(tmp_path / "missing.keras")
    message = _error(capsys, "sample", missing)
    assert message == f"keras-wgan sample: error: model file {missing!r} does not exist."


def test_model_file_that_is_not_a_model(tmp_path, capsys):
    bad = tmp_path / "bad.keras"
    bad.write_text("not a zip")
    assert _error(capsys, "sample", str(bad)).endswith(
        f"{str(bad)!r} is not a valid .keras file (truncated or corrupt?): it is not a zip "
        "archive."
    )
    assert "is not a file" in _error(capsys, "sample", str(tmp_path))


def test_sample_out_is_a_directory(tmp_path, capsys):
    model = tmp_path / "m.keras"
    model.write_text("x")
    assert "--out" in _error(capsys, "sample", str(model), "--out", str(tmp_path))


def test_out_dir_that_is_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    message = _error(capsys, "train", "--out", str(tmp_path / "file"))
    assert "exists and is not a directory" in message


def test_resume_without_a_model_file(tmp_path, capsys):
    message = _error(capsys, "train", "--resume", "--out", str(tmp_path))
    assert message.endswith(f"holds no run to continue (no config.json, no model.keras); "
                            f"start one with: keras-wgan train --out {tmp_path}")
    assert "needs --out" in _error(capsys, "train", "--resume")


def test_existing_non_empty_run_dir_is_refused_without_resume(tmp_path, capsys, monkeypatch):
    # With no --out the default run directory is runs/wgan-gp-fashion_mnist.
    monkeypatch.chdir(tmp_path)
    os.makedirs("runs/wgan-gp-fashion_mnist")
    open("runs/wgan-gp-fashion_mnist/history.csv", "w").close()
    message = _error(capsys, "train")
    assert "'runs/wgan-gp-fashion_mnist' already exists and is not empty" in message
    assert "--resume" in message
    assert os.listdir("runs/wgan-gp-fashion_mnist") == ["history.csv"]  # untouched


def test_unloadable_dataset(tmp_path, capsys):
    data = tmp_path / "images.txt"
    data.write_text("1 2 3")
    message = _error(capsys, "train", "--dataset", str(data), "--out", str(tmp_path / "r"))
    assert message.startswith("keras-wgan train: error: cannot load --dataset")
    assert not (tmp_path / "r").exists()  # nothing written for a failed start


def test_an_unknown_dataset_name_is_one_line_with_close_names(tmp_path, capsys):
    out = str(tmp_path / "r")
    code, _, err = run_cli(capsys, "train", "--dataset", "fashion_mnst", "--out", out)
    assert code == 2 and err.count("\n") == 1  # not TFDS' catalogue of every name
    assert err.startswith("keras-wgan train: error: --dataset 'fashion_mnst' is neither an "
                          "existing file or folder nor a TFDS dataset name (did you mean "
                          "'fashion_mnist'?)")
    assert err.endswith(f"e.g. keras-wgan train --dataset fashion_mnist --out {out}\n")


def test_a_folder_smaller_than_one_batch_names_batch_size(tmp_path, capsys):
    folder = tmp_path / "five"
    folder.mkdir()
    for i in range(5):
        Image.fromarray(np.full((16, 16), 40 * i, np.uint8)).save(folder / f"{i}.png")
    out = str(tmp_path / "r")
    message = _error(capsys, "train", "--dataset", str(folder), "--out", out)
    assert message == (
        f"keras-wgan train: error: --dataset {str(folder)!r} holds 5 images, fewer than one "
        "batch of --batch-size 64: pass a smaller --batch-size, e.g. keras-wgan train "
        f"--dataset {folder} --batch-size 4 --out {out}")
    assert not (tmp_path / "r").exists()


def test_help_and_version(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    assert "train" in out and "sample" in out
    code, out, _ = run_cli(capsys, "train", "--help")
    assert code == 0 and "--resume" in out
    code, out, _ = run_cli(capsys, "--version")
    assert code == 0 and out.startswith("keras-wgan ")


@pytest.mark.processes
def test_commands_print_their_own_lines_only(tmp_path):
    """No TensorFlow / CUDA start-up lines before a command's output (also in the
    --backend child, which loads PyTorch first), unless the user sets the log level."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_WGAN_QUIET_STARTUP")}
    missing = str(tmp_path / "missing.keras")
    result = subprocess.run(
        [sys.executable, "-m", "keras_wgan", "--backend", "torch", "sample", missing,
         "--out", str(tmp_path / "g.png")],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"keras-wgan sample: error: model file {missing!r} does not exist.\n"


def test_the_start_up_filter_drops_known_lines_and_passes_the_rest(capfd):
    from keras_wgan.cli.startup import filtered_stderr

    with filtered_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are "
                    b"written to STDERR\nI0000 00:00:1.2 1 cudart_stub.cc:31] Could not find "
                    b"cuda drivers on your machine, GPU will not be used.\nE0000 real trouble\n")
    assert capfd.readouterr().err == "E0000 real trouble\n"


@pytest.mark.processes
def test_python_dash_m_help():
    result = subprocess.run(
        [sys.executable, "-m", "keras_wgan", "--help"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: keras-wgan" in result.stdout
    assert "sample" in result.stdout


@pytest.mark.processes
def test_backend_flag_trains_on_torch_and_the_run_resumes_and_samples_here(tmp_path, idx_dir,
                                                                           capfd):
    """--backend reruns the command on that backend; a run moves between backends."""
    out = str(tmp_path / "run")
    train = ["train", "--dataset", "fashion_mnist", "--data-dir", idx_dir,
             "--steps-per-epoch", "2", "--out", out, *TINY]
    assert cli.main(["--backend", "torch", *train, "--epochs", "1"]) == 0
    # The command it prints to continue keeps the backend (the child's output).
    assert f"Continue:    keras-wgan train --resume --out {out} --epochs 11 --backend torch" \
        in capfd.readouterr().out
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f)["backend"] == "torch"
    # Continue here, on TensorFlow: the file saved under PyTorch resumes, one more epoch.
    code, printed, err = run_cli(capfd, "train", "--resume", "--out", out, "--epochs", "2",
                                 "--verbose", "0")
    assert code == 0, err
    assert f"Continue:    keras-wgan train --resume --out {out} --epochs 12\n" in printed
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f)["backend"] == "tensorflow"
    assert [row["epoch"] for row in read_csv(os.path.join(out, "history.csv"))] == ["1", "2"]
    grid = str(tmp_path / "grid.png")
    code, _, err = run_cli(capfd, "sample", os.path.join(out, "model.keras"), "--n", "4",
                           "--out", grid)
    assert code == 0, err
    with Image.open(grid) as image:
        assert (image.mode, image.size) == ("L", (2 * 16 + SEPARATOR, 2 * 16 + SEPARATOR))
        pixels = np.asarray(image)
    import keras
    gan = keras.models.load_model(os.path.join(out, "model.keras"))
    assert int(gan.critic_optimizer.iterations) == 4
    assert int(gan.generator_optimizer.iterations) == 2
    # The PNG holds the samples of the resumed file at the default seed 0 (the same call
    # in this process: exact).
    np.testing.assert_array_equal(pixels, tile_images(gan.generate(4, seed=0)))


@pytest.mark.long
@pytest.mark.processes
def test_distribute_mirrored_trains_on_two_jax_devices_and_resumes_on_one(tmp_path, idx_dir,
                                                                          fork_servers):
    # (and on another backend: the run moves from two JAX devices to one TensorFlow CPU)
    """--distribute mirrored: data-parallel over every device (two host devices here).
    ``KERAS_BACKEND=jax python -m keras_wgan train ...``, as a fork of the JAX fork server
    (tests/fork_server.py: XLA_FLAGS is read when the JAX runtime starts, after the fork)."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": xla_flags_with_host_devices(2)}
    out = str(tmp_path / "run")
    train = ["train", "--dataset", "fashion_mnist", "--data-dir", idx_dir,
             "--steps-per-epoch", "2", "--out", out, *TINY]
    log = tmp_path / "mirrored.log"
    process = fork_servers["jax"].start(train + ["--epochs", "1", "--distribute", "mirrored"],
                                        cwd=tmp_path, log=log, env=env, module="keras_wgan")
    assert process.wait(timeout=600) == 0, log.read_text()[-3000:]
    config = json.load(open(os.path.join(out, "config.json")))
    assert (config["distribute"], config["replicas"], config["backend"]) == ("mirrored", 2, "jax")
    # A different device count on resume: one device now, in this (TensorFlow) process.
    assert cli.main(["train", "--resume", "--out", out, "--epochs", "2", "--distribute",
                     "none", "--verbose", "0"]) == 0
    config = json.load(open(os.path.join(out, "config.json")))
    assert (config["distribute"], config["replicas"], config["backend"]) == \
        ("none", 1, "tensorflow")
    import keras
    gan = keras.models.load_model(os.path.join(out, "model.keras"))
    assert int(gan.critic_optimizer.iterations) == 4
    assert int(gan.generator_optimizer.iterations) == 2


@pytest.mark.processes
def test_distribute_refuses_what_it_cannot_do(capfd, idx_dir, tmp_path):
    train = ["train", "--dataset", "fashion_mnist", "--data-dir", idx_dir, "--out",
             str(tmp_path / "run"), *TINY, "--epochs", "1", "--distribute", "mirrored"]
    assert cli.main(["--backend", "torch", *train]) == 2
    err = capfd.readouterr().err
    assert "not available on the torch backend" in err and "--distribute none" in err
    assert not os.path.exists(tmp_path / "run")


# ---------------------------------------------------------------- conditional
def tile(grid, row, column, size=16):
    step = size + SEPARATOR
    return grid[row * step:row * step + size, column * step:column * step + size]


def test_conditional_run_from_class_folders_samples_a_class_by_name(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name in ("sneaker", "bag", "coat"):  # sorted: bag=0, coat=1, sneaker=2
        for k in range(8):
            folder = tmp_path / "data" / name
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(
                folder / f"{k}.png")
    out = str(tmp_path / "run")
    code, _, err = run_cli(capsys, "train", "--dataset", str(tmp_path / "data"),
                           "--conditional", "--epochs", "1", "--steps-per-epoch", "2",
                           "--out", out, *TINY)
    assert code == 0, err
    model = os.path.join(out, "model.keras")
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f)["class_names"] == ["bag", "coat", "sneaker"]
    # The epoch grid: one row per class from the same noise (--num-samples 4 -> 1 per row).
    with Image.open(os.path.join(out, "samples", "epoch_001.png")) as image:
        assert image.size == (16, 3 * 16 + 2 * SEPARATOR)

    import keras

    gan = keras.models.load_model(model)
    assert gan.class_names == ["bag", "coat", "sneaker"]
    grid_path = str(tmp_path / "sneakers.png")
    code, stdout, _ = run_cli(capsys, "sample", model, "--label", "Sneaker", "--n", "4",
                              "--columns", "4", "--out", grid_path)
    assert code == 0 and "of class 2 (sneaker)" in stdout
    expected = gan.generate(4, seed=0, labels=2)
    with Image.open(grid_path) as image:
        grid = np.asarray(image)
    for column in range(4):
        pixels = np.round((expected[column, ..., 0] + 1) * 127.5).astype(np.uint8)
        np.testing.assert_allclose(tile(grid, 0, column), pixels, atol=1)
    # Without --label: one row per class.
    rows_path = str(tmp_path / "rows.png")
    assert cli.main(["sample", model, "--n", "6", "--out", rows_path]) == 0
    with Image.open(rows_path) as image:
        assert image.size == (2 * 16 + SEPARATOR, 3 * 16 + 2 * SEPARATOR)
    # A label that is not a class: one line naming --label, the classes and a command.
    for label in ("sandal", "3"):
        code, _, err = run_cli(capsys, "sample", model, "--label", label, "--out", rows_path)
        assert code == 2
        assert err == (
            f"keras-wgan sample: error: --label {label} is not a class of {model!r}, whose "
            "classes are 0 'bag', 1 'coat', 2 'sneaker'; pass a name or an index, e.g. "
            f"keras-wgan sample {model} --label sneaker --n 64\n")
    # --resume reads the labels again (config.json says conditional) and continues.
    code, _, err = run_cli(capsys, "train", "--resume", "--out", out, "--epochs", "2",
                           "--verbose", "0")
    assert code == 0, err
    resumed = keras.models.load_model(model)
    assert int(resumed.critic_optimizer.iterations) == 4
    assert int(resumed.generator_optimizer.iterations) == 2
    assert resumed.class_names == ["bag", "coat", "sneaker"]


def test_label_for_an_unconditional_model_and_conditional_data_without_labels(
        trained, tmp_path, capsys):
    model = os.path.join(trained.out, "model.keras")
    code, _, err = run_cli(capsys, "sample", model, "--label", "1",
                           "--out", str(tmp_path / "x.png"))
    assert code == 2 and "unconditional" in err and "drop --label" in err
    images = np.zeros((8, 16, 16), np.uint8)
    np.save(tmp_path / "images.npy", images)
    code, _, err = run_cli(capsys, "train", "--dataset", str(tmp_path / "images.npy"),
                           "--conditional", "--out", str(tmp_path / "run"), *TINY)
    assert code == 2 and "holds images only" in err
