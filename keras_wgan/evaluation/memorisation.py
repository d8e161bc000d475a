"""Is the generator copying its training set? Nearest training images in feature space.

For each generated image, the training images closest to it in the features of the
domain yardstick's classifier (Euclidean distance). One number with its reference: the
mean distance from generated images to their nearest training image, divided by the same
for real *held-out* images (which the generator never saw and nobody copied). About 1:
the samples are as far from the training set as new real images are; well below 1: the
samples sit on training images, i.e. copies.
"""

import numpy as np

__all__ = ["nearest_neighbours", "memorisation_ratio", "NearestReport"]

# Rows of the distance matrix computed at once (memory: CHUNK x N_train float64).
CHUNK = 256


def nearest_neighbours(queries, references, k=3):
    """``(indices, distances)`` of the ``k`` nearest rows of ``references`` to each row of
    ``queries`` (features, Euclidean), nearest first; ``(N, k)`` each."""
    queries = np.asarray(queries, np.float64)
    references = np.asarray(references, np.float64)
    if queries.ndim != 2 or references.ndim != 2 or queries.shape[1] != references.shape[1]:
        raise ValueError(f"features must be (N, D) arrays of the same D, got "
                         f"{queries.shape} and {references.shape}.")
    k = int(k)
    if not 1 <= k <= len(references):
        raise ValueError(f"`k` must be in 1..{len(references)} (the reference count), "
                         f"got {k}.")
    squared = np.square(references).sum(axis=1)
    indices, distances = [], []
    for start in range(0, len(queries), CHUNK):
        rows = queries[start:start + CHUNK]
        d2 = np.square(rows).sum(axis=1)[:, None] - 2 * rows @ references.T + squared[None]
        nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]
        part = np.take_along_axis(d2, nearest, axis=1)
        order = np.argsort(part, axis=1)
        indices.append(np.take_along_axis(nearest, order, axis=1))
        distances.append(np.sqrt(np.maximum(np.take_along_axis(part, order, axis=1), 0)))
    return np.concatenate(indices), np.concatenate(distances)


class NearestReport(dict):
    """The figures of :func:`memorisation_ratio`, a dict with attribute access."""

    __getattr__ = dict.__getitem__


def memorisation_ratio(generated_features, train_features, heldout_features, k=3):
    """How close generated images sit to the training set, against held-out real images.

    Returns a :class:`NearestReport`: ``ratio`` (mean nearest-training distance of the
    generated images / that of the held-out real images; well below 1 means copies),
    ``generated_distance``, ``heldout_distance``, and ``indices`` / ``distances``, the
    ``k`` nearest training images of every generated one.
    """
    indices, distances = nearest_neighbours(generated_features, train_features, k)
    _, heldout = nearest_neighbours(heldout_features, train_features, 1)
    generated_distance = float(distances[:, 0].mean())
    heldout_distance = float(heldout[:, 0].mean())
    ratio = generated_distance / heldout_distance if heldout_distance > 0 else float("inf")
    return NearestReport(ratio=ratio, generated_distance=generated_distance,
                         heldout_distance=heldout_distance, indices=indices,
                         distances=distances)
