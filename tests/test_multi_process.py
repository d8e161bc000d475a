"""``keras-wgan train --distribute multi-process``: one run, two processes, one run directory.

Every process here is ``python -m keras_wgan train`` on JAX, a process of its own with
its own working folder and the same relative ``--out`` (a fork of the JAX fork server,
tests/fork_server.py; the SLURM test types ``--backend jax`` in a fresh interpreter): so
"only process 0 writes" is checked by what each folder holds afterwards. The processes
meet on a free local port (``--coordinator 127.0.0.1:PORT``, the control link on PORT+1),
and every wait is bounded.

A module fixture trains the reference run (one device) beside the same run on two
processes; the other tests kill, stop, resume and refuse.
"""

import contextlib
import csv
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

from keras_wgan.cli.training import control_link
from keras_wgan.cli.training import launch as launching

# Several Python processes per test, and an end-to-end run that stays long.
pytestmark = [pytest.mark.processes, pytest.mark.long]

STEPS = 40  # steps of the one epoch (20 generator updates at --n-critic 2)
RUN = [
    "train", "--dataset", None, "--batch-size", "4", "--dim", "4", "--latent-dim", "8",
    "--image-size", "16", "--n-critic", "2", "--num-samples", "6", "--verbose", "0",
    "--steps-per-epoch", str(STEPS), "--checkpoint-every", "20", "--conditional",
    "--out", "run",
]
TIMEOUT_S = 240  # a whole run of these tiny nets takes well under a minute
# The session's fork servers (conftest.py), for start(). The runs share one persistent
# XLA cache (conftest.py sets it in the environment): they repeat each other's programs.
_SERVERS = []


