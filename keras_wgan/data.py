"""Input pipelines: image sources -> batched ``tf.data`` of images in [-1, 1].

Every image source ends up as the same thing: a batched, prefetched
``tf.data.Dataset`` whose elements are float32 tensors of shape
``(batch, height, width, channels)`` with values in [-1, 1] (the range of the
generator's ``tanh`` output), ready for ``Model.fit``. Elements are images
only, unless ``labels=True`` asks for ``(images, labels)`` pairs (integer class
indices) for class-conditional models; the dataset then carries its class names
as ``dataset.class_names`` (as Keras' ``image_dataset_from_directory`` does).

Sources accepted by :func:`load_dataset`:

* a TFDS image dataset name (``"cifar10"``, ``"mnist"``, ...), loaded through
  ``tensorflow_datasets``; for ``"fashion_mnist"`` and ``"mnist"`` local IDX
  files are looked for first (see :func:`local_idx_dir`), so that training
  works offline;
* a directory of MNIST-format IDX files, or a single IDX file;
* a directory of image files (png/jpg/jpeg/bmp/gif, class sub-folders
  allowed);
* a numpy array (or a ``.npy`` / ``.npz`` file holding one).

The module also holds the 2-D toy distributions of the WGAN-GP paper's
reference code (:func:`toy_dataset`, :func:`sample_toy`, :func:`toy_centers`).

Design notes
------------
* The uint8 -> float conversion and the resize run inside the ``tf.data``
  graph, on whole batches (batch first, then map): one vectorised op per batch
  instead of one per image, so the input pipeline delivers tens of thousands
  of images per second and never limits training.
* ``drop_remainder=True`` by default, so every batch has the same *static*
  shape: the GAN models build their train step from the static batch shape
  (the gradient-penalty interpolation draws one epsilon per example) and a
  short last batch would retrace the step or fail a shape check.
* Arrays are shuffled through an index permutation (``range(N).shuffle(N)``)
  followed by a per-batch gather: a full, uniform shuffle each epoch that
  costs only N int64 indices of buffer. Streamed sources (TFDS, image folders)
  use a bounded shuffle buffer after an in-memory cache.
"""

from __future__ import annotations

import gzip
import logging
import math
import os
import re
import struct
import warnings
import zlib
from typing import NamedTuple

import numpy as np
import tensorflow as tf

__all__ = [
    "DATA_DIR_ENV",
    "DEBIAN_DATA_DIRS",
    "IDX_SUBDIRS",
    "IMAGE_EXTENSIONS",
    "TOY_DATASETS",
    "BadFilesSkipped",
    "DataUnavailableError",
    "IdxFiles",
    "IdxFormatError",
    "find_idx_files",
    "load_dataset",
    "local_idx_dir",
    "read_idx",
    "sample_toy",
    "toy_centers",
    "toy_dataset",
]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Default locations (module-level so tests and deployments can repoint them).
# --------------------------------------------------------------------------

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

#: File suffixes treated as images in an image folder (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")

# IDX split prefixes: the test split's files are called t10k-*.
_IDX_SPLIT_PREFIX = {"train": "train", "test": "t10k"}

#: Class names of the datasets whose IDX files carry no names.
CLASS_NAMES = {
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                      "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "mnist": tuple(str(digit) for digit in range(10)),
}

# Default bounded shuffle buffer for streamed sources (TFDS, image folders).
_STREAM_SHUFFLE_BUFFER = 10_000

# Image files decoded per Python call in an image-folder pipeline.
_DECODE_CHUNK = 64


class IdxFormatError(ValueError):
    """An IDX file is corrupt, truncated or not an IDX file at all."""


class DataUnavailableError(RuntimeError):
    """A named dataset could be found neither locally nor through TFDS."""


# ==========================================================================
# IDX files
# ==========================================================================

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

    Returns a writable, native-endian array of shape ``dims``.
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
    """Paths of one split's IDX files (``labels`` is None when absent)."""

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


def _check_split_name(split, available, source_desc):
    if not isinstance(split, str) or not split:
        raise ValueError(f"split must be a non-empty string, got {split!r}")
    if split not in available:
        raise ValueError(
            f"split={split!r} is not available for {source_desc}; "
            f"available splits: {sorted(available)}"
        )


def find_idx_files(directory, split: str = "train") -> IdxFiles:
    """Locate the IDX files of ``split`` ("train" or "test") in ``directory``.

    "train" maps to ``train-images-idx3-ubyte[.gz]`` /
    ``train-labels-idx1-ubyte[.gz]``, "test" to the ``t10k-*`` files. Raises
    FileNotFoundError (listing what the directory holds) when the images file
    is missing; a missing labels file gives ``labels=None``.
    """
    _check_split_name(split, _IDX_SPLIT_PREFIX, "IDX files")
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"find_idx_files: {directory!r} is not a directory")
    found = _find_idx_quiet(directory, split)
    if found is None:
        prefix = _IDX_SPLIT_PREFIX[split]
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
    prefix = _IDX_SPLIT_PREFIX[split]
    images = _match_idx(names, "images", prefix)
    if images is None:
        return None
    labels = _match_idx(names, "labels", prefix)
    return IdxFiles(
        os.path.join(directory, images),
        os.path.join(directory, labels) if labels else None,
    )


def _has_any_idx_images(directory: str) -> bool:
    return any(_find_idx_quiet(directory, s) for s in _IDX_SPLIT_PREFIX)


