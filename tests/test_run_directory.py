"""The run directory's rules, each tested directly (no training): which settings a new,
resumed or restarted run gets, what it refuses and with which command, its files.

The end-to-end runs through ``keras-wgan train`` are in test_cli.py and test_recovery.py.
"""

import json
import os
import types

import pytest

from keras_wgan.checkpoints import TrainingState
from keras_wgan.cli.common import CliError
from keras_wgan.cli.common import default_backend
from keras_wgan.cli.training.run_directory import RunDirectory
from keras_wgan.cli.training.settings import TRAIN_DEFAULTS


def recorded(tmp_path, **settings):
    """A run directory whose config.json holds the defaults changed by ``settings``."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({**TRAIN_DEFAULTS, **settings}))
    return str(out)


def test_a_new_run_takes_the_defaults_changed_by_the_flags_in_the_default_folder(tmp_path):
    run, settings = RunDirectory.for_flags({"model": "wgan", "dataset": "data/shoes.npz"})
    assert run.path == os.path.join("runs", "wgan-shoes")
    assert settings == {**TRAIN_DEFAULTS, "model": "wgan", "dataset": "data/shoes.npz",
                        "out": run.path}
    run, settings = RunDirectory.for_flags({"ema_decay": 0.0}, out=str(tmp_path / "new"))
    assert settings["ema_decay"] is None  # --ema-decay off
    assert run.model_path == str(tmp_path / "new" / "model.keras")
    assert run.config_path == str(tmp_path / "new" / "config.json")
    assert run.samples_dir == str(tmp_path / "new" / "samples")


def test_a_non_empty_folder_is_refused_without_resume_or_restart(tmp_path):
    out = recorded(tmp_path, dim=8)
    with pytest.raises(CliError) as error:
        RunDirectory.for_flags({}, out=out)
    message = str(error.value)
    assert "already exists and is not empty" in message
    assert f"keras-wgan train --resume --out {out}" in message and "--restart" in message
    # --restart keeps the recorded settings, changed by the flags given.
    _, settings = RunDirectory.for_flags({"epochs": 3}, out=out, restart=True)
    assert (settings["dim"], settings["epochs"]) == (8, 3)


def test_quality_every_without_keep_best_is_refused_by_the_settings_every_path_reads(tmp_path):
    """settings_for is how one process and process 0 of several resolve the settings."""
    refusal = "--quality-every sets how often --keep-best scores samples: add --keep-best"
    with pytest.raises(CliError, match=refusal):
        RunDirectory.for_flags({"quality_every": 2}, out=str(tmp_path / "new"))
    out = recorded(tmp_path, epochs=2)
    with pytest.raises(CliError, match=refusal):
        RunDirectory.for_flags({"quality_every": 3}, out=out, resume=True)
    _, settings = RunDirectory.for_flags({"quality_every": 3, "keep_best": True}, out=out,
                                         resume=True)
    assert (settings["quality_every"], settings["keep_best"]) == (3, True)


def test_resume_takes_the_recorded_settings_and_refuses_to_change_the_model(tmp_path):
    out = recorded(tmp_path, dim=8, batch_size=16, ema_decay=0.0)  # an old "off" (0.0)
    _, settings = RunDirectory.for_flags({"epochs": 30, "batch_size": 32}, out=out, resume=True)
    assert (settings["dim"], settings["epochs"], settings["batch_size"]) == (8, 30, 32)
    assert settings["ema_decay"] is None
    with pytest.raises(CliError, match=r"--dim 4 differs from the run's 8: --resume continues "
                       r"the saved model.*drop --dim \(or start over: keras-wgan train "
                       r"--restart --out "):
        RunDirectory.for_flags({"dim": 4}, out=out, resume=True)
    with pytest.raises(CliError, match="--ema-decay 0.9 differs from the run's off"):
        RunDirectory.for_flags({"ema_decay": 0.9}, out=out, resume=True)


@pytest.mark.parametrize("out, resume, message", [
    (None, True, "--resume needs --out, the run directory to continue: keras-wgan train "
                 "--resume --out runs/NAME"),
    ("empty", True, "holds no run to continue (no config.json, no model.keras); start one "
                    "with: keras-wgan train --out "),
    ("a_file", False, "exists and is not a directory: choose another, e.g. keras-wgan train "
                      "--out "),
])
def test_refusals_name_a_command_that_works(tmp_path, out, resume, message):
    if out is not None:
        (tmp_path / "empty").mkdir()
        (tmp_path / "a_file").write_text("x")
        out = str(tmp_path / out)
    with pytest.raises(CliError) as error:
        RunDirectory.for_flags({}, out=out, resume=resume)
    assert message in str(error.value)


def test_continuing_needs_a_larger_target_and_inside_an_epoch_the_same_data(tmp_path):
    out = recorded(tmp_path, epochs=4, batch_size=16)
    run = RunDirectory(out)
    settings = {**TRAIN_DEFAULTS, "epochs": 4, "batch_size": 16}
    run.check_can_continue(settings, TrainingState(epoch=2, step=3, steps_per_epoch=10))
    with pytest.raises(CliError) as error:
        run.check_can_continue(settings, TrainingState(epoch=4))
    assert str(error.value) == (
        "--epochs 4 is the total target and the run has already done 4 epochs: pass a "
        f"larger --epochs to continue, e.g. keras-wgan train --resume --out {out} --epochs 14")
    changed = {**settings, "batch_size": 32}
    run.check_can_continue(changed, TrainingState(epoch=2))  # at an epoch boundary: fine
    with pytest.raises(CliError) as error:
        run.check_can_continue(changed, TrainingState(epoch=2, step=3, steps_per_epoch=10),
                               backend="jax")
    assert str(error.value) == (
        "--batch-size 32 differs from the run's 16, but its checkpoint is 3 of 10 steps into "
        "epoch 3: the epoch must finish on the same data. Drop --batch-size: keras-wgan "
        f"train --resume --out {out} --epochs 4" + (
            "" if default_backend() == "jax" else " --backend jax"))
    gan = types.SimpleNamespace(sample_shape=(16, 16, 1))
    run.check_model_fits(gan, (16, 16, 1), 4)
    with pytest.raises(CliError, match=r"images have shape \(32, 32, 1\) but the saved model "
                       r"makes \(16, 16, 1\)"):
        run.check_model_fits(gan, (32, 32, 1), 4)


def test_the_continue_command_names_the_backend_a_bare_command_would_not_use(
    tmp_path, monkeypatch
):
    run = RunDirectory(str(tmp_path / "r"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))  # no keras.json there
    assert default_backend() == "tensorflow"
    base = f"keras-wgan train --resume --out {run.path} --epochs 7"
    assert run.resume_command(7) == run.resume_command(7, "tensorflow") == base
    assert run.resume_command(7, "torch") == base + " --backend torch"
    (tmp_path / "keras_home").mkdir()
    (tmp_path / "keras_home" / "keras.json").write_text(json.dumps({"backend": "jax"}))
    assert run.resume_command(7, "jax") == base
    assert run.resume_command(7, "tensorflow") == base + " --backend tensorflow"


def test_restart_moves_the_old_run_aside_and_record_writes_the_settings(tmp_path, capsys):
    out = recorded(tmp_path)
    (tmp_path / "run" / "previous-1").mkdir()
    (tmp_path / "run" / "model.keras").write_text("old")
    run = RunDirectory(out)
    assert not run.is_empty() and run.has_checkpoint()
    run.prepare(restart=True)
    assert sorted(os.listdir(out)) == ["previous-1", "previous-2"]
    assert sorted(os.listdir(os.path.join(out, "previous-2"))) == ["config.json", "model.keras"]
    assert "the previous run's files are in" in capsys.readouterr().out
    run.record({"dim": 4}, version="9.9", backend="jax")
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == {
        "dim": 4, "version": "9.9", "backend": "jax"}
    run.record_skipped([("a.png", "truncated"), ("b.png", "not an image")])
    assert (tmp_path / "run" / "skipped_files.txt").read_text() == \
        "a.png\ttruncated\nb.png\tnot an image\n"
    assert run.position() == "no readable checkpoint"  # no model.keras now
    with pytest.raises(CliError, match="cannot create --out"):
        RunDirectory(str(tmp_path / "run" / "config.json" / "sub")).prepare()


# ------------------------------------------------------------------ one writer
def test_the_lock_refuses_a_second_writer_naming_the_holder_and_ends_with_its_process(
        tmp_path):
    """The lock held by another process (here a child Python) refuses this one with the
    holder's PID and host; once that process is SIGKILLed the lock is free again."""
    import signal
    import socket
    import subprocess
    import sys

    from keras_wgan.cli.training.run_directory import LOCK_FILE

    out = str(tmp_path / "run")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom keras_wgan.cli.training.run_directory "
         f"import RunDirectory\nwith RunDirectory({out!r}).writer():\n print('held', flush=True)\n"
         " time.sleep(600)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(CliError) as error:
            with RunDirectory(out).writer():
                pass
        message = str(error.value)
        assert message.startswith(f"--out {out!r} is in use by PID {holder.pid} on host "
                                  f"{socket.gethostname()} since ")
        assert f"e.g. keras-wgan train --out {out}-2" in message
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert os.path.exists(os.path.join(out, LOCK_FILE))  # a killed holder's file stays
    with RunDirectory(out).writer() as run:  # ... but binds no one
        assert json.load(open(os.path.join(out, LOCK_FILE)))["pid"] == os.getpid()
        assert run.is_empty()  # the lock file is not a run's file
    assert os.listdir(out) == []  # the folder was there before: it stays, empty