def write_labelled_idx(directory, count=48, classes=3, seed=0):
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    labels = (np.arange(count) % classes).astype(np.uint8)
    with open(os.path.join(directory, "train-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, 3) + struct.pack(">III", *images.shape)
                + images.tobytes())
    with open(os.path.join(directory, "train-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, 8, 1) + struct.pack(">I", count) + labels.tobytes())
    return str(directory)


def multi(port, process_id, count=2):
    return ["--distribute", "multi-process", "--coordinator", f"127.0.0.1:{port}",
            "--num-processes", str(count), "--process-id", str(process_id)]


def start(folder, argv, backend="jax", flag=False, env=None):
    """``python -m keras_wgan ARGV`` in ``folder``, output to ``folder``/log.txt; with
    ``flag``, ``--backend`` picks the backend (the environment names another) in a fresh
    interpreter. Without it the process is a fork of the backend's fork server (it has
    imported the frameworks: each run skips ~8 CPU s of imports)."""
    os.makedirs(folder, exist_ok=True)
    log = os.path.join(folder, "log.txt")
    if not flag:
        return _SERVERS[0][backend].start(argv, cwd=folder, log=log, env=env,
                                          module="keras_wgan")
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", **(env or {})}
    with open(log, "w") as output:
        return subprocess.Popen([sys.executable, "-m", "keras_wgan", "--backend", backend,
                                 *argv], cwd=folder, env=env, stdout=output,
                                stderr=subprocess.STDOUT)


def slurm_job(process_id, count=2):
    """A faked SLURM job step on this machine whose derived coordinator port (and the
    next one) is free: the variables ``srun`` gives task ``process_id``."""
    for job in range(1000, 1000 + launching.SLURM_PORT_PAIRS):
        port = launching.slurm_port(job)
        try:
            for candidate in (port, port + 1):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return {"SLURM_JOB_ID": str(job), "SLURM_STEP_NODELIST": "localhost",
                "SLURM_NTASKS": str(count), "SLURM_PROCID": str(process_id),
                "SLURM_LOCALID": str(process_id)}
    raise OSError("no free port pair in SLURM's range")


def finish(process, folder, timeout=TIMEOUT_S):
    try:
        process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, read(os.path.join(folder, "log.txt"))


def read(path):
    with open(path) as f:
        return f.read()


def rows(run_dir):
    with open(os.path.join(run_dir, "history_batches.csv"), newline="") as f:
        return list(csv.DictReader(f))


def losses(table, names=("critic_loss", "generator_loss", "gradient_penalty")):
    return {name: np.array([float(r[name]) if r[name] else np.nan for r in table])
            for name in names}


def counts(run_dir):
    with open(os.path.join(run_dir, "model.state.json")) as f:
        state = json.load(f)
    return state["global_step"], state["optimizer_iterations"], state["epochs"]


@pytest.fixture(scope="module", autouse=True)
def servers(fork_servers):
    _SERVERS.append(fork_servers)
    yield
    _SERVERS.clear()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_labelled_idx(tmp_path_factory.mktemp("idx"))


def argv(data, *extra):
    return [data if a is None else a for a in RUN] + list(extra)


@pytest.fixture(scope="module")
def pair(tmp_path_factory, data):
    """The reference run on one device, and the same run on two processes, whose control
    port a stray client (no key) reaches first: the run must not notice."""
    root = tmp_path_factory.mktemp("pair")
    port = launching.free_port_pair()
    folders = {name: str(root / name) for name in ("one", "p0", "p1")}
    running = {
        "one": start(folders["one"], argv(data, "--epochs", "1", "--distribute", "none")),
        "p0": start(folders["p0"], argv(data, "--epochs", "1", *multi(port, 0))),
    }
    stray = stray_client(port + 1, running["p0"])
    running["p1"] = start(folders["p1"], argv(data, "--epochs", "1", *multi(port, 1)))
    results = {name: finish(process, folders[name]) for name, process in running.items()}
    for name, (code, log) in results.items():
        assert code == 0, f"{name}:\n{log[-4000:]}"
    return folders, {name: log for name, (_, log) in results.items()}, stray


def stray_client(port, owner, timeout=TIMEOUT_S):
    """Connect to ``port`` once process 0 listens, say a hello without the key, and read
    all that is sent until process 0 drops the connection; the bytes received."""
    deadline = time.monotonic() + timeout
    while True:
        assert owner.poll() is None and time.monotonic() < deadline
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            break
        except OSError:
            time.sleep(0.1)
    received = []
    with sock:
        sock.sendall(json.dumps({"hello": {"process_id": 1}}).encode() + b"\n")
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                received.append(chunk)
    return b"".join(received)


def test_two_processes_end_with_the_one_device_counts_and_losses(pair):
    folders, _, _ = pair
    one, two = (os.path.join(folders[name], "run") for name in ("one", "p0"))
    assert counts(two) == counts(one) == (STEPS, STEPS, 1)
    a, b = rows(one), rows(two)
    assert [(r["epoch"], r["step"]) for r in b] == [(r["epoch"], r["step"]) for r in a]
    # The first steps, before float32 rounding (the all-reduce adds the two halves'
    # gradients in another order than one device) has grown: the same numbers.
    first, second = losses(a[:8]), losses(b[:8])
    for name in first:
        np.testing.assert_allclose(second[name], first[name], rtol=1e-4, atol=1e-5,
                                   err_msg=name)
    import keras

    from keras_wgan import WGANGP  # noqa: F401 - registers the class for loading

    model = keras.models.load_model(os.path.join(two, "model.keras"))
    assert model.conditional and model.num_classes == 3
    assert model.generator_optimizer.iterations.numpy() == STEPS // 2


def test_a_stray_client_on_the_control_port_got_nothing(pair):
    """The pair's run ended as one device's (the test above) although a client without
    the key connected first: it was dropped before a byte of the run was sent."""
    _, logs, stray = pair
    assert b"settings" not in stray and b'"out"' not in stray and b"dim" not in stray
    assert "dropped: it did not prove it holds the run's key" in logs["p0"]


def test_only_process_0_writes_and_every_process_says_its_part(pair):
    folders, logs, _ = pair
    assert os.listdir(folders["p1"]) == ["log.txt"]  # no run/ folder at all
    written = sorted(os.listdir(os.path.join(folders["p0"], "run")))
    assert written == sorted(os.listdir(os.path.join(folders["one"], "run")))
    assert "Process 0 of 2: Training wgan-gp" in logs["p0"]
    assert "Process 1 of 2: Training wgan-gp" in logs["p1"] and "(written by process 0)" \
        in logs["p1"]
    assert "Process 1: done; process 0 saved the run" in logs["p1"]
    config = json.loads(read(os.path.join(folders["p0"], "run", "config.json")))
    assert config["distribute"] == "multi-process" and config["replicas"] == 2
    assert "coordinator" not in config and "process_id" not in config
    assert "--distribute multi-process --coordinator 127.0.0.1:" in logs["p0"]  # Continue:
    # The sample grids match one device's (the same weights to float tolerance).
    from PIL import Image

    grids = [np.asarray(Image.open(os.path.join(folders[name], "run", "samples",
                                                "epoch_001.png")), dtype=float)
             for name in ("one", "p0")]
    assert np.abs(grids[0] - grids[1]).max() <= 8  # of 255


def test_a_killed_process_stops_the_other_which_names_it_and_the_run_resumes_alone(
        tmp_path, data, pair):
    """Two processes of a (faked) SLURM job step, each started as ``keras-wgan --backend
    jax train`` with the launch from SLURM's variables alone. Process 1's PID is killed
    mid-run (SIGKILL: no goodbye); process 0 must stop within the stated bound, say which
    process it lost and how to resume; the run then resumes on one machine without
    --distribute and ends with the uninterrupted run's counts."""
    folders = {name: str(tmp_path / name) for name in ("p0", "p1")}
    # The reference's plan (1 epoch: the rates decay to 0 over it), with a checkpoint
    # early in the epoch; the resume keeps that plan, so it ends as the reference did.
    often = ["--epochs", "1", "--checkpoint-every", "4"]
    launch = ["--distribute", "multi-process"]
    job = slurm_job(0)
    owner = start(folders["p0"], argv(data, *often, *launch), flag=True, env=job)
    other = start(folders["p1"], argv(data, *often, *launch), flag=True,
                  env={**job, "SLURM_PROCID": "1", "SLURM_LOCALID": "1"})
    state_file = os.path.join(folders["p0"], "run", "model.state.json")
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while time.monotonic() < deadline:  # wait for a checkpoint inside epoch 1
            try:
                step = json.loads(read(state_file)).get("global_step") or 0
            except (OSError, ValueError):
                step = 0
            if step >= 4 or owner.poll() is not None:
                break
            time.sleep(0.02)
        other.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        code, log = finish(owner, folders["p0"])
        took = time.monotonic() - killed
    finally:
        for process in (owner, other):
            if process.poll() is None:
                process.kill()
    assert code == control_link.LOST_PEER_EXIT, log[-3000:]
    # A killed process's connections close at once; SILENCE_LIMIT_S bounds a silent one.
    assert took < control_link.SILENCE_LIMIT_S, took
    assert "error: lost process 1 of 2 (its control connection closed: killed or crashed)" \
        in log
    assert "keras-wgan train --resume --out run --epochs 1" in log
    assert "or on this machine alone:" in log
    port = launching.slurm_port(int(job["SLURM_JOB_ID"]))
    assert (f"Launch: coordinator localhost:{port} (SLURM: first node of "
            "SLURM_STEP_NODELIST, port from SLURM_JOB_ID), 2 processes (SLURM_NTASKS), this "
            "is process 0 (SLURM_PROCID).") in log
    assert "as a step of a SLURM job again (srun, 2 tasks)" in log
    steps_done = counts(os.path.join(folders["p0"], "run"))[0]
    assert 0 < steps_done < STEPS, "the kill must land inside epoch 1"

    # One machine, no --distribute: it finishes epoch 1 as the reference run did.
    resumed = start(folders["p0"], ["train", "--resume", "--out", "run", "--epochs", "1"])
    code, log = finish(resumed, folders["p0"])
    assert code == 0, log[-3000:]
    assert "was trained with --distribute multi-process; continuing on this machine alone" \
        in log
    run_dir = os.path.join(folders["p0"], "run")
    reference = os.path.join(pair[0]["one"], "run")
    assert counts(run_dir) == counts(reference) == (STEPS, STEPS, 1)
    a, b = rows(reference), rows(run_dir)
    assert [(r["epoch"], r["step"]) for r in b] == [(r["epoch"], r["step"]) for r in a]
    first, second = losses(a), losses(b)
    for name in first:  # the first steps ran on two processes: float tolerance
        np.testing.assert_allclose(second[name], first[name], rtol=1e-4, atol=1e-5,
                                   err_msg=name)


def test_a_mixed_precision_run_resumes_on_two_processes_and_ctrl_c_on_process_0_stops_both(
        tmp_path, data):
    """Another process count and mixed precision: one device (TensorFlow, this pytest
    process: the run's first epoch is only the start the test continues) trains a
    mixed_bfloat16 run and two JAX processes continue it (process 0 sends the other the
    checkpoint: only process 0 needs the run directory). Ctrl-C on process 0 then saves
    and stops both after the same step."""
    from keras_wgan import cli

    folders = {name: str(tmp_path / name) for name in ("p0", "p1")}
    assert cli.main(argv(data, "--epochs", "1", "--steps-per-epoch", "4", "--precision",
                         "mixed_bfloat16", "--out", os.path.join(folders["p0"], "run"))) == 0
    port = launching.free_port_pair()
    again = ["train", "--resume", "--out", "run", "--epochs", "500"]
    owner = start(folders["p0"], again + multi(port, 0))
    other = start(folders["p1"], again + multi(port, 1))
    state_file = os.path.join(folders["p0"], "run", "model.state.json")
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while time.monotonic() < deadline and owner.poll() is None:
            if (json.loads(read(state_file)).get("global_step") or 0) >= 10:
                break
            time.sleep(0.05)
        owner.send_signal(signal.SIGINT)
        (code0, log0), (code1, log1) = finish(owner, folders["p0"]), finish(other,
                                                                            folders["p1"])
    finally:
        for process in (owner, other):
            if process.poll() is None:
                process.kill()
    assert code0 == 130, log0[-3000:]
    assert code1 == 130, log1[-3000:]
    assert "Process 1 of 2: Continuing wgan-gp" in log1
    assert os.listdir(folders["p1"]) == ["log.txt"]
    run_dir = os.path.join(folders["p0"], "run")
    global_step, iterations, _ = counts(run_dir)
    assert global_step == iterations > 10  # saved at the step both stopped after
    # Both name the same saved position.
    position = json.loads(read(state_file))
    said = f"holds {position['step']} of 4 steps into epoch {position['epochs'] + 1}" \
        if position["step"] else f"holds {position['epochs']} completed epoch(s)"
    assert "Stopped by SIGINT." in log0 and said in log0, log0[-2000:]
    assert "Stopped by SIGINT." in log1 and said in log1, log1[-2000:]
    table = losses(rows(run_dir))
    assert len(table["critic_loss"]) == global_step
    assert np.isfinite(table["critic_loss"]).all()
    import keras

    from keras_wgan import WGANGP  # noqa: F401 - registers the class for loading

    model = keras.models.load_model(os.path.join(run_dir, "model.keras"))
    assert model.generator.layers[-1].dtype_policy.name == "mixed_bfloat16"


def test_processes_with_different_commands_are_refused_naming_the_flag(tmp_path, data):
    port = launching.free_port_pair()
    folders = {name: str(tmp_path / name) for name in ("p0", "p1")}
    owner = start(folders["p0"], argv(data, "--epochs", "1", *multi(port, 0)))
    other = start(folders["p1"], argv(data, "--epochs", "1", "--dim", "8", *multi(port, 1)))
    (code0, log0), (code1, log1) = finish(owner, folders["p0"]), finish(other, folders["p1"])
    message = ("process 1 runs with --dim 8 where process 0 runs with --dim 4: every "
               "process runs the same command, only --process-id differs")
    assert code0 == 2 and message in log0, log0[-2000:]
    assert code1 == 2 and message in log1, log1[-2000:]
    assert not os.path.exists(os.path.join(folders["p0"], "run"))  # nothing written


def test_quality_every_without_keep_best_is_refused_on_several_processes_too(tmp_path, data):
    """The rules between settings hold on the multi-process path as on one process."""
    port = launching.free_port_pair()
    folder = str(tmp_path / "p0")
    code, log = finish(start(folder, argv(data, "--epochs", "1", "--quality-every", "2",
                                          *multi(port, 0, count=1))), folder)
    assert code == 2, log[-2000:]
    assert "--quality-every sets how often --keep-best scores samples" in log, log[-2000:]
    assert not os.path.exists(os.path.join(folder, "run"))  # nothing written


def test_a_machine_whose_copy_of_the_data_differs_is_refused_on_every_process(tmp_path):
    """Each machine reads its own copy of `--dataset ./idx`; process 1's holds other
    images, which would silently train other batches: both processes refuse."""
    port = launching.free_port_pair()
    folders = {name: str(tmp_path / name) for name in ("p0", "p1")}
    write_labelled_idx(os.path.join(folders["p0"], "idx"))
    write_labelled_idx(os.path.join(folders["p1"], "idx"), seed=1)
    command = [a if a is not None else "./idx" for a in RUN] + ["--epochs", "1"]
    owner = start(folders["p0"], command + multi(port, 0))
    other = start(folders["p1"], command + multi(port, 1))
    (code0, log0), (code1, log1) = finish(owner, folders["p0"]), finish(other, folders["p1"])
    message = ("--dataset './idx' differs on process(es) 1 from process 0's (its batches "
               "per epoch or its first batch): every machine must read the same data")
    assert code0 == 2 and message in log0, log0[-2000:]
    assert code1 == 2 and message in log1, log1[-2000:]
