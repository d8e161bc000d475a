"""What survives what: a real ``keras-wgan train`` killed at exact points, then resumed.

Four runs are interrupted at once, each in a process of its own (tests/kill_worker.py
forks them and picks the point: SIGKILL after a step, SIGKILL inside a checkpoint write,
SIGKILL inside the very first write, SIGINT; marked `long`), after an uninterrupted run
trained here; SIGTERM is sent to a run in this process. Each is then resumed with
``--resume`` and must end exactly as the uninterrupted run: same weights, update counts,
unfinished critic block, history rows (none lost, none twice) and sample grids. Run: 2
epochs of 4 steps, n_critic 3 (blocks straddle epochs), a checkpoint every 2 steps, so
the saves fall at steps 0, 2, 4, 6, 8.
"""

import csv
import json
import os
import signal
import types

import keras
import numpy as np
import pytest
from testing import assert_weights_equal

from keras_wgan import cli
from keras_wgan.callbacks import checkpoint_epochs
from keras_wgan.checkpoints import read_state

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = ["--batch-size", "4", "--dim", "4", "--latent-dim", "8", "--image-size", "16",
        "--n-critic", "3", "--num-samples", "4", "--verbose", "0"]
RUN = ["--steps-per-epoch", "4", "--epochs", "2", "--checkpoint-every", "2"]
# name: (how the worker interrupts, at which step or write, exit status, saved step)
CASES = {
    "sigkill_mid_epoch": ("SIGKILL", 3, -9, 2),  # 2 of 4 steps into epoch 1, 2 of 3 in a block
    "sigkill_during_a_write": ("SIGKILL-IN-SAVE", 3, -9, 2),  # writing step 4's checkpoint
    "sigkill_before_any_checkpoint": ("SIGKILL-IN-SAVE", 1, -9, None),  # writing step 0's
    "sigint": ("SIGINT", 4, 130, 5),  # saves after the step in progress
}


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