def local_idx_dir(name: str, split: str = "train", data_dir=None) -> str | None:
    """Directory holding local IDX files of ``name``'s ``split``, or None.

    Looked up in this order (first hit wins), for ``"fashion_mnist"`` and
    ``"mnist"`` only:

    1. ``data_dir`` itself, then its sub-folders named in :data:`IDX_SUBDIRS`;
    2. ``$KERAS_WGAN_DATA_DIR`` itself, then the same sub-folders;
    3. the Debian package location in :data:`DEBIAN_DATA_DIRS`.

    A folder that holds IDX files of the *other* split only is an error, not
    a miss: silently reading some other copy of the data would be worse.
    """
    if name not in IDX_SUBDIRS:
        return None
    if not isinstance(split, str) or not split:
        raise ValueError(f"split must be a non-empty string, got {split!r}")
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
        if split not in _IDX_SPLIT_PREFIX:
            # e.g. a TFDS slice "train[:10%]": fine for TFDS, but local IDX
            # files only know whole splits, so say so instead of skipping them.
            if _has_any_idx_images(cand):
                raise ValueError(
                    f"split={split!r}: local IDX files for {name!r} (in {cand!r}) "
                    "offer only the splits 'train' and 'test'; for a subset use "
                    "limit=N"
                )
            continue
        if _find_idx_quiet(cand, split) is not None:
            return cand
        if _has_any_idx_images(cand):
            raise FileNotFoundError(
                f"{cand!r} holds IDX files for {name!r} but not for split "
                f"{split!r} (expected {_IDX_SPLIT_PREFIX[split]}-images-idx3-ubyte[.gz])"
            )
    return None


# ==========================================================================
# Argument validation
# ==========================================================================


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _check_positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if not _is_int(value) or value <= 0:
        expected = "a positive int or None" if allow_none else "a positive int"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def _normalize_image_size(image_size):
    if image_size is None:
        return None
    if _is_int(image_size):
        if image_size <= 0:
            raise ValueError(f"image_size must be positive, got {image_size!r}")
        return (int(image_size), int(image_size))
    if (
        isinstance(image_size, (tuple, list))
        and len(image_size) == 2
        and all(_is_int(v) and v > 0 for v in image_size)
    ):
        return (int(image_size[0]), int(image_size[1]))
    raise ValueError(
        "image_size must be a positive int, a (height, width) pair of positive "
        f"ints, or None to keep the native size; got {image_size!r}"
    )


def _check_channels(channels):
    if channels is None:
        return None
    if not _is_int(channels) or int(channels) not in (1, 3, 4):
        raise ValueError(
            f"channels must be 1 (grayscale), 3 (RGB), 4 (RGBA) or None "
            f"(keep/infer), got {channels!r}"
        )
    return int(channels)


def _check_value_range(value_range):
    if value_range is None or (isinstance(value_range, str) and value_range == "auto"):
        return None
    if (
        isinstance(value_range, (tuple, list))
        and len(value_range) == 2
        and all(isinstance(v, (int, float, np.integer, np.floating)) for v in value_range)
        and float(value_range[0]) < float(value_range[1])
    ):
        return (float(value_range[0]), float(value_range[1]))
    raise ValueError(
        "value_range must be 'auto'/None or a (low, high) pair with low < high, "
        f"e.g. (0, 255), (0, 1) or (-1, 1); got {value_range!r}"
    )


# ==========================================================================
# Conversion ops (run inside tf.data, on whole batches when possible)
# ==========================================================================


def _scale_to_unit(x, value_range):
    """Map [low, high] linearly onto [-1, 1] (float32, clipped).

    Divides by the half-range (rather than multiplying by its inverse) so the
    end points land exactly: 0 -> -1.0 and 255 -> 1.0 for uint8 data.
    """
    low, high = value_range
    x = tf.cast(x, tf.float32)
    if (low, high) != (-1.0, 1.0):
        x = (x - low) / ((high - low) / 2.0) - 1.0
    return x


def _convert_channels(x, have: int, want: int | None):
    """Channel conversion on [-1, 1] data; static channel counts."""
    if want is None or want == have:
        return x
    if have == 4:  # drop alpha first
        x, have = x[..., :3], 3
        if want == 3:
            return x
    if have == 1 and want in (3, 4):
        x = tf.repeat(x, 3, axis=-1)
        have = 3
    if have == 3 and want == 1:
        return tf.image.rgb_to_grayscale(x)
    if have == 3 and want == 4:  # opaque alpha (= 1.0 in [-1, 1])
        return tf.concat([x, tf.ones_like(x[..., :1])], axis=-1)
    if have == want:
        return x
    raise ValueError(
        f"channels={want} cannot be produced from {have}-channel images "
        "(supported: between 1, 3 and 4 channels)"
    )


def _make_converter(value_range, have_c, want_c, native_hw, target_hw):
    """The per-batch (or per-image) map: scale, fix channels, resize, clip."""
    resize = target_hw is not None and tuple(native_hw) != tuple(target_hw)
    # Antialiasing only acts when shrinking, but asking for it switches TF to
    # a ~10x slower kernel even when enlarging (28 -> 32), so ask only when
    # some side shrinks (or the native size varies per image).
    shrink = resize and (
        None in native_hw or any(t < s for t, s in zip(target_hw, native_hw))
    )

    @tf.autograph.experimental.do_not_convert
    def convert(x):
        x = _scale_to_unit(x, value_range)
        x = _convert_channels(x, have_c, want_c)
        if resize:
            x = tf.image.resize(x, target_hw, method="bilinear", antialias=shrink)
        # Bilinear weights are convex, so this only removes float round-off.
        return tf.clip_by_value(x, -1.0, 1.0)

    return convert


# The map functions below use no Python control flow on tensors: skip
# AutoGraph (faster tracing, no "could not transform" warnings).
_no_autograph = tf.autograph.experimental.do_not_convert


def _finish(ds):
    return ds.prefetch(tf.data.AUTOTUNE)


def _check_count(n, batch_size, drop_remainder, desc):
    if n == 0:
        raise ValueError(f"{desc} holds no images")
    if drop_remainder and n < batch_size:
        raise ValueError(
            f"{desc} holds only {n} images, fewer than batch_size={batch_size}; "
            "with drop_remainder=True that is an empty dataset. Use a smaller "
            "batch_size or drop_remainder=False"
        )


