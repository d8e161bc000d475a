"""Several processes, one run: ``keras-wgan train --distribute multi-process``.

Every machine runs the same command; only ``--process-id`` differs. The training itself is
JAX's multi-process runtime with ``keras.distribution.DataParallel`` (gradients all-reduced
by the runtime's collectives: gloo on CPU hosts). Around it this module keeps four promises:

- **One owner.** Process 0 owns ``--out``: it resolves the run's settings (a resume reads
  them from its ``config.json``) and sends them, with the checkpoint to resume from, to the
  others, which write nothing there and need not see its file system.
- **Start-up agreement.** Before JAX's runtime starts, each process connects to process 0
  over a *control link* (TCP, the coordinator's port + 1) and shows its command line and
  package versions; any difference is refused on every process, naming the flag.
- **Stops at the same step.** A stop (Ctrl-C or SIGTERM on any process) goes to process 0,
  which broadcasts its decision at every step's end (:class:`StepAgreement`, one small
  collective), so every process ends after the same step and process 0 saves it.
- **Faults.** The link carries heartbeats. A killed process closes its connection at once
  and the others stop within about a second; a machine that goes silent is declared lost
  after :data:`SILENCE_LIMIT_S`. The survivors print which process was lost and the
  command that resumes, then exit with :data:`LOST_PEER_EXIT` (nothing waits forever on a
  collective that cannot complete).
"""

import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

from keras_wgan.cli.common import PROG, CliError

MULTI_PROCESS = "multi-process"
# Heartbeats on the control link: one every HEARTBEAT_EVERY_S from a thread that runs
# while the main thread computes (JAX releases the GIL), so a healthy process never goes
# quiet for long. SILENCE_LIMIT_S (15 missed beats) tolerates a loaded machine's stalls
# and bounds the wait for one that vanished without closing its connections.
HEARTBEAT_EVERY_S = 2.0
SILENCE_LIMIT_S = 30.0
# JAX's own heartbeat timeout is longer, so the control link names a lost process before
# JAX's coordination service aborts the survivors with an internal error.
JAX_HEARTBEAT_TIMEOUT_S = 100
# How long every process waits for all the others at start-up (JAX's default too).
STARTUP_TIMEOUT_S = 300.0
# Exit code of a process whose peer was lost (EX_TEMPFAIL: resume when all are back).
LOST_PEER_EXIT = 75
# The environment variables Keras' own keras.distribution.initialize() reads.
ENV_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
ENV_NUM_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
ENV_PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"


# ------------------------------------------------------------------ the launch


@dataclass(frozen=True)
class Launch:
    """Where this process stands in the job: the coordinator, the count, its id."""

    host: str
    port: int
    num_processes: int
    process_id: int
    from_environment: bool = False

    @property
    def coordinator(self):
        return f"{self.host}:{self.port}"

    @property
    def is_owner(self):
        return self.process_id == 0

    @property
    def control_port(self):
        return self.port + 1

    def flags(self):
        """This process's launch flags (none when they came from the environment)."""
        if self.from_environment:
            return ""
        return (f" --distribute {MULTI_PROCESS} --coordinator {self.coordinator} "
                f"--num-processes {self.num_processes} --process-id {self.process_id}")

    def resume_note(self):
        if self.from_environment:
            return (f" --distribute {MULTI_PROCESS}, on every machine with its "
                    f"{ENV_ADDRESSES} / {ENV_NUM_PROCESSES} / {ENV_PROCESS_ID} as before")
        return f" (each machine with its own --process-id, 0 to {self.num_processes - 1})"

    @classmethod
    def from_flags(cls, coordinator, num_processes, process_id):
        """The launch from the flags, each missing one from Keras' environment variables."""
        env = os.environ
        from_env = coordinator is None
        if coordinator is None:
            coordinator = (env.get(ENV_ADDRESSES) or "").split(",")[0].strip() or None
        if num_processes is None and env.get(ENV_NUM_PROCESSES):
            num_processes = _int_setting(ENV_NUM_PROCESSES, env[ENV_NUM_PROCESSES])
        if process_id is None and env.get(ENV_PROCESS_ID):
            process_id = _int_setting(ENV_PROCESS_ID, env[ENV_PROCESS_ID])
        example = (f"{PROG} train --backend jax --distribute {MULTI_PROCESS} --coordinator "
                   "10.0.0.1:1234 --num-processes 2 --process-id 0 (1 on the other machine)")
        missing = [name for name, value in (("--coordinator", coordinator),
                                            ("--num-processes", num_processes),
                                            ("--process-id", process_id)) if value is None]
        if missing:
            raise CliError(
                f"--distribute {MULTI_PROCESS} needs {', '.join(missing)} (or Keras' "
                f"{ENV_ADDRESSES}, {ENV_NUM_PROCESSES}, {ENV_PROCESS_ID}); e.g. {example}"
            )
        host, _, port = coordinator.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65535:
            raise CliError(f"--coordinator {coordinator!r} must be HOST:PORT, the address of "
                           f"process 0's machine and a free port (PORT+1 is used too); "
                           f"e.g. {example}")
        if num_processes < 1:
            raise CliError(f"--num-processes must be >= 1, got {num_processes}; e.g. {example}")
        if not 0 <= process_id < num_processes:
            raise CliError(f"--process-id {process_id} must be in 0..{num_processes - 1} for "
                           f"--num-processes {num_processes}; e.g. {example}")
        return cls(host, int(port), int(num_processes), int(process_id),
                   from_environment=from_env)


