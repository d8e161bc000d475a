"""The lock of a run directory: one ``train`` writes ``--out`` at a time.

An advisory ``fcntl.flock`` on ``--out/train.lock``, which records its holder (host, PID,
start time, command) so that a second ``train`` is refused at once, naming it. The
kernel drops the lock when its process ends, so a killed run leaves none behind.
"""

import contextlib
import errno
import json
import os
import socket
import sys
import time

from keras_wgan.cli.common import PROG, CliError

# Held (fcntl.flock) by the one `train` writing the folder; it names its holder.
LOCK_FILE = "train.lock"

# The errors of a file system that cannot lock (some network and FUSE file systems).
_CANNOT_LOCK = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL,
                getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)}


class LockFile:
    """``train.lock``: open, ``flock`` it without waiting, write who holds it."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def acquire(self, out):
        try:
            import fcntl
        except ImportError:  # not POSIX
            print(f"warning: cannot lock --out {out!r} on this system (no fcntl): nothing "
                  "stops a second `train` from writing it at the same time.", file=sys.stderr)
            return
        for _ in range(10):  # the file can be replaced while we wait for it (see release)
            fd, writable = _open(self.path)
            if fd is None:  # an unwritable folder: its first write says so, with the file
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise CliError(_refusal_in_use(out, holder)) from None
            except OSError as error:
                os.close(fd)
                if error.errno in _CANNOT_LOCK:
                    print(f"warning: the file system of --out {out!r} cannot lock files "
                          f"({error.strerror}): nothing stops a second `train` from writing "
                          "it at the same time.", file=sys.stderr)
                    return
                raise
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                if writable:  # else (another user's file) the holder stays unnamed
                    self._write_holder()
                local = local_only_locking(out)
                if local:
                    print(f"warning: --out {out!r} is on {local}: its lock keeps out a "
                          "second `train` on this machine only; one on another machine "
                          "would write the same files. Start each run's `train` on one "
                          "machine, or use a folder on a file system whose locks are "
                          "shared (NFS without nolock / local_lock).", file=sys.stderr)
                return
            os.close(fd)  # released and removed by its holder meanwhile: take the new one
        raise CliError(f"cannot lock {self.path}: it keeps being replaced.")

    def _write_holder(self):
        holder = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time(),
                  "command": " ".join([PROG, *sys.argv[1:]])}
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps(holder).encode() + b"\n", 0)

    def release(self):
        """Remove the file, then unlock: a process that opened it meanwhile sees that its
        file is gone and opens the next one (the check after ``flock``)."""
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self.fd)  # closing the last descriptor releases the lock
        self.fd = None


def _open(path):
    """``(fd, writable)`` of the lock file, created if missing; ``(None, False)`` when it
    cannot be opened. A file this user may not write (another user's, mode 0644 in a
    shared folder; a read-only mount) is opened read-only: ``flock`` locks it just the same."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644), True
    except OSError:
        pass
    try:
        return os.open(path, os.O_RDONLY), False
    except OSError:
        return None, False


def local_only_locking(path, mounts="/proc/mounts"):
    """Words naming the mount of ``path`` when its ``flock`` locks are local to this
    machine (NFS with ``nolock`` or ``local_lock=flock|all``, Lustre ``localflock``),
    else None. ``mounts``: a file in ``/proc/mounts``' format (None where unreadable)."""
    try:
        with open(mounts) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    where, best = os.path.realpath(path), None
    for line in lines:
        fields = line.split()
        if len(fields) < 4:
            continue
        point = fields[1].encode().decode("unicode_escape")  # \040 for a space
        inside = where == point or where.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) > len(best[0])):
            best = (point, fields[2], fields[3].split(","))
    if best is None:
        return None
    point, kind, options = best
    local = [o for o in options if o in ("nolock", "local_lock=flock", "local_lock=all")] \
        if kind.startswith("nfs") else (["localflock"] if kind == "lustre"
                                        and "localflock" in options else [])
    return f"a {kind} mount ({point}, {local[0]})" if local else None


def _read_holder(fd):
    try:
        return json.loads(os.pread(fd, 4096, 0).decode())
    except (OSError, ValueError):
        return {}


def _refusal_in_use(out, holder):
    """The refusal of a second writer: who holds ``out`` and what works instead."""
    if holder.get("pid"):
        started = time.localtime(holder.get("started") or time.time())
        today = time.strftime("%Y-%m-%d") == time.strftime("%Y-%m-%d", started)
        since = time.strftime("%H:%M" if today else "%Y-%m-%d %H:%M", started)
        who = f"PID {holder['pid']} on host {holder.get('host', '?')} since {since}"
        if holder.get("command"):
            who += f" ({holder['command']})"
    else:
        who = "another process (it has not written its details yet)"
    return (f"--out {out!r} is in use by {who}: one run directory has one writer; stop "
            f"it or choose another --out, e.g. {PROG} train --out {out.rstrip(os.sep)}-2 "
            f"(once it has stopped: {PROG} train --resume --out {out})")