def _apply_cache(ds, cache):
    if cache is True:
        return ds.cache()
    if isinstance(cache, (str, os.PathLike)):
        return ds.cache(os.fspath(cache))
    return ds


# ==========================================================================
# Arrays
# ==========================================================================


def _array_value_range(x: np.ndarray, value_range, desc):
    """Decide (and check) the value range of an image array.

    Auto rules: uint8 -> [0, 255]; other integers -> [0, 255] if the values
    fit; floats -> [-1, 1] when some value is negative and all lie in
    [-1, 1]; [0, 255] when the maximum exceeds 1 and all lie in [0, 255].
    Floats that lie in [0, 1] are ambiguous ([0, 1] images or [-1, 1] images
    without a single negative pixel), so they need an explicit
    ``value_range``. Anything else is refused.
    """
    if x.dtype == np.bool_ or not (
        np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
    ):
        raise TypeError(f"{desc}: images must be an integer or float array, got dtype {x.dtype}")
    if x.size == 0:
        raise ValueError(f"{desc}: the image array is empty (shape {x.shape})")
    lo, hi = x.min(), x.max()
    if np.issubdtype(x.dtype, np.floating) and not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{desc}: the image array contains NaN or infinite values")
    lo, hi = float(lo), float(hi)
    if value_range is not None:
        if lo < value_range[0] or hi > value_range[1]:
            raise ValueError(
                f"{desc}: values span [{lo:g}, {hi:g}], outside the declared "
                f"value_range {value_range}"
            )
        return value_range
    if x.dtype == np.uint8:
        return (0.0, 255.0)
    if np.issubdtype(x.dtype, np.integer):
        if lo >= 0 and hi <= 255:
            return (0.0, 255.0)
        raise ValueError(
            f"{desc}: integer ({x.dtype}) values span [{lo:g}, {hi:g}], outside "
            "[0, 255]; convert to uint8 or pass value_range=(low, high)"
        )
    if -1.0 <= lo < 0.0 and hi <= 1.0:
        return (-1.0, 1.0)
    if lo >= 0.0 and 1.0 < hi <= 255.0:
        return (0.0, 255.0)
    if lo >= 0.0 and hi <= 1.0:
        raise ValueError(
            f"{desc}: float values span [{lo:g}, {hi:g}], which fits both [0, 1] "
            "and [-1, 1]; pass value_range=(0, 1) or value_range=(-1, 1) to say which"
        )
    raise ValueError(
        f"{desc}: float values span [{lo:g}, {hi:g}]; expected images in [-1, 1] "
        "or in [0, 255] (or pass value_range=(low, high))"
    )


def _as_nhwc(x: np.ndarray, desc) -> np.ndarray:
    if x.ndim == 3:
        return x[..., np.newaxis]
    if x.ndim == 4:
        if x.shape[-1] > 4:
            hint = (
                " (this looks channels-first; transpose to (N, H, W, C))"
                if x.shape[1] <= 4
                else ""
            )
            raise ValueError(
                f"{desc}: expected (N, H, W) or (N, H, W, C) with C <= 4, got "
                f"shape {x.shape}{hint}"
            )
        return x
    raise ValueError(
        f"{desc}: expected an image array of shape (N, H, W) or (N, H, W, C), "
        f"got shape {x.shape}"
    )


