"""Tests for keras_wgan.data: IDX parsing, every load_dataset source, labelled arrays.

All offline and tiny: the data is written into tmp_path by the tests
themselves (IDX through an independent struct-based writer, PNGs through
PIL). The only external data is the Debian Fashion-MNIST package, and that
smoke test is skipped when the package is absent.
"""

import gzip
import os
import struct

import numpy as np
import pytest
import tensorflow as tf

from keras_wgan import data

DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"


# --------------------------------------------------------------------------
# Helpers: an IDX writer independent of the reader (struct + tobytes).
# --------------------------------------------------------------------------

_CODES = {
    "uint8": (0x08, ">u1"),
    "int8": (0x09, ">i1"),
    "int16": (0x0B, ">i2"),
    "int32": (0x0C, ">i4"),
    "float32": (0x0D, ">f4"),
    "float64": (0x0E, ">f8"),
}


def idx_bytes(arr):
    code, be = _CODES[arr.dtype.name]
    header = struct.pack(">BBBB", 0, 0, code, arr.ndim)
    header += b"".join(struct.pack(">I", d) for d in arr.shape)
    return header + arr.astype(be).tobytes()


def write_idx(path, arr, gz=False):
    raw = idx_bytes(arr)
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(raw)
    else:
        with open(path, "wb") as f:
            f.write(raw)
    return str(path)


def make_idx_dir(directory, train, test=None, gz=True):
    directory.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    write_idx(directory / f"train-images-idx3-ubyte{ext}", train, gz=gz)
    write_idx(
        directory / f"train-labels-idx1-ubyte{ext}",
        np.arange(len(train), dtype=np.uint8) % 10,
        gz=gz,
    )
    if test is not None:
        write_idx(directory / f"t10k-images-idx3-ubyte{ext}", test, gz=gz)
    return str(directory)


def batches(ds):
    return [b.numpy() for b in ds]


def ramp_images(n, h=4, w=4):
    """uint8 images where image k has every pixel equal to k (distinct)."""
    return np.repeat(np.arange(n, dtype=np.uint8), h * w).reshape(n, h, w)


# --------------------------------------------------------------------------
# read_idx
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", list(_CODES))
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_roundtrip_all_dtypes(tmp_path, dtype, gz):
    rng = np.random.default_rng(0)
    if dtype.startswith("float"):
        arr = rng.normal(size=(3, 5, 2)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        arr = rng.integers(info.min, info.max, size=(3, 5, 2), endpoint=True).astype(dtype)
    path = write_idx(tmp_path / ("a.idx" + (".gz" if gz else "")), arr, gz=gz)
    out = data.read_idx(path)
    assert out.dtype == np.dtype(dtype)  # native byte order, same kind
    assert out.dtype.isnative
    assert out.shape == arr.shape
    np.testing.assert_array_equal(out, arr)
    out[0, 0, 0] = 0  # writable


def test_read_idx_1d_labels(tmp_path):
    labels = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=np.uint8)
    out = data.read_idx(write_idx(tmp_path / "l-idx1-ubyte", labels))
    np.testing.assert_array_equal(out, labels)


def test_read_idx_bad_magic(tmp_path):
    raw = bytearray(idx_bytes(np.zeros((2, 2), np.uint8)))
    raw[0] = 0x01
    p = tmp_path / "bad"
    p.write_bytes(bytes(raw))
    with pytest.raises(data.IdxFormatError, match="bad IDX magic"):
        data.read_idx(p)


def test_read_idx_unknown_type_code(tmp_path):
    raw = bytearray(idx_bytes(np.zeros((2, 2), np.uint8)))
    raw[2] = 0x0A
    p = tmp_path / "bad"
    p.write_bytes(bytes(raw))
    with pytest.raises(data.IdxFormatError, match="unknown IDX type code 0x0A"):
        data.read_idx(p)


def test_read_idx_truncated_payload(tmp_path):
    raw = idx_bytes(np.zeros((4, 3, 3), np.uint8))
    p = tmp_path / "short"
    p.write_bytes(raw[:-5])
    with pytest.raises(data.IdxFormatError, match=r"31 bytes.*need 36 bytes \(truncated\)"):
        data.read_idx(p)


def test_read_idx_trailing_bytes(tmp_path):
    p = tmp_path / "long"
    p.write_bytes(idx_bytes(np.zeros((2, 2), np.int16)) + b"\x00")
    with pytest.raises(data.IdxFormatError, match="trailing bytes"):
        data.read_idx(p)


def test_read_idx_truncated_header_and_tiny_file(tmp_path):
    p = tmp_path / "hdr"
    p.write_bytes(struct.pack(">BBBB", 0, 0, 0x08, 3) + struct.pack(">I", 5))
    with pytest.raises(data.IdxFormatError, match="truncated IDX header"):
        data.read_idx(p)
    p.write_bytes(b"\x00\x00")
    with pytest.raises(data.IdxFormatError, match="too short"):
        data.read_idx(p)


def test_read_idx_truncated_gzip(tmp_path):
    raw = gzip.compress(idx_bytes(np.arange(600, dtype=np.uint8).reshape(6, 10, 10)))
    p = tmp_path / "cut.gz"
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(data.IdxFormatError, match="truncated or corrupt gzip"):
        data.read_idx(p)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        data.read_idx(tmp_path / "nope")


