"""``cli/training``'s launch and control link in this process: the launch flags, the
start-up agreement over the control link (two threads on loopback), and the refusals.
The runs themselves, with JAX's runtime, are in ``test_multi_process.py``."""

import contextlib
import threading
import time

import pytest

from keras_wgan import cli
from keras_wgan.cli.training import connection, control_link
from keras_wgan.cli.training.hello import difference
from keras_wgan.cli.training import launch as launching
from keras_wgan.cli.common import CliError

KEY = b"the run's key"


def test_the_launch_comes_from_the_flags_or_keras_environment_variables(monkeypatch):
    launch = launching.Launch.from_flags("10.0.0.1:1234", 4, 2)
    assert (launch.host, launch.port, launch.control_port) == ("10.0.0.1", 1234, 1235)
    assert not launch.is_owner
    assert launch.flags() == (" --distribute multi-process --coordinator 10.0.0.1:1234 "
                              "--num-processes 4 --process-id 2")
    monkeypatch.setenv(launching.ENV_ADDRESSES, "10.0.0.7:99,10.0.0.8:99")
    monkeypatch.setenv(launching.ENV_NUM_PROCESSES, "2")
    monkeypatch.setenv(launching.ENV_PROCESS_ID, "0")
    launch = launching.Launch.from_flags(None, None, None)
    assert (launch.coordinator, launch.num_processes, launch.process_id) == (
        "10.0.0.7:99", 2, 0)
    assert launch.is_owner and launch.from_environment and launch.flags() == ""
    assert launching.ENV_PROCESS_ID in launch.resume_note()


@pytest.mark.parametrize("flags, expected", [
    ((None, 2, 0), "--distribute multi-process needs --coordinator (or Keras' "
                   "KERAS_DISTRIBUTION_JOB_ADDRESSES"),
    (("10.0.0.1:1234", None, None), "needs --num-processes, --process-id"),
    (("10.0.0.1", 2, 0), "--coordinator '10.0.0.1' must be HOST:PORT"),
    (("10.0.0.1:1234", 2, 2), "--process-id 2 must be in 0..1 for --num-processes 2"),
])
def test_incomplete_or_wrong_launch_flags_are_refused_with_an_example(monkeypatch, flags,
                                                                      expected):
    for name in (launching.ENV_ADDRESSES, launching.ENV_NUM_PROCESSES,
                 launching.ENV_PROCESS_ID):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CliError, match="e.g. keras-wgan train") as error:
        launching.Launch.from_flags(*flags)
    assert expected in str(error.value)


def test_the_difference_between_two_commands_names_the_flag_or_the_package():
    ours = {"command": {"--dim": 4, "--out": "run"}, "versions": {"keras": "3.15.1"}}
    assert difference(ours, ours, 1) is None
    theirs = {"command": {"--dim": 8, "--out": "run"}, "versions": {"keras": "3.15.1"}}
    assert difference(ours, theirs, 1) == (
        "process 1 runs with --dim 8 where process 0 runs with --dim 4: every process runs "
        "the same command, only --process-id differs")
    missing = {"command": {"--out": "run"}, "versions": {"keras": "3.15.1"}}
    assert "process 3 runs with --dim (not given) where process 0 runs with --dim 4" in \
        difference(ours, missing, 3)
    older = {"command": ours["command"], "versions": {"keras": "3.14.0"}}
    assert difference(ours, older, 1) == (
        "process 1 has keras 3.14.0 where process 0 has 3.15.1: install the same versions "
        "on every machine (pip install keras==3.15.1)")


def _join(launch, hello, result):
    try:
        with control_link.ControlLink.open(launch, KEY) as link:
            result["joined"] = link.join(hello)
            link.end_together()
    except CliError as error:
        result["error"] = str(error)


