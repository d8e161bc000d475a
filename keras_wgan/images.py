"""Tiling generated images into one grid and writing it as a PNG.

Shared by the ``SampleGrid`` callback and ``keras-wgan sample`` so that a grid written
during training and one written later from a saved model look the same. Images are
expected in [-1, 1] (the generator's ``tanh`` range) and are mapped linearly to
[0, 255]; values outside are clipped and NaNs (a diverged generator) become mid-grey,
so a broken run still gives a readable picture instead of an exception.
"""

import math

import numpy as np

from keras_wgan.checks import check_positive_int
from keras_wgan.files import atomic_write

#: Width in pixels of the lines between tiles.
SEPARATOR = 2
#: Grey level of the separator: distinct from both a black (-1) and a white (+1) image.
SEPARATOR_VALUE = 128


def to_uint8(images):
    """Map values in [-1, 1] to uint8 [0, 255]: -1 -> 0, 0 -> 128, +1 -> 255."""
    images = np.nan_to_num(np.asarray(images, dtype=np.float32), nan=0.0)
    images = np.clip(images, -1.0, 1.0)
    return np.rint((images + 1.0) * 127.5).astype(np.uint8)


def _as_batch(images):
    """Check the shape and return (N, H, W, C) float images with C in (1, 3)."""
    images = np.asarray(images)
    if images.dtype == object or not (
        np.issubdtype(images.dtype, np.floating) or np.issubdtype(images.dtype, np.integer)
    ):
        raise ValueError(f"`images` must be a numeric array, got dtype {images.dtype}.")
    if images.ndim == 3:  # (N, H, W) grayscale
        images = images[..., np.newaxis]
    if images.ndim != 4:
        raise ValueError(
            "`images` must have shape (N, H, W) or (N, H, W, C) with C in (1, 3), "
            f"got rank {images.ndim} with shape {tuple(images.shape)}."
        )
    if images.shape[-1] not in (1, 3):
        raise ValueError(
            "`images` must have 1 (grayscale) or 3 (RGB) channels, got "
            f"{images.shape[-1]} in shape {tuple(images.shape)}."
        )
    if images.shape[0] == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise ValueError(f"`images` is empty: shape {tuple(images.shape)}.")
    return images


def grid_shape(num_images, columns=None):
    """(rows, columns) of the grid: a near-square by default, never wider than needed."""
    if columns is None:
        columns = math.ceil(math.sqrt(num_images))
    columns = min(check_positive_int("columns", columns), num_images)
    return math.ceil(num_images / columns), columns


def tile_images(images, columns=None):
    """Arrange N images in a grid and return it as uint8.

    Args:
        images: (N, H, W), (N, H, W, 1) or (N, H, W, 3), values in [-1, 1].
        columns: images per row; default ``ceil(sqrt(N))``. More columns than images
            gives a single row of N.

    Returns:
        ``(rows*H + (rows-1)*SEPARATOR, cols*W + (cols-1)*SEPARATOR)`` uint8 for
        grayscale, with a trailing axis of 3 for RGB. Tiles are separated by
        grey lines; unused cells of the last row are grey too.
    """
    batch = _as_batch(images)
    n, height, width, channels = batch.shape
    rows, cols = grid_shape(n, columns)
    step_y, step_x = height + SEPARATOR, width + SEPARATOR
    grid = np.full(
        (rows * step_y - SEPARATOR, cols * step_x - SEPARATOR, channels),
        SEPARATOR_VALUE,
        dtype=np.uint8,
    )
    pixels = to_uint8(batch)
    for index in range(n):
        y, x = (index // cols) * step_y, (index % cols) * step_x
        grid[y : y + height, x : x + width] = pixels[index]
    return grid[..., 0] if channels == 1 else grid


def write_png(array, path):
    """Write a uint8 (H, W) or (H, W, 3) array as a PNG, atomically (:func:`keras_wgan.files.atomic_write`).

    Returns the path.
    """
    from PIL import Image  # deferred: only needed when writing

    image = Image.fromarray(np.ascontiguousarray(array))
    return atomic_write(path, lambda f: image.save(f, format="PNG"), binary=True)


def save_image_grid(images, path, columns=None):
    """Tile ``images`` (in [-1, 1]) with :func:`tile_images` and write a PNG to ``path``.

    Grayscale images give an 8-bit grayscale ("L") PNG, RGB images an "RGB" one.
    Returns the path written.
    """
    return write_png(tile_images(images, columns=columns), path)
