"""IDX files (the MNIST format): reading them, and finding the local copies of a named dataset.

The reader checks the payload against the header so a truncated download fails loudly
instead of returning garbage. The local lookup is what lets ``load_dataset("fashion_mnist")``
train offline: ``data_dir``, then ``$KERAS_WGAN_DATA_DIR``, then the folder Debian's
``dataset-fashion-mnist`` package installs, before TFDS is asked at all.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import struct
import zlib
from typing import NamedTuple

import numpy as np

from keras_wgan import checks
from keras_wgan.data.options import check_split

# Default locations are module-level so tests and deployments can repoint them.

#: Environment variable naming a folder with IDX files, or a folder holding
#: ``fashion-mnist`` / ``mnist`` sub-folders with IDX files.
DATA_DIR_ENV = "KERAS_WGAN_DATA_DIR"

#: Where Debian packages install the IDX files. ``apt-get install
#: dataset-fashion-mnist`` puts ``{train,t10k}-{images-idx3,labels-idx1}-
#: ubyte.gz`` in /usr/share/datasets/fashion-mnist/. Debian ships no MNIST
#: package, so ``"mnist"`` has no system location.
DEBIAN_DATA_DIRS = {
    "fashion_mnist": "/usr/share/datasets/fashion-mnist",
}

#: Sub-folder names searched under ``data_dir`` and ``$KERAS_WGAN_DATA_DIR``
#: for each dataset that has IDX files.
IDX_SUBDIRS = {
    "fashion_mnist": ("fashion-mnist", "fashion_mnist"),
    "mnist": ("mnist",),
}

#: IDX split prefixes: the test split's files are called t10k-*.
IDX_SPLIT_PREFIX = {"train": "train", "test": "t10k"}

#: Class names of the datasets whose IDX files carry no names.
CLASS_NAMES = {
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                      "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "mnist": tuple(str(digit) for digit in range(10)),
}


class IdxFormatError(ValueError):
    """An IDX file is corrupt, truncated or not an IDX file at all."""


# IDX type code -> big-endian numpy dtype (from the format's definition).
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_maybe_gzip(path: str) -> bytes:
    """File bytes, gunzipped when the content (not the name) is gzip."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        # EOFError: stream ends early; BadGzipFile (an OSError): bad header
        # or CRC; zlib.error: corrupt deflate data.
        raise IdxFormatError(
            f"{path}: truncated or corrupt gzip data ({exc}); re-download the file"
        ) from exc


def read_idx(path) -> np.ndarray:
    """Parse an IDX file (optionally gzip-compressed) into a numpy array.

    Format: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, then
    one big-endian uint32 per dimension, then the big-endian payload. The
    payload must be exactly as long as the dimensions say: a short or long
    payload raises :class:`IdxFormatError` instead of returning garbage.

    Args:
        path: an IDX file, gzip-compressed or not.

    Returns:
        A writable, native-endian numpy array of shape ``dims``.

    Raises:
        FileNotFoundError: there is no such file.
        IdxFormatError: the file is not a well-formed IDX file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"read_idx: no such file: {path!r}")
    data = _read_maybe_gzip(path)
    if len(data) < 4:
        raise IdxFormatError(
            f"{path}: only {len(data)} bytes, too short for the 4-byte IDX magic number"
        )
    if data[0] != 0 or data[1] != 0:
        raise IdxFormatError(
            f"{path}: bad IDX magic number {data[:4].hex()} "
            "(expected two zero bytes, a type code and a dimension count); "
            "not an IDX file"
        )
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in sorted(_IDX_DTYPES))
        raise IdxFormatError(f"{path}: unknown IDX type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise IdxFormatError(f"{path}: IDX header declares 0 dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise IdxFormatError(
            f"{path}: truncated IDX header: {ndim} dimensions need {header_len} "
            f"header bytes, file has {len(data)}"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header_len])
    dtype = _IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    actual = len(data) - header_len
    if actual != expected:
        what = "truncated" if actual < expected else "trailing bytes after the data"
        raise IdxFormatError(
            f"{path}: payload is {actual} bytes but the header dims {dims} of "
            f"{dtype.name} need {expected} bytes ({what})"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(dims)
    # astype copies: the result is writable and in native byte order.
    return array.astype(dtype.newbyteorder("="))


class IdxFiles(NamedTuple):
    """Paths of one split's IDX files.

    Attributes:
        images: the images file.
        labels: the labels file, or None when absent.
    """

    images: str
    labels: str | None


def _idx_pattern(kind: str, prefix: str) -> re.Pattern:
    # Canonical "train-images-idx3-ubyte"; some mirrors write
    # "train-images.idx3-ubyte". Optional ".gz".
    ndim = "3" if kind == "images" else "1"
    return re.compile(rf"^{prefix}-{kind}[.-]idx{ndim}-ubyte(\.gz)?$")


def _match_idx(names, kind: str, prefix: str) -> str | None:
    pattern = _idx_pattern(kind, prefix)
    found = sorted(n for n in names if pattern.match(n))
    # Prefer the uncompressed file when both exist (no gunzip needed).
    found.sort(key=lambda n: n.endswith(".gz"))
    return found[0] if found else None


def is_idx_file(path: str) -> bool:
    """Whether a file's name says IDX (``*idx*ubyte*``)."""
    base = os.path.basename(path).lower()
    return "idx" in base and "ubyte" in base


