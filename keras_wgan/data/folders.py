"""Image-folder sources: every file decoded once up front, bad files named (or skipped).

A folder of png/jpg/jpeg/bmp/gif files (class sub-folders allowed; ``labels=True``
reads the classes from them) is scanned with PIL when the dataset is built: a truncated
or foreign file is named before training starts, not in the middle of an epoch, and
``on_error="skip"`` leaves such files out with one :class:`BadFilesSkipped` warning. The
scan also fixes the channel count (RGB if any file is in colour) and finds mixed sizes.
Decoding during training then runs in chunks of files per Python call.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import tensorflow as tf

from keras_wgan.data import pipeline
from keras_wgan.data.options import check_split

#: File suffixes treated as images in an image folder (case-insensitive).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")

#: Image files decoded per Python call in an image-folder pipeline.
DECODE_CHUNK = 64


def _list_image_files(directory: str) -> list[str]:
    """Image files under ``directory``, recursively, in a fixed (sorted) order."""
    files = []
    for root, dirs, names in os.walk(directory, followlinks=True):
        dirs.sort()
        for name in sorted(names):
            if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith("."):
                files.append(os.path.join(root, name))
    return files


# PIL modes -> channel count when `channels` is None. Transparent images (RGBA, LA, a
# palette with a transparent entry) are composited onto white, the page they are drawn
# for: dropping alpha instead would show whatever colour the hidden pixels happen to
# hold (icons often keep stray colours there). Pass channels=4 to keep alpha as is.
ALPHA_BACKGROUND = (255, 255, 255)
_GRAY_MODES = {"1", "L", "LA", "La"}
_UNSUPPORTED_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_PIL_MODE = {1: "L", 3: "RGB", 4: "RGBA"}


class BadFilesSkipped(UserWarning):
    """The warning of ``load_dataset(..., on_error="skip")``: unreadable files left out.

    Args:
        message: the count and the first file.
        files: ``(path, reason)`` for each file left out (kept as ``files``).
    """

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


def _has_alpha(im):
    return im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        im.mode in ("P", "L", "RGB") and "transparency" in im.info)


def _flattened(im, mode):
    """``im`` in PIL ``mode``; transparent pixels composited onto ALPHA_BACKGROUND unless
    the target keeps alpha."""
    from PIL import Image

    if mode == "RGBA" or not _has_alpha(im):
        return im.convert(mode)
    rgba = im.convert("RGBA")
    page = Image.new("RGBA", rgba.size, ALPHA_BACKGROUND + (255,))
    return Image.alpha_composite(page, rgba).convert(mode)


def _decode_with_pil(path, mode, expect_hw=None):
    from PIL import Image

    path = path.decode() if isinstance(path, bytes) else str(path)
    try:
        with Image.open(path) as im:
            arr = np.asarray(_flattened(im, mode), dtype=np.uint8)
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


def from_image_folder(directory, *, split, image_size, batch_size, shuffle, seed,
                      channels, drop_remainder, cache, limit, shuffle_buffer,
                      labels=False, on_error="raise"):
    """An image folder (its ``split`` sub-folder when there is one) as a batched dataset."""
    sub = os.path.join(directory, split) if isinstance(split, str) else None
    if sub and os.path.isdir(sub):
        root = sub
    else:
        check_split(
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
    pipeline.check_count(len(files), batch_size, drop_remainder, desc)
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
        @pipeline.no_autograph
        def decode_chunk(paths):
            imgs = tf.numpy_function(
                lambda ps: np.stack([_decode_with_pil(p, mode, (h, w)) for p in ps]),
                [paths], tf.uint8,
            )
            # A file whose size differs from the header scan fails loudly.
            return tf.ensure_shape(imgs, (None, h, w, channels))

        ds = files_ds.batch(DECODE_CHUNK).map(
            pipeline.images_only(decode_chunk, labels), num_parallel_calls=tf.data.AUTOTUNE
        )
        ds = pipeline.apply_cache(ds.unbatch(), cache)
        ds = pipeline.shuffle_stream(ds, shuffle, seed, shuffle_buffer, len(files))
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        convert = pipeline.make_converter((0.0, 255.0), channels, channels, (h, w), image_size)
        ds = ds.map(pipeline.images_only(convert, labels), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        # Mixed sizes: decode and resize each image before batching, and
        # cache the resized result.
        @pipeline.no_autograph
        def decode_one(path):
            img = tf.numpy_function(lambda p: _decode_with_pil(p, mode), [path], tf.uint8)
            return tf.ensure_shape(img, (None, None, channels))

        convert = pipeline.make_converter((0.0, 255.0), channels, channels, (None, None),
                                          image_size)
        ds = files_ds.map(pipeline.images_only(decode_one, labels),
                          num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.map(pipeline.images_only(convert, labels), num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.map(pipeline.images_only(
            pipeline.no_autograph(lambda im: tf.ensure_shape(im, (*image_size, channels))), labels
        ))
        ds = pipeline.apply_cache(ds, cache)
        ds = pipeline.shuffle_stream(ds, shuffle, seed, shuffle_buffer, len(files))
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return pipeline.finish(ds, class_names if labels else None)


#: Without train/ and test/ sub-folders, every TEST_EVERY-th file of a folder (in sorted
#: order) is its held-out test split, the rest its training split (the yardstick's).
TEST_EVERY = 5


def folder_is_labelled(directory):
    """True when every image sits in a class sub-folder and there are at least two."""
    root = directory
    if os.path.isdir(os.path.join(directory, "train")):
        root = os.path.join(directory, "train")
    tops = [os.path.relpath(path, root).split(os.sep) for path in _list_image_files(root)]
    return bool(tops) and all(len(parts) > 1 for parts in tops) and \
        len({parts[0] for parts in tops}) > 1


def folder_has_splits(directory):
    """True when an image folder has ``train/`` and ``test/`` sub-folders: then training
    reads ``train/`` only and ``test/`` is truly held out; without them training reads
    every file, the every-:data:`TEST_EVERY`-th file held out from the yardstick included."""
    return all(os.path.isdir(os.path.join(directory, s)) for s in ("train", "test"))


def folder_split_arrays(directory, split, image_size, channels, load):
    """``(images, labels or None)`` of an image folder's ``split`` for the yardstick.

    ``train/`` and ``test/`` sub-folders are used when both exist; otherwise the test
    split is every :data:`TEST_EVERY`-th file and the training split the rest, so the two
    never share an image. Labels come from class sub-folders (None without them).
    ``load`` is :func:`keras_wgan.data.load_dataset`, which converts the images exactly
    as training does.
    """
    check_split(split, {"train", "test"}, f"image folder {directory!r}")
    labelled = folder_is_labelled(directory)
    has_splits = folder_has_splits(directory)
    batches = load(directory, split=split if has_splits else "train", image_size=image_size,
                   channels=channels, batch_size=1024, shuffle=False, drop_remainder=False,
                   labels=labelled, cache=False)
    images, labels = [], []
    for batch in batches:
        images.append(batch[0].numpy() if labelled else batch.numpy())
        if labelled:
            labels.append(batch[1].numpy())
    images = np.concatenate(images)
    labels = np.concatenate(labels).astype("int64") if labelled else None
    if not has_splits:
        held_out = np.arange(images.shape[0]) % TEST_EVERY == TEST_EVERY - 1
        keep = held_out if split == "test" else ~held_out
        images = images[keep]
        labels = labels[keep] if labelled else None
    return images, labels
