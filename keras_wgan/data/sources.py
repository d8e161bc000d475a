"""Which reader a source goes to: ``load_dataset`` and ``load_labelled_arrays``.

A TFDS name, an IDX folder or file, an image folder, a ``.npy`` / ``.npz`` file or an
array: the dispatcher checks the shared settings once (:mod:`keras_wgan.data.options`),
tells the source's kind from what is on disk (an existing path always wins over a TFDS
name; for ``"fashion_mnist"`` and ``"mnist"`` local IDX files win over TFDS), and hands
it to the reader of that kind, which returns the batched dataset.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import tensorflow as tf

from keras_wgan import checks
from keras_wgan.data import options
from keras_wgan.data.arrays import from_array, load_numpy_file, load_numpy_labels
from keras_wgan.data.folders import folder_split_arrays, from_image_folder
from keras_wgan.data.idx import (
    CLASS_NAMES,
    IDX_SPLIT_PREFIX,
    IdxFiles,
    IdxFormatError,
    find_idx_files,
    has_any_idx_images,
    idx_labels,
    is_idx_file,
    local_idx_dir,
    read_idx,
    sibling_labels,
)
from keras_wgan.data.options import check_split
from keras_wgan.data.tfds import from_tfds, load_labelled

logger = logging.getLogger("keras_wgan.data")


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
        shuffle: whether to shuffle, reshuffled on each iteration (epoch).
        seed: the shuffling's seed; the same seed gives the same sequence of
            epochs.
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

    Returns:
        A ``tf.data.Dataset`` of float32 ``(batch_size, H, W, C)`` images in [-1, 1]
        (or ``(images, labels)`` pairs), with ``class_names`` when it has labels.

    Raises:
        FileNotFoundError: a path or IDX file that is not there.
        ValueError: a bad setting (the message names the argument and what it takes),
            a split the source does not have, or unreadable files with
            ``on_error="raise"``.
        TooFewImagesError: fewer images than one batch with ``drop_remainder``.
        UnknownDatasetError: neither a file, a folder nor a TFDS name.
        DataUnavailableError: a TFDS dataset that cannot be had offline.

    Example:

    ```python
    dataset = load_dataset("fashion_mnist", image_size=32, batch_size=64, seed=0)
    pictures = load_dataset("my_pictures/", image_size=64, channels=3)
    labelled = load_dataset("fashion_mnist", labels=True)  # (images, labels)
    print(labelled.class_names[7])  # "Sneaker"
    ```
    """
    on_error = checks.check_choice("on_error", on_error, options.ON_ERROR)
    batch_size = checks.check_positive_int("batch_size", batch_size)
    image_size = options.normalize_image_size(image_size)
    channels = options.check_channels(channels)
    limit = checks.check_positive_int("limit", limit, allow_none=True)
    shuffle_buffer = checks.check_positive_int("shuffle_buffer", shuffle_buffer, allow_none=True)
    value_range = options.check_value_range(value_range)
    checks.check_non_empty_str("split", split)
    shuffle = checks.check_bool("shuffle", shuffle)
    drop_remainder = checks.check_bool("drop_remainder", drop_remainder)
    seed = checks.check_non_negative_int("seed", seed, allow_none=True)
    if not isinstance(cache, (bool, str, os.PathLike)):
        raise ValueError(f"`cache` must be True, False or a file path, got {cache!r}.")
    checks.check_path("data_dir", data_dir, allow_none=True)

    label_array = None
    if not isinstance(labels, (bool, np.bool_)):
        if not isinstance(source, (np.ndarray, tf.Tensor)) or labels is None:
            raise ValueError(
                "`labels` must be True or False (or, for an array source, the labels "
                f"array), got a {type(labels).__name__}."
            )
        label_array = np.asarray(labels)
    labelled = label_array is not None or bool(labels)

    common = dict(image_size=image_size, batch_size=batch_size, shuffle=shuffle,
                  seed=seed, channels=channels, drop_remainder=drop_remainder,
                  limit=limit, shuffle_buffer=shuffle_buffer)
    array_kw = dict(common, value_range=value_range)

    if isinstance(source, (np.ndarray, tf.Tensor)):
        check_split(split, {"train"}, "an in-memory array (it has no splits)")
        if labelled and label_array is None:
            raise ValueError(
                "labels=True with an image array: pass the labels array itself, "
                "load_dataset(images, labels=class_indices)"
            )
        return from_array(np.asarray(source), desc="image array", labels=label_array,
                          **array_kw)

    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            "`source` must be a TFDS dataset name, a path (IDX/image directory, "
            f".npy/.npz/IDX file) or a numpy array, got a {type(source).__name__}."
        )
    path = os.fspath(source)

    if os.path.isfile(path):
        lower = path.lower()
        if lower.endswith((".npy", ".npz")):
            file_labels = load_numpy_labels(path, split) if labelled else None
            return from_array(load_numpy_file(path, split), desc=repr(path),
                              labels=file_labels, **array_kw)
        if is_idx_file(path):
            file_labels = None
            if labelled:
                file_labels = idx_labels(IdxFiles(path, sibling_labels(path)))
            return from_array(read_idx(path), desc=repr(path), labels=file_labels,
                              **array_kw)
        raise ValueError(
            f"source file {path!r} is not a .npy/.npz or IDX (*-idx3-ubyte[.gz]) "
            "file; for image files pass their directory"
        )

    if os.path.isdir(path):
        if has_any_idx_images(path):
            files = find_idx_files(path, split)
            return from_array(read_idx(files.images), desc=repr(files.images),
                              labels=idx_labels(files) if labelled else None, **array_kw)
        return from_image_folder(path, split=split, cache=cache, labels=labelled,
                                  on_error=on_error, **common)

    if value_range is not None:
        raise ValueError("value_range applies to array sources only, not to TFDS datasets")

    local = local_idx_dir(path, split, data_dir)
    if local is not None:
        files = find_idx_files(local, split)
        logger.info("load_dataset(%r): using local IDX file %s", path, files.images)
        return from_array(read_idx(files.images), desc=repr(files.images),
                          labels=idx_labels(files) if labelled else None,
                          class_names=CLASS_NAMES.get(path), **array_kw)
    return from_tfds(path, split=split, data_dir=data_dir, cache=cache, labels=labelled,
                      **common)