def _check_label_array(labels, n, desc):
    """Integer class indices, one per image; returns int32 numpy."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[-1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or len(labels) != n:
        raise ValueError(
            f"{desc}: labels must be one class index per image, shape ({n},); got shape "
            f"{labels.shape}"
        )
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{desc}: labels must be integers (class indices), got dtype {labels.dtype}")
    if n and labels.min() < 0:
        raise ValueError(f"{desc}: labels must be class indices >= 0, found {labels.min()}")
    return labels.astype(np.int32)


def _index_names(labels):
    return tuple(str(i) for i in range(int(labels.max()) + 1 if len(labels) else 0))


def _images_only(fn, labelled):
    """A map function on images, lifted to (images, labels) elements when labelled."""
    if not labelled:
        return fn
    return _no_autograph(lambda images, labels: (fn(images), labels))


def _from_array(x, *, desc, image_size, batch_size, shuffle, seed, channels,
                drop_remainder, limit, value_range, shuffle_buffer, labels=None,
                class_names=None):
    x = _as_nhwc(np.asarray(x), desc)
    if labels is not None:
        labels = _check_label_array(labels, len(x), desc)
    if limit is not None:
        x = x[:limit]
        labels = None if labels is None else labels[:limit]
    vr = _array_value_range(x, value_range, desc)
    n, h, w, c = x.shape
    _check_count(n, batch_size, drop_remainder, desc)
    if x.dtype != np.uint8 and vr == (0.0, 255.0) and np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.uint8)  # 4x less memory; values already checked
    elif np.issubdtype(x.dtype, np.floating) and x.dtype != np.float32:
        x = x.astype(np.float32)
    images = tf.constant(np.ascontiguousarray(x))
    convert = _make_converter(vr, c, channels, (h, w), image_size)

    idx = tf.data.Dataset.range(n)
    if shuffle:
        buf = n if shuffle_buffer is None else min(shuffle_buffer, n)
        idx = idx.shuffle(buf, seed=seed, reshuffle_each_iteration=True)
    idx = idx.batch(batch_size, drop_remainder=drop_remainder)
    if labels is None:
        ds = idx.map(
            _no_autograph(lambda i: convert(tf.gather(images, i))),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        return _finish(ds)
    classes = tf.constant(labels)
    ds = idx.map(
        _no_autograph(lambda i: (convert(tf.gather(images, i)), tf.gather(classes, i))),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return _with_class_names(_finish(ds), class_names or _index_names(labels))


def _with_class_names(ds, class_names):
    ds.class_names = list(class_names)
    return ds


def _load_numpy_labels(path: str, split: str):
    """The labels of a ``.npz`` file: ``y_<split>``, else ``y`` or ``labels``."""
    if path.lower().endswith(".npy"):
        raise ValueError(
            f"{path!r} is a .npy file, which holds images only; for labels save a .npz "
            "with the images as 'x' and the labels as 'y' (np.savez(path, x=..., y=...))"
        )
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.keys())
        for key in (f"y_{split}", "y", "labels"):
            if key in keys:
                return archive[key]
    raise ValueError(
        f"{path!r} has no labels for split {split!r}: expected a key 'y_{split}', 'y' or "
        f"'labels'; keys found: {keys}"
    )


def _load_numpy_file(path: str, split: str):
    if path.lower().endswith(".npy"):
        _check_split_name(split, {"train"}, f"{path!r} (a .npy file has no splits)")
        return np.load(path, allow_pickle=False)
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.keys())
        if f"x_{split}" in keys:
            return archive[f"x_{split}"]
        split_keys = sorted(k[2:] for k in keys if k.startswith("x_"))
        if split_keys:
            raise ValueError(
                f"{path!r} has no key 'x_{split}' for split={split!r}; "
                f"keys found: {keys} (splits available: {split_keys})"
            )
        for key in ("x", "images"):
            if key in keys:
                chosen = key
                break
        else:
            if len(keys) == 1:
                chosen = keys[0]
            else:
                raise ValueError(
                    f"{path!r}: cannot tell which array holds the images; keys "
                    f"found: {keys}. Expected 'x_{split}', 'x', 'images' or a "
                    "single array"
                )
        _check_split_name(
            split, {"train"}, f"{path!r} (array {chosen!r}; no 'x_<split>' keys, so no splits)"
        )
        return archive[chosen]


# ==========================================================================
# Image folders
# ==========================================================================


def _list_image_files(directory: str) -> list[str]:
    files = []
    for root, dirs, names in os.walk(directory, followlinks=True):
        dirs.sort()
        for name in sorted(names):
            if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith("."):
                files.append(os.path.join(root, name))
    return files


# PIL modes -> channel count when `channels` is None. Alpha is dropped by
# default (a GAN rarely wants it; pass channels=4 to keep it).
_GRAY_MODES = {"1", "L", "LA", "La"}
_UNSUPPORTED_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_PIL_MODE = {1: "L", 3: "RGB", 4: "RGBA"}


class BadFilesSkipped(UserWarning):
    """``load_dataset(..., on_error="skip")`` left out unreadable files; ``files`` lists
    ``(path, reason)`` for each."""

    def __init__(self, message, files):
        super().__init__(message)
        self.files = files


def _scan_images(files, channels, on_error="raise", image_size=None):
    """Decode every file once: clear errors naming bad files (or skip them); sizes;
    channels. Returns ``(channels, sizes, usable files)``."""
    from PIL import Image, UnidentifiedImageError

    shapes, modes, usable, bad = [], set(), [], []
    for path in files:
        try:
            with Image.open(path) as im:
                mode, size = im.mode, im.size
                im.load()  # a cut body fails here, not in the middle of training
            if mode in _UNSUPPORTED_MODES:
                raise ValueError(
                    f"PIL mode {mode!r} (16-bit or float pixels) is not supported; convert "
                    "the images to 8-bit"
                )
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            if on_error == "raise":
                raise ValueError(
                    f"cannot read image file {path!r}: {exc} (on_error='skip' leaves out "
                    "unreadable files)"
                ) from exc
            bad.append((path, str(exc)))
            continue
        usable.append(path)
        modes.add(mode)
        shapes.append((size[1], size[0]))  # PIL gives (width, height)
    if bad:
        if not usable:
            raise ValueError(
                f"all {len(files)} image files are unreadable (e.g. {bad[0][0]!r}: {bad[0][1]})"
            )
        warnings.warn(BadFilesSkipped(
            f"skipped {len(bad)} of {len(files)} image files that could not be read "
            f"(e.g. {bad[0][0]!r}: {bad[0][1]})", bad), stacklevel=3)
    small = [s for s in shapes if image_size is not None and (
        s[0] < image_size[0] or s[1] < image_size[1])]
    if small:
        warnings.warn(
            f"{len(small)} image(s) (e.g. {min(small)} as (H, W)) are smaller than "
            f"image_size {tuple(image_size)}: they are upsampled (bilinear).",
            stacklevel=3,
        )
    if channels is None:  # colour if any file is colour, whatever the order of files
        channels = 1 if modes <= _GRAY_MODES else 3
    return channels, set(shapes), usable


def _decode_with_pil(path, mode, expect_hw=None):
    from PIL import Image

    path = path.decode() if isinstance(path, bytes) else str(path)
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert(mode), dtype=np.uint8)
    except Exception as exc:  # re-raised with the file name in it
        raise ValueError(f"cannot decode image file {path!r}: {exc}") from exc
    if expect_hw is not None and arr.shape[:2] != tuple(expect_hw):
        raise ValueError(
            f"image file {path!r} is {arr.shape[:2]} (H, W), expected {tuple(expect_hw)}; "
            "did it change since load_dataset scanned the folder?"
        )
    if arr.ndim == 2:
        arr = arr[..., np.newaxis]
    return arr


def _folder_labels(root, files):
    """Class index of each file from its first sub-folder under ``root`` (sorted names)."""
    tops = [os.path.relpath(path, root).split(os.sep) for path in files]
    loose = [os.path.join(root, *parts) for parts in tops if len(parts) == 1]
    if loose:
        raise ValueError(
            f"labels=True needs one sub-folder per class in {root!r}, but {loose[0]!r} "
            f"(and {len(loose) - 1} more) sits directly in it; move the images into "
            "class folders or load without labels"
        )
    class_names = sorted({parts[0] for parts in tops})
    index = {name: i for i, name in enumerate(class_names)}
    return np.array([index[parts[0]] for parts in tops], dtype=np.int32), class_names


def _from_image_folder(directory, *, split, image_size, batch_size, shuffle, seed,
                       channels, drop_remainder, cache, limit, shuffle_buffer,
                       labels=False, on_error="raise"):
    sub = os.path.join(directory, split) if isinstance(split, str) else None
    if sub and os.path.isdir(sub):
        root = sub
    else:
        _check_split_name(
            split, {"train"},
            f"image folder {directory!r} (it has no sub-folder named {split!r})",
        )
        root = directory
    files = _list_image_files(root)
    if not files:
        raise FileNotFoundError(
            f"{directory!r} holds no IDX files and no image files "
            f"({', '.join(IMAGE_EXTENSIONS)}), searched recursively"
        )
    if limit is not None:
        files = files[:limit]
    class_names = None
    if labels:
        file_labels, class_names = _folder_labels(root, files)
    desc = f"image folder {root!r}"
    scanned = files
    channels, sizes, files = _scan_images(files, channels, on_error, image_size)
    if labels and len(files) != len(scanned):  # the labels of the readable files
        usable = set(files)
        file_labels = file_labels[[path in usable for path in scanned]]
    _check_count(len(files), batch_size, drop_remainder, desc)
    mode = _PIL_MODE[channels]
    uniform = len(sizes) == 1
    if not uniform and image_size is None:
        listed = sorted(sizes)[:5]
        raise ValueError(
            f"{desc}: images have different sizes (e.g. {listed} as (H, W)); "
            "pass image_size=... to resize them to a common size"
        )

    files_ds = tf.data.Dataset.from_tensor_slices((files, file_labels) if labels else files)
    if uniform:
        (h, w), = sizes

        # Decode in chunks: one Python call per chunk of files instead of one
        # per file (the per-call overhead of numpy_function dominates for
        # small images); chunks decode in parallel.
        @_no_autograph
        def decode_chunk(paths):
            imgs = tf.numpy_function(
                lambda ps: np.stack([_decode_with_pil(p, mode, (h, w)) for p in ps]),
                [paths], tf.uint8,
            )
            # A file whose size differs from the header scan fails loudly.
            return tf.ensure_shape(imgs, (None, h, w, channels))

        ds = files_ds.batch(_DECODE_CHUNK).map(
            _images_only(decode_chunk, labels), num_parallel_calls=tf.data.AUTOTUNE
        )
        ds = _apply_cache(ds.unbatch(), cache)
        ds = _shuffle_stream(ds, shuffle, seed, shuffle_buffer, len(files))
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        convert = _make_converter((0.0, 255.0), channels, channels, (h, w), image_size)
        ds = ds.map(_images_only(convert, labels), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        # Mixed sizes: decode and resize each image before batching, and
        # cache the resized result.
        @_no_autograph
        def decode_one(path):
            img = tf.numpy_function(lambda p: _decode_with_pil(p, mode), [path], tf.uint8)
            return tf.ensure_shape(img, (None, None, channels))

        convert = _make_converter((0.0, 255.0), channels, channels, (None, None), image_size)
        ds = files_ds.map(_images_only(decode_one, labels), num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.map(_images_only(convert, labels), num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.map(_images_only(
            _no_autograph(lambda im: tf.ensure_shape(im, (*image_size, channels))), labels
        ))
        ds = _apply_cache(ds, cache)
        ds = _shuffle_stream(ds, shuffle, seed, shuffle_buffer, len(files))
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = _finish(ds)
    return _with_class_names(ds, class_names) if labels else ds


def _shuffle_stream(ds, shuffle, seed, shuffle_buffer, n=None):
    if not shuffle:
        return ds
    buf = _STREAM_SHUFFLE_BUFFER if shuffle_buffer is None else shuffle_buffer
    if n is not None and n > 0:
        buf = min(buf, n)
    return ds.shuffle(buf, seed=seed, reshuffle_each_iteration=True)


# ==========================================================================
# TFDS
# ==========================================================================


def _unavailable_message(name, split, exc):
    debian = DEBIAN_DATA_DIRS.get(name)
    sub = IDX_SUBDIRS[name][0]
    ways = [
        f"pass data_dir=DIR where DIR holds the IDX files "
        f"({_IDX_SPLIT_PREFIX[split]}-images-idx3-ubyte[.gz], ...)",
        f"set the environment variable {DATA_DIR_ENV}=DIR (DIR holding the "
        f"IDX files, or a '{sub}' sub-folder with them)",
    ]
    if debian:
        ways.append(
            f"apt-get install dataset-fashion-mnist (installs them in {debian})"
        )
    ways.append("or let tfds download it when online")
    lines = "\n".join(f"  {i}. {w}" for i, w in enumerate(ways, 1))
    return (
        f"dataset {name!r} (split {split!r}) was not found locally and "
        f"tensorflow_datasets could not load it ({type(exc).__name__}: {exc}).\n"
        f"Provide it in one of these ways:\n{lines}"
    )


def _from_tfds(name, *, split, data_dir, image_size, batch_size, shuffle, seed,
               channels, drop_remainder, cache, limit, shuffle_buffer, labels=False):
    import tensorflow_datasets as tfds

    try:
        ds, info = tfds.load(
            name,
            split=split,
            data_dir=data_dir,
            with_info=True,
            shuffle_files=bool(shuffle),
            read_config=tfds.ReadConfig(shuffle_seed=seed),
        )
    except Exception as exc:
        if name in IDX_SUBDIRS:
            raise DataUnavailableError(_unavailable_message(name, split, exc)) from exc
        raise DataUnavailableError(
            f"{name!r} is not an existing file or directory, and "
            f"tensorflow_datasets could not load it as a dataset (split "
            f"{split!r}, data_dir {data_dir!r}): {type(exc).__name__}: "
            f"{str(exc)[:500]}"
        ) from exc
    features = getattr(info, "features", None)
    keys = list(features.keys()) if hasattr(features, "keys") else []
    if "image" not in keys:
        raise ValueError(
            f"TFDS dataset {name!r} has no 'image' feature (features: {keys}); "
            "load_dataset needs an image dataset"
        )
    spec = ds.element_spec["image"]
    shape = spec.shape
    if shape.rank != 3 or spec.dtype != tf.uint8:
        raise ValueError(
            f"TFDS dataset {name!r}: 'image' is {spec.dtype.name} of shape "
            f"{shape}; expected uint8 (H, W, C)"
        )
    have_c = shape[-1]
    if have_c is None:
        raise ValueError(f"TFDS dataset {name!r}: unknown channel count in {shape}")
    class_names = None
    if labels:
        label_feature = features["label"] if "label" in keys else None
        names = getattr(label_feature, "names", None)
        if not names:
            raise ValueError(
                f"TFDS dataset {name!r} has no class-label feature 'label' (features: "
                f"{keys}); load it without labels"
            )
        class_names = list(names)
        ds = ds.map(
            _no_autograph(lambda ex: (ex["image"], tf.cast(ex["label"], tf.int32))),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:
        ds = ds.map(_no_autograph(lambda ex: ex["image"]), num_parallel_calls=tf.data.AUTOTUNE)
    if limit is not None:
        ds = ds.take(limit)
    n = int(ds.cardinality())
    if n >= 0:
        _check_count(n, batch_size, drop_remainder, f"TFDS {name!r} split {split!r}")
    h, w = shape[0], shape[1]
    if h is not None and w is not None:
        convert = _make_converter((0.0, 255.0), have_c, channels, (h, w), image_size)
        ds = _apply_cache(ds, cache)
        ds = _shuffle_stream(ds, shuffle, seed, shuffle_buffer, n if n >= 0 else None)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        ds = ds.map(_images_only(convert, labels), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        if image_size is None:
            raise ValueError(
                f"TFDS dataset {name!r} has images of varying size {shape}; "
                "pass image_size=... to resize them to a common size"
            )
        out_c = channels or have_c
        convert = _make_converter((0.0, 255.0), have_c, channels, (None, None), image_size)
        ds = ds.map(_images_only(convert, labels), num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.map(_images_only(
            _no_autograph(lambda im: tf.ensure_shape(im, (*image_size, out_c))), labels
        ))
        ds = _apply_cache(ds, cache)
        ds = _shuffle_stream(ds, shuffle, seed, shuffle_buffer, n if n >= 0 else None)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = _finish(ds)
    return _with_class_names(ds, class_names) if labels else ds


# ==========================================================================
# load_dataset
# ==========================================================================


def _is_idx_file(path: str) -> bool:
    base = os.path.basename(path).lower()
    return "idx" in base and "ubyte" in base


def load_dataset(
    source,
    image_size=32,
    batch_size=64,
    split="train",
    shuffle=True,
    seed=None,
    data_dir=None,
    channels=None,
    drop_remainder=True,
    cache=True,
    limit=None,
    *,
    value_range="auto",
    shuffle_buffer=None,
    labels=False,
    on_error="raise",
):
    """Batched, prefetched ``tf.data.Dataset`` of float32 images in [-1, 1].

    Elements have shape ``(batch_size, H, W, C)``; with ``labels`` they are
    ``(images, labels)`` pairs, labels int32 of shape ``(batch_size,)``.

    Args:
      source: a TFDS image dataset name (e.g. ``"fashion_mnist"``,
        ``"cifar10"``), a directory of IDX files or of image files, a single
        IDX / ``.npy`` / ``.npz`` file, or a numpy array / tensor of shape
        (N, H, W) or (N, H, W, C). An existing path always wins over a TFDS
        name. For ``"fashion_mnist"`` and ``"mnist"`` local IDX files are
        used when found (see :func:`local_idx_dir`); only then is TFDS asked.
      image_size: int or (H, W): bilinear resize target. None keeps the
        native size. The reference task resizes Fashion-MNIST 28 -> 32.
      batch_size: positive int.
      split: "train"/"test" for IDX; any TFDS split string for TFDS;
        ``x_<split>`` for ``.npz``; a sub-folder name for image folders.
        Sources without splits (arrays, ``.npy``, a flat image folder) only
        serve ``"train"``: asking them for another split is an error rather
        than silently handing back the same data.
      shuffle, seed: seeded shuffling, reshuffled on each iteration (epoch);
        the same seed gives the same sequence of epochs.
      data_dir: TFDS data directory; for fashion_mnist/mnist also the first
        place searched for IDX files.
      channels: 1, 3 or 4 to convert to; None keeps the native count (image
        folders: inferred from the first image, 1 for grayscale, else 3).
      drop_remainder: True (default) drops the last short batch so every
        batch has the same static shape, which the GAN train steps require.
      cache: True caches decoded images in memory (streamed sources); a
        string caches to that file; False disables. Arrays are in memory
        already.
      limit: use only the first ``limit`` images (before shuffling).
      value_range: for arrays: "auto" (see below) or the (low, high) range
        of the data, mapped linearly onto [-1, 1]. Auto: uint8 (and integer
        arrays within [0, 255]) are [0, 255]; float arrays are [-1, 1] when
        they hold negative values within [-1, 1], [0, 255] when their maximum
        exceeds 1 within [0, 255]. A float array within [0, 1] is ambiguous
        and needs an explicit value_range; others are refused.
      shuffle_buffer: shuffle buffer size; default: the whole array for
        arrays/IDX (an index shuffle, cheap), min(10000, N) for streamed
        sources.
      labels: False (images only); True for ``(images, labels)`` elements,
        the labels taken from the TFDS ``label`` feature, the IDX labels file
        beside the images, the class sub-folders of an image folder (sorted
        names -> 0, 1, ...) or a ``.npz``'s ``y_<split>`` / ``y`` / ``labels``
        array; or, for an array source, the labels array itself. The
        dataset's ``class_names`` lists the class of each index.
      on_error: image folders: every file is decoded once when the folder is
        scanned; "raise" (default) stops at the first unreadable file, naming
        it; "skip" leaves unreadable files out with one ``BadFilesSkipped``
        warning (count, first file; its ``files`` lists them all). A folder
        with no readable image is an error either way. Without ``channels``,
        images are RGB if any file is in colour (RGBA: alpha dropped), else
        grayscale; images smaller than ``image_size`` are upsampled, with a
        warning.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    batch_size = _check_positive_int("batch_size", batch_size)
    image_size = _normalize_image_size(image_size)
    channels = _check_channels(channels)
    limit = _check_positive_int("limit", limit, allow_none=True)
    shuffle_buffer = _check_positive_int("shuffle_buffer", shuffle_buffer, allow_none=True)
    value_range = _check_value_range(value_range)
    if not isinstance(split, str) or not split:
        raise ValueError(f"split must be a non-empty string, got {split!r}")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise ValueError(f"shuffle must be True or False, got {shuffle!r}")
    if not isinstance(drop_remainder, (bool, np.bool_)):
        raise ValueError(f"drop_remainder must be True or False, got {drop_remainder!r}")
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
    seed = None if seed is None else int(seed)
    if not isinstance(cache, (bool, str, os.PathLike)):
        raise ValueError(f"cache must be True, False or a file path, got {cache!r}")
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise ValueError(f"data_dir must be a path or None, got {data_dir!r}")

    label_array = None
    if not isinstance(labels, (bool, np.bool_)):
        if not isinstance(source, (np.ndarray, tf.Tensor)) or labels is None:
            raise ValueError(
                "labels must be True or False (or, for an array source, the labels "
                f"array), got {type(labels).__name__}"
            )
        label_array = np.asarray(labels)
    labelled = label_array is not None or bool(labels)

    common = dict(image_size=image_size, batch_size=batch_size, shuffle=bool(shuffle),
                  seed=seed, channels=channels, drop_remainder=bool(drop_remainder),
                  limit=limit, shuffle_buffer=shuffle_buffer)
    array_kw = dict(common, value_range=value_range)

    if isinstance(source, (np.ndarray, tf.Tensor)):
        _check_split_name(split, {"train"}, "an in-memory array (it has no splits)")
        if labelled and label_array is None:
            raise ValueError(
                "labels=True with an image array: pass the labels array itself, "
                "load_dataset(images, labels=class_indices)"
            )
        return _from_array(np.asarray(source), desc="image array", labels=label_array,
                           **array_kw)

    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "source must be a TFDS dataset name, a path (IDX/image directory, "
            ".npy/.npz/IDX file) or a numpy array; got "
            f"{type(source).__name__}"
        )
    path = os.fspath(source)

    if os.path.isfile(path):
        lower = path.lower()
        if lower.endswith((".npy", ".npz")):
            file_labels = _load_numpy_labels(path, split) if labelled else None
            return _from_array(_load_numpy_file(path, split), desc=repr(path),
                               labels=file_labels, **array_kw)
        if _is_idx_file(path):
            file_labels = None
            if labelled:
                file_labels = _idx_labels(IdxFiles(path, _sibling_labels(path)))
            return _from_array(read_idx(path), desc=repr(path), labels=file_labels,
                               **array_kw)
        raise ValueError(
            f"source file {path!r} is not a .npy/.npz or IDX (*-idx3-ubyte[.gz]) "
            "file; for image files pass their directory"
        )

    if os.path.isdir(path):
        if _has_any_idx_images(path):
            files = find_idx_files(path, split)
            return _from_array(read_idx(files.images), desc=repr(files.images),
                               labels=_idx_labels(files) if labelled else None, **array_kw)
        return _from_image_folder(path, split=split, cache=cache, labels=labelled,
                                  on_error=on_error, **common)

    if value_range is not None:
        raise ValueError("value_range applies to array sources only, not to TFDS datasets")

    local = local_idx_dir(path, split, data_dir)
    if local is not None:
        files = find_idx_files(local, split)
        logger.info("load_dataset(%r): using local IDX file %s", path, files.images)
        return _from_array(read_idx(files.images), desc=repr(files.images),
                           labels=_idx_labels(files) if labelled else None,
                           class_names=CLASS_NAMES.get(path), **array_kw)
    return _from_tfds(path, split=split, data_dir=data_dir, cache=cache, labels=labelled,
                      **common)