def test_a_folder_created_for_the_lock_stays_once_written_and_the_lock_file_goes(tmp_path):
    out = tmp_path / "runs" / "new"
    with RunDirectory(str(out)).writer() as run:
        run.record({"dim": 4})
    assert sorted(os.listdir(out)) == ["config.json"]
    with RunDirectory(str(tmp_path / "a" / "b")).writer():
        pass
    assert not os.path.exists(tmp_path / "a")  # every folder it created, while empty


def test_a_file_system_that_cannot_lock_is_said_and_the_run_goes_on(tmp_path, capsys,
                                                                    monkeypatch):
    import errno
    import fcntl

    def cannot(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", cannot)
    with RunDirectory(str(tmp_path / "run")).writer():
        pass
    assert "cannot lock files (No locks available): nothing stops a second `train`" in \
        capsys.readouterr().err


def test_a_lock_file_this_user_cannot_write_still_locks(tmp_path, monkeypatch):
    """``train.lock`` of another user (mode 0644 in a shared folder) opens read-only, and
    ``flock`` on that descriptor still refuses a second writer while the first holds it."""
    import subprocess
    import sys

    from keras_wgan.cli.training import lock

    out = tmp_path / "shared"
    out.mkdir()
    path = out / lock.LOCK_FILE
    path.write_text("{}")
    holder = subprocess.Popen(  # another user's run: its lock on the same file
        [sys.executable, "-c", f"import fcntl, os, time\nfd = os.open({str(path)!r}, "
         "os.O_RDONLY)\nfcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\n"
         "time.sleep(600)"], stdout=subprocess.PIPE, text=True)
    real_open = os.open

    def not_ours(name, flags, *mode):  # this user may read the file, not write it
        if os.fspath(name) == str(path) and flags & (os.O_RDWR | os.O_WRONLY):
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, flags, *mode)

    monkeypatch.setattr(lock.os, "open", not_ours)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(CliError, match=r"is in use by another process"):
            with RunDirectory(str(out)).writer():
                pass
    finally:
        holder.kill()
        holder.wait(timeout=30)
    with RunDirectory(str(out)).writer():  # free again: held read-only, holder unnamed
        with pytest.raises(CliError, match="is in use"):
            with RunDirectory(str(out)).writer():
                pass