def test_process_0_sends_the_settings_and_checkpoint_to_a_process_with_the_same_command():
    port = launching.free_port_pair()
    owner = launching.Launch("127.0.0.1", port, 2, 0)
    hello = {"process_id": 0, "command": {"--dim": 4}, "versions": {"keras": "3"}}
    result = {}
    other = threading.Thread(target=_join, args=(launching.Launch("127.0.0.1", port, 2, 1),
                                                 {**hello, "process_id": 1}, result))
    other.start()
    checkpoint = bytes(range(256)) * 1000  # a payload larger than one socket read
    with control_link.ControlLink.open(owner, KEY) as link:
        link.agree(hello, {"dim": 4, "out": "run"}, checkpoint)
        other.join(timeout=30)
        link.end_together()
    assert result["joined"] == ({"dim": 4, "out": "run"}, checkpoint)


def test_a_different_command_is_refused_on_process_0_and_on_the_other():
    port = launching.free_port_pair()
    hello = {"process_id": 0, "command": {"--dim": 4}, "versions": {"keras": "3"}}
    result = {}
    other = threading.Thread(target=_join, args=(
        launching.Launch("127.0.0.1", port, 2, 1),
        {**hello, "process_id": 1, "command": {"--dim": 8}}, result))
    other.start()
    with pytest.raises(CliError, match="process 1 runs with --dim 8 where process 0 runs "
                                       "with --dim 4"):
        with control_link.ControlLink.open(launching.Launch("127.0.0.1", port, 2, 0), KEY) as link:
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


# ----------------------------------------------------------- who may connect
def _rogue(port, authkey):
    """A client that is not the run's, once process 0 listens: with the wrong key through
    the standard library, or (``authkey`` None) a raw socket that sends a hello of its
    own and reads whatever it is sent. Returns the bytes it received."""
    import multiprocessing
    import multiprocessing.connection
    import socket

    deadline = time.monotonic() + 30
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port + 1), timeout=10)
            break
        except OSError:
            assert time.monotonic() < deadline, "process 0 never listened"
            time.sleep(0.05)
    seen = []
    try:
        if authkey is None:
            with sock:
                sock.sendall(b'{"hello": {"process_id": 1}}\n')
                while chunk := sock.recv(65536):
                    seen.append(chunk)
        else:
            sock.close()
            connection = multiprocessing.connection.Client(("127.0.0.1", port + 1),
                                                           authkey=authkey)
            seen.append(connection.recv_bytes())
    except (OSError, EOFError, multiprocessing.AuthenticationError) as error:
        seen.append(type(error).__name__.encode())
    return b"".join(seen)


@pytest.mark.parametrize("authkey", [None, b"a wrong key"], ids=["no key", "wrong key"])
def test_a_client_without_the_key_gets_nothing_and_the_run_goes_on(capfd, authkey):
    """A stray client connects first; process 0 drops it before sending a byte of the
    run, then agrees with the real process exactly as if the stray had never come."""
    port = launching.free_port_pair()
    hello = {"process_id": 0, "command": {"--dim": 4}, "versions": {"keras": "3"}}
    checkpoint = b"CHECKPOINT" * 1000
    agreed = {}

    def owner():
        with control_link.ControlLink.open(launching.Launch("127.0.0.1", port, 2, 0),
                                           KEY) as link:
            link.agree(hello, {"dim": 4, "out": "secret-run"}, checkpoint)
            agreed["done"] = True
            link.end_together()

    first = threading.Thread(target=owner)
    first.start()
    received = _rogue(port, authkey)
    result = {}
    _join(launching.Launch("127.0.0.1", port, 2, 1), {**hello, "process_id": 1}, result)
    first.join(timeout=60)
    assert agreed == {"done": True}
    assert result["joined"] == ({"dim": 4, "out": "secret-run"}, checkpoint)
    assert b"secret-run" not in received and b"CHECKPOINT" not in received
    assert b"settings" not in received and b"dim" not in received
    # (a wildcard key on the rogue's side would have read the settings: see the test
    # above, where the same client with the key gets them)
    assert "did not prove it holds the run's key" in capfd.readouterr().err


