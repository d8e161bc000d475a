"""Grid tiling and PNG writing: exact pixel values, layout, and clear errors."""

import os

import numpy as np
import pytest
from PIL import Image

from keras_wgan.images import (
    SEPARATOR,
    SEPARATOR_VALUE,
    grid_shape,
    save_image_grid,
    tile_images,
    to_uint8,
)


def tile(grid, index, size, columns):
    """The pixels of tile ``index`` in a grid of ``size`` x ``size`` tiles."""
    step = size + SEPARATOR
    y, x = (index // columns) * step, (index % columns) * step
    return grid[y : y + size, x : x + size]


def test_value_mapping_end_points_and_clipping():
    values = np.array([-1.0, 1.0, 0.0, -5.0, 7.0, np.nan, np.inf, -np.inf])
    np.testing.assert_array_equal(to_uint8(values), [0, 255, 128, 0, 255, 128, 255, 0])
    assert to_uint8(values).dtype == np.uint8


def test_grayscale_grid_layout_and_pixels():
    images = np.stack([np.full((4, 5), v) for v in (-1.0, 1.0, 0.5, -0.5, 0.0)])  # (N, H, W)
    grid = tile_images(images)  # default: ceil(sqrt(5)) = 3 columns, 2 rows
    assert grid.dtype == np.uint8
    assert grid.shape == (2 * 4 + SEPARATOR, 3 * 5 + 2 * SEPARATOR)
    step_x = 5 + SEPARATOR
    expected = [0, 255, 191, 64, 128]  # rint((v + 1) * 127.5)
    for i, value in enumerate(expected):
        y, x = (i // 3) * (4 + SEPARATOR), (i % 3) * step_x
        assert (grid[y : y + 4, x : x + 5] == value).all(), i
    # Separator lines between tiles and the unused last cell are grey.
    assert (grid[:, 5 : 5 + SEPARATOR] == SEPARATOR_VALUE).all()
    assert (grid[4 : 4 + SEPARATOR, :] == SEPARATOR_VALUE).all()
    assert (grid[4 + SEPARATOR :, 2 * step_x :] == SEPARATOR_VALUE).all()


def test_trailing_channel_of_one_gives_2d_and_rgb_keeps_channels():
    gray = tile_images(np.zeros((4, 3, 3, 1)), columns=2)
    assert gray.shape == (3 + SEPARATOR + 3, 3 + SEPARATOR + 3)
    rgb = np.zeros((2, 3, 3, 3))
    rgb[0, ..., 0] = 1.0  # red
    rgb[1, ..., 2] = -1.0  # no blue
    grid = tile_images(rgb, columns=2)
    assert grid.shape == (3, 2 * 3 + SEPARATOR, 3)
    np.testing.assert_array_equal(grid[0, 0], [255, 128, 128])
    np.testing.assert_array_equal(grid[0, 3 + SEPARATOR], [128, 128, 0])


def test_columns_are_respected_and_capped_at_the_number_of_images():
    assert grid_shape(64) == (8, 8)
    assert grid_shape(10, columns=4) == (3, 4)
    assert grid_shape(3, columns=10) == (1, 3)
    grid = tile_images(np.zeros((3, 2, 2)), columns=10)
    assert grid.shape == (2, 3 * 2 + 2 * SEPARATOR)
    assert tile_images(np.zeros((1, 2, 2))).shape == (2, 2)


@pytest.mark.parametrize(
    "images, match",
    [
        (np.zeros((4, 4)), "rank 2"),
        (np.zeros((1, 2, 4, 4, 1)), "rank 5"),
        (np.zeros((2, 4, 4, 2)), "1 \\(grayscale\\) or 3 \\(RGB\\) channels, got 2"),
        (np.zeros((2, 4, 4, 4)), "channels, got 4"),
        (np.zeros((0, 4, 4, 1)), "empty"),
        (np.array([["a"]]), "numeric"),
    ],
)
def test_bad_shapes_raise_clear_errors(images, match):
    with pytest.raises(ValueError, match=match):
        tile_images(images)


@pytest.mark.parametrize("columns", [0, -2, 1.5, True])
def test_bad_columns(columns):
    with pytest.raises(ValueError, match="`columns` must be a positive integer"):
        tile_images(np.zeros((2, 2, 2)), columns=columns)


def test_save_grayscale_png_round_trip(tmp_path):
    images = np.stack([-np.ones((6, 6, 1)), np.ones((6, 6, 1))])
    path = tmp_path / "new" / "nested" / "grid.png"  # parents are created
    assert save_image_grid(images, path) == str(path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.mode == "L"
        assert image.size == (2 * 6 + SEPARATOR, 6)  # (width, height)
        pixels = np.asarray(image)
    assert (tile(pixels, 0, 6, 2) == 0).all()
    assert (tile(pixels, 1, 6, 2) == 255).all()
    assert (pixels[:, 6 : 6 + SEPARATOR] == SEPARATOR_VALUE).all()
    assert os.listdir(path.parent) == ["grid.png"]  # no temporary file left behind


def test_save_rgb_png_round_trip_and_overwrite(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (5, 8, 8, 3)).astype("float32")
    path = tmp_path / "rgb.png"
    save_image_grid(np.zeros((1, 2, 2, 3)), path)
    save_image_grid(images, path, columns=2)  # replaces the first file
    with Image.open(path) as image:
        assert image.mode == "RGB"
        assert image.size == (2 * 8 + SEPARATOR, 3 * 8 + 2 * SEPARATOR)
        pixels = np.asarray(image)
    np.testing.assert_array_equal(pixels, tile_images(images, columns=2))
    np.testing.assert_array_equal(tile(pixels, 4, 8, 2), to_uint8(images[4]))


def test_save_refuses_a_directory_path(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        save_image_grid(np.zeros((1, 2, 2)), tmp_path)
