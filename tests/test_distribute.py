"""Data-parallel training: two replicas train exactly what one device trains on the same batches.

The batch given to ``fit`` is the global batch; each replica takes its share, draws the
noise and interpolation weights of its own global samples, and the replicas' gradients
add up to the global batch's. So a WGAN-GP without batch-coupled layers reaches the same
weights, losses and counts on 1 and 2 replicas (to float tolerance), with or without
augmentation (its draws are the global batch's rows too). A WGAN whose critic
has BatchNormalization normalises each replica's share with that share's statistics,
so its weights differ from one device's; it is checked for exact counts, clipping and
finite weights only. Each backend runs in its own process: TensorFlow's
MirroredStrategy over two logical CPU devices, JAX's keras.distribution.DataParallel over
two host devices.
"""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from graph_settings import xla_flags_with_host_devices

# Several Python processes per test, and an end-to-end run that stays long.
pytestmark = [pytest.mark.processes, pytest.mark.long]
WORKER = Path(__file__).with_name("distribute_worker.py")
BACKENDS = ("tensorflow", "jax")


@pytest.fixture(scope="module")
def reports(tmp_path_factory, fork_servers):
    """Both backends' workers, run side by side, each a fork of its backend's fork server
    (tests/fork_server.py: the devices are set up after the fork, before any runtime)."""
    directory = tmp_path_factory.mktemp("distribute")
    env = {**os.environ, "XLA_FLAGS": xla_flags_with_host_devices(2)}
    running = {}
    for backend in BACKENDS:
        running[backend] = fork_servers[backend].start(
            [directory], cwd=directory, log=directory / f"log_{backend}.txt",
            env={**env, "KERAS_BACKEND": backend}, script=WORKER)
    for backend, process in running.items():
        process.wait(timeout=900)
        output = (directory / f"log_{backend}.txt").read_text()
        assert process.returncode == 0, f"{backend}:\n{output[-4000:]}"
    return {b: json.loads((directory / f"report_{b}.json").read_text()) for b in BACKENDS}


@pytest.fixture(params=BACKENDS)
def report(request, reports):
    return reports[request.param]


def test_two_replicas_train_the_same_wgangp_as_one_device(report):
    assert report["replicas"] == 2
    one, two = report["one_device"]["wgangp"], report["two_replicas"]["wgangp"]
    assert one["counts"] == two["counts"] == [16, 8, 0]
    assert len(one["weights"]) == len(two["weights"])
    for a, b in zip(one["weights"], two["weights"]):
        np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-4, atol=1e-5)
    assert sorted(one["history"]) == sorted(two["history"])
    for name, values in one["history"].items():
        np.testing.assert_allclose(two["history"][name], values, rtol=1e-4, atol=1e-5,
                                   err_msg=name)


def test_two_replicas_draw_the_augmentation_of_one_device(report):
    one, two = report["one_device"]["augmented"], report["two_replicas"]["augmented"]
    for a, b in zip(one["weights"], two["weights"]):
        np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-4, atol=1e-5)
    for name, values in one["history"].items():
        np.testing.assert_allclose(two["history"][name], values, rtol=1e-4, atol=1e-5,
                                   err_msg=name)


def test_wgan_with_batch_norm_keeps_counts_and_clipping_on_two_replicas(report):
    for run in ("one_device", "two_replicas"):
        wgan = report[run]["wgan"]
        assert wgan["counts"] == [4, 2]
        assert wgan["max_abs_critic_weight"] <= 0.01 + 1e-7
        assert wgan["finite"]


def test_the_conditional_resnets_train_under_tf_distribute(reports):
    resnet = reports["tensorflow"]["resnet_two_replicas"]
    assert resnet["counts"] == [4, 2] and resnet["finite"]
    assert resnet["loaded_same_images"]


def test_files_move_between_one_device_and_two_replicas(report):
    assert report["loaded_on_one_device_counts"] == [16, 8]
    assert report["resumed_on_two_replicas_counts"] == [20, 10]


def test_mixed_float16_scales_both_losses_on_two_replicas(report):
    mixed = report["mixed_float16"]
    assert mixed["optimizers"] == ["LossScaleOptimizer", "LossScaleOptimizer"]
    assert mixed["counts"] == [4, 2] and mixed["finite"]


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_worker_processes_train_one_model_and_agree(tmp_path, reports, fork_servers):
    """Several machines: JAX's multi-process runtime with keras.distribution (two local
    processes here, gloo collectives); each feeds its share of every global batch."""
    worker = Path(__file__).with_name("multiworker_worker.py")
    port = free_port()
    processes = [  # forks of the JAX fork server: jax.distributed starts after the fork
        fork_servers["jax"].start([i, port, tmp_path], cwd=tmp_path,
                                  log=tmp_path / f"log_{i}.txt", script=worker)
        for i in (0, 1)
    ]
    try:
        for process in processes:
            process.wait(timeout=300)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    for i, process in enumerate(processes):
        log = (tmp_path / f"log_{i}.txt").read_text()
        assert process.returncode == 0, log[-3000:]
    first, second = (json.loads((tmp_path / f"worker_{i}.json").read_text()) for i in (0, 1))
    assert first["processes"] == 2 and first["devices"] == 2
    assert first["counts"] == second["counts"] == [16, 8]
    for a, b in zip(first["weights"], second["weights"]):
        # Exact: the weights are replicated, both processes apply the same all-reduced
        # update to the same values.
        np.testing.assert_array_equal(np.array(a), np.array(b))
    # The same numbers as one device on the same global batches (the SGD WGAN-GP above).
    one_device = reports["jax"]["one_device"]["wgangp"]
    for name, values in one_device["history"].items():
        np.testing.assert_allclose(first["history"][name], values, rtol=1e-4, atol=1e-5,
                                   err_msg=name)