def test_find_idx_files(tmp_path):
    x = ramp_images(4)
    make_idx_dir(tmp_path, x, test=x[:2], gz=True)
    files = data.find_idx_files(tmp_path, "train")
    assert files.images.endswith("train-images-idx3-ubyte.gz")
    assert files.labels.endswith("train-labels-idx1-ubyte.gz")
    test = data.find_idx_files(tmp_path, "test")
    assert test.images.endswith("t10k-images-idx3-ubyte.gz") and test.labels is None
    # An uncompressed copy is preferred over the .gz one.
    write_idx(tmp_path / "train-images-idx3-ubyte", x)
    assert data.find_idx_files(tmp_path, "train").images.endswith("train-images-idx3-ubyte")
    with pytest.raises(ValueError, match=r"`split` must be one of \['test', 'train'\] for IDX "
                                         r"files, got 'valid'\."):
        data.find_idx_files(tmp_path, "valid")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no IDX images file for split 'train'"):
        data.find_idx_files(empty, "train")


# --------------------------------------------------------------------------
# load_dataset: IDX directories
# --------------------------------------------------------------------------


def test_load_idx_dir_exact_values_and_splits(tmp_path):
    train = ramp_images(10, 5, 5)
    train[0, 0, 0], train[0, 0, 1] = 0, 255
    test = np.full((4, 5, 5), 200, np.uint8)
    d = make_idx_dir(tmp_path / "idx", train, test=test, gz=False)
    ds = data.load_dataset(d, image_size=None, batch_size=4, shuffle=False)
    out = batches(ds)
    assert len(out) == 2  # 10 images, drop_remainder: 2 full batches
    assert all(b.shape == (4, 5, 5, 1) and b.dtype == np.float32 for b in out)
    got = np.concatenate(out)
    np.testing.assert_array_equal(got[..., 0], train[:8] / np.float32(127.5) - 1)
    assert got[0, 0, 0, 0] == -1.0 and got[0, 0, 1, 0] == 1.0
    test_out = batches(data.load_dataset(d, image_size=None, batch_size=4, split="test"))
    assert len(test_out) == 1
    np.testing.assert_allclose(test_out[0], 200 / 127.5 - 1, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match=r"`split` must be one of \['test', 'train'\]"):
        data.load_dataset(d, split="validation")


def test_load_resize_28_to_32_static_shape(tmp_path):
    x = np.zeros((6, 28, 28), np.uint8)
    x[1] = 255
    x[2, :, 14:] = 255
    d = make_idx_dir(tmp_path / "idx", x)
    ds = data.load_dataset(d, batch_size=3, shuffle=False)  # image_size=32 default
    assert ds.element_spec.shape == (3, 32, 32, 1)
    assert ds.element_spec.dtype == tf.float32
    b = next(iter(ds)).numpy()
    assert b.shape == (3, 32, 32, 1)
    assert np.all(b[0] == -1.0) and np.all(b[1] == 1.0)
    assert b.min() >= -1.0 and b.max() <= 1.0
    # Half black / half white stays so after the resize, blended at the edge.
    assert np.all(b[2, :, :15] == -1.0) and np.all(b[2, :, 17:] == 1.0)
    # (H, W) tuples work too.
    ds2 = data.load_dataset(d, image_size=(16, 20), batch_size=3)
    assert ds2.element_spec.shape == (3, 16, 20, 1)


def test_single_idx_file_source(tmp_path):
    x = ramp_images(8)
    p = write_idx(tmp_path / "train-images-idx3-ubyte.gz", x, gz=True)
    got = np.concatenate(batches(data.load_dataset(p, image_size=None, batch_size=4, shuffle=False)))
    np.testing.assert_array_equal(got[..., 0], x / np.float32(127.5) - 1)


# --------------------------------------------------------------------------
# load_dataset: arrays, .npy, .npz
# --------------------------------------------------------------------------


def test_numpy_uint8_exact_mapping():
    x = np.zeros((4, 3, 3, 1), np.uint8)
    x[0] = 255
    x[1] = 128
    got = np.concatenate(batches(data.load_dataset(x, image_size=None, batch_size=2, shuffle=False)))
    assert got.dtype == np.float32 and got.shape == (4, 3, 3, 1)
    assert np.all(got[0] == 1.0) and np.all(got[2] == -1.0)
    np.testing.assert_allclose(got[1], 128 / 127.5 - 1, atol=1e-7)


def test_numpy_float_minus1_1_passthrough():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(6, 4, 4, 3)).astype(np.float32)
    got = np.concatenate(batches(data.load_dataset(x, image_size=None, batch_size=3, shuffle=False)))
    np.testing.assert_array_equal(got, x)


def test_numpy_float_0_255_and_int64():
    x = np.array([0.0, 51.0, 255.0] * 4, np.float64).reshape(4, 1, 3)
    got = np.concatenate(batches(data.load_dataset(x, image_size=None, batch_size=4, shuffle=False)))
    np.testing.assert_allclose(got[0, 0, :, 0], [-1.0, 51 / 127.5 - 1, 1.0], atol=1e-7)
    xi = x.astype(np.int64)
    goti = np.concatenate(batches(data.load_dataset(xi, image_size=None, batch_size=4, shuffle=False)))
    np.testing.assert_array_equal(goti, got)


