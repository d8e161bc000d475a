"""One run, one writer: the process the user starts is the one that trains, and a run
directory has one writer at a time.

Every run here is what a user types: ``keras-wgan --backend X train ...`` (the installed
script, or ``python -m keras_wgan`` where it is not on the PATH), in a process of its
own, signalled by the PID it was started with.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from keras_wgan import cli
from keras_wgan.cli.training.run_directory import LOCK_FILE

pytestmark = pytest.mark.processes  # each test starts training processes of its own

TINY = ["--dataset", None, "--batch-size", "4", "--dim", "4", "--latent-dim", "8",
        "--image-size", "16", "--n-critic", "2", "--num-samples", "4", "--verbose", "0"]
# Long enough that a kill always lands while it trains.
FOREVER = ["--epochs", "1000", "--steps-per-epoch", "50", "--checkpoint-every", "10"]
WAIT_S = 180  # for a process to start training (imports and a first build)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "images.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 256, (32, 16, 16, 1), dtype=np.uint8))
    return str(path)


def program():
    """What the user types: the installed script, else ``python -m keras_wgan``."""
    script = shutil.which("keras-wgan")
    return [script] if script else [sys.executable, "-m", "keras_wgan"]


def tiny(images, out, *extra):
    return [images if a is None else a for a in TINY] + ["--out", out, *extra]


def start(argv, log, env_backend="tensorflow"):
    env = {**os.environ, "KERAS_BACKEND": env_backend}
    return subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env)


def wait_for(path, process, log):
    """Until ``path`` exists (the run has saved its step 0 and is training)."""
    deadline = time.monotonic() + WAIT_S
    while not os.path.exists(path):
        assert process.poll() is None, open(log).read()[-3000:]
        assert time.monotonic() < deadline, f"no {path} after {WAIT_S} s"
        time.sleep(0.1)


def processes_naming(text):
    """PIDs of the live processes whose command line contains ``text`` (zombies aside)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in command and state != "Z":
            found.append(int(entry))
    return found


def assert_gone_within(text, seconds=5.0):
    deadline = time.monotonic() + seconds
    while processes_naming(text):
        assert time.monotonic() < deadline, f"still alive: {processes_naming(text)}"
        time.sleep(0.1)


def sigkill_and_wait(process, out):
    """SIGKILL to ``process``; then no process naming ``out`` may stay alive."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert_gone_within(out)


@contextlib.contextmanager
def killing_what_is_left(out):
    """Whatever the test's outcome, no process naming ``out`` outlives it."""
    try:
        yield
    finally:
        for pid in processes_naming(out):
            os.kill(pid, signal.SIGKILL)


def holder(out):
    with open(os.path.join(out, LOCK_FILE)) as f:
        return json.load(f)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc to find processes")
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_the_pid_started_with_backend_is_the_run_and_sigkill_ends_it(tmp_path, images,
                                                                     backend):
    """``keras-wgan --backend X train``: the PID the shell got holds the run's lock (it
    trains itself, no child), and SIGKILL to it leaves no process of the run alive."""
    out = str(tmp_path / f"run-{backend}")
    other = "jax" if backend == "tensorflow" else "tensorflow"  # the flag must switch
    process = start([*program(), "--backend", backend, "train", *tiny(images, out),
                     *FOREVER], str(tmp_path / "log.txt"), env_backend=other)
    with killing_what_is_left(out):
        wait_for(os.path.join(out, "model.keras"), process, str(tmp_path / "log.txt"))
        assert holder(out)["pid"] == process.pid
        assert processes_naming(out) == [process.pid]
        sigkill_and_wait(process, out)
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f)["backend"] == backend


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's parent-death signal")
def test_a_backend_child_started_from_python_dies_with_its_parent(tmp_path, images):
    """``cli.main(["--backend", ...])`` in a process that has loaded Keras on another
    backend needs a child; SIGKILL to the parent must take the child with it."""
    out = str(tmp_path / "run")
    argv = ["--backend", "torch", "train", *tiny(images, out), *FOREVER]
    script = ("import keras, sys; from keras_wgan import cli; "
              f"sys.exit(cli.main({argv!r}))")
    log = str(tmp_path / "log.txt")
    parent = start([sys.executable, "-c", script], log, env_backend="tensorflow")
    with killing_what_is_left(out):
        wait_for(os.path.join(out, "model.keras"), parent, log)
        child = holder(out)["pid"]
        assert child != parent.pid and child in processes_naming(out)
        sigkill_and_wait(parent, out)


def test_a_second_train_on_the_same_out_is_refused_and_a_killed_run_resumes_at_once(
        tmp_path, images, capsys):
    """While one ``train`` writes ``--out``, another (new, --resume or --restart) is
    refused at once with exit 2, naming the holder, and writes nothing; after the first
    is killed (SIGKILL: no clean-up) the run resumes straight away."""
    out = str(tmp_path / "run")
    log = str(tmp_path / "log.txt")
    first = start([*program(), "train", *tiny(images, out), *FOREVER], log)
    try:
        wait_for(os.path.join(out, "model.keras"), first, log)
        config = os.path.join(out, "config.json")
        before = (open(config, "rb").read(), os.stat(config).st_mtime_ns)
        for again in ([], ["--resume"], ["--restart"]):
            code = cli.main(["train", *tiny(images, out), *again, "--epochs", "1"])
            err = capsys.readouterr().err
            assert code == 2, err
            assert f"--out {out!r} is in use by PID {first.pid} on host " in err, err
            assert "stop it or choose another --out, e.g. keras-wgan train --out " \
                   f"{out}-2" in err
            assert f"keras-wgan train --resume --out {out})" in err
        assert (open(config, "rb").read(), os.stat(config).st_mtime_ns) == before
        assert not [n for n in os.listdir(out) if n.startswith("previous-")]
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert os.path.exists(os.path.join(out, LOCK_FILE))  # left behind, but unlocked
    with open(os.path.join(out, "model.state.json")) as f:
        target = json.load(f)["epochs"] + 1
    code = cli.main(["train", "--resume", "--out", out, "--epochs", str(target),
                     "--verbose", "0"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Continuing wgan-gp" in captured.out
    assert not os.path.exists(os.path.join(out, LOCK_FILE))  # a clean end removes it