def _sibling_labels(images_path):
    """The labels file next to a single IDX images file (``*-labels-idx1-ubyte``), or None."""
    directory, name = os.path.split(images_path)
    candidate = re.sub(r"images([.-])idx3", r"labels\1idx1", name)
    for option in (candidate, candidate[:-3] if candidate.endswith(".gz") else candidate + ".gz"):
        if option != name and os.path.isfile(os.path.join(directory, option)):
            return os.path.join(directory, option)
    return None


def _idx_labels(files):
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


def load_labelled_arrays(source, split="train", image_size=32, data_dir=None, limit=None,
                         channels=None):
    """``(images, labels)`` as numpy: float32 images in [-1, 1] (N, H, W, C), int labels.

    For the evaluation yardstick, which trains a classifier on the real training
    split and compares against the real test split. Sources with labels: local IDX
    folders (and the fashion_mnist / mnist lookup of :func:`load_dataset`), or a TFDS
    dataset with ``image`` and ``label`` features. Images go through the same
    conversion as :func:`load_dataset`, so they match what the models were trained on.
    """
    path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    if path is None:
        raise TypeError(
            "source must be a dataset name or an IDX directory for labelled data, got "
            f"{type(source).__name__}"
        )
    if os.path.isdir(path) and _has_any_idx_images(path):
        local = path
    else:
        local = local_idx_dir(path, split, data_dir)
    if local is not None:
        files = find_idx_files(local, split)
        if files.labels is None:
            raise FileNotFoundError(
                f"{local!r} has {split} images but no labels file "
                f"({_IDX_SPLIT_PREFIX[split]}-labels-idx1-ubyte[.gz]); labels are needed "
                "to train the evaluation classifier"
            )
        raw, labels = read_idx(files.images), read_idx(files.labels)
        if len(raw) != len(labels):
            raise IdxFormatError(
                f"{files.images!r} holds {len(raw)} images but {files.labels!r} holds "
                f"{len(labels)} labels"
            )
    else:
        import tensorflow_datasets as tfds

        try:
            data = tfds.as_numpy(tfds.load(path, split=split, data_dir=data_dir,
                                           batch_size=-1))
        except Exception as exc:
            if path in IDX_SUBDIRS:
                raise DataUnavailableError(_unavailable_message(path, split, exc)) from exc
            raise DataUnavailableError(
                f"could not load labelled data {path!r} (split {split!r}) from a local "
                f"IDX folder or tensorflow_datasets: {type(exc).__name__}: {str(exc)[:300]}"
            ) from exc
        if "image" not in data or "label" not in data:
            raise ValueError(
                f"dataset {path!r} needs 'image' and 'label' features for labelled "
                f"evaluation; it has {sorted(data)}"
            )
        raw, labels = data["image"], data["label"]
    if limit is not None:
        raw, labels = raw[:limit], labels[:limit]
    batches = load_dataset(raw, image_size=image_size, batch_size=min(1024, len(raw)),
                           shuffle=False, drop_remainder=False, channels=channels)
    images = np.concatenate([b.numpy() for b in batches], axis=0)
    return images, np.asarray(labels, dtype="int64")