def free_port_pair(host="127.0.0.1"):
    """A port P of ``host`` with P+1 free too: a ``--coordinator`` for processes tried
    on one machine (JAX's coordinator takes P, the control link P+1)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind((host, 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind((host, port + 1))
                except OSError:
                    continue
        return port
    raise OSError(f"no two free consecutive ports on {host}")


def _int_setting(name, text):
    try:
        return int(text)
    except ValueError:
        raise CliError(f"{name}={text!r} must be an integer.") from None


def versions():
    """The package versions every process must share."""
    from importlib import metadata

    from keras_wgan import __version__

    found = {"keras-wgan": __version__}
    for package in ("keras", "jax", "jaxlib"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def difference(ours, theirs, process_id):
    """The first difference between process 0's hello and another's, in words, or None."""
    for key in sorted(set(ours["command"]) | set(theirs["command"])):
        a, b = ours["command"].get(key), theirs["command"].get(key)
        if a != b:
            shown = lambda value: "(not given)" if value is None else repr(value)  # noqa: E731
            return (f"process {process_id} runs with {key} {shown(b)} where process 0 "
                    f"runs with {key} {shown(a)}: every process runs the same command, "
                    "only --process-id differs")
    for package in sorted(ours["versions"]):
        a, b = ours["versions"][package], theirs["versions"].get(package)
        if a != b:
            return (f"process {process_id} has {package} {b} where process 0 has {a}: "
                    f"install the same versions on every machine (pip install "
                    f"{package}=={a})")
    return None


# -------------------------------------------------------------- the control link


def _exit_now(error):
    """Report ``error`` as the command line would and end the process without JAX's
    exit barrier (which would wait for the processes just told to stop)."""
    import traceback

    if isinstance(error, CliError):
        print(f"{PROG} train: error: {error}", file=sys.stderr)
        code = 2
    elif isinstance(error, KeyboardInterrupt):
        code = 130
    else:
        traceback.print_exception(error)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class _Connection:
    """One peer's socket: JSON lines, a raw payload after a header that gives its size."""

    def __init__(self, sock, process_id=None):
        self.sock = sock
        self.process_id = process_id
        self.reader = sock.makefile("rb")
        self.send_lock = threading.Lock()
        self.last_heard = time.monotonic()

    def send(self, message, payload=b""):
        data = json.dumps({**message, "payload": len(payload)}).encode() + b"\n" + payload
        with self.send_lock:
            self.sock.sendall(data)

    def receive(self):
        """The next message and its payload; (None, b"") when the peer closed."""
        line = self.reader.readline()
        if not line:
            return None, b""
        message = json.loads(line)
        size = message.pop("payload", 0)
        payload = self.reader.read(size) if size else b""
        if len(payload) != size:
            return None, b""
        self.last_heard = time.monotonic()
        return message, payload

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()


