"""Array sources: numpy arrays / tensors and ``.npy`` / ``.npz`` files -> ``tf.data``.

Arrays are in memory already, so they shuffle through an index permutation
(``range(N).shuffle(N)``) followed by a per-batch gather: a full, uniform shuffle each
epoch that costs only N int64 indices of buffer. Their value range is read from the data
(:func:`array_value_range`) because an array, unlike an image file, does not say whether
it holds [0, 255], [0, 1] or [-1, 1].
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_wgan.data import pipeline
from keras_wgan.data.options import check_split


def array_value_range(x: np.ndarray, value_range, desc):
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


def as_nhwc(x: np.ndarray, desc) -> np.ndarray:
    """(N, H, W) or (N, H, W, C) with C <= 4 as (N, H, W, C); channels-first is refused."""
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


def check_label_array(labels, n, desc):
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
    # Arrays carry no class names: the indices stand in for them.
    return tuple(str(i) for i in range(int(labels.max()) + 1 if len(labels) else 0))


def from_array(x, *, desc, image_size, batch_size, shuffle, seed, channels,
               drop_remainder, limit, value_range, shuffle_buffer, labels=None,
               class_names=None):
    """An image array (and optional labels) as a batched dataset; ``desc`` names it in errors."""
    x = as_nhwc(np.asarray(x), desc)
    if labels is not None:
        labels = check_label_array(labels, len(x), desc)
    if limit is not None:
        x = x[:limit]
        labels = None if labels is None else labels[:limit]
    vr = array_value_range(x, value_range, desc)
    n, h, w, c = x.shape
    pipeline.check_count(n, batch_size, drop_remainder, desc)
    if x.dtype != np.uint8 and vr == (0.0, 255.0) and np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.uint8)  # 4x less memory; values already checked
    elif np.issubdtype(x.dtype, np.floating) and x.dtype != np.float32:
        x = x.astype(np.float32)
    images = tf.constant(np.ascontiguousarray(x))
    convert = pipeline.make_converter(vr, c, channels, (h, w), image_size)

    idx = tf.data.Dataset.range(n)
    if shuffle:
        buf = n if shuffle_buffer is None else min(shuffle_buffer, n)
        idx = idx.shuffle(buf, seed=seed, reshuffle_each_iteration=True)
    idx = idx.batch(batch_size, drop_remainder=drop_remainder)
    if labels is None:
        ds = idx.map(
            pipeline.no_autograph(lambda i: convert(tf.gather(images, i))),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        return pipeline.finish(ds)
    classes = tf.constant(labels)
    ds = idx.map(
        pipeline.no_autograph(lambda i: (convert(tf.gather(images, i)), tf.gather(classes, i))),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return pipeline.finish(ds, class_names or _index_names(labels))


def load_numpy_labels(path: str, split: str):
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


def load_numpy_file(path: str, split: str):
    """A ``.npy``'s images, or a ``.npz``'s ``x_<split>`` / ``x`` / ``images`` / only array."""
    if path.lower().endswith(".npy"):
        check_split(split, {"train"}, f"{path!r} (a .npy file has no splits)")
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
        check_split(
            split, {"train"}, f"{path!r} (array {chosen!r}; no 'x_<split>' keys, so no splits)"
        )
        return archive[chosen]
