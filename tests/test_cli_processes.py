"""``cli/processes.py`` in this process: the launch flags, the start-up agreement over
the control link (two threads on loopback), and the refusals. The runs themselves,
with JAX's runtime, are in ``test_multi_process.py``."""

import threading

import pytest

from keras_wgan import cli
from keras_wgan.cli import control_link, processes
from keras_wgan.cli.common import CliError


def test_the_launch_comes_from_the_flags_or_keras_environment_variables(monkeypatch):
    launch = processes.Launch.from_flags("10.0.0.1:1234", 4, 2)
    assert (launch.host, launch.port, launch.control_port) == ("10.0.0.1", 1234, 1235)
    assert not launch.is_owner
    assert launch.flags() == (" --distribute multi-process --coordinator 10.0.0.1:1234 "
                              "--num-processes 4 --process-id 2")
    monkeypatch.setenv(processes.ENV_ADDRESSES, "10.0.0.7:99,10.0.0.8:99")
    monkeypatch.setenv(processes.ENV_NUM_PROCESSES, "2")
    monkeypatch.setenv(processes.ENV_PROCESS_ID, "0")
    launch = processes.Launch.from_flags(None, None, None)
    assert (launch.coordinator, launch.num_processes, launch.process_id) == (
        "10.0.0.7:99", 2, 0)
    assert launch.is_owner and launch.from_environment and launch.flags() == ""
    assert processes.ENV_PROCESS_ID in launch.resume_note()


@pytest.mark.parametrize("flags, expected", [
    ((None, 2, 0), "--distribute multi-process needs --coordinator (or Keras' "
                   "KERAS_DISTRIBUTION_JOB_ADDRESSES"),
    (("10.0.0.1:1234", None, None), "needs --num-processes, --process-id"),
    (("10.0.0.1", 2, 0), "--coordinator '10.0.0.1' must be HOST:PORT"),
    (("10.0.0.1:1234", 2, 2), "--process-id 2 must be in 0..1 for --num-processes 2"),
])
def test_incomplete_or_wrong_launch_flags_are_refused_with_an_example(monkeypatch, flags,
                                                                      expected):
    for name in (processes.ENV_ADDRESSES, processes.ENV_NUM_PROCESSES,
                 processes.ENV_PROCESS_ID):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CliError, match="e.g. keras-wgan train") as error:
        processes.Launch.from_flags(*flags)
    assert expected in str(error.value)


def test_the_difference_between_two_commands_names_the_flag_or_the_package():
    ours = {"command": {"--dim": 4, "--out": "run"}, "versions": {"keras": "3.15.1"}}
    assert control_link.difference(ours, ours, 1) is None
    theirs = {"command": {"--dim": 8, "--out": "run"}, "versions": {"keras": "3.15.1"}}
    assert control_link.difference(ours, theirs, 1) == (
        "process 1 runs with --dim 8 where process 0 runs with --dim 4: every process runs "
        "the same command, only --process-id differs")
    missing = {"command": {"--out": "run"}, "versions": {"keras": "3.15.1"}}
    assert "process 3 runs with --dim (not given) where process 0 runs with --dim 4" in \
        control_link.difference(ours, missing, 3)
    older = {"command": ours["command"], "versions": {"keras": "3.14.0"}}
    assert control_link.difference(ours, older, 1) == (
        "process 1 has keras 3.14.0 where process 0 has 3.15.1: install the same versions "
        "on every machine (pip install keras==3.15.1)")


def _join(launch, hello, result):
    try:
        with control_link.ControlLink.open(launch) as link:
            result["joined"] = link.join(hello)
            link.clean_end = True
    except CliError as error:
        result["error"] = str(error)


def test_process_0_sends_the_settings_and_checkpoint_to_a_process_with_the_same_command():
    port = processes.free_port_pair()
    owner = processes.Launch("127.0.0.1", port, 2, 0)
    hello = {"process_id": 0, "command": {"--dim": 4}, "versions": {"keras": "3"}}
    result = {}
    other = threading.Thread(target=_join, args=(processes.Launch("127.0.0.1", port, 2, 1),
                                                 {**hello, "process_id": 1}, result))
    other.start()
    checkpoint = bytes(range(256)) * 1000  # a payload larger than one socket read
    with control_link.ControlLink.open(owner) as link:
        link.agree(hello, {"dim": 4, "out": "run"}, checkpoint)
        other.join(timeout=30)
        link.clean_end = True
    assert result["joined"] == ({"dim": 4, "out": "run"}, checkpoint)


def test_a_different_command_is_refused_on_process_0_and_on_the_other():
    port = processes.free_port_pair()
    hello = {"process_id": 0, "command": {"--dim": 4}, "versions": {"keras": "3"}}
    result = {}
    other = threading.Thread(target=_join, args=(
        processes.Launch("127.0.0.1", port, 2, 1),
        {**hello, "process_id": 1, "command": {"--dim": 8}}, result))
    other.start()
    with pytest.raises(CliError, match="process 1 runs with --dim 8 where process 0 runs "
                                       "with --dim 4"):
        with control_link.ControlLink.open(processes.Launch("127.0.0.1", port, 2, 0)) as link:
            link.agree(hello, {"dim": 4}, b"")
    other.join(timeout=30)
    assert result["error"].startswith("process 1 runs with --dim 8")


def test_launch_flags_without_multi_process_and_multi_process_off_jax_are_refused(capsys):
    code = cli.main(["train", "--process-id", "1", "--out", "runs/never-made"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--process-id belongs to --distribute multi-process: add that flag, or drop " \
           "--process-id to train on this machine." in err
    code = cli.main(["train", "--distribute", "multi-process", "--out", "runs/never-made"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--distribute multi-process runs on JAX's multi-process runtime, not tensorflow: " \
           "add --backend jax (on every machine)" in err