def load_labelled_arrays(source, split="train", image_size=32, data_dir=None, limit=None,
                         channels=None):
    """``(images, labels)`` as numpy: float32 images in [-1, 1] (N, H, W, C), int labels.

    For the evaluation yardstick, which trains a classifier on the real training
    split and compares against the real test split. Sources with labels: local IDX
    folders (and the fashion_mnist / mnist lookup of :func:`load_dataset`), or a TFDS
    dataset with ``image`` and ``label`` features. A folder of image files gives labels
    from its class sub-folders, or None when it has none, and its test split is held
    out of it (:func:`keras_wgan.data.folders.folder_split_arrays`). Images go through the same
    conversion as :func:`load_dataset`, so they match what the models were trained on.

    Args:
        source: a dataset name (``"fashion_mnist"``, a TFDS name with labels), an IDX
            folder or a folder of image files.
        split: ``"train"`` or ``"test"`` (a TFDS split string for TFDS).
        image_size: int or ``(H, W)``: the size to convert to.
        data_dir: where IDX files or TFDS data are looked for first.
        limit: only the first ``limit`` images.
        channels: 1, 3 or 4 to convert to; None keeps the source's.

    Returns:
        ``(images, labels)``: images float32 ``(N, H, W, C)`` in [-1, 1], labels an int
        array of shape ``(N,)``, or None for a folder without class sub-folders.

    Raises:
        TypeError: ``source`` is an array (it has no labels to read).
        FileNotFoundError: the source has no labels file or split.
        IdxFormatError: a corrupt IDX file.
    """
    path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    if path is None:
        raise TypeError(
            "`source` must be a dataset name or an IDX directory for labelled data, got a "
            f"{type(source).__name__}."
        )
    if os.path.isdir(path) and not has_any_idx_images(path):  # a folder of image files
        images, labels = folder_split_arrays(path, split, image_size, channels, load_dataset)
        if limit is not None:
            images = images[:limit]
            labels = None if labels is None else labels[:limit]
        return images, labels
    if os.path.isdir(path) and has_any_idx_images(path):
        local = path
    else:
        local = local_idx_dir(path, split, data_dir)
    if local is not None:
        files = find_idx_files(local, split)
        if files.labels is None:
            raise FileNotFoundError(
                f"{local!r} has {split} images but no labels file "
                f"({IDX_SPLIT_PREFIX[split]}-labels-idx1-ubyte[.gz]); labels are needed "
                "to train the evaluation classifier"
            )
        raw, labels = read_idx(files.images), read_idx(files.labels)
        if len(raw) != len(labels):
            raise IdxFormatError(
                f"{files.images!r} holds {len(raw)} images but {files.labels!r} holds "
                f"{len(labels)} labels"
            )
    else:
        raw, labels = load_labelled(path, split, data_dir)
    if limit is not None:
        raw, labels = raw[:limit], labels[:limit]
    batches = load_dataset(raw, image_size=image_size, batch_size=min(1024, len(raw)),
                           shuffle=False, drop_remainder=False, channels=channels)
    images = np.concatenate([b.numpy() for b in batches], axis=0)
    return images, np.asarray(labels, dtype="int64")
