"""One connection of the control link: the run's key, the handshake, the messages.

Every connection is authenticated first, by the standard library's
``multiprocessing.connection`` challenge (HMAC of a random message with a shared key,
both ways): a client without the run's key is dropped before a byte of the run is sent
(:func:`run_key` says where the key comes from). Messages are the library's
length-prefixed byte messages: a JSON header, then the payload (a checkpoint) as a
message of its own.
"""

import contextlib
import hashlib
import json
import multiprocessing.connection
import os
import socket
import threading
import time

from keras_wgan.cli.common import CliError

# How long a whole handshake may take (not each read: a client that trickles a byte at a
# time is cut off at this deadline too). Process 0 runs handshakes side by side, so a
# slow one holds up no other; a process whose handshake was cut off tries again.
HANDSHAKE_TIMEOUT_S = 5.0
# The largest message a peer may send: a header is a small JSON object (the command
# line, the settings), a payload is a checkpoint. Anything longer is refused unread.
MAX_HEADER_BYTES = 1 << 20
MAX_PAYLOAD_BYTES = 1 << 33
# The run's secret, when not in a --secret-file: the variable that holds it.
SECRET_VARIABLE = "KERAS_WGAN_SECRET"


def run_key(launch, secret_file=None):
    """``(key, where it came from)``: the key every connection must prove it holds.

    ``--secret-file PATH`` (the file's bytes) or ``$KERAS_WGAN_SECRET``: a real secret,
    which keeps out anyone who does not have it. Without either, a key derived from what
    every process of the run already shares, the coordinator's address and the process
    count: it keeps out strays (another run's processes on a reused port, port scanners,
    other protocols), not someone who can read the command line.
    """
    if secret_file is not None:
        try:
            with open(secret_file, "rb") as f:
                secret = f.read().strip()
        except OSError as error:
            raise CliError(f"--secret-file {secret_file!r}: {error.strerror or error}; give "
                           "every machine a copy of the same file, e.g. made by: "
                           "python3 -c 'import secrets; print(secrets.token_hex(32))' "
                           f"> {secret_file}") from None
        if not secret:
            raise CliError(f"--secret-file {secret_file!r} is empty; e.g. python3 -c 'import "
                           f"secrets; print(secrets.token_hex(32))' > {secret_file}")
        return hashlib.sha256(secret).digest(), f"--secret-file {secret_file}"
    if os.environ.get(SECRET_VARIABLE):
        return (hashlib.sha256(os.environ[SECRET_VARIABLE].encode()).digest(),
                f"${SECRET_VARIABLE}")
    shared = f"keras-wgan control link|{launch.coordinator}|{launch.num_processes}"
    return (hashlib.sha256(shared.encode()).digest(),
            "derived from the coordinator and process count (no --secret-file)")


class BadMessage(ValueError):
    """A message that breaks the control link's protocol: longer than its bound, a header
    that is not a JSON object, a payload of another length than announced."""


def authenticated(sock, key, owner):
    """``sock`` as a ``multiprocessing.connection.Connection`` once both ends proved they
    hold ``key`` (each answers the other's challenge, as ``Listener``/``Client`` do),
    within :data:`HANDSHAKE_TIMEOUT_S` in all; raises
    ``multiprocessing.AuthenticationError`` (a wrong key), ``TimeoutError`` (too slow) or
    ``OSError`` / ``EOFError`` (the peer went away)."""
    sock.settimeout(None)
    connection = multiprocessing.connection.Connection(sock.detach())
    view = socket.socket(fileno=os.dup(connection.fileno()))
    state = {"done": False, "cut": False}
    guard = threading.Lock()

    def cut_off():  # ends any read in progress: the peer took too long in all
        with guard:
            if not state["done"]:
                state["cut"] = True
                with contextlib.suppress(OSError):
                    view.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(HANDSHAKE_TIMEOUT_S, cut_off)
    timer.daemon = True
    timer.start()
    try:
        if owner:
            multiprocessing.connection.deliver_challenge(connection, key)
            multiprocessing.connection.answer_challenge(connection, key)
        else:
            multiprocessing.connection.answer_challenge(connection, key)
            multiprocessing.connection.deliver_challenge(connection, key)
    except BaseException as error:
        connection.close()
        if state["cut"]:
            raise TimeoutError(f"the handshake took over {HANDSHAKE_TIMEOUT_S:g} s") from error
        raise
    finally:
        with guard:
            state["done"] = True
        timer.cancel()
        view.close()
    if state["cut"]:  # cut off just as it ended: the socket is shut down
        connection.close()
        raise TimeoutError(f"the handshake took over {HANDSHAKE_TIMEOUT_S:g} s")
    return connection


class Connection:
    """One authenticated peer: a JSON header, then its payload as a second message."""

    def __init__(self, connection, process_id=None):
        self.connection = connection
        self.process_id = process_id
        self.send_lock = threading.Lock()
        self.last_heard = time.monotonic()

    def fileno(self):
        return self.connection.fileno()

    def send(self, message, payload=b""):
        header = json.dumps({**message, "payload": len(payload)}).encode()
        with self.send_lock:
            self.connection.send_bytes(header)
            if payload:
                self.connection.send_bytes(payload)

    def receive(self):
        """The next message (a dict) and its payload; (None, b"") when the peer closed.
        Raises :class:`BadMessage` for one that breaks the protocol."""
        try:
            header = self._read(MAX_HEADER_BYTES, "header")
            try:
                message = json.loads(header)
            except ValueError:
                raise BadMessage(f"a header that is not JSON ({header[:40]!r})") from None
            if not isinstance(message, dict):
                raise BadMessage(f"a header that is not a JSON object ({header[:40]!r})")
            size = message.pop("payload", 0)
            if isinstance(size, bool) or not isinstance(size, int) \
                    or not 0 <= size <= MAX_PAYLOAD_BYTES:
                raise BadMessage(f"a payload size that is not 0 to {MAX_PAYLOAD_BYTES:,} "
                                 f"bytes ({size!r})")
            payload = self._read(size, "payload") if size else b""
        except (EOFError, OSError):
            return None, b""
        if len(payload) != size:
            raise BadMessage(f"a payload of {len(payload):,} bytes where {size:,} were "
                             "announced")
        self.last_heard = time.monotonic()
        return message, payload

    def _read(self, limit, what):
        """One message of at most ``limit`` bytes (a longer one is not read)."""
        try:
            return self.connection.recv_bytes(limit)
        except OSError as error:
            if str(error) == "bad message length":  # the library's refusal of a long one
                raise BadMessage(f"a {what} longer than {limit:,} bytes") from None
            raise

    def close(self):
        with contextlib.suppress(OSError):
            self.connection.close()


def address_family(host):
    """The address family of ``host`` (an IPv6 literal or a name that only has one)."""
    try:
        return socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][0]
    except OSError:
        return socket.AF_INET
