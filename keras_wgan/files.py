"""Writing files whole or not at all: every file the package writes goes through here.

A reader, a kill, a crash or a full disk sees the old version of a file or the new one,
never half of one: the new version is written to a temporary sibling, flushed to disk
(``fsync``), renamed over the target (``os.replace``, atomic on POSIX and Windows), and
the rename itself is flushed (the directory's ``fsync``), so a power cut leaves one of
the two versions too. A failed write removes its temporary file and leaves the old one.
"""

import contextlib
import hashlib
import json
import os
import tempfile


def _default_file_mode():
    """0o666 less the process umask: what ``open()`` would have given the file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def fsync_directory(directory):
    """Flush a directory's entries (a rename into it) to disk; a no-op where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path):
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


@contextlib.contextmanager
def replaced_atomically(path):
    """Yield a temporary sibling of ``path`` to write; on success it replaces ``path``.

    For writers that want a file name rather than a file object (``model.save``, which
    also wants the ``.keras`` suffix: the temporary name keeps the suffix of ``path``).
    Parent directories are created; the file gets the usual permissions (``mkstemp``
    alone would leave it owner-only). On an exception the temporary file is removed.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot write {path!r}: it is a directory.")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    _, suffix = os.path.splitext(path)
    fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=suffix, dir=directory)
    os.close(fd)
    try:
        os.chmod(tmp, _default_file_mode())
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    fsync_directory(directory)


def _temporary_prefix(path):
    return f".tmp-{os.path.basename(path)}-"


def remove_interrupted_writes(path):
    """Remove temporary files a killed process left while writing ``path``; returns their names.

    Only for files a single process writes (a run's checkpoint): another process's write
    in progress would be removed too.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        return []
    prefix, (_, suffix) = _temporary_prefix(path), os.path.splitext(path)
    stale = sorted(n for n in os.listdir(directory) if n.startswith(prefix) and n.endswith(suffix))
    for name in stale:
        os.remove(os.path.join(directory, name))
    return stale


def atomic_write(path, write, binary=False):
    """Write ``path`` through ``write(file_object)``, whole or not at all; returns the path."""
    with replaced_atomically(path) as tmp:
        with open(tmp, "wb" if binary else "w", **({} if binary else {"newline": ""})) as f:
            write(f)
    return os.fspath(path)


def write_text(path, text):
    """Write a string to ``path``, whole or not at all; returns the path."""
    return atomic_write(path, lambda f: f.write(text))


def sha256_of(path):
    """The SHA-256 of a file's bytes, as hex: what names a file's exact content."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_json(path, obj):
    """Write ``obj`` as indented, key-sorted JSON to ``path``, whole or not at all."""
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")
