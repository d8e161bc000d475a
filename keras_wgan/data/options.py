"""The settings every source shares (split, image size, channels, value range), checked once.

``load_dataset`` normalises these before it reads a single file, so a typo fails at
once with the argument named, not after a folder scan or a TFDS download.
"""

from __future__ import annotations

import numpy as np

from keras_wgan import checks

#: ``on_error`` for image folders: stop at the first unreadable file, or leave it out.
ON_ERROR = ("raise", "skip")


def check_split(split, available, source_desc):
    """``split`` when ``source_desc`` offers it; sources without splits offer only "train"."""
    checks.check_non_empty_str("split", split)
    if split not in available:
        raise ValueError(
            f"`split` must be one of {sorted(available)} for {source_desc}, got {split!r}."
        )
    return split


def normalize_image_size(image_size):
    """``image_size`` as an (H, W) pair of ints, or None (keep the native size)."""
    if image_size is None:
        return None
    if checks.is_int(image_size) and image_size > 0:
        return (int(image_size), int(image_size))
    if (
        isinstance(image_size, (tuple, list))
        and len(image_size) == 2
        and all(checks.is_int(v) and v > 0 for v in image_size)
    ):
        return (int(image_size[0]), int(image_size[1]))
    raise ValueError(
        "`image_size` must be a positive integer, a (height, width) pair of positive "
        f"integers, or None to keep the native size, got {image_size!r}."
    )


def check_channels(channels):
    """``channels`` as 1, 3 or 4, or None (keep the native count)."""
    if channels is None:
        return None
    if checks.is_int(channels) and int(channels) in (1, 3, 4):
        return int(channels)
    raise ValueError(
        "`channels` must be 1 (grayscale), 3 (RGB), 4 (RGBA) or None (keep or infer), "
        f"got {channels!r}."
    )


def check_value_range(value_range):
    """An array's declared value range as a (low, high) float pair; None for "auto"."""
    if value_range is None or (isinstance(value_range, str) and value_range == "auto"):
        return None
    if (
        isinstance(value_range, (tuple, list))
        and len(value_range) == 2
        and all(isinstance(v, (int, float, np.integer, np.floating))
                and not isinstance(v, (bool, np.bool_)) for v in value_range)
        and float(value_range[0]) < float(value_range[1])
    ):
        return (float(value_range[0]), float(value_range[1]))
    raise ValueError(
        "`value_range` must be 'auto', None or a (low, high) pair with low < high, "
        f"e.g. (0, 255), (0, 1) or (-1, 1), got {value_range!r}."
    )
