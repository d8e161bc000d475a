"""Tiling generated images into one grid and writing it as a PNG.

Shared by the ``SampleGrid`` callback and ``keras-wgan sample`` so that a grid written
during training and one written later from a saved model look the same. Images are
expected in [-1, 1] (the generator's ``tanh`` range) and are mapped linearly to
[0, 255]; values outside are clipped and NaNs (a diverged generator) become mid-grey,
so a broken run still gives a readable picture instead of an exception.
"""

import math
import os
import tempfile

import numpy as np

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
    elif isinstance(columns, bool) or not isinstance(columns, (int, np.integer)) or columns < 1:
        raise ValueError(f"`columns` must be a positive integer or None, got {columns!r}.")
    columns = min(int(columns), num_images)
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


def _default_file_mode():
    """0o666 less the process umask: what ``open()`` would have given the file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def fsync_directory(directory):
    """Flush a directory's entries (a rename into it) to disk; a no-op where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, write, binary=False, by_path=False):
    """Write ``path`` via ``write(file)`` on a temporary sibling, then ``os.replace``.

    A reader (or a kill) never sees half a file: it sees the old or the new version.
    The data is flushed to disk (``fsync``) before the rename and the rename after
    it, so a power loss leaves the old or the new version too, never an empty file.
    The file gets the usual permissions (mkstemp alone would leave it owner-only).
    Parent directories are created; on failure the temporary file is removed.

    ``by_path=True`` calls ``write(temporary_path)`` instead, for writers that open
    the file themselves (``model.save``); the temporary name ends with the target's
    file name, so writers that check the extension (``.keras``) accept it.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"Cannot write {path!r}: it is a directory.")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=directory)
    try:
        if by_path:
            os.close(fd)
            write(tmp)
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.chmod(tmp, _default_file_mode())
        else:
            os.chmod(tmp, _default_file_mode())
            with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"newline": ""})) as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_directory(directory)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def write_png(array, path):
    """Write a uint8 (H, W) or (H, W, 3) array as a PNG, atomically (:func:`atomic_write`).

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