pytestmark = pytest.mark.processes  # the runs are killed in processes of their own


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The run every test compares with, uninterrupted, trained here."""
    root = tmp_path_factory.mktemp("recovery")
    images = np.random.default_rng(1).integers(0, 256, (40, 16, 16, 1)).astype(np.uint8)
    np.save(root / "images.npy", images)
    train = ["train", "--dataset", str(root / "images.npy"), *TINY, *RUN]
    reference = str(root / "reference")
    assert cli.main(train + ["--out", reference]) == 0
    return types.SimpleNamespace(root=root, reference=reference, train=train)


@pytest.fixture(scope="module")
def killed(runs, fork_servers):
    """The four runs interrupted at once, each in a process of its own (the worker, a
    fork of the TensorFlow fork server, forks them)."""
    outs = {name: str(runs.root / name) for name in CASES}
    points = [str(a) for name, (how, at, _, _) in CASES.items() for a in (how, at, outs[name])]
    log = runs.root / "worker.log"
    worker = fork_servers["tensorflow"].start([*points, "--", *runs.train], cwd=runs.root,
                                              log=log, script=os.path.join(HERE, "kill_worker.py"))
    worker.wait(timeout=600)
    printed = log.read_text()
    assert worker.returncode == 0, printed[-3000:]
    codes = json.loads(printed.strip().splitlines()[-1])
    results = {}
    for name, out in outs.items():
        with open(out + ".stderr") as f:
            err = f.read()
        results[name] = types.SimpleNamespace(out=out, code=codes[out], err=err)
    return results


def _resume_command(err):
    """The continue command the interrupted run printed, as an argv for cli.main."""
    lines = [line.strip() for line in err.splitlines() if line.strip().startswith("keras-wgan")]
    assert lines, err
    return lines[-1].split()[1:]


def assert_same_run(out, reference):
    ours, theirs = (keras.models.load_model(os.path.join(d, "model.keras"))
                    for d in (out, reference))
    assert_weights_equal(ours.get_weights(), theirs.get_weights(), atol=1e-6)
    for model in (ours, theirs):
        counts = (int(model.critic_optimizer.iterations),
                  int(model.generator_optimizer.iterations), int(model.pending_critic_updates))
        assert counts == (8, 2, 2)  # the last block is unfinished
    for name in ("history.csv", "history_batches.csv"):
        rows, expected = (read_csv(os.path.join(d, name)) for d in (out, reference))
        assert [r.get("step", r["epoch"]) for r in rows] == \
            [r.get("step", r["epoch"]) for r in expected]
        for row, want in zip(rows, expected):
            assert row.keys() == want.keys()
            for key, value in want.items():
                assert (row[key] == "") == (value == "")
                if value:
                    assert float(row[key]) == pytest.approx(float(value), rel=1e-5, abs=1e-6)
    assert sorted(os.listdir(os.path.join(out, "samples"))) == \
        ["epoch_001.png", "epoch_002.png"]
    assert not [n for n in os.listdir(out) if "tmp" in n]


@pytest.mark.long  # four killed runs in processes of their own, each resumed
@pytest.mark.parametrize("name", list(CASES))
def test_interrupted_run_resumes_exactly_where_it_stopped(runs, killed, name, capsys):
    how, _, code, saved_step = CASES[name]
    result = killed[name]
    assert result.code == code, result.err[-2000:]
    model_path = os.path.join(result.out, "model.keras")
    if saved_step is None:  # killed while writing the first checkpoint: none on disk
        assert not os.path.exists(model_path)
        assert os.path.isfile(os.path.join(result.out, "config.json"))
    else:
        state = read_state(model_path)
        assert state.global_step == saved_step
        assert (state.epoch, state.step) == divmod(saved_step, 4)
    if how == "SIGKILL-IN-SAVE" and saved_step is not None:
        # model.state.json already names step 4; its previous entry is the file's.
        model = keras.models.load_model(model_path)
        with open(os.path.join(result.out, "model.state.json")) as f:
            assert json.load(f)["epochs"] == 1
        assert checkpoint_epochs(model_path, model) == 0
        interrupted = [n for n in os.listdir(result.out) if n.startswith(".tmp-model.keras-")]
        assert len(interrupted) == 1 and interrupted[0].endswith(".keras")  # the killed write
    if how == "SIGINT":
        assert f"Stopped by {how}." in result.err
        # Stopped 1 step into epoch 2: only epoch 1 has its grid and its epoch row.
        assert os.listdir(os.path.join(result.out, "samples")) == ["epoch_001.png"]
        assert [row["epoch"] for row in read_csv(os.path.join(result.out, "history.csv"))] \
            == ["1"]
        argv = _resume_command(result.err)
        assert argv == ["train", "--resume", "--out", result.out, "--epochs", "2"]
    else:
        argv = ["train", "--resume", "--out", result.out, "--epochs", "2"]
    assert cli.main(argv + ["--verbose", "0"]) == 0
    out = capsys.readouterr().out
    if saved_step is None:
        assert "starting it at step 0 with its recorded settings" in out
    assert_same_run(result.out, runs.reference)


def test_sigterm_saves_after_the_current_step_and_resumes_exactly(runs, tmp_path, capsys,
                                                                   monkeypatch):
    from keras_wgan.checkpoints import TrainingCheckpoint

    batch_end = TrainingCheckpoint.on_train_batch_end

    def on_train_batch_end(self, batch, logs=None):
        batch_end(self, batch, logs)
        if self._global_step == 6:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(TrainingCheckpoint, "on_train_batch_end", on_train_batch_end)
    out = str(tmp_path / "run")
    assert cli.main(runs.train + ["--out", out]) == 143
    err = capsys.readouterr().err
    assert "Stopped by SIGTERM." in err and "holds 3 of 4 steps into epoch 2" in err
    assert read_state(os.path.join(out, "model.keras")).global_step == 7
    monkeypatch.undo()
    # Inside an epoch, the data must stay the run's until the epoch ends.
    assert cli.main(_resume_command(err) + ["--batch-size", "8"]) == 2
    assert capsys.readouterr().err.strip().endswith(
        "--batch-size 8 differs from the run's 4, but its checkpoint is 3 of 4 steps into "
        "epoch 2: the epoch must finish on the same data. Drop --batch-size: keras-wgan "
        f"train --resume --out {out} --epochs 2")
    assert cli.main(_resume_command(err) + ["--verbose", "0"]) == 0
    assert_same_run(out, runs.reference)


@pytest.mark.parametrize("value", ["0", "x", "-2m"])
def test_bad_checkpoint_every(value, capsys):
    assert cli.main(["train", f"--checkpoint-every={value}"]) == 2
    assert ("argument --checkpoint-every: must be a number of steps (e.g. 500) or of "
            "minutes / seconds (e.g. 2m, 90s)") in capsys.readouterr().err


# ------------------------------------------------------------------ divergence


def test_nan_stops_at_its_step_and_keeps_the_last_good_model(runs, tmp_path, capsys,
                                                             monkeypatch):
    import tensorflow as tf

    from keras_wgan.cli.training import data

    seeded = data.seeded_data

    def poisoned(settings, *args):  # batch 6 of the stream (global step 6) is NaN
        data = seeded(settings, *args).repeat().enumerate()
        return data.map(lambda i, x: tf.where(i == 5, float("nan"), x))

    monkeypatch.setattr(data, "seeded_data", poisoned)
    out = str(tmp_path / "run")
    assert cli.main(runs.train + ["--out", out]) == 1
    err = capsys.readouterr().err
    assert "Training diverged: critic_loss is nan at step 6." in err
    model_path = os.path.join(out, "model.keras")
    assert f"The last good checkpoint {model_path!r} (1 completed epoch(s)) was kept" in err
    assert f"keras-wgan train --restart --out {out} --paper-optimizers" in err
    assert read_state(model_path).global_step == 4  # step 6's save was not made
    model = keras.models.load_model(model_path)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    # The command it names works: the diverged run moves aside, nothing is deleted.
    monkeypatch.undo()
    assert cli.main(["train", "--restart", "--out", out, "--paper-optimizers",
                     "--epochs", "1"]) == 0
    assert sorted(os.listdir(os.path.join(out, "previous-1"))) == sorted(
        ["config.json", "history.csv", "history_batches.csv", "losses.png", "model.keras",
         "model.state.json", "samples"])
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)  # the recorded settings, changed by the flags given
    assert (config["dim"], config["paper_optimizers"], config["epochs"]) == (4, True, 1)


def test_non_finite_weights_are_never_saved(tmp_path):
    from testing import tiny_image_gan

    from keras_wgan.checkpoints import TrainingCheckpoint, TrainingDiverged, TrainingState

    gan = tiny_image_gan()
    gan.compile()
    path = str(tmp_path / "model.keras")
    checkpoint = TrainingCheckpoint(path, every_n_steps=1)
    checkpoint.set_model(gan)
    checkpoint.save_state(TrainingState(steps_per_epoch=4))
    before = open(path, "rb").read()
    checkpoint.set_params({"steps": 4})
    checkpoint.on_train_begin()
    checkpoint.on_epoch_begin(0)
    gan.critic.weights[0].assign(np.full(gan.critic.weights[0].shape, np.inf, "float32"))
    checkpoint.on_train_batch_end(0, {"critic_loss": 1.0})
    assert open(path, "rb").read() == before and gan.stop_training
    with pytest.raises(TrainingDiverged, match=r"weight .*kernel is not finite at step 1"):
        checkpoint.on_train_end()


# ------------------------------------------------------------- disks and paths


def test_full_disk_during_a_checkpoint_keeps_the_previous_one(runs, tmp_path, capsys,
                                                              monkeypatch):
    import errno

    from keras_wgan import WGANGP

    save, calls = WGANGP.save, []

    def save_until_full(self, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:  # the checkpoint of step 4: half a file, then no space
            with open(path, "wb") as f:
                f.write(b"PK\x03\x04 half")
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(self, path, *args, **kwargs)

    monkeypatch.setattr(WGANGP, "save", save_until_full)
    out = str(tmp_path / "run")
    assert cli.main(runs.train + ["--out", out]) == 1
    err = capsys.readouterr().err
    model_path = os.path.join(out, "model.keras")
    assert "No space left on device" in err
    assert f"{model_path} still holds 2 of 4 steps into epoch 1" in err
    assert f"keras-wgan train --resume --out {out} --epochs 2" in err
    assert read_state(model_path).global_step == 2
    assert not [n for n in os.listdir(out) if "tmp" in n]  # no half file left behind


def test_unwritable_out_is_refused_before_training(runs, tmp_path, capsys, monkeypatch):
    out = tmp_path / "readonly"
    out.mkdir()
    out.chmod(0o555)
    if os.access(out, os.W_OK):  # root: permissions do not bind, so the write fails here
        import errno

        from keras_wgan import files

        def refuse(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")

        monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
    code = cli.main(runs.train + ["--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == (f"keras-wgan train: error: cannot write {out}/config.json: "
                           "Permission denied.")
    out.chmod(0o755)
    assert os.listdir(out) == []


@pytest.mark.parametrize("command", ["train", "sample"])
def test_out_in_a_folder_that_cannot_be_created(runs, tmp_path, capsys, command):
    (tmp_path / "file").write_text("x")
    target = str(tmp_path / "file" / "sub")
    if command == "train":
        argv = runs.train + ["--out", target]
    else:
        argv = ["sample", os.path.join(runs.reference, "model.keras"), "--out",
                target + "/grid.png"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "Not a directory" in err and target in err


@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_truncated_model_file_says_so(runs, tmp_path, capsys, command):
    data = open(os.path.join(runs.reference, "model.keras"), "rb").read()
    truncated = tmp_path / "model.keras"
    truncated.write_bytes(data[: len(data) // 2])
    assert cli.main([command, str(truncated)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"keras-wgan {command}: error: {str(truncated)!r} is not a valid .keras "
                   "file (truncated or corrupt?): it is not a zip archive.")


def test_missing_dataset_path_is_one_line(tmp_path, capsys):
    missing = str(tmp_path / "no" / "images")
    assert cli.main(["train", "--dataset", missing, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"keras-wgan train: error: --dataset {missing!r}: no such file or directory."


def test_skip_bad_files_trains_without_them_and_lists_them(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for k in range(8):
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(folder / f"{k}.png")
    (folder / "broken.png").write_bytes(b"not a png")
    train = ["train", "--dataset", str(folder), *TINY, "--epochs", "1", "--steps-per-epoch", "2"]
    out = str(tmp_path / "run")
    assert cli.main(train + ["--out", out]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot read image file" in err and "broken.png" in err
    assert err.endswith("add --skip-bad-files to train without the unreadable files")
    assert not os.path.exists(out)
    assert cli.main(train + ["--out", out, "--skip-bad-files"]) == 0
    err = capsys.readouterr().err
    assert err.count("skipped 1 of 9 image files") == 1
    with open(os.path.join(out, "skipped_files.txt")) as f:
        lines = f.read().splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(folder / "broken.png") + "\t")
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f)["skip_bad_files"] is True
