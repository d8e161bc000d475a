"""tests/fork_server.py: a forked program ends as the same program in a fresh interpreter.

The runs of test_multi_process, test_examples, test_distribute, test_backends and
test_recovery start this way, so what they check of a process (its exit status, its
signals, its folder, argv and environment) must be what ``python SCRIPT`` gives. Marked
long: the long lane has the TensorFlow server already (the checks here take a second).
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = [pytest.mark.processes, pytest.mark.long]

PROGRAM = """\
import json, os, sys, time
json.dump({"argv": sys.argv, "cwd": os.getcwd(), "path0": sys.path[0], "name": __name__,
           "flag": os.environ.get("FORK_TEST_FLAG"), "pid": os.getpid()},
          open("seen.json", "w"))
print("to stdout"); print("to stderr", file=sys.stderr)
if sys.argv[1] == "sleep":
    open("sleeping", "w").close()
    time.sleep(60)
if sys.argv[1] == "raise":
    raise ValueError("uncaught")
sys.exit(int(sys.argv[1]))
"""


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "code" / "program.py"
    path.parent.mkdir()
    path.write_text(PROGRAM)
    return path


def both_ways(fork_servers, program, folder, argv):
    """(exit status, output) of PROGRAM ARGV forked and in a fresh interpreter."""
    results = []
    for way in ("forked", "fresh"):
        work = folder / way
        work.mkdir()
        log = work / "log.txt"
        if way == "forked":
            process = fork_servers["tensorflow"].start(argv, cwd=work, log=log, script=program)
        else:
            with open(log, "w") as output:
                process = subprocess.Popen([sys.executable, str(program), *argv], cwd=work,
                                           stdout=output, stderr=subprocess.STDOUT)
        results.append((process.wait(timeout=60), log.read_text(), work))
    return results


@pytest.mark.parametrize("argv, code", [(["0"], 0), (["3"], 3), (["raise"], 1)])
def test_exit_status_output_argv_and_folder_are_a_fresh_interpreters(
        fork_servers, program, tmp_path, argv, code):
    (forked, said, work), (fresh, fresh_said, fresh_work) = both_ways(
        fork_servers, program, tmp_path, argv)
    assert forked == fresh == code
    assert "to stdout" in said and "to stderr" in said
    assert ("ValueError: uncaught" in said) == ("ValueError: uncaught" in fresh_said) == \
        (argv == ["raise"])
    seen, fresh_seen = (json.loads((w / "seen.json").read_text()) for w in (work, fresh_work))
    assert seen["argv"] == fresh_seen["argv"] == [str(program), *argv]
    assert seen["path0"] == fresh_seen["path0"] == str(program.parent)
    assert seen["name"] == "__main__" and seen["cwd"] == str(work)
    assert seen["pid"] != os.getpid()


@pytest.mark.parametrize("number, code", [(signal.SIGINT, -signal.SIGINT),
                                          (signal.SIGKILL, -signal.SIGKILL),
                                          (signal.SIGTERM, -signal.SIGTERM)])
def test_a_signal_ends_it_as_it_ends_a_fresh_interpreter(fork_servers, program, tmp_path,
                                                         number, code):
    """An uncaught KeyboardInterrupt dies of SIGINT; SIGKILL and SIGTERM kill at once."""
    process = fork_servers["tensorflow"].start(["sleep"], cwd=tmp_path, log=tmp_path / "log",
                                               script=program,
                                               env={"FORK_TEST_FLAG": "from the test"})
    deadline = time.monotonic() + 60
    while not (tmp_path / "sleeping").exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    process.send_signal(number)
    assert process.wait(timeout=60) == code
    assert json.loads((tmp_path / "seen.json").read_text())["flag"] == "from the test"


def test_children_that_end_together_are_all_reported(fork_servers, program, tmp_path):
    processes = [fork_servers["tensorflow"].start([str(i)], cwd=tmp_path,
                                                  log=tmp_path / f"log{i}", script=program)
                 for i in range(4)]
    time.sleep(0.5)  # all have ended: their exits reach the pipe together
    assert [p.wait(timeout=30) for p in reversed(processes)] == [3, 2, 1, 0]


def test_a_child_that_would_import_another_backend_is_refused(fork_servers, program,
                                                               tmp_path):
    with pytest.raises(RuntimeError, match="start a real process for it"):
        fork_servers["tensorflow"].start(["0"], cwd=tmp_path, log=tmp_path / "log",
                                         script=program, env={"KERAS_BACKEND": "jax"})