def test_a_process_with_another_secret_is_refused_and_told_which_flag(tmp_path):
    port = launching.free_port_pair()
    launch = launching.Launch("127.0.0.1", port, 2, 0)
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    ours, source = connection.run_key(launch, str(secret))
    assert source == f"--secret-file {secret}"
    theirs, _ = connection.run_key(launch)
    assert ours != theirs
    result = {}
    owner = threading.Thread(target=lambda: result.setdefault("owner", _owner_of(launch,
                                                                                  ours)),
                             daemon=True)  # it waits on for the right process: left there
    owner.start()
    with pytest.raises(CliError, match="did not accept this process's key.*same "
                                       "--secret-file or \\$KERAS_WGAN_SECRET"):
        with control_link.ControlLink.open(launching.Launch("127.0.0.1", port, 2, 1),
                                           theirs):
            pass
    assert "owner" not in result  # process 0 still waits for a process with its key


def _owner_of(launch, key):
    try:
        with control_link.ControlLink.open(launch, key):
            return "joined"
    except CliError as error:
        return str(error)


def test_the_key_comes_from_the_secret_file_the_variable_or_the_launch(tmp_path,
                                                                       monkeypatch):
    launch = launching.Launch("10.0.0.1", 1234, 2, 0)
    monkeypatch.delenv(connection.SECRET_VARIABLE, raising=False)
    derived, source = connection.run_key(launch)
    assert "derived from the coordinator and process count" in source
    assert connection.run_key(launching.Launch("10.0.0.1", 1234, 2, 1))[0] == derived
    assert connection.run_key(launching.Launch("10.0.0.1", 1234, 3, 0))[0] != derived
    monkeypatch.setenv(connection.SECRET_VARIABLE, "from the environment")
    key, source = connection.run_key(launch)
    assert key != derived and source == "$KERAS_WGAN_SECRET"
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(CliError, match="is empty; e.g. python3 -c"):
        connection.run_key(launch, str(tmp_path / "empty"))
    with pytest.raises(CliError, match="No such file or directory; give every machine"):
        connection.run_key(launch, str(tmp_path / "missing"))