def test_numpy_ambiguous_and_bad_ranges():
    x01 = np.linspace(0, 1, 2 * 16).reshape(2, 4, 4).astype(np.float32)
    with pytest.raises(ValueError, match=r"fits both \[0, 1\] and \[-1, 1\].*value_range"):
        data.load_dataset(x01, batch_size=2)
    got = next(iter(data.load_dataset(x01, image_size=None, batch_size=2, shuffle=False,
                                      value_range=(0, 1)))).numpy()
    np.testing.assert_allclose(got[..., 0], x01 * 2 - 1, atol=1e-6)
    with pytest.raises(ValueError, match=r"span \[-3, 5\].*\[-1, 1\] or in \[0, 255\]"):
        data.load_dataset(np.linspace(-3, 5, 32).reshape(2, 4, 4), batch_size=2)
    with pytest.raises(ValueError, match=r"span \[-2, 0\]"):
        data.load_dataset(np.linspace(-2, 0, 32).reshape(2, 4, 4), batch_size=2)
    with pytest.raises(ValueError, match=r"integer \(int32\) values span \[0, 300\]"):
        data.load_dataset(np.linspace(0, 300, 32).astype(np.int32).reshape(2, 4, 4), batch_size=2)
    nan = np.zeros((2, 4, 4), np.float32)
    nan[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        data.load_dataset(nan, batch_size=2)
    with pytest.raises(ValueError, match="outside the declared value_range"):
        data.load_dataset(np.full((2, 4, 4), 2.0), batch_size=2, value_range=(0, 1))


def test_numpy_bad_shapes():
    with pytest.raises(ValueError, match="channels-first"):
        data.load_dataset(np.zeros((2, 3, 8, 8), np.uint8), batch_size=2)
    with pytest.raises(ValueError, match=r"shape \(8, 8\)"):
        data.load_dataset(np.zeros((8, 8), np.uint8), batch_size=2)
    with pytest.raises(ValueError, match="no splits"):
        data.load_dataset(np.zeros((2, 4, 4), np.uint8), batch_size=2, split="test")


def test_channels_conversion():
    gray = np.full((2, 4, 4, 1), 255, np.uint8)
    rgb = next(iter(data.load_dataset(gray, image_size=None, batch_size=2, channels=3))).numpy()
    assert rgb.shape == (2, 4, 4, 3) and np.all(rgb == 1.0)
    col = np.zeros((2, 4, 4, 3), np.uint8)
    col[..., 1] = 255  # pure green
    g = next(iter(data.load_dataset(col, image_size=None, batch_size=2, channels=1))).numpy()
    assert g.shape == (2, 4, 4, 1)
    np.testing.assert_allclose(g, 2 * 0.587 - 1, atol=1e-3)  # luma weight of green


def test_npy_and_npz_sources(tmp_path):
    x = ramp_images(8)
    np.save(tmp_path / "a.npy", x)
    got = np.concatenate(batches(data.load_dataset(str(tmp_path / "a.npy"), image_size=None,
                                                   batch_size=4, shuffle=False)))
    np.testing.assert_array_equal(got[..., 0], x / np.float32(127.5) - 1)

    np.savez(tmp_path / "splits.npz", x_train=x, x_test=x[:4][::-1], y_train=np.arange(8))
    test = next(iter(data.load_dataset(tmp_path / "splits.npz", image_size=None, batch_size=4,
                                       split="test", shuffle=False))).numpy()
    np.testing.assert_array_equal(test[..., 0], x[:4][::-1] / np.float32(127.5) - 1)
    with pytest.raises(ValueError, match=r"no key 'x_valid'.*keys found: .*x_train"):
        data.load_dataset(tmp_path / "splits.npz", split="valid")

    for key in ("x", "images", "whatever"):
        np.savez(tmp_path / f"{key}.npz", **{key: x})
        b = next(iter(data.load_dataset(tmp_path / f"{key}.npz", image_size=None, batch_size=8,
                                        shuffle=False))).numpy()
        np.testing.assert_array_equal(b[..., 0], x / np.float32(127.5) - 1)

    np.savez(tmp_path / "two.npz", a=x, b=x)
    with pytest.raises(ValueError, match=r"cannot tell which array.*keys found: \['a', 'b'\]"):
        data.load_dataset(tmp_path / "two.npz")


# --------------------------------------------------------------------------
# load_dataset: pipeline behaviour
# --------------------------------------------------------------------------


def test_drop_remainder_and_limit():
    x = ramp_images(10)
    kept = batches(data.load_dataset(x, image_size=None, batch_size=4, shuffle=False))
    assert [b.shape[0] for b in kept] == [4, 4]
    ds = data.load_dataset(x, image_size=None, batch_size=4, shuffle=False, drop_remainder=False)
    assert [b.shape[0] for b in batches(ds)] == [4, 4, 2]
    assert ds.element_spec.shape.as_list() == [None, 4, 4, 1]
    lim = batches(data.load_dataset(x, image_size=None, batch_size=4, shuffle=False, limit=8))
    assert len(lim) == 2
    with pytest.raises(ValueError, match=r"only 3 images, fewer than batch_size=4"):
        data.load_dataset(x, batch_size=4, limit=3)


def first_pixels(ds):
    return [tuple(np.round((b[:, 0, 0, 0] + 1) * 127.5).astype(int)) for b in ds]


def test_seeded_shuffle_reproducible_and_reshuffled():
    x = ramp_images(40)
    a = data.load_dataset(x, image_size=None, batch_size=8, seed=7)
    b = data.load_dataset(x, image_size=None, batch_size=8, seed=7)
    a1, a2 = first_pixels(batches(a)), first_pixels(batches(a))
    b1, b2 = first_pixels(batches(b)), first_pixels(batches(b))
    assert (a1, a2) == (b1, b2)  # same seed: same epochs
    assert a1 != a2  # reshuffled each epoch
    assert sorted(sum(a1, ())) == list(range(40))  # a permutation, nothing lost
    c1 = first_pixels(batches(data.load_dataset(x, image_size=None, batch_size=8, seed=8)))
    assert c1 != a1
    plain = first_pixels(batches(data.load_dataset(x, image_size=None, batch_size=8, shuffle=False)))
    assert sum(plain, ()) == tuple(range(40))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(batch_size=0), "`batch_size` must be a positive integer, got 0."),
        (dict(batch_size=2.5), "`batch_size` must be a positive integer, got 2.5."),
        (dict(batch_size=True), "`batch_size` must be a positive integer, got True."),
        (dict(image_size=0), "`image_size` must be a positive integer, .* got 0."),
        (dict(image_size=(32,)), r"`image_size` must be .*\(height, width\)"),
        (dict(channels=2), r"`channels` must be 1 \(grayscale\), .*got 2."),
        (dict(limit=-1), "`limit` must be a positive integer or None, got -1."),
        (dict(split=""), "`split` must be a non-empty string, got ''."),
        (dict(seed=-3), "`seed` must be a non-negative integer or None, got -3."),
        (dict(shuffle="yes"), "`shuffle` must be True or False, got 'yes'."),
        (dict(value_range=(1, 0)), r"`value_range` must be .*got \(1, 0\)."),
    ],
)
def test_argument_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.load_dataset(np.zeros((4, 4, 4), np.uint8), **kwargs)