# ==========================================================================
# 2-D toy distributions (WGAN-GP paper, reference code's definitions)
# ==========================================================================

#: name -> (unscaled noise std, divisor). Points are centre + N(0, std^2) per
#: coordinate, then everything divided by the divisor.
_TOY_SPECS = {
    "8gaussians": (0.02, 1.414),
    "25gaussians": (0.05, 2.828),
    "swissroll": (0.25, 7.5),
}
TOY_DATASETS = tuple(_TOY_SPECS)


def _check_toy_name(name):
    if name not in _TOY_SPECS:
        raise ValueError(f"unknown toy dataset {name!r}; valid names: {list(TOY_DATASETS)}")


def _raw_centers(name):
    if name == "8gaussians":
        angles = np.arange(8) * (np.pi / 4.0)
        return 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    if name == "25gaussians":
        grid = np.arange(-2, 3) * 2.0
        return np.array([(i, j) for i in grid for j in grid], dtype=np.float64)
    raise ValueError(
        f"toy dataset {name!r} has no discrete centres (only 8gaussians and "
        "25gaussians do)"
    )


def toy_centers(name):
    """(centres, std): mode centres and per-coordinate noise std, both scaled.

    8gaussians: 8 points at radius 2/1.414, angles k*45 deg, std 0.02/1.414.
    25gaussians: (2i, 2j)/2.828 for i, j in -2..2, std 0.05/2.828.
    Used to count captured modes. swissroll has no discrete centres (error).
    """
    _check_toy_name(name)
    std, div = _TOY_SPECS[name]
    return _raw_centers(name) / div, std / div


