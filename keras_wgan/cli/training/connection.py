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
import struct
import threading
import time

from keras_wgan.cli.common import CliError

# How long a connection may take to prove it holds the key: a client that connects and
# says nothing holds up the start-up this long at most.
HANDSHAKE_TIMEOUT_S = 5.0
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


def authenticated(sock, key, owner):
    """``sock`` as a ``multiprocessing.connection.Connection`` once both ends proved they
    hold ``key`` (each answers the other's challenge, as ``Listener``/``Client`` do);
    raises ``multiprocessing.AuthenticationError`` or ``OSError`` otherwise."""
    seconds = int(HANDSHAKE_TIMEOUT_S)
    sock.settimeout(None)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", seconds, 0))
    connection = multiprocessing.connection.Connection(sock.detach())
    try:
        if owner:
            multiprocessing.connection.deliver_challenge(connection, key)
            multiprocessing.connection.answer_challenge(connection, key)
        else:
            multiprocessing.connection.answer_challenge(connection, key)
            multiprocessing.connection.deliver_challenge(connection, key)
    except BaseException:
        connection.close()
        raise
    with socket.socket(fileno=os.dup(connection.fileno())) as view:  # no timeout from now
        view.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 0))
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
        """The next message and its payload; (None, b"") when the peer closed."""
        try:
            message = json.loads(self.connection.recv_bytes())
            size = message.pop("payload", 0)
            payload = self.connection.recv_bytes() if size else b""
        except (EOFError, OSError, ValueError):
            return None, b""
        if len(payload) != size:
            return None, b""
        self.last_heard = time.monotonic()
        return message, payload

    def close(self):
        with contextlib.suppress(OSError):
            self.connection.close()


def address_family(host):
    """The address family of ``host`` (an IPv6 literal or a name that only has one)."""
    try:
        return socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][0]
    except OSError:
        return socket.AF_INET
