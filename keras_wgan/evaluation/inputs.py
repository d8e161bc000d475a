"""What the feature networks are fed: image batches in [-1, 1] and class labels, checked.

Both extractors (InceptionV3 and the domain classifier) and the yardstick read
images through these helpers, so every entry point accepts the same inputs: float
arrays in [-1, 1] of shape (N, H, W, C), (N, H, W) read as grayscale, or an iterable
of such batches (a ``tf.data.Dataset`` of ``(images, labels)`` included), and says
the same thing when they are wrong.
"""

from __future__ import annotations

import numpy as np

#: Slack on the [-1, 1] range check for images (float round-off).
RANGE_TOL = 1e-3


def check_images(batch, name):
    """Validate one batch of images in [-1, 1]; return (N, H, W, C) float32."""
    arr = np.asarray(batch, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4:
        raise ValueError(
            f"{name} must be images of shape (N, H, W, C) or (N, H, W), "
            f"got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        return arr
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -1.0 - RANGE_TOL or hi > 1.0 + RANGE_TOL:
        raise ValueError(
            f"{name} must be scaled to [-1, 1], got values in [{lo:.3g}, {hi:.3g}]"
        )
    return np.clip(arr, -1.0, 1.0)


def iter_image_batches(images, batch_size, name):
    """Yield validated numpy batches from an array or an iterable of batches.

    An iterable may yield arrays/tensors or (images, ...) tuples, as a
    tf.data.Dataset of (images, labels) does; only the images are used.
    """
    if isinstance(images, np.ndarray) or hasattr(images, "shape"):
        arr = check_images(images, name)
        for start in range(0, arr.shape[0], batch_size):
            yield arr[start : start + batch_size]
        return
    for batch in images:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        arr = check_images(batch, name)
        for start in range(0, arr.shape[0], batch_size):
            yield arr[start : start + batch_size]


def predict_fixed_batch(model, batch, batch_size):
    """predict_on_batch with the batch zero-padded to ``batch_size`` rows.

    Every call then has the same shape, so the model is traced once instead
    of once per ragged final batch (seconds each for InceptionV3).
    """
    n = batch.shape[0]
    if n < batch_size:
        pad = np.zeros((batch_size - n,) + tuple(batch.shape[1:]), np.float32)
        batch = np.concatenate([np.asarray(batch, np.float32), pad])
    out = model.predict_on_batch(batch)
    if isinstance(out, (list, tuple)):
        return [np.asarray(o, dtype=np.float64)[:n] for o in out]
    return np.asarray(out, dtype=np.float64)[:n]


def check_labels(labels, n, num_classes=None, name="train_labels"):
    """Validate ``n`` integer class ids in [0, num_classes); return them as int64."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(
            f"{name} must be {n} integer class ids, got shape {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(labels == np.round(labels)):
            raise ValueError(f"{name} must be integer class ids")
    labels = labels.astype(np.int64)
    if labels.min() < 0 or (num_classes is not None and labels.max() >= num_classes):
        raise ValueError(
            f"{name} must lie in [0, {num_classes}), got "
            f"[{labels.min()}, {labels.max()}]"
        )
    return labels
