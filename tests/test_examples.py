"""examples/: every script runs with --smoke as a user types it, and says what it is.

Each example is a complete program a user copies; ``--smoke`` runs it in seconds at tiny
sizes. Here each runs in its own process with the argv a user types (``python
examples/NAME.py --smoke --out DIR``, with tiny data made in ``tmp_path`` where the script
reads data; see ``runs`` for how the process starts), two at a time to use both cores, and must exit 0 and write the files its docstring promises. A new script in
examples/ without an entry in ``RUNS`` fails ``test_every_example_is_run``.
"""

import os
import subprocess
import sys
import time
import types

import numpy as np
import pytest

from keras_wgan.checkpoints import read_state
from keras_wgan.images import write_png

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
TIMEOUT_S = 300
PARALLEL = 2
# Scripts that set what a framework reads when it is imported or starts (XLA_FLAGS):
# each runs in a fresh interpreter, the others as forks of the fork server.
FRESH = {"several_devices.py"}


def colour_folder(folder):
    """40 small RGB pictures in two class sub-folders (ignored by an unconditional model)."""
    rng = np.random.default_rng(1)
    for i in range(40):
        write_png(rng.integers(0, 256, (20, 24, 3), dtype=np.uint8),
                  os.path.join(folder, f"class{i % 2}", f"p{i:02d}.png"))
    return folder


def labelled_folder(folder):
    """40 grayscale pictures, one sub-folder per class: the folder names are the classes."""
    rng = np.random.default_rng(2)
    for i in range(40):
        name = ("sandal", "sneaker", "bag")[i % 3]
        write_png(rng.integers(0, 256, (28, 28), dtype=np.uint8),
                  os.path.join(folder, name, f"p{i:02d}.png"))
    return folder


# script -> (extra arguments given a work folder for its data, files under --out it writes
# [, the environment it runs in: keras.distribution's example on JAX])
RUNS = {
    "fashion_mnist_wgan.py": (lambda tmp: [], ["model.keras", "history.csv",
                                                "samples/epoch_001.png", "losses.png"]),
    "fashion_mnist_wgan_gp.py": (lambda tmp: [], ["model.keras", "history.csv",
                                                   "samples/epoch_001.png"]),
    "colour_folder_64.py": (lambda tmp: ["--data", colour_folder(os.path.join(tmp, "pics"))],
                            ["model.keras", "history.csv", "samples/epoch_001.png"]),
    "draw_ten_sneakers.py": (
        lambda tmp: ["--data", labelled_folder(os.path.join(tmp, "shoes")), "--label",
                     "sneaker"],
        ["model.keras", "samples/epoch_001.png", "sneakers.png"]),
    "your_own_nets.py": (lambda tmp: [], ["model.keras", "samples/epoch_001.png"]),
    "several_devices.py": (lambda tmp: [], ["model.keras", "samples/epoch_001.png"],
                           {"KERAS_BACKEND": "jax"}),
    "own_training_loop.py": (lambda tmp: ["--epochs", "1"],
                             ["model.keras", "history.csv", "history_batches.csv",
                              "samples/epoch_001.png"]),
    "after_training.py": (
        lambda tmp: ["--data", colour_folder(os.path.join(tmp, "pics"))],
        ["model.keras", "seeds/seed000000.png", "seeds/seed000015.png",
         "truncated/seed000015.png", "walk.gif", "nearest.png"]),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, fork_servers):
    """Run every example with --smoke, PARALLEL at a time; {script: (rc, output, out, s)}.

    Each runs in a process of its own with the user's argv, folder and environment: a
    fork of the TensorFlow fork server (tests/fork_server.py: the frameworks imported
    once, not once a script), or a fresh interpreter for a script that sets what the
    frameworks read at import (FRESH)."""
    root = tmp_path_factory.mktemp("examples")
    pending = []
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for script, (arguments, _, *settings) in RUNS.items():
        work = root / script[:-3]
        out = work / "out"
        argv = ["--smoke", "--out", str(out), *arguments(str(work))]
        pending.append((script, argv, out, {**env, **(settings[0] if settings else {})}))
    results, running = {}, []
    while pending or running:
        while pending and len(running) < PARALLEL:
            script, argv, out, environment = pending.pop(0)
            log = root / f"{script[:-3]}.log"
            path = os.path.join(EXAMPLES, script)
            if script in FRESH:
                with open(log, "w") as output:
                    process = subprocess.Popen([sys.executable, path, *argv], cwd=str(root),
                                               env=environment, stdout=output,
                                               stderr=subprocess.STDOUT)
            else:
                process = fork_servers["tensorflow"].start(argv, cwd=root, log=log,
                                                           env=environment, script=path)
            running.append((script, process, out, log, time.monotonic()))
        script, process, out, log, start = running.pop(0)
        try:
            process.wait(timeout=TIMEOUT_S)
            killed = ""
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            killed = f"\n[killed after {TIMEOUT_S} s]"
        output = log.read_text(errors="replace") + killed
        results[script] = (process.returncode, output, out, time.monotonic() - start)
    return results


def test_every_example_is_run():
    scripts = sorted(name for name in os.listdir(EXAMPLES) if name.endswith(".py"))
    assert scripts == sorted(RUNS)


@pytest.mark.parametrize("script", sorted(RUNS))
def test_example_runs_with_smoke_and_writes_its_files(runs, script):
    returncode, output, out, seconds = runs[script]
    assert returncode == 0, f"{script} --smoke failed after {seconds:.0f} s:\n{output[-3000:]}"
    missing = [name for name in RUNS[script][1] if not (out / name).is_file()]
    assert not missing, f"{script} did not write {missing} into --out:\n{output[-2000:]}"


def test_own_training_loop_resumes_where_it_stopped(runs, fork_servers, tmp_path):
    """The same command with a larger --epochs continues the saved run: epoch 2 is added
    to the history, epoch 1's row stays, and the step counts go on from the file's."""
    returncode, output, out, _ = runs["own_training_loop.py"]
    assert returncode == 0, output[-3000:]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    log = tmp_path / "resume.log"
    process = fork_servers["tensorflow"].start(
        ["--smoke", "--out", str(out), "--epochs", "2"], cwd=tmp_path, log=log, env=env,
        script=os.path.join(EXAMPLES, "own_training_loop.py"))
    result = types.SimpleNamespace(returncode=process.wait(timeout=TIMEOUT_S),
                                   stdout=log.read_text(errors="replace"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Resuming from" in result.stdout and "1 completed epoch" in result.stdout
    with open(out / "history.csv", encoding="utf-8") as f:
        epochs = [line.split(",")[0] for line in f.read().splitlines()[1:]]
    assert epochs == ["1", "2"]
    state = read_state(out / "model.keras")  # the position saved inside the file
    assert (state.epoch, state.step, state.global_step) == (2, 0, 12)


@pytest.mark.parametrize("script", sorted(RUNS))
def test_example_docstring_says_what_how_and_how_long(script):
    with open(os.path.join(EXAMPLES, script), encoding="utf-8") as f:
        source = f.read()
    assert source.startswith('"""'), f"{script} must open with its docstring"
    docstring = source[3:source.index('"""', 3)]
    assert f"python examples/{script}" in docstring  # the full-size command
    assert "Time on 2 cores" in docstring
    assert f"python examples/{script} --smoke" in docstring
    assert "keras_wgan." in source or "from keras_wgan" in source