def test_bad_source_types(tmp_path):
    with pytest.raises(TypeError, match="`source` must be a TFDS dataset name"):
        data.load_dataset(12)
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ValueError, match="not a .npy/.npz or IDX"):
        data.load_dataset(tmp_path / "notes.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no IDX files and no image files"):
        data.load_dataset(tmp_path / "empty")


# --------------------------------------------------------------------------
# load_dataset: image folders
# --------------------------------------------------------------------------


def write_png(path, array):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def test_image_folder_class_subfolders_grayscale(tmp_path):
    root = tmp_path / "imgs"
    values = {}
    for k in range(6):
        v = 0 if k == 0 else (255 if k == 1 else 40 * k)
        cls = "cat" if k % 2 else "dog"
        write_png(root / cls / "deeper" / f"{k}.png", np.full((6, 6), v, np.uint8))
        values[k] = v
    (root / "readme.txt").write_text("not an image")
    ds = data.load_dataset(root, image_size=None, batch_size=3, shuffle=False)
    assert ds.element_spec.shape == (3, 6, 6, 1)  # grayscale inferred
    got = np.concatenate(batches(ds))
    assert got.shape == (6, 6, 6, 1) and got.dtype == np.float32
    assert np.all(got == got[:, :1, :1, :])  # each image is constant
    seen = sorted(np.round((got[:, 0, 0, 0] + 1) * 127.5).astype(int).tolist())
    assert seen == sorted(values.values())
    assert got.min() == -1.0 and got.max() == 1.0
    # Resized and as RGB on request.
    rs = data.load_dataset(root, image_size=8, batch_size=3, channels=3, seed=0)
    b = next(iter(rs)).numpy()
    assert b.shape == (3, 8, 8, 3)
    assert np.all(b[..., 0] == b[..., 1]) and b.min() >= -1 and b.max() <= 1


def test_image_folder_rgb_split_and_mixed_sizes(tmp_path):
    root = tmp_path / "rgb"
    col = np.zeros((5, 7, 3), np.uint8)
    col[..., 0] = 255
    for k in range(4):
        write_png(root / "train" / "a" / f"{k}.png", col)
    write_png(root / "test" / "a" / "0.png", col)
    b = next(iter(data.load_dataset(root, image_size=None, batch_size=4))).numpy()
    assert b.shape == (4, 5, 7, 3)  # RGB inferred; train/ sub-folder used
    assert np.all(b[..., 0] == 1.0) and np.all(b[..., 1:] == -1.0)
    t = batches(data.load_dataset(root, image_size=None, batch_size=1, split="test"))
    assert len(t) == 1
    flat = tmp_path / "flat"
    write_png(flat / "a.png", np.zeros((4, 4), np.uint8))
    write_png(flat / "b.png", np.zeros((8, 6), np.uint8))
    with pytest.raises(ValueError, match="no sub-folder named 'test'"):
        data.load_dataset(flat, split="test", batch_size=1)
    with pytest.raises(ValueError, match="different sizes.*pass image_size"):
        data.load_dataset(flat, image_size=None, batch_size=1)
    mixed = batches(data.load_dataset(flat, image_size=5, batch_size=2))
    assert len(mixed) == 1 and mixed[0].shape == (2, 5, 5, 1)
    np.testing.assert_allclose(mixed[0], -1.0, atol=1e-6)  # antialiased shrink: round-off