def _rng(seed):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise ValueError(f"seed must be a non-negative int, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(seed)


def _sample_toy(name, n, rng):
    std, div = _TOY_SPECS[name]
    if name == "swissroll":
        # sklearn.datasets.make_swiss_roll: t = 1.5 pi (1 + 2u); (x, y, z) =
        # (t cos t, 21 v, t sin t) + noise. Only (x, z) is kept, so y and its
        # noise are not drawn: the kept coordinates' distribution is the same.
        t = 1.5 * np.pi * (1.0 + 2.0 * rng.random(n))
        pts = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
        pts += rng.normal(0.0, std, size=(n, 2))
    else:
        centers = _raw_centers(name)
        # Centres drawn i.i.d. uniformly (the reference code picks one at
        # random per point for 8gaussians and cycles a shuffled balanced set
        # for 25gaussians; both are uniform over modes).
        pts = centers[rng.integers(0, len(centers), size=n)]
        pts = pts + rng.normal(0.0, std, size=(n, 2))
    return (pts / div).astype(np.float32)


def sample_toy(name, n, seed=None):
    """``n`` points of toy set ``name`` as float32 numpy (n, 2).

    ``seed``: int, numpy Generator or None; the same int gives the same points.
    """
    _check_toy_name(name)
    n = _check_positive_int("n", n)
    return _sample_toy(name, n, _rng(seed))


def toy_dataset(name, batch_size=256, seed=None):
    """Infinite ``tf.data.Dataset`` of float32 (batch_size, 2) toy batches.

    Each iteration restarts the numpy stream from ``seed``, so with an int
    seed the first batch equals ``sample_toy(name, batch_size, seed)``.
    """
    _check_toy_name(name)
    batch_size = _check_positive_int("batch_size", batch_size)
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")

    def gen():
        rng = np.random.default_rng(seed)
        while True:
            yield _sample_toy(name, batch_size, rng)

    ds = tf.data.Dataset.from_generator(
        gen, output_signature=tf.TensorSpec((batch_size, 2), tf.float32)
    )
    return ds.prefetch(tf.data.AUTOTUNE)
