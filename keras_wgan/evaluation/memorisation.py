"""Is the generator copying its training set? Nearest training images in feature space.

For each generated image, the training images closest to it in the features of the
domain yardstick's classifier (Euclidean distance). One number with its reference: the
mean distance from generated images to their nearest training image, divided by the same
for real *held-out* images (which the generator never saw and nobody copied). About 1:
the samples are as far from the training set as new real images are; well below 1: the
samples sit on training images, i.e. copies.

The ratio is a mean, so a model that copies a share p of its samples scores about 1 - p
and partial copying hides in it. Hence the second figure, per sample: the share of
generated images closer to a training image than :data:`COPY_PERCENTILE` % of held-out
real images are (below that percentile of the held-out nearest distances). New images
land there :data:`COPY_PERCENTILE` % of the time by construction; copies always do, so
the share is about ``p + (1 - p) * 0.05``, and the report names those samples.
"""

import numpy as np

__all__ = ["nearest_neighbours", "memorisation_ratio", "NearestReport", "COPY_PERCENTILE",
           "COPY_SHARE_ALERT", "leave_one_out_distances"]

#: A sample is "closer than held-out images usually are" below this percentile of the
#: held-out images' nearest-training distances; new images land there this % of the time.
COPY_PERCENTILE = 5
#: A share of such samples above this (twice what new images give) reads as copying.
COPY_SHARE_ALERT = 0.10

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


def leave_one_out_distances(features):
    """Each row's distance to its nearest *other* row: the held-out distances of a set
    whose every image was trained on (each image against the rest)."""
    if len(features) < 2:
        raise ValueError(f"leave-one-out needs at least 2 rows, got {len(features)}.")
    indices, distances = nearest_neighbours(features, features, 2)
    # The nearest is the row itself (distance ~0), unless an exact duplicate comes first.
    own = indices[:, 0] == np.arange(len(features))
    return np.where(own, distances[:, 1], distances[:, 0])


def memorisation_ratio(generated_features, train_features, heldout_features, k=3,
                       heldout_distances=None):
    """How close generated images sit to the training set, against held-out real images.

    Returns a :class:`NearestReport`: ``ratio`` (mean nearest-training distance of the
    generated images / that of the held-out real images; well below 1 means copies),
    ``generated_distance``, ``heldout_distance``, ``indices`` / ``distances`` (the ``k``
    nearest training images of every generated one), ``threshold`` (the
    :data:`COPY_PERCENTILE`-th percentile of the held-out nearest distances), ``copied``
    (the generated images nearer than it to a training image, nearest first) and
    ``copy_share`` (their share; about 0.05 for a model that copies nothing).
    ``heldout_distances``: the held-out images' nearest-training distances when they
    are computed another way (:func:`leave_one_out_distances`); then
    ``heldout_features`` is not used and may be None.
    """
    indices, distances = nearest_neighbours(generated_features, train_features, k)
    if heldout_distances is None:
        heldout_distances = nearest_neighbours(heldout_features, train_features, 1)[1][:, 0]
    heldout_distances = np.asarray(heldout_distances, np.float64)
    nearest = distances[:, 0]
    generated_distance = float(nearest.mean())
    heldout_distance = float(heldout_distances.mean())
    ratio = generated_distance / heldout_distance if heldout_distance > 0 else float("inf")
    threshold = float(np.percentile(heldout_distances, COPY_PERCENTILE))
    copied = np.flatnonzero(nearest < threshold)
    copied = copied[np.argsort(nearest[copied], kind="stable")]
    return NearestReport(ratio=ratio, generated_distance=generated_distance,
                         heldout_distance=heldout_distance, indices=indices,
                         distances=distances, threshold=threshold, copied=copied,
                         copy_share=len(copied) / len(nearest),
                         num_heldout=len(heldout_distances))
