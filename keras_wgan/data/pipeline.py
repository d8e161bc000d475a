"""The ``tf.data`` end of every source: uint8 -> float in [-1, 1], channels, resize, batches.

Each source (arrays, image folders, TFDS) builds its element stream and hands it to
these steps, so every dataset ends up the same: batched, prefetched float32
``(batch, height, width, channels)`` in [-1, 1] (the range of the generator's ``tanh``),
or ``(images, labels)`` pairs carrying ``class_names``.

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
* Streamed sources (TFDS, image folders) shuffle through a bounded buffer
  (:func:`shuffle_stream`) after an in-memory cache; arrays shuffle an index
  permutation instead (see :mod:`keras_wgan.data.arrays`).
"""

from __future__ import annotations

import os

import tensorflow as tf

#: Default bounded shuffle buffer for streamed sources (TFDS, image folders).
STREAM_SHUFFLE_BUFFER = 10_000

# The map functions of the data package use no Python control flow on tensors:
# skip AutoGraph (faster tracing, no "could not transform" warnings).
no_autograph = tf.autograph.experimental.do_not_convert


def scale_to_unit(x, value_range):
    """Map [low, high] linearly onto [-1, 1] (float32, clipped).

    Divides by the half-range (rather than multiplying by its inverse) so the
    end points land exactly: 0 -> -1.0 and 255 -> 1.0 for uint8 data.
    """
    low, high = value_range
    x = tf.cast(x, tf.float32)
    if (low, high) != (-1.0, 1.0):
        x = (x - low) / ((high - low) / 2.0) - 1.0
    return x


def convert_channels(x, have: int, want: int | None):
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


def make_converter(value_range, have_c, want_c, native_hw, target_hw):
    """The per-batch (or per-image) map: scale, fix channels, resize, clip."""
    resize = target_hw is not None and tuple(native_hw) != tuple(target_hw)
    # Antialiasing only acts when shrinking, but asking for it switches TF to
    # a ~10x slower kernel even when enlarging (28 -> 32), so ask only when
    # some side shrinks (or the native size varies per image).
    shrink = resize and (
        None in native_hw or any(t < s for t, s in zip(target_hw, native_hw))
    )

    @no_autograph
    def convert(x):
        x = scale_to_unit(x, value_range)
        x = convert_channels(x, have_c, want_c)
        if resize:
            x = tf.image.resize(x, target_hw, method="bilinear", antialias=shrink)
        # Bilinear weights are convex, so this only removes float round-off.
        return tf.clip_by_value(x, -1.0, 1.0)

    return convert


def images_only(fn, labelled):
    """A map function on images, lifted to (images, labels) elements when labelled."""
    if not labelled:
        return fn
    return no_autograph(lambda images, labels: (fn(images), labels))


class TooFewImagesError(ValueError):
    """A source with fewer images than one full batch, whose batches would all be dropped.

    The command line names its own flag for it.

    Args:
        message: what happened and what to change.
        count: the images the source has (kept as ``count``).
        batch_size: the batch asked for (kept as ``batch_size``).
    """

    def __init__(self, message, count, batch_size):
        super().__init__(message)
        self.count = count
        self.batch_size = batch_size


def check_count(n, batch_size, drop_remainder, desc):
    """Refuse a source that would give an empty dataset (no images, or < one full batch)."""
    if n == 0:
        raise ValueError(f"{desc} holds no images")
    if drop_remainder and n < batch_size:
        raise TooFewImagesError(
            f"{desc} holds only {n} images, fewer than batch_size={batch_size}; "
            "with drop_remainder=True that is an empty dataset. Use a smaller "
            "batch_size or drop_remainder=False",
            n, batch_size,
        )


def apply_cache(ds, cache):
    """``cache=True``: in memory; a path: to that file; False: no cache."""
    if cache is True:
        return ds.cache()
    if isinstance(cache, (str, os.PathLike)):
        return ds.cache(os.fspath(cache))
    return ds


def shuffle_stream(ds, shuffle, seed, shuffle_buffer, n=None):
    """Seeded shuffle of a streamed source through a bounded buffer, reshuffled per epoch."""
    if not shuffle:
        return ds
    buf = STREAM_SHUFFLE_BUFFER if shuffle_buffer is None else shuffle_buffer
    if n is not None and n > 0:
        buf = min(buf, n)
    return ds.shuffle(buf, seed=seed, reshuffle_each_iteration=True)


def finish(ds, class_names=None):
    """Prefetch; a labelled dataset also carries its ``class_names`` (as Keras' do)."""
    ds = ds.prefetch(tf.data.AUTOTUNE)
    if class_names is not None:
        ds.class_names = list(class_names)
    return ds