class ControlLink:
    """Process 0's connections to every other process, or another's to process 0.

    Use :meth:`open` as a context manager: an exception leaving it (a refusal, a failed
    load) is sent to the peers, which stop with its message instead of waiting.
    """

    def __init__(self, launch):
        self.launch = launch
        self.peers = {}  # process id -> _Connection
        self.on_stop_request = None  # owner: called with (reason, process id)
        self.describe_loss = None  # called with the lost id: the lines to print
        self.save_lock = threading.Lock()  # held while process 0 writes a checkpoint
        self.runtime_started = False  # set once JAX's runtime is joined
        self.clean_end = False  # set when this process ends with the others (agreed)
        self._pending = []  # process 0: the connections accepted, before the hellos
        self._closing = False
        self._told = False  # the peers were told why this process stops

    # ---- start-up
    @classmethod
    @contextlib.contextmanager
    def open(cls, launch):
        link = cls(launch)
        try:
            if launch.is_owner:
                link._accept_all()
            else:
                link._connect()
            yield link
        except BaseException as error:
            link._tell_peers_about(error)
            if link.runtime_started:
                _exit_now(error)
            raise
        finally:
            link.close()

    def _accept_all(self):
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind(("", self.launch.control_port))
        except OSError as error:
            raise CliError(
                f"process 0 cannot listen on port {self.launch.control_port} (the control "
                f"link uses the --coordinator port + 1): {error.strerror or error}; choose "
                f"another port, e.g. --coordinator {self.launch.host}:"
                f"{self.launch.port + 10}") from None
        server.listen(self.launch.num_processes)
        server.settimeout(1.0)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        try:
            while len(self._pending) < self.launch.num_processes - 1:
                if time.monotonic() > deadline:
                    raise CliError(self._startup_timeout(len(self._pending)))
                try:
                    sock, _ = server.accept()
                except socket.timeout:
                    continue
                sock.settimeout(None)
                self._pending.append(_Connection(sock))
        finally:
            server.close()

    def _connect(self):
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        address = (self.launch.host, self.launch.control_port)
        while True:
            try:
                sock = socket.create_connection(address, timeout=5.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise CliError(self._startup_timeout(None)) from None
                time.sleep(0.5)
        sock.settimeout(None)
        self.peers[0] = _Connection(sock, 0)

    def _startup_timeout(self, joined):
        waited = f"{STARTUP_TIMEOUT_S:.0f} s"
        if joined is None:
            return (f"no answer from process 0 at {self.launch.host}:"
                    f"{self.launch.control_port} for {waited}: start the same command with "
                    "--process-id 0 on the --coordinator machine (and check the address "
                    "and that the port and the next one are open)")
        return (f"only {joined} of the {self.launch.num_processes - 1} other processes "
                f"joined in {waited}: start the same command on every machine with "
                f"--process-id 1 to {self.launch.num_processes - 1}")

    def agree(self, hello, settings, checkpoint=b""):
        """Process 0: check every other process's ``hello`` against its own, then send
        the run's ``settings`` and the checkpoint bytes to resume from."""
        seen, hellos = {}, {}
        for connection in self._pending:
            message, _ = connection.receive()
            if message is None or "hello" not in message:
                raise CliError("a process closed its control connection during start-up; "
                               "see its output")
            pid = message["hello"]["process_id"]
            if pid in seen or pid == 0:
                raise CliError(f"two processes have --process-id {pid}: give each machine "
                               f"its own, 0 to {self.launch.num_processes - 1}")
            connection.process_id = pid
            seen[pid], hellos[pid] = connection, message["hello"]
        self.peers = seen
        for pid in sorted(hellos):
            problem = difference(hello, hellos[pid], pid)
            if problem:
                raise CliError(problem)
        for connection in self.peers.values():
            connection.send({"settings": settings}, checkpoint)
        self._start_watching()

    def join(self, hello):
        """Another process: show process 0 our ``hello``; ``(settings, checkpoint bytes)``."""
        connection = self.peers[0]
        connection.send({"hello": hello})
        message, payload = connection.receive()
        if message is None:
            raise CliError("process 0 closed the control link during start-up; see its output")
        if "error" in message:
            self._told = True  # process 0 refused: nothing to tell it
            raise CliError(message["error"])
        self._start_watching()
        return message["settings"], payload

    # ---- during the run
    def _start_watching(self):
        for target in (self._beat, self._watch):
            threading.Thread(target=target, daemon=True, name="keras-wgan-control").start()

    def _beat(self):
        while not self._closing:
            for connection in list(self.peers.values()):
                with contextlib.suppress(OSError):
                    connection.send({"beat": True})
            time.sleep(HEARTBEAT_EVERY_S)

    def _watch(self):
        import selectors

        selector = selectors.DefaultSelector()
        for connection in self.peers.values():
            selector.register(connection.sock, selectors.EVENT_READ, connection)
        while not self._closing:
            for key, _ in selector.select(timeout=1.0):
                connection = key.data
                try:
                    message, _ = connection.receive()
                except (OSError, ValueError):
                    message = None
                if self._closing:
                    return
                if message is None:
                    self._lost(connection.process_id, "its control connection closed: "
                                                      "killed or crashed")
                elif "bye" in message:
                    selector.unregister(connection.sock)
                elif "error" in message:
                    self._peer_stopped(connection.process_id, message["error"],
                                       message.get("code", 1))
                elif "stop" in message and self.on_stop_request is not None:
                    self.on_stop_request(message["stop"], connection.process_id)
            now = time.monotonic()
            for key in list(selector.get_map().values()):
                connection = key.data
                if now - connection.last_heard > SILENCE_LIMIT_S:
                    self._lost(connection.process_id,
                               f"no heartbeat for {SILENCE_LIMIT_S:.0f} s: its machine or "
                               "the network is down")

    def _lost(self, process_id, why):
        """Say which process was lost and how to resume, then end this process: the
        main thread may be inside a collective that can never complete."""
        # Not in the middle of writing a checkpoint (the file is replaced atomically
        # anyway; this only keeps the temporary file from being left behind).
        self.save_lock.acquire(timeout=60.0)
        lines = self.describe_loss(process_id) if self.describe_loss else ""
        print(f"\n{PROG} train: error: lost process {process_id} of "
              f"{self.launch.num_processes} ({why}).{lines}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(LOST_PEER_EXIT)

    def _peer_stopped(self, process_id, text, code):
        """Another process stopped with an error (a refusal: exit 2; a failure: 1):
        say it, with how to resume once training has begun, and stop too."""
        self.save_lock.acquire(timeout=60.0)
        lines = self.describe_loss(process_id) if self.describe_loss else ""
        print(f"\n{PROG} train: error: process {process_id} stopped: {text}.{lines}",
              file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(code)

    def request_stop(self, reason):
        """Another process: ask process 0 to stop every process after the same step."""
        with contextlib.suppress(OSError):
            self.peers[0].send({"stop": reason})

    # ---- the end
    def _tell_peers_about(self, error):
        """Send the others why this process stops: ``error`` (an exception or words)."""
        if self._told:
            return
        self._told = True
        code = 2 if isinstance(error, CliError) else 1
        if isinstance(error, (CliError, str)):
            text = str(error)
        elif isinstance(error, (KeyboardInterrupt, SystemExit)):
            text = "interrupted"
        else:
            text = f"{type(error).__name__}: {error}"
        for connection in list(self.peers.values()) or self._pending:
            with contextlib.suppress(OSError):
                connection.send({"error": text, "code": code})

    def abandon(self, code):
        """End this process alone (exit ``code``), telling the others first: JAX's
        runtime would otherwise wait for them at exit."""
        self._tell_peers_about(f"it ended alone (exit code {code})")
        self._closing = True
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    def close(self):
        """Say goodbye after an agreed end (a normal end is not a fault), or that this
        process stopped alone; then close the connections."""
        if not self.clean_end and self.runtime_started:
            self._tell_peers_about("it ended before the run did; see its output")
        self._closing = True
        connections = list(self.peers.values()) or self._pending
        for connection in connections:
            with contextlib.suppress(OSError):
                if not self._told:
                    connection.send({"bye": True})
        for connection in connections:
            connection.close()


# ------------------------------------------------------------------- the runtime


def start_runtime(launch):
    """Join JAX's multi-process runtime; the data-parallel distribution over every
    process's devices. CPU hosts all-reduce with gloo unless the user chose otherwise."""
    import jax

    if "JAX_CPU_COLLECTIVES_IMPLEMENTATION" not in os.environ:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=launch.coordinator,
        num_processes=launch.num_processes,
        process_id=launch.process_id,
        initialization_timeout=int(STARTUP_TIMEOUT_S),
        heartbeat_timeout_seconds=JAX_HEARTBEAT_TIMEOUT_S,
    )
    import keras

    return keras.distribution.DataParallel()


@contextlib.contextmanager
def unshared():
    """Process 0 alone (saving, sample grids): outside the distribution, whose variable
    creation and computations would wait for the other processes. The replicated weights
    are read from this process's own copy."""
    import keras

    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(previous)


def owner_checkpoint(link, *args, **kwargs):
    """Process 0's :class:`TrainingCheckpoint`: it saves outside the distribution and
    never while the control link is ending the process."""
    from keras_wgan.checkpoints import TrainingCheckpoint

    class OwnerCheckpoint(TrainingCheckpoint):
        def save_state(self, state):
            with link.save_lock, unshared():
                super().save_state(state)

    return OwnerCheckpoint(*args, **kwargs)


def peer_checkpoint(*args, **kwargs):
    """Another process's :class:`TrainingCheckpoint`: it follows the run's position and
    stops with process 0, and writes nothing (process 0 saves the replicated state)."""
    from keras_wgan.checkpoints import TrainingCheckpoint

    class PeerCheckpoint(TrainingCheckpoint):
        def _save_position(self):  # no weights to read: only the position is kept
            self.save_state(self._current_state())

        def save_state(self, state):
            self._saved_epoch = state.epoch
            self._last_save_time = time.monotonic()
            self.state = state

    return PeerCheckpoint(*args, **kwargs)


def owner_only(callback):
    """``callback`` run on process 0 alone, outside the distribution (see :func:`unshared`)."""
    import keras

    class OwnerOnly(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.inner = callback

        def set_model(self, model):
            super().set_model(model)
            callback.set_model(model)

        def set_params(self, params):
            super().set_params(params)
            callback.set_params(params)

        def __getattr__(self, name):  # on_resume, last_path, plot_path, ...
            if name == "inner":
                raise AttributeError(name)
            return getattr(self.inner, name)

    def forward(hook):
        def method(self, *args, **kwargs):
            with unshared():
                return getattr(callback, hook)(*args, **kwargs)
        return method

    for hook in ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
                 "on_train_batch_begin", "on_train_batch_end"):
        setattr(OwnerOnly, hook, forward(hook))
    return OwnerOnly()


class StepAgreement:
    """At every step's end, process 0's stop decision broadcast to every process, so
    they all stop after the same step (a process that stopped alone would leave the
    others waiting in the next step's collectives). One collective of three integers.

    ``request_stop`` is what the signal handlers call (on process 0 directly; another
    process forwards its signal over the control link)."""

    def __init__(self, checkpoint, link):
        import keras
        from jax.experimental import multihost_utils

        self.checkpoint, self.link = checkpoint, link
        self._broadcast = multihost_utils.broadcast_one_to_all
        self._pending = None  # (signal name, process id)
        agreement = self

        class Agree(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                agreement.agree()

        self.callback = Agree()

    @property
    def stop_requested(self):
        return self._pending is not None or self.checkpoint.stopped_by is not None

    def request_stop(self, reason, process_id=None):
        if not self.link.launch.is_owner:
            self.link.request_stop(reason)
        elif self._pending is None:
            self._pending = (reason, self.link.launch.process_id if process_id is None
                             else process_id)

    def agree(self):
        import numpy as np

        pending = self._pending if self.link.launch.is_owner else None
        number = int(getattr(signal, pending[0], signal.SIGINT)) if pending else 0
        decision = np.asarray(self._broadcast(
            np.array([1 if pending else 0, number, pending[1] if pending else 0], np.int32)))
        if decision[0]:
            self._pending = None
            name = signal.Signals(int(decision[1])).name
            where = "" if int(decision[2]) == 0 else f" on process {int(decision[2])}"
            self.checkpoint.request_stop(f"{name}{where}")


class Team:
    """This process's part in a multi-process run, as ``cli/train.py`` uses it."""

    def __init__(self, launch, link, resume_from=b""):
        self.launch, self.link, self.resume_from = launch, link, resume_from
        self.agreement = None
        self._received = None

    @property
    def is_owner(self):
        return self.launch.is_owner

    def received_run(self):
        """Another process: a private RunDirectory holding the checkpoint process 0 sent
        (None for a fresh run). Outside ``--out``, which only process 0 writes."""
        from keras_wgan.cli.run_directory import MODEL_FILE, RunDirectory

        if not self.resume_from:
            return None
        if self._received is None:
            self._received = tempfile.TemporaryDirectory(prefix="keras-wgan-resume-")
            with open(os.path.join(self._received.name, MODEL_FILE), "wb") as f:
                f.write(self.resume_from)
        return RunDirectory(self._received.name)

    def checkpoint(self, path, **kwargs):
        if self.is_owner:
            return owner_checkpoint(self.link, path, **kwargs)
        return peer_checkpoint(path, **kwargs)

    def watch(self, checkpoint, run, resume, alone):
        """Agree on stops per step, and say how to resume if a process is lost."""
        self.agreement = StepAgreement(checkpoint, self.link)
        self.link.on_stop_request = lambda reason, pid: self.agreement.request_stop(reason, pid)

        def describe_loss(process_id):
            if self.is_owner:
                kept = f"{run.model_path} holds {run.position()}"
                also = f"\nor on this machine alone:\n  {alone}"
            else:
                kept = f"process 0 keeps the run in its {run.path}"
                also = ""
            return (f" {kept}; when every machine is back, resume with:\n  {resume}{also}")

        self.link.describe_loss = describe_loss

    def check_same_data(self, settings, dataset, steps):
        """Refuse, on every process, data that differs from process 0's: its epoch
        length, or a checksum of its first global batch (a different folder, file or
        dataset version on one machine would otherwise train on other batches).
        ``dataset`` is not iterated again: a second pass would be shuffled otherwise."""
        import numpy as np
        from jax.experimental import multihost_utils

        first = next(iter(dataset.take(1)))
        images = np.asarray(first[0] if isinstance(first, tuple) else first, np.float64)
        mine = np.array([steps, images.sum(), np.square(images).sum()], np.float64)
        every = np.asarray(multihost_utils.process_allgather(mine)).reshape(-1, 3)
        differ = [pid for pid in range(len(every))
                  if not np.allclose(every[pid], every[0], rtol=1e-6, atol=1e-6)]
        if differ:
            raise CliError(
                f"--dataset {settings['dataset']!r} differs on process(es) "
                f"{', '.join(map(str, differ))} from process 0's (its batches per epoch "
                f"or its first batch): every machine must read the same data, a copy or a "
                "shared folder with the same files, or the same TFDS name and version"
            )

    def await_verdict(self, error):
        """After a failed collective (a peer's connection broke), give the control link
        the moment it needs to name the lost process (it then ends this process);
        return at once for any other error, or when no process was lost."""
        import jax

        if isinstance(error, jax.errors.JaxRuntimeError):
            time.sleep(2 * HEARTBEAT_EVERY_S)