@pytest.mark.parametrize("line, local", [
    ("srv:/export /mnt/shared nfs4 rw,vers=4.2,local_lock=flock 0 0", "local_lock=flock"),
    ("srv:/export /mnt/shared nfs rw,nolock,vers=3 0 0", "nolock"),
    ("mgs@tcp:/fs /mnt/shared lustre rw,localflock 0 0", "localflock"),
    ("srv:/export /mnt/shared nfs4 rw,vers=4.2,local_lock=none 0 0", None),
    ("/dev/sda1 /mnt ext4 rw 0 0", None),  # the run's mount is the innermost: /mnt here
])
def test_locks_local_to_one_machine_are_detected_from_the_mount(tmp_path, line, local):
    from keras_wgan.cli.training.lock import local_only_locking

    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda2 / ext4 rw 0 0\n{line}\n")
    found = local_only_locking("/mnt/shared/runs/a", str(mounts))
    assert (found is None) if local is None else (local in found and "/mnt/shared" in found)
    assert local_only_locking("/home/me/run", str(mounts)) is None
    assert local_only_locking("/mnt/shared/run", str(tmp_path / "missing")) is None


def test_a_lock_on_a_machine_local_mount_warns(tmp_path, capsys, monkeypatch):
    from keras_wgan.cli.training import lock

    monkeypatch.setattr(lock, "local_only_locking",
                        lambda path: "a nfs4 mount (/mnt/shared, local_lock=flock)")
    with RunDirectory(str(tmp_path / "run")).writer():
        pass
    err = capsys.readouterr().err
    assert "is on a nfs4 mount (/mnt/shared, local_lock=flock): its lock keeps out a " \
        "second `train` on this machine only" in err


def test_restart_leaves_the_lock_file_in_place(tmp_path):
    out = recorded(tmp_path, dim=8)
    with RunDirectory(out).writer() as run:
        run.prepare(restart=True)
        assert sorted(os.listdir(out)) == ["previous-1", "train.lock"]
