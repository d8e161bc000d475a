"""TFDS sources: an image dataset by name through ``tensorflow_datasets``, or a clear refusal.

``tensorflow_datasets`` is imported only when a name reaches it, after the local IDX
lookup has missed, so offline training on local files never touches it. When it cannot
load Fashion-MNIST or MNIST either, :class:`DataUnavailableError` lists the ways to
provide the files.
"""

from __future__ import annotations

import tensorflow as tf

from keras_wgan.data import pipeline
from keras_wgan.data.idx import DATA_DIR_ENV, DEBIAN_DATA_DIRS, IDX_SPLIT_PREFIX, IDX_SUBDIRS


class DataUnavailableError(RuntimeError):
    """A named dataset could be found neither locally nor through TFDS."""


class UnknownDatasetError(DataUnavailableError):
    """A source that is neither an existing file or folder nor a TFDS dataset name.

    One line, not TFDS' catalogue of every name.

    Args:
        name: the source as given (kept as ``name``).
        suggestions: the TFDS names closest to it, maybe none (kept as
            ``suggestions``).
    """

    def __init__(self, name, suggestions=()):
        self.name = name
        self.suggestions = list(suggestions)
        close = f" (did you mean {' or '.join(map(repr, self.suggestions))}?)" \
            if self.suggestions else ""
        super().__init__(
            f"{name!r} is neither an existing file or folder nor a TFDS dataset name{close}; "
            "give a TFDS name such as 'fashion_mnist', 'mnist' or 'cifar10' "
            "(tensorflow_datasets.list_builders() lists them), a folder of images, or an "
            "IDX, .npy or .npz file"
        )


def _closest_names(name):
    import difflib

    import tensorflow_datasets as tfds

    try:
        names = tfds.list_builders()
    except Exception:  # noqa: BLE001 - suggestions are a courtesy
        return []
    return difflib.get_close_matches(str(name), names, n=2, cutoff=0.75)


def _unavailable_message(name, split, exc):
    debian = DEBIAN_DATA_DIRS.get(name)
    sub = IDX_SUBDIRS[name][0]
    ways = [
        f"pass data_dir=DIR where DIR holds the IDX files "
        f"({IDX_SPLIT_PREFIX[split]}-images-idx3-ubyte[.gz], ...)",
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


def _load_failed(name, split, exc, what):
    """The error for a failed TFDS load: for a dataset we know locally, the ways to get it;
    for a name TFDS does not know, :class:`UnknownDatasetError`; else the reason's first
    line."""
    if name in IDX_SUBDIRS:
        return DataUnavailableError(_unavailable_message(name, split, exc))
    if type(exc).__name__ == "DatasetNotFoundError":  # tfds' error lists every name
        return UnknownDatasetError(name, _closest_names(name))
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return DataUnavailableError(f"{what}: {type(exc).__name__}: {first_line[:500]}")


def from_tfds(name, *, split, data_dir, image_size, batch_size, shuffle, seed,
              channels, drop_remainder, cache, limit, shuffle_buffer, labels=False):
    """A TFDS image dataset by name as a batched dataset (labels from its ``label`` feature)."""
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
        raise _load_failed(name, split, exc, f"{name!r} is not an existing file or directory, "
                           f"and tensorflow_datasets could not load it as a dataset (split "
                           f"{split!r}, data_dir {data_dir!r})") from exc
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
            pipeline.no_autograph(lambda ex: (ex["image"], tf.cast(ex["label"], tf.int32))),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    else:
        ds = ds.map(pipeline.no_autograph(lambda ex: ex["image"]),
                    num_parallel_calls=tf.data.AUTOTUNE)
    if limit is not None:
        ds = ds.take(limit)
    n = int(ds.cardinality())
    if n >= 0:
        pipeline.check_count(n, batch_size, drop_remainder, f"TFDS {name!r} split {split!r}")
    h, w = shape[0], shape[1]
    if h is not None and w is not None:
        convert = pipeline.make_converter((0.0, 255.0), have_c, channels, (h, w), image_size)
        ds = pipeline.apply_cache(ds, cache)
        ds = pipeline.shuffle_stream(ds, shuffle, seed, shuffle_buffer, n if n >= 0 else None)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        ds = ds.map(pipeline.images_only(convert, labels), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        if image_size is None:
            raise ValueError(
                f"TFDS dataset {name!r} has images of varying size {shape}; "
                "pass image_size=... to resize them to a common size"
            )
        out_c = channels or have_c
        convert = pipeline.make_converter((0.0, 255.0), have_c, channels, (None, None), image_size)
        ds = ds.map(pipeline.images_only(convert, labels), num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.map(pipeline.images_only(
            pipeline.no_autograph(lambda im: tf.ensure_shape(im, (*image_size, out_c))), labels
        ))
        ds = pipeline.apply_cache(ds, cache)
        ds = pipeline.shuffle_stream(ds, shuffle, seed, shuffle_buffer, n if n >= 0 else None)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return pipeline.finish(ds, class_names if labels else None)


def load_labelled(name, split, data_dir):
    """``(uint8 images, labels)`` of a TFDS dataset with ``image`` and ``label`` features."""
    import tensorflow_datasets as tfds

    try:
        data = tfds.as_numpy(tfds.load(name, split=split, data_dir=data_dir, batch_size=-1))
    except Exception as exc:
        raise _load_failed(name, split, exc, f"could not load labelled data {name!r} (split "
                           f"{split!r}) from a local IDX folder or tensorflow_datasets") from exc
    if "image" not in data or "label" not in data:
        raise ValueError(
            f"dataset {name!r} needs 'image' and 'label' features for labelled "
            f"evaluation; it has {sorted(data)}"
        )
    return data["image"], data["label"]