def test_image_folder_bad_file_named(tmp_path):
    root = tmp_path / "bad"
    write_png(root / "ok.png", np.zeros((4, 4), np.uint8))
    (root / "broken.png").write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match=r"cannot read image file .*broken\.png"):
        data.load_dataset(root, batch_size=1)


def test_image_folder_truncated_body_named_before_training(tmp_path):
    # A valid header with a cut body: every file is decoded when the folder is
    # scanned, so load_dataset names it at once instead of failing mid-epoch.
    root = tmp_path / "cut"
    rng = np.random.default_rng(0)
    for k in range(2):
        write_png(root / f"{k}.png", rng.integers(0, 256, (16, 16), dtype=np.uint8))
    raw = (root / "1.png").read_bytes()
    (root / "1.png").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"cannot read image file .*1\.png.*on_error='skip'"):
        data.load_dataset(root, batch_size=1, shuffle=False)


def test_image_folder_skips_bad_files_on_request(tmp_path):
    root = tmp_path / "some_bad"
    for k in range(4):
        write_png(root / f"{k}.png", np.full((4, 4), 60 * k, np.uint8))
    (root / "broken.png").write_bytes(b"not a png at all")
    raw = (root / "3.png").read_bytes()
    (root / "3.png").write_bytes(raw[: len(raw) // 2])
    with pytest.warns(data.BadFilesSkipped, match=r"skipped 2 of 5 image files") as caught:
        ds = data.load_dataset(root, image_size=None, batch_size=1, shuffle=False,
                               on_error="skip")
    assert len(caught) == 1  # one warning, with the whole list
    assert sorted(os.path.basename(p) for p, _ in caught[0].message.files) == \
        ["3.png", "broken.png"]
    got = np.concatenate(batches(ds))
    assert sorted(np.round((got[:, 0, 0, 0] + 1) * 127.5).astype(int)) == [0, 60, 120]
    with pytest.raises(ValueError,
                       match=r"`on_error` must be one of \['raise', 'skip'\], got 'ignore'\."):
        data.load_dataset(root, on_error="ignore")


def test_image_folder_all_unreadable_or_empty(tmp_path):
    bad = tmp_path / "all_bad"
    bad.mkdir()
    for k in range(2):
        (bad / f"{k}.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"all 2 image files are unreadable"):
        data.load_dataset(bad, batch_size=1, on_error="skip")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no IDX files and no image files"):
        data.load_dataset(empty, batch_size=1, on_error="skip")


def test_image_folder_small_images_are_upsampled_with_a_warning(tmp_path):
    root = tmp_path / "small"
    for k in range(2):
        write_png(root / f"{k}.png", np.full((4, 4), 255, np.uint8))
    with pytest.warns(UserWarning, match=r"2 image\(s\) \(e.g. \(4, 4\).*smaller than image_size "
                                         r"\(8, 8\).*upsampled"):
        ds = data.load_dataset(root, image_size=8, batch_size=2)
    got = next(iter(ds)).numpy()
    assert got.shape == (2, 8, 8, 1)
    np.testing.assert_allclose(got, 1.0, atol=1e-6)


@pytest.mark.parametrize("first", ["gray", "rgb", "rgba"])
def test_image_folder_mixed_modes_are_rgb_whatever_the_order(tmp_path, first):
    from PIL import Image

    root = tmp_path / "mixed"
    root.mkdir()
    red = np.zeros((4, 4, 4), np.uint8)
    red[..., 0] = red[..., 3] = 255
    arrays = {"gray": np.full((4, 4), 255, np.uint8), "rgb": red[..., :3], "rgba": red}
    order = [first] + [m for m in arrays if m != first]
    for k, mode in enumerate(order):
        Image.fromarray(arrays[mode]).save(root / f"{k}_{mode}.png")
    ds = data.load_dataset(root, image_size=None, batch_size=3, shuffle=False)
    got = next(iter(ds)).numpy()
    assert got.shape == (3, 4, 4, 3)  # RGB, as one file is in colour
    by_mode = dict(zip(order, got[:, 0, 0]))
    np.testing.assert_allclose(by_mode["gray"], [1, 1, 1])
    np.testing.assert_allclose(by_mode["rgb"], [1, -1, -1])
    np.testing.assert_allclose(by_mode["rgba"], [1, -1, -1])


def test_transparent_images_are_composited_onto_white(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (6, 6, 4), dtype=np.uint8)
    rgba[0, 0, 3], rgba[0, 1, 3] = 0, 255  # hidden stray colour; fully opaque
    gray_alpha = rng.integers(0, 256, (6, 6, 2), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a_rgba.png")
    Image.fromarray(gray_alpha, "LA").save(tmp_path / "b_la.png")
    palette = Image.fromarray(np.tile(np.array([[0, 1], [1, 0]], np.uint8), (3, 3)), "P")
    palette.putpalette([10, 200, 30, 250, 0, 0])
    palette.save(tmp_path / "c_palette.png", transparency=1)  # index 1 is transparent
    got = next(iter(data.load_dataset(tmp_path, image_size=None, batch_size=3,
                                      shuffle=False))).numpy()

    def over_white(colour, alpha):  # "over", by hand, in 0..255, then to [-1, 1]
        a = alpha[..., None].astype(np.float64) / 255.0
        return (colour * a + 255.0 * (1.0 - a)) / 127.5 - 1.0

    np.testing.assert_allclose(got[0], over_white(rgba[..., :3], rgba[..., 3]), atol=1.5 / 127.5)
    np.testing.assert_allclose(got[0, 0, 0], [1, 1, 1])  # alpha 0: white, not the stray colour
    np.testing.assert_allclose(got[0, 0, 1], rgba[0, 1, :3] / 127.5 - 1.0, atol=1e-6)
    gray = np.repeat(gray_alpha[..., :1], 3, axis=-1)
    np.testing.assert_allclose(got[1], over_white(gray, gray_alpha[..., 1]), atol=1.5 / 127.5)
    np.testing.assert_allclose(got[2, 0, 0], np.array([10, 200, 30]) / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_allclose(got[2, 0, 1], [1, 1, 1])
    kept = next(iter(data.load_dataset(tmp_path, image_size=None, batch_size=3,
                                       shuffle=False, channels=4))).numpy()
    np.testing.assert_allclose(kept[0], rgba / 127.5 - 1.0, atol=1e-6)  # channels=4 keeps it


# --------------------------------------------------------------------------
# fashion_mnist / mnist: local IDX lookup order and the offline error
# --------------------------------------------------------------------------


@pytest.fixture
def no_local(tmp_path, monkeypatch):
    """No env var and an empty Debian location: nothing local by default."""
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    empty = tmp_path / "no-debian"
    empty.mkdir()
    monkeypatch.setitem(data.DEBIAN_DATA_DIRS, "fashion_mnist", str(empty))
    return tmp_path


def _constant_idx(directory, value):
    return make_idx_dir(directory, np.full((4, 28, 28), value, np.uint8))


def _source_value(ds):
    return int(round((float(next(iter(ds)).numpy()[0, 0, 0, 0]) + 1) * 127.5))


def test_fashion_mnist_lookup_order(no_local, monkeypatch):
    tmp = no_local
    debian = _constant_idx(tmp / "debian", 30)
    env_root = tmp / "envroot"
    _constant_idx(env_root / "fashion-mnist", 20)
    ddir = _constant_idx(tmp / "dd", 10)
    monkeypatch.setitem(data.DEBIAN_DATA_DIRS, "fashion_mnist", debian)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(env_root))

    def boom(*a, **k):
        raise AssertionError("tfds must not be asked when local files exist")

    import tensorflow_datasets as tfds

    monkeypatch.setattr(tfds, "load", boom)
    kw = dict(batch_size=2, image_size=None)
    assert data.local_idx_dir("fashion_mnist", "train", ddir) == ddir
    assert _source_value(data.load_dataset("fashion_mnist", data_dir=ddir, **kw)) == 10
    assert data.local_idx_dir("fashion_mnist") == str(env_root / "fashion-mnist")
    assert _source_value(data.load_dataset("fashion_mnist", **kw)) == 20
    monkeypatch.delenv(data.DATA_DIR_ENV)
    assert data.local_idx_dir("fashion_mnist") == debian
    assert _source_value(data.load_dataset("fashion_mnist", **kw)) == 30
    # The env var may also point straight at the IDX files.
    monkeypatch.setenv(data.DATA_DIR_ENV, ddir)
    assert _source_value(data.load_dataset("fashion_mnist", **kw)) == 10
    # mnist has no Debian location; a "mnist" sub-folder is found.
    _constant_idx(env_root / "mnist", 50)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(env_root))
    assert _source_value(data.load_dataset("mnist", **kw)) == 50


def test_local_dir_missing_requested_split_is_an_error(no_local):
    ddir = _constant_idx(no_local / "dd", 10)  # train files only
    with pytest.raises(FileNotFoundError, match=r"not for split 'test'"):
        data.load_dataset("fashion_mnist", data_dir=ddir, split="test")
    with pytest.raises(ValueError, match=r"only the splits 'train' and 'test'; .*limit=N"):
        data.load_dataset("fashion_mnist", data_dir=ddir, split="train[:10%]")
    # With nothing local, a TFDS slice is left to TFDS.
    assert data.local_idx_dir("fashion_mnist", "train[:10%]") is None


def test_offline_error_lists_three_ways(no_local, monkeypatch):
    import tensorflow_datasets as tfds

    def offline(*a, **k):
        raise ConnectionError("no network")

    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(data.DataUnavailableError) as info:
        data.load_dataset("fashion_mnist", data_dir=str(no_local / "nothing-here"))
    msg = str(info.value)
    assert "no network" in msg
    assert "data_dir=DIR" in msg
    assert "KERAS_WGAN_DATA_DIR" in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "or let tfds download it when online" in msg
    assert "1." in msg and "2." in msg and "3." in msg
    # Other names get a plain (still explicit) error.
    with pytest.raises(data.DataUnavailableError, match="not an existing file or directory"):
        data.load_dataset("cifar10")


# --------------------------------------------------------------------------
# TFDS path (mocked, offline)
# --------------------------------------------------------------------------


def test_tfds_mock_cifar10(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=8):
        ds = data.load_dataset("cifar10", image_size=16, batch_size=4, data_dir=str(tmp_path), seed=0)
        out = batches(ds)
        gray = next(iter(data.load_dataset("cifar10", image_size=None, batch_size=4,
                                           channels=1, data_dir=str(tmp_path))))
    assert len(out) == 2
    assert all(b.shape == (4, 16, 16, 3) and b.dtype == np.float32 for b in out)
    assert min(b.min() for b in out) >= -1.0 and max(b.max() for b in out) <= 1.0
    assert np.std(np.concatenate(out)) > 0.1  # real (random) pixels came through
    assert gray.shape == (4, 32, 32, 1)


def test_tfds_mock_mnist_not_intercepted_when_nothing_local(no_local):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=8):
        ds = data.load_dataset("mnist", batch_size=4, data_dir=str(no_local / "tfds"))
        b = next(iter(ds)).numpy()
    assert b.shape == (4, 32, 32, 1) and b.min() >= -1.0 and b.max() <= 1.0


def test_tfds_dataset_without_image_feature(monkeypatch):
    import tensorflow_datasets as tfds

    class Info:
        features = {"text": None, "label": None}

    def fake_load(name, **kwargs):
        ds = tf.data.Dataset.from_tensor_slices({"text": ["a", "b"], "label": [0, 1]})
        return ds, Info()

    monkeypatch.setattr(tfds, "load", fake_load)
    with pytest.raises(ValueError, match=r"has no 'image' feature \(features: \['text', 'label'\]\)"):
        data.load_dataset("imdb_reviews", batch_size=1)


# --------------------------------------------------------------------------
# Real Debian Fashion-MNIST (skipped when the package is not installed)
# --------------------------------------------------------------------------


@pytest.mark.skipif(
    not os.path.isfile(os.path.join(DEBIAN_FASHION, "train-images-idx3-ubyte.gz")),
    reason="Debian package dataset-fashion-mnist not installed "
    "(apt-get install dataset-fashion-mnist)",
)
def test_debian_fashion_mnist_smoke(monkeypatch):
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setitem(data.DEBIAN_DATA_DIRS, "fashion_mnist", DEBIAN_FASHION)
    assert data.local_idx_dir("fashion_mnist") == DEBIAN_FASHION
    ds = data.load_dataset("fashion_mnist", batch_size=100, seed=0)
    assert int(ds.cardinality()) == 60000 // 100
    for b in ds.take(2):
        b = b.numpy()
        assert b.shape == (100, 32, 32, 1) and b.dtype == np.float32
        assert b.min() == -1.0 and b.max() <= 1.0 and b.max() > 0.9
    labels = data.read_idx(data.find_idx_files(DEBIAN_FASHION, "train").labels)
    assert labels.shape == (60000,)
    np.testing.assert_array_equal(np.bincount(labels, minlength=10), [6000] * 10)
    test_labels = data.read_idx(data.find_idx_files(DEBIAN_FASHION, "test").labels)
    assert test_labels.shape == (10000,)


# ------------------------------------------------------------- labelled arrays
def test_load_labelled_arrays_from_idx_folder(tmp_path):
    import struct

    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 12, dtype=np.uint8)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(
        struct.pack(">BBBBIII", 0, 0, 8, 3, 12, 28, 28) + images.tobytes())
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(
        struct.pack(">BBBBI", 0, 0, 8, 1, 12) + labels.tobytes())
    from keras_wgan.data import load_labelled_arrays

    x, y = load_labelled_arrays(str(tmp_path), image_size=None)
    assert x.shape == (12, 28, 28, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[..., 0], images / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(y, labels)
    x32, _ = load_labelled_arrays(str(tmp_path), image_size=32, limit=5)
    assert x32.shape == (5, 32, 32, 1)
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="no labels file"):
        load_labelled_arrays(str(tmp_path))


# ------------------------------------------------------------- labels=True
def pairs(ds):
    """All (image value, label) pairs of a labelled dataset, for ramp images."""
    out = []
    for images, labels in ds:
        assert labels.dtype == tf.int32 and labels.shape == (images.shape[0],)
        values = np.round((images.numpy()[:, 0, 0, 0] + 1) * 127.5).astype(int)
        out += list(zip(values.tolist(), labels.numpy().tolist()))
    return out


def test_labels_from_arrays_and_npz_follow_their_images_through_the_shuffle(tmp_path):
    images = ramp_images(12)
    labels = np.arange(12) % 4
    ds = data.load_dataset(images, image_size=None, batch_size=4, labels=labels, seed=3)
    got = pairs(ds)
    assert sorted(got) == [(k, k % 4) for k in range(12)]  # each image keeps its label
    assert [v for v, _ in got] != list(range(12))  # and they were shuffled
    assert ds.class_names == ["0", "1", "2", "3"]
    np.savez(tmp_path / "split.npz", x_train=images, y_train=labels, x_test=images[:4],
             y_test=labels[:4] + 1)
    test = data.load_dataset(tmp_path / "split.npz", image_size=None, batch_size=4,
                             split="test", labels=True, shuffle=False)
    assert pairs(test) == [(k, k % 4 + 1) for k in range(4)]
    np.savez(tmp_path / "plain.npz", x=images, labels=labels)
    assert sorted(pairs(data.load_dataset(tmp_path / "plain.npz", image_size=None,
                                          batch_size=6, labels=True))) == sorted(got)


def test_labels_from_idx_files_beside_the_images(tmp_path):
    directory = make_idx_dir(tmp_path / "idx", ramp_images(10), gz=False)
    ds = data.load_dataset(directory, image_size=None, batch_size=5, labels=True,
                           shuffle=False)
    # make_idx_dir writes label k % 10 for image k.
    assert pairs(ds) == [(k, k % 10) for k in range(10)]
    single = data.load_dataset(os.path.join(directory, "train-images-idx3-ubyte"),
                               image_size=None, batch_size=5, labels=True, shuffle=False)
    assert pairs(single) == pairs(ds)


def test_fashion_mnist_labels_carry_the_class_names(no_local, monkeypatch):
    directory = make_idx_dir(no_local / "fm", ramp_images(4))
    monkeypatch.setenv(data.DATA_DIR_ENV, directory)
    ds = data.load_dataset("fashion_mnist", image_size=None, batch_size=2, labels=True,
                           shuffle=False)
    assert ds.class_names[7] == "Sneaker" and len(ds.class_names) == 10
    assert pairs(ds) == [(k, k) for k in range(4)]


def test_labels_from_class_sub_folders_in_sorted_order(tmp_path):
    root = tmp_path / "imgs"
    for k, cls in enumerate(["zebra", "ant", "mole", "ant", "zebra", "mole"]):
        write_png(root / cls / f"{k}.png", np.full((4, 4), 10 * k, np.uint8))
    ds = data.load_dataset(root, image_size=None, batch_size=3, labels=True, shuffle=False)
    assert ds.class_names == ["ant", "mole", "zebra"]
    index = {"ant": 0, "mole": 1, "zebra": 2}
    expected = {(10 * k, index[c]) for k, c in
                enumerate(["zebra", "ant", "mole", "ant", "zebra", "mole"])}
    assert set(pairs(ds)) == expected
    # Mixed sizes take the per-image path; the labels still follow their images.
    write_png(root / "ant" / "big.png", np.full((8, 8), 200, np.uint8))
    mixed = data.load_dataset(root, image_size=4, batch_size=7, labels=True, shuffle=False)
    assert set(pairs(mixed)) == expected | {(200, 0)}


def test_tfds_label_feature_and_its_names(tmp_path):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=8):
        ds = data.load_dataset("cifar10", image_size=8, batch_size=4, labels=True,
                               data_dir=str(tmp_path), seed=0)
        got = list(ds)
        names = tfds.builder("cifar10", data_dir=str(tmp_path)).info.features["label"].names
    assert ds.class_names == list(names) and len(names) == 10
    assert len(got) == 2 and got[0][0].shape == (4, 8, 8, 3)
    assert all(0 <= int(v) < 10 for _, labels in got for v in labels.numpy())