def test_process_0_listens_on_the_coordinator_address_only():
    """Bound to 127.0.0.1, the control port is not open on this machine's other
    addresses (the wildcard bind it replaced answered on all of them)."""
    import socket

    port = launching.free_port_pair()
    launch = launching.Launch("127.0.0.1", port, 2, 0)
    started = threading.Event()

    def owner():
        started.set()
        _owner_of(launch, KEY)

    threading.Thread(target=owner, daemon=True).start()
    started.wait()
    deadline = time.monotonic() + 10
    while True:  # until process 0 listens
        try:
            socket.create_connection(("127.0.0.1", port + 1), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    with pytest.raises(OSError):  # another loopback address of this machine
        socket.create_connection(("127.0.0.2", port + 1), timeout=1).close()


def test_the_launch_comes_from_a_slurm_job_and_says_where_each_value_came_from():
    env = {"SLURM_JOB_ID": "4242", "SLURM_STEP_NODELIST": "gpu[07-09,12],login1",
           "SLURM_NTASKS": "4", "SLURM_PROCID": "3"}
    launch = launching.Launch.from_flags(None, None, None, environ=env)
    port = launching.slurm_port(4242)
    assert (launch.coordinator, launch.num_processes, launch.process_id) == (
        f"gpu07:{port}", 4, 3)
    assert launch.describe() == (
        f"Launch: coordinator gpu07:{port} (SLURM: first node of SLURM_STEP_NODELIST, port "
        "from SLURM_JOB_ID), 4 processes (SLURM_NTASKS), this is process 3 (SLURM_PROCID).")
    # Flags first, then Keras' variables, then SLURM's.
    env[launching.ENV_NUM_PROCESSES] = "4"
    launch = launching.Launch.from_flags("10.0.0.1:99", None, None, environ=env)
    assert launch.describe() == ("Launch: coordinator 10.0.0.1:99 (--coordinator), 4 "
                                 f"processes ({launching.ENV_NUM_PROCESSES}), this is "
                                 "process 3 (SLURM_PROCID).")
    for nodes, first in (("node001", "node001"), ("a,b", "a"), ("n[3,7-9]", "n3"),
                         ("login1,gpu[1-2]", "login1"), ("node[1-2]-ib", "node1-ib"),
                         ("node[1-2]-ib,login1", "node1-ib"), ("rack[2-3]-n[07-09]", "rack2-n07"),
                         ("gpu[07-09,12],login1", "gpu07")):
        env["SLURM_STEP_NODELIST"] = nodes
        assert launching.Launch.from_flags(None, 4, 0, environ=env).host == first


def test_no_slurm_jobs_control_port_is_another_jobs_coordinator_port():
    """Jobs on the same first node: job J's control port (coordinator + 1) must not be the
    coordinator port of any job, job J + 1's included."""
    jobs = range(100_000, 100_000 + 3 * launching.SLURM_PORT_PAIRS)
    coordinators = {launching.slurm_port(job) for job in jobs}
    assert all(61440 <= port and port + 1 <= 65535 for port in coordinators)
    assert not {port + 1 for port in coordinators} & coordinators
    assert launching.slurm_port(4243) != launching.slurm_port(4242) + 1
    assert len(coordinators) == launching.SLURM_PORT_PAIRS  # every pair of the range used


# ------------------------------------------------------- the handshake, the messages
def _connected(port, timeout=30):
    """A raw socket to process 0's control port, once it listens."""
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port + 1), timeout=10)
        except OSError:
            assert time.monotonic() < deadline, "process 0 never listened"
            time.sleep(0.05)


def test_a_client_that_trickles_bytes_holds_up_no_one(monkeypatch, capfd):
    """A client sends a byte every 0.3 s, each read well inside any per-read limit, and
    never finishes its handshake: process 0 cuts it off after the handshake's whole time
    and meanwhile admits the real process, which connected behind it."""
    from keras_wgan.cli.training import connection as wire

    monkeypatch.setattr(wire, "HANDSHAKE_TIMEOUT_S", 1.5)
    port = launching.free_port_pair()
    hello = {"process_id": 0, "command": {"--dim": 4}, "versions": {"keras": "3"}}
    stop = threading.Event()

    def trickle():
        with _connected(port) as sock:
            for byte in b"\x00\x00\x00\xff" + b"x" * 255:  # a 255-byte answer, slowly
                if stop.wait(0.3):
                    return
                try:
                    sock.sendall(bytes([byte]))
                except OSError:  # cut off
                    return

    slow = threading.Thread(target=trickle, daemon=True)
    slow.start()
    time.sleep(0.5)  # the trickler is first in line
    result = {}
    other = threading.Thread(target=_join, args=(launching.Launch("127.0.0.1", port, 2, 1),
                                                 {**hello, "process_id": 1}, result))
    started = time.monotonic()
    other.start()
    try:
        with control_link.ControlLink.open(launching.Launch("127.0.0.1", port, 2, 0),
                                           KEY) as link:
            link.agree(hello, {"dim": 4}, b"")
            took = time.monotonic() - started
            other.join(timeout=30)
            link.end_together()
    finally:
        stop.set()
    assert result.get("joined") == ({"dim": 4}, b""), result
    assert took < 10, took  # not behind the trickler's 78 s


