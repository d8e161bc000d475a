"""The control link of a multi-process run: beside JAX's runtime, for what it cannot do.

Process 0 listens on the coordinator's address, port + 1 (that interface only, not every
interface). Every connection is authenticated first (:mod:`.connection`: the key, the
handshake, the messages): a client without the run's key is dropped before a byte of
the run is sent, and the run goes on as if it had never connected.

At start-up each process shows process 0 its command line and package versions
(:mod:`.hello`: :func:`~.hello.difference` names the first mismatch, which every
process refuses); process 0 then sends the run's settings and the checkpoint to resume from.
While training, the link carries heartbeats: a killed process closes its connection at
once, a silent one is declared lost after :data:`SILENCE_LIMIT_S`, and the survivors
print which process was lost and how to resume, then exit with :data:`LOST_PEER_EXIT`
(nothing waits forever on a collective that cannot complete). An error on one process
reaches the others with its message and exit code.
"""

import contextlib
import multiprocessing
import os
import queue
import socket
import sys
import threading
import time

from keras_wgan.cli.common import PROG, CliError
from keras_wgan.cli.training.connection import (
    SECRET_VARIABLE,
    BadMessage,
    Connection,
    address_family,
    authenticated,
)
from keras_wgan.cli.training.hello import difference

# Heartbeats on the control link: one every HEARTBEAT_EVERY_S from a thread that runs
# while the main thread computes (JAX releases the GIL), so a healthy process never goes
# quiet for long. SILENCE_LIMIT_S (15 missed beats) tolerates a loaded machine's stalls
# and bounds the wait for one that vanished without closing its connections.
HEARTBEAT_EVERY_S = 2.0
SILENCE_LIMIT_S = 30.0
# How long every process waits for all the others at start-up (JAX's default too).
STARTUP_TIMEOUT_S = 300.0
# Exit code of a process whose peer was lost (EX_TEMPFAIL: resume when all are back).
LOST_PEER_EXIT = 75


def _startup_message(connection, expected, who, on_error=None):
    """The next start-up message from ``connection`` (``who``, in words), which must hold
    ``expected``; one holding "error" goes to ``on_error``. Refusals are CliErrors."""
    try:
        message, payload = connection.receive()
    except BadMessage as error:
        raise CliError(f"{who} sent a malformed control message during start-up ({error}): "
                       "every machine must run the same keras-wgan version") from None
    if message is None:
        raise CliError(f"{who} closed its control connection during start-up; see its "
                       "output")
    if "error" in message and on_error is not None:
        on_error(message["error"])
    if expected not in message:
        raise CliError(f"{who} sent a control message without {expected!r} during "
                       "start-up: every machine must run the same keras-wgan version")
    return message, payload


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