def test_labels_that_cannot_be_found_are_named(tmp_path):
    images = ramp_images(8)
    with pytest.raises(ValueError, match="pass the labels array itself"):
        data.load_dataset(images, batch_size=4, labels=True)
    with pytest.raises(ValueError, match=r"shape \(8,\); got shape \(7,\)"):
        data.load_dataset(images, batch_size=4, labels=np.zeros(7, int))
    with pytest.raises(ValueError, match="labels must be integers"):
        data.load_dataset(images, batch_size=4, labels=np.zeros(8, "float32"))
    np.save(tmp_path / "only.npy", images)
    with pytest.raises(ValueError, match="holds images only"):
        data.load_dataset(tmp_path / "only.npy", batch_size=4, labels=True)
    np.savez(tmp_path / "nolabels.npz", x=images)
    with pytest.raises(ValueError, match="no labels for split 'train'.*'y_train', 'y' or 'labels'"):
        data.load_dataset(tmp_path / "nolabels.npz", batch_size=4, labels=True)
    directory = tmp_path / "idx"
    directory.mkdir()
    write_idx(directory / "train-images-idx3-ubyte", images)
    with pytest.raises(FileNotFoundError, match="no IDX labels file"):
        data.load_dataset(directory, batch_size=4, labels=True)
    flat = tmp_path / "flat"
    for k in range(4):
        write_png(flat / f"{k}.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="one sub-folder per class"):
        data.load_dataset(flat, batch_size=2, labels=True)


def test_image_folder_skipped_files_keep_the_labels_of_the_others(tmp_path):
    root = tmp_path / "classes"
    for k, cls in enumerate(["a", "a", "b", "b"]):
        write_png(root / cls / f"{k}.png", np.full((4, 4), 80 * k, np.uint8))
    (root / "a" / "0_broken.png").write_bytes(b"not a png")  # sorts first in class a
    with pytest.warns(data.BadFilesSkipped, match="skipped 1 of 5"):
        ds = data.load_dataset(root, image_size=None, batch_size=4, shuffle=False,
                               labels=True, on_error="skip")
    images, labels = next(iter(ds))
    values = np.round((images.numpy()[:, 0, 0, 0] + 1) * 127.5).astype(int)
    assert dict(zip(values.tolist(), labels.numpy().tolist())) == {0: 0, 80: 0, 160: 1, 240: 1}
