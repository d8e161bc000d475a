"""Across backends: a .keras file saved on any backend loads, samples and resumes on the others.

Each backend runs in its own process (the backend is fixed at import), all three at
once: first each saves a trained model, then each loads every file (and the file
saved by keras-wgan 0.1) and reports the images it makes from the same noise.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# Several Python processes per test, and an end-to-end run that stays long.
pytestmark = [pytest.mark.processes, pytest.mark.long]
BACKENDS = ("tensorflow", "jax", "torch")
WORKER = Path(__file__).with_name("cross_backend_worker.py")
DATA = Path(__file__).with_name("data")


def run_on_every_backend(mode, directory, fork_servers):
    """``cross_backend_worker.py MODE DIR`` on the three backends at once. The loads run
    in fresh interpreters (the generator files must load with keras_wgan not imported);
    the saves of TensorFlow and JAX in forks of the fork servers the long runs share
    (tests/fork_server.py), PyTorch's in its own interpreter (no other long run uses it)."""
    processes = {}
    for backend in BACKENDS:
        log = directory / f"{mode}_{backend}.log"  # files: no pipe can fill up
        env = {**os.environ, "KERAS_BACKEND": backend}
        if mode == "save" and backend != "torch":
            processes[backend] = fork_servers[backend].start(
                [mode, directory], cwd=directory, log=log, env=env, script=WORKER)
            continue
        with open(log, "w") as output:
            processes[backend] = subprocess.Popen(
                [sys.executable, str(WORKER), mode, str(directory)], env=env,
                stdout=output, stderr=subprocess.STDOUT)
    for backend, process in processes.items():
        process.wait(timeout=600)
        output = (directory / f"{mode}_{backend}.log").read_text()
        assert process.returncode == 0, f"{mode} on {backend} failed:\n{output[-3000:]}"


@pytest.fixture(scope="module")
def reports(tmp_path_factory, fork_servers):
    directory = tmp_path_factory.mktemp("cross_backend")
    np.save(directory / "noise.npy",
            np.random.default_rng(11).normal(size=(5, 8)).astype("float32"))
    run_on_every_backend("save", directory, fork_servers)
    run_on_every_backend("load", directory, fork_servers)
    return directory, {
        backend: json.loads((directory / f"report_{backend}.json").read_text())
        for backend in BACKENDS
    }


@pytest.mark.parametrize("saved_on", BACKENDS)
def test_a_file_saved_on_one_backend_samples_the_same_images_on_every_backend(reports, saved_on):
    directory, by_backend = reports
    expected = np.load(directory / f"{saved_on}_images.npy")
    assert expected.shape == (5, 16, 16, 1)
    for loaded_on, report in by_backend.items():
        entry = report["gans"][saved_on]
        np.testing.assert_allclose(np.array(entry["images"]), expected, atol=1e-4,
                                   err_msg=f"saved on {saved_on}, loaded on {loaded_on}")
        # Both optimizers' state and the unfinished block come back...
        assert (entry["critic_iterations"], entry["generator_iterations"], entry["pending"]) \
            == (3, 1, 1)
        # ...and training resumes there: 3 more critic updates complete 2 blocks.
        assert entry["resumed"] == [6, 3, 0] and entry["finite"]
        # The sampling generator alone loads with plain Keras (no keras_wgan import).
        generator_images = np.array(report["generators"][f"{saved_on}_generator"])
        np.testing.assert_allclose(generator_images, expected, atol=1e-4)


@pytest.mark.parametrize("saved_on", BACKENDS)
def test_a_conditional_resnet_file_moves_between_backends_on_its_schedules(reports, saved_on):
    """The cifar10_resnet recipe's nets (class-conditional batch norm, projection critic,
    auxiliary classifier) and its decaying learning rates, saved on one backend."""
    directory, by_backend = reports
    expected = np.load(directory / f"{saved_on}_resnet_images.npy")
    assert expected.shape == (5, 8, 8, 1)
    for loaded_on, report in by_backend.items():
        entry = report["gans"][f"{saved_on}_resnet"]
        np.testing.assert_allclose(np.array(entry["images"]), expected, atol=1e-4,
                                   err_msg=f"saved on {saved_on}, loaded on {loaded_on}")
        assert (entry["critic_iterations"], entry["generator_iterations"], entry["pending"]) \
            == (3, 1, 1)
        assert entry["resumed"] == [6, 3, 0] and entry["finite"]
        # 2e-4, decaying to 0 over 10 generator updates (the critic's over 2 * 10 steps).
        np.testing.assert_allclose(entry["learning_rates"],
                                   [2e-4 * (1 - 3 / 20), 2e-4 * (1 - 1 / 10)], rtol=1e-5)
        np.testing.assert_allclose(entry["resumed_learning_rates"],
                                   [2e-4 * (1 - 6 / 20), 2e-4 * (1 - 3 / 10)], rtol=1e-5)


def test_a_file_saved_by_keras_wgan_0_1_loads_on_every_backend(reports):
    _, by_backend = reports
    saved = np.load(DATA / "legacy_v0_1_wgangp_samples.npz")
    for loaded_on, report in by_backend.items():
        entry = report["gans"]["legacy_v0_1_wgangp"]
        np.testing.assert_allclose(np.array(entry["images"]), saved["images"], atol=1e-4,
                                   err_msg=f"loaded on {loaded_on}")
        assert entry["critic_iterations"] == int(saved["critic_iterations"])
        assert entry["generator_iterations"] == int(saved["generator_iterations"])
        assert entry["resumed"][:2] == [entry["critic_iterations"] + 3,
                                        entry["generator_iterations"] + 2]