def test_a_process_whose_handshake_is_cut_off_tries_again(monkeypatch):
    """A handshake that fails on the way (cut off, the connection reset) is tried again
    until the start-up deadline; only a refused key ends it at once."""
    port = launching.free_port_pair()
    hello = {"process_id": 0, "command": {"--dim": 4}, "versions": {"keras": "3"}}
    real, tries = control_link.authenticated, []

    def flaky(sock, key, owner):
        if not owner and not tries:
            tries.append("cut")
            sock.close()
            raise TimeoutError("the handshake took over 5 s")
        return real(sock, key, owner)

    monkeypatch.setattr(control_link, "authenticated", flaky)
    result = {}
    other = threading.Thread(target=_join, args=(launching.Launch("127.0.0.1", port, 2, 1),
                                                 {**hello, "process_id": 1}, result))
    other.start()
    with control_link.ControlLink.open(launching.Launch("127.0.0.1", port, 2, 0), KEY) as link:
        link.agree(hello, {"dim": 4}, b"")
        other.join(timeout=30)
        link.end_together()
    assert tries == ["cut"]
    assert result.get("joined") == ({"dim": 4}, b""), result


@pytest.mark.parametrize("send, expected", [
    (lambda c: c.send_bytes(b"[1, 2]"), "a header that is not a JSON object"),
    (lambda c: c.send_bytes(b"not json"), "a header that is not JSON"),
    (lambda c: c.send_bytes(b"x" * (2 << 20)), "a header longer than 1,048,576 bytes"),
    (lambda c: c.send_bytes(b'{"hello": 7, "payload": 0}'), "a malformed hello"),
    (lambda c: c.send_bytes(b'{"hello": {}, "payload": -1}'), "a payload size that is not"),
], ids=["list", "not json", "too long", "bad hello", "bad size"])
def test_a_malformed_message_at_start_up_is_a_clear_refusal(send, expected):
    """A client with the key that breaks the protocol: process 0 refuses with words, not
    a traceback, and reads no more than the bound."""
    port = launching.free_port_pair()
    hello = {"process_id": 0, "command": {"--dim": 4}, "versions": {"keras": "3"}}

    def client():
        connection = control_link.authenticated(_connected(port), KEY, owner=False)
        with contextlib.suppress(OSError):
            send(connection)
            connection.recv_bytes()  # until process 0 closes

    peer = threading.Thread(target=client, daemon=True)
    peer.start()
    with pytest.raises(CliError) as error:
        with control_link.ControlLink.open(launching.Launch("127.0.0.1", port, 2, 0),
                                           KEY) as link:
            link.agree(hello, {"dim": 4}, b"")
    assert expected in str(error.value)
    assert "every machine must run the same keras-wgan version" in str(error.value)
    peer.join(timeout=30)


def test_a_malformed_message_during_the_run_ends_the_run_with_words(monkeypatch, capfd):
    """After start-up, a peer's malformed message is a lost peer: the watcher says which
    and why, and ends the process with LOST_PEER_EXIT (it never dies silently)."""
    port = launching.free_port_pair()
    hello = {"process_id": 0, "command": {"--dim": 4}, "versions": {"keras": "3"}}
    ended = threading.Event()
    codes = []

    def exit_instead(code):  # the watcher's os._exit, seen and not taken
        codes.append(code)
        ended.set()
        raise SystemExit(code)

    monkeypatch.setattr(control_link.os, "_exit", exit_instead)

    def client():
        connection = control_link.authenticated(_connected(port), KEY, owner=False)
        connection.send_bytes(b'{"hello": {"process_id": 1, "command": {"--dim": 4}, '
                              b'"versions": {"keras": "3"}}, "payload": 0}')
        connection.recv_bytes()  # the settings
        connection.send_bytes(b'["not", "an", "object"]')
        ended.wait(30)

    peer = threading.Thread(target=client, daemon=True)
    peer.start()
    with control_link.ControlLink.open(launching.Launch("127.0.0.1", port, 2, 0), KEY) as link:
        link.agree(hello, {"dim": 4}, b"")
        assert ended.wait(30)
        link.end_together()
    assert codes == [control_link.LOST_PEER_EXIT]
    err = capfd.readouterr().err
    assert "lost process 1 of 2 (it sent a malformed control message: a header that is " \
           "not a JSON object" in err