def find_idx_files(directory, split: str = "train") -> IdxFiles:
    """Locate the IDX files of ``split`` ("train" or "test") in ``directory``.

    "train" maps to ``train-images-idx3-ubyte[.gz]`` /
    ``train-labels-idx1-ubyte[.gz]``, "test" to the ``t10k-*`` files.

    Args:
        directory: the folder to look in.
        split: ``"train"`` or ``"test"``.

    Returns:
        :class:`IdxFiles`; a missing labels file gives ``labels=None``.

    Raises:
        FileNotFoundError: ``directory`` is not a folder, or has no images file for
            ``split`` (the message lists what it holds).
        ValueError: ``split`` is neither ``"train"`` nor ``"test"``.
    """
    check_split(split, IDX_SPLIT_PREFIX, "IDX files")
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"find_idx_files: {directory!r} is not a directory")
    found = _find_idx_quiet(directory, split)
    if found is None:
        prefix = IDX_SPLIT_PREFIX[split]
        listing = sorted(os.listdir(directory))
        shown = ", ".join(listing[:20]) + (" ..." if len(listing) > 20 else "")
        raise FileNotFoundError(
            f"no IDX images file for split {split!r} in {directory!r}: expected "
            f"{prefix}-images-idx3-ubyte or {prefix}-images-idx3-ubyte.gz; "
            f"the directory holds: [{shown}]"
        )
    return found


def _find_idx_quiet(directory: str, split: str) -> IdxFiles | None:
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    prefix = IDX_SPLIT_PREFIX[split]
    images = _match_idx(names, "images", prefix)
    if images is None:
        return None
    labels = _match_idx(names, "labels", prefix)
    return IdxFiles(
        os.path.join(directory, images),
        os.path.join(directory, labels) if labels else None,
    )


def has_any_idx_images(directory: str) -> bool:
    """Whether ``directory`` holds the IDX images file of some split."""
    return any(_find_idx_quiet(directory, s) for s in IDX_SPLIT_PREFIX)


def local_idx_dir(name: str, split: str = "train", data_dir=None) -> str | None:
    """Directory holding local IDX files of ``name``'s ``split``, or None.

    Looked up in this order (first hit wins), for ``"fashion_mnist"`` and
    ``"mnist"`` only:

    1. ``data_dir`` itself, then its sub-folders named in :data:`IDX_SUBDIRS`;
    2. ``$KERAS_WGAN_DATA_DIR`` itself, then the same sub-folders;
    3. the Debian package location in :data:`DEBIAN_DATA_DIRS`.

    A folder that holds IDX files of the *other* split only is an error, not
    a miss: silently reading some other copy of the data would be worse.

    Args:
        name: the dataset's name; only ``"fashion_mnist"`` and ``"mnist"`` are
            looked up.
        split: ``"train"`` or ``"test"``.
        data_dir: a folder searched first.

    Returns:
        The folder's path, or None when no local copy was found.

    Raises:
        FileNotFoundError: a folder found holds only the other split's files.
    """
    if name not in IDX_SUBDIRS:
        return None
    checks.check_non_empty_str("split", split)
    roots = []
    if data_dir is not None:
        roots.append(os.fspath(data_dir))
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        roots.append(env)
    candidates = []
    for root in roots:
        candidates.append(root)
        candidates.extend(os.path.join(root, sub) for sub in IDX_SUBDIRS[name])
    if name in DEBIAN_DATA_DIRS:
        candidates.append(DEBIAN_DATA_DIRS[name])
    for cand in candidates:
        if not os.path.isdir(cand):
            continue
        if split not in IDX_SPLIT_PREFIX:
            # e.g. a TFDS slice "train[:10%]": fine for TFDS, but local IDX
            # files only know whole splits, so say so instead of skipping them.
            if has_any_idx_images(cand):
                raise ValueError(
                    f"split={split!r}: local IDX files for {name!r} (in {cand!r}) "
                    "offer only the splits 'train' and 'test'; for a subset use "
                    "limit=N"
                )
            continue
        if _find_idx_quiet(cand, split) is not None:
            return cand
        if has_any_idx_images(cand):
            raise FileNotFoundError(
                f"{cand!r} holds IDX files for {name!r} but not for split "
                f"{split!r} (expected {IDX_SPLIT_PREFIX[split]}-images-idx3-ubyte[.gz])"
            )
    return None


def sibling_labels(images_path):
    """The labels file next to a single IDX images file (``*-labels-idx1-ubyte``), or None."""
    directory, name = os.path.split(images_path)
    candidate = re.sub(r"images([.-])idx3", r"labels\1idx1", name)
    for option in (candidate, candidate[:-3] if candidate.endswith(".gz") else candidate + ".gz"):
        if option != name and os.path.isfile(os.path.join(directory, option)):
            return os.path.join(directory, option)
    return None


def idx_labels(files):
    """The labels of an IDX images file, checked against its image count."""
    if files.labels is None:
        raise FileNotFoundError(
            f"labels were asked for, but there is no IDX labels file beside "
            f"{files.images!r} (expected *-labels-idx1-ubyte[.gz]); load without labels"
        )
    labels = read_idx(files.labels)
    count = read_idx(files.images).shape[0]
    if labels.ndim != 1 or len(labels) != count:
        raise IdxFormatError(
            f"{files.labels!r} holds {labels.shape} labels for {count} images in "
            f"{files.images!r}"
        )
    return labels