class ControlLink:
    """Process 0's connections to every other process, or another's to process 0.

    Use :meth:`open` as a context manager: an exception leaving it (a refusal, a failed
    load) is sent to the peers, which stop with its message instead of waiting. Its
    state changes only through its methods: :meth:`runtime_joined`,
    :meth:`watch_for`, :meth:`end_together`.
    """

    def __init__(self, launch, key):
        self.launch = launch
        self.key = key
        self.peers = {}  # process id -> Connection
        self.save_lock = threading.Lock()  # held while process 0 writes a checkpoint
        self._on_stop_request = None  # owner: called with (reason, process id)
        self._describe_loss = None  # called with the lost id: the lines to print
        self._runtime_started = False  # JAX's runtime is joined: errors end the process
        self._clean_end = False  # this process ends with the others (agreed)
        self._pending = []  # process 0: the connections accepted, before the hellos
        self._closing = False
        self._told = False  # the peers were told why this process stops

    # ---- start-up
    @classmethod
    @contextlib.contextmanager
    def open(cls, launch, key):
        link = cls(launch, key)
        try:
            if launch.is_owner:
                link._accept_all()
            else:
                link._connect()
            yield link
        except BaseException as error:
            link._tell_peers_about(error)
            if link._runtime_started:
                _exit_now(error)
            raise
        finally:
            link.close()

    def _accept_all(self):
        """Accept and authenticate the others until all have joined: each handshake runs
        in a thread of its own, bounded as a whole, so a slow or silent client holds up
        no one; the start-up deadline is checked while waiting."""
        address = (self.launch.host, self.launch.control_port)
        try:
            server = socket.create_server(address, family=address_family(self.launch.host))
        except OSError as error:
            raise CliError(
                f"process 0 cannot listen on {self.launch.host}:{self.launch.control_port} "
                f"(the control link uses the --coordinator port + 1, on the coordinator's "
                f"address): {error.strerror or error}; --coordinator must name this "
                f"machine and a free port, e.g. --coordinator {self.launch.host}:"
                f"{self.launch.port + 10}") from None
        server.settimeout(0.2)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        done = queue.Queue()  # (connection or None, the client's address)

        def handshake(sock, where):
            try:
                done.put((authenticated(sock, self.key, owner=True), where))
            except (multiprocessing.AuthenticationError, OSError, EOFError):
                done.put((None, where))

        try:
            while len(self._pending) < self.launch.num_processes - 1:
                if time.monotonic() > deadline:
                    raise CliError(self._startup_timeout(len(self._pending)))
                try:
                    sock, where = server.accept()
                    threading.Thread(target=handshake, args=(sock, where), daemon=True,
                                     name="keras-wgan-handshake").start()
                except socket.timeout:
                    pass
                with contextlib.suppress(queue.Empty):
                    while True:
                        connection, where = done.get_nowait()
                        if connection is not None:
                            self._pending.append(Connection(connection))
                            continue
                        print(f"warning: a connection from {where[0]} to the control link "
                              "was dropped: it did not prove it holds the run's key, or not "
                              "in time (a stray client, or a process with another "
                              "--secret-file).", file=sys.stderr, flush=True)
        finally:
            server.close()

    def _connect(self):
        """Connect to process 0 and authenticate, trying again until the start-up
        deadline while process 0 is not there or cuts a handshake off (it may be busy
        starting); a refused key ends at once."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        address = (self.launch.host, self.launch.control_port)
        while True:
            try:
                sock = socket.create_connection(address, timeout=5.0)
                connection = authenticated(sock, self.key, owner=False)
                break
            except multiprocessing.AuthenticationError:
                raise CliError(
                    f"process 0 at {address[0]}:{address[1]} did not accept this process's "
                    f"key (or did not prove it holds it): every machine needs the same "
                    f"secret, the same --secret-file or ${SECRET_VARIABLE} (or neither, and "
                    "the same --coordinator and --num-processes)") from None
            except (OSError, EOFError):  # not listening yet, or the handshake was cut off
                if time.monotonic() > deadline:
                    raise CliError(self._startup_timeout(None)) from None
                time.sleep(0.5)
        self.peers[0] = Connection(connection, 0)

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
            message, _ = _startup_message(connection, "hello", "a process")
            theirs = message["hello"]
            if not (isinstance(theirs, dict) and isinstance(theirs.get("process_id"), int)
                    and isinstance(theirs.get("command"), dict)
                    and isinstance(theirs.get("versions"), dict)):
                raise CliError("a process sent a malformed hello during start-up (not its "
                               "process id, command and versions): every machine must run "
                               "the same keras-wgan version")
            pid = theirs["process_id"]
            if pid in seen or pid == 0:
                raise CliError(f"two processes have --process-id {pid}: give each machine "
                               f"its own, 0 to {self.launch.num_processes - 1}")
            connection.process_id = pid
            seen[pid], hellos[pid] = connection, theirs
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
        message, payload = _startup_message(connection, "settings", "process 0",
                                            self._refused)
        if not isinstance(message["settings"], dict):
            raise CliError("process 0 sent malformed settings during start-up: every "
                           "machine must run the same keras-wgan version")
        self._start_watching()
        return message["settings"], payload

    def _refused(self, text):
        """Process 0 refused this process at start-up: nothing to tell it back."""
        self._told = True
        raise CliError(str(text))

    def runtime_joined(self):
        """JAX's runtime is joined: from now on an error ends this process at once (its
        exit would wait on the others), after telling them."""
        self._runtime_started = True

    def watch_for(self, on_stop_request, describe_loss):
        """What to call when a peer asks to stop (process 0: ``(reason, process id)``),
        and the lines to print when one is lost (``describe_loss(process id)``)."""
        self._on_stop_request, self._describe_loss = on_stop_request, describe_loss

    def end_together(self):
        """This process ends with the others (the target, or an agreed stop): its
        goodbye is not a fault."""
        self._clean_end = True

    @property
    def ended_together(self):
        return self._clean_end

    # ---- during the run
    def _start_watching(self):
        import selectors

        selector = selectors.DefaultSelector()  # filled here, before anything can close
        for connection in self.peers.values():
            selector.register(connection.fileno(), selectors.EVENT_READ, connection)
        for target, args in ((self._beat, ()), (self._watch, (selector,))):
            threading.Thread(target=target, args=args, daemon=True,
                             name="keras-wgan-control").start()

    def _beat(self):
        while not self._closing:
            for connection in list(self.peers.values()):
                with contextlib.suppress(OSError):
                    connection.send({"beat": True})
            time.sleep(HEARTBEAT_EVERY_S)

    def _watch(self, selector):
        """The watcher thread: it never ends silently. Without it a lost process would go
        unnoticed, so if it fails, this process says why and stops (telling the others)."""
        try:
            self._watch_connections(selector)
        except Exception as error:  # noqa: BLE001 - reported, then the process ends
            if not self._closing:
                self._watcher_failed(error)

    def _watch_connections(self, selector):
        while not self._closing:
            try:
                ready = selector.select(timeout=1.0)
            except (OSError, ValueError):  # closed under it: the link is ending
                return
            for key, _ in ready:
                connection = key.data
                try:
                    message, _ = connection.receive()
                except BadMessage as error:
                    if self._closing:
                        return
                    self._lost(connection.process_id,
                               f"it sent a malformed control message: {error}")
                    return
                except (OSError, EOFError):
                    message = None
                if self._closing:
                    return
                if message is None:
                    self._lost(connection.process_id, "its control connection closed: "
                                                      "killed or crashed")
                elif "bye" in message:
                    selector.unregister(key.fd)
                elif "error" in message:
                    code = message.get("code")
                    self._peer_stopped(connection.process_id, str(message["error"]),
                                       code if isinstance(code, int) and 0 < code < 256
                                       else 1)
                elif "stop" in message and self._on_stop_request is not None:
                    self._on_stop_request(str(message["stop"]), connection.process_id)
            now = time.monotonic()
            for key in list(selector.get_map().values()):
                connection = key.data
                if now - connection.last_heard > SILENCE_LIMIT_S:
                    self._lost(connection.process_id,
                               f"no heartbeat for {SILENCE_LIMIT_S:.0f} s: its machine or "
                               "the network is down")

    def _watcher_failed(self, error):
        """Say that the watcher failed and why, tell the others, and end this process."""
        import traceback

        self.save_lock.acquire(timeout=60.0)
        traceback.print_exception(error)
        print(f"\n{PROG} train: error: the control link's watcher failed ({type(error).__name__}: "
              f"{error}); without it a lost process would go unnoticed, so this process "
              "stops.", file=sys.stderr, flush=True)
        self._tell_peers_about(f"its control link's watcher failed ({error})")
        sys.stdout.flush()
        os._exit(1)

    def _lost(self, process_id, why):
        """Say which process was lost and how to resume, then end this process: the
        main thread may be inside a collective that can never complete."""
        # Not in the middle of writing a checkpoint (the file is replaced atomically
        # anyway; this only keeps the temporary file from being left behind).
        self.save_lock.acquire(timeout=60.0)
        lines = self._describe_loss(process_id) if self._describe_loss else ""
        print(f"\n{PROG} train: error: lost process {process_id} of "
              f"{self.launch.num_processes} ({why}).{lines}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(LOST_PEER_EXIT)

    def _peer_stopped(self, process_id, text, code):
        """Another process stopped with an error (a refusal: exit 2; a failure: 1):
        say it, with how to resume once training has begun, and stop too."""
        self.save_lock.acquire(timeout=60.0)
        lines = self._describe_loss(process_id) if self._describe_loss else ""
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
        if not self._clean_end and self._runtime_started:
            self._tell_peers_about("it ended before the run did; see its output")
        self._closing = True
        connections = list(self.peers.values()) or self._pending
        for connection in connections:
            with contextlib.suppress(OSError):
                if not self._told:
                    connection.send({"bye": True})
        for connection in connections:
            connection.close()
