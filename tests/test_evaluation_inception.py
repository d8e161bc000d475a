"""Tests for keras_wgan.evaluation.inception: the InceptionV3 plumbing, offline.

``weights=None`` (no network here) at the minimum input size 75, so only the
plumbing is tested: shapes, channels, batching, and that fid is the Frechet distance
of the features.
"""

import numpy as np
import pytest

from keras_wgan.evaluation import inception as inception_module


# --------------------------------------------------------------------------
# InceptionV3 plumbing (weights=None: no network; size 75: fast)
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inception():
    return inception_module.InceptionFeatures(weights=None, image_size=75, batch_size=4)


def test_inception_features_shapes_and_channels(inception):
    rng = np.random.default_rng(10)
    gray = rng.uniform(-1, 1, size=(5, 32, 32, 1)).astype(np.float32)
    feats = inception(gray)
    assert feats.shape == (5, inception_module.INCEPTION_FEATURE_DIM)
    assert feats.dtype == np.float64 and np.all(np.isfinite(feats))
    # Grayscale is tiled to RGB; (N, H, W) reads as grayscale.
    np.testing.assert_allclose(inception(np.repeat(gray, 3, -1)), feats, atol=1e-5)
    np.testing.assert_allclose(inception(gray[..., 0]), feats, atol=1e-5)
    # An iterable of (images, labels) batches gives the same features.
    batches = [(gray[:2], None), (gray[2:], None)]
    np.testing.assert_allclose(inception(batches), feats, atol=1e-5)


def test_inception_rejects_bad_input(inception):
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        inception(np.full((2, 32, 32, 3), 255.0))
    with pytest.raises(ValueError, match="channels"):
        inception(np.zeros((2, 32, 32, 2)))
    with pytest.raises(ValueError, match="image_size"):
        inception_module.InceptionFeatures(weights=None, image_size=32)


def test_fid_plumbing(inception, monkeypatch):
    # A 2048-D sqrtm takes tens of seconds on a small CPU, and the Frechet
    # distance itself is tested at small D in test_evaluation_distances.py, so only the wiring is
    # checked here: fid(a, b) == frechet_distance(features(a), features(b)).
    rng = np.random.default_rng(11)
    a = rng.uniform(-1, 1, size=(6, 16, 16, 3))
    b = np.clip(a + 0.5, -1, 1)
    feats_a = inception_module.fid_features(a, extractor=inception)
    feats_b = inception_module.fid_features(b, extractor=inception)
    assert feats_a.shape == feats_b.shape == (6, 2048)
    assert not np.allclose(feats_a, feats_b)
    calls = []

    def spy(fa, fb, eps):
        calls.append((fa, fb, eps))
        return 42.0

    monkeypatch.setattr(inception_module, "frechet_distance", spy)
    assert inception_module.fid(a, b, extractor=inception, eps=1e-3) == 42.0
    (fa, fb, eps), = calls
    np.testing.assert_allclose(fa, feats_a, atol=1e-6)
    np.testing.assert_allclose(fb, feats_b, atol=1e-6)
    assert eps == 1e-3


def test_fd_between_folders_in_inception_features_is_the_array_fd(inception, tmp_path):
    """``compare_folders(..., features="inception", extractor=...)``: the fake folder's
    images and the real folder's test split go through the extractor, and fd/kd equal
    those computed directly on the arrays. The extractor here is InceptionV3's (random
    weights at its smallest input: offline) followed by a fixed 32-column slice, so the
    check costs no 2048-D matrix square roots (7 s each on 2 cores)."""
    from PIL import Image

    from keras_wgan.data import load_labelled_arrays
    from keras_wgan.evaluation import compare_folders
    from keras_wgan.evaluation.distances import frechet_distance, kernel_distance
    from keras_wgan.images import to_uint8, write_png

    def extractor(images):
        return inception(images)[:, ::64]

    rng = np.random.default_rng(4)
    real = tmp_path / "real"
    for i in range(20):  # two classes; every 5th file is the held-out test split
        folder = real / ("red", "blue")[i % 2]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(
            folder / f"{i:03d}.png")
    fake = tmp_path / "fake"
    images = rng.uniform(-1, 1, (6, 16, 16, 3)).astype("float32")
    for i, image in enumerate(to_uint8(images)):
        write_png(image, str(fake / f"seed{i:06d}.png"))
    figures = compare_folders(str(real), str(fake), features="inception",
                              extractor=extractor)
    test_images = load_labelled_arrays(str(real), "test", image_size=(16, 16),
                                       channels=3)[0]
    reference = extractor(test_images)
    generated = extractor(to_uint8(images).astype("float32") / 127.5 - 1)
    assert reference.shape == (4, 32)
    assert figures["fd"] == pytest.approx(frechet_distance(generated, reference), rel=1e-4)
    assert figures["kd"] == pytest.approx(kernel_distance(generated, reference).mean,
                                          rel=1e-4, abs=1e-8)
    assert (figures["features"], figures["num_fake"], figures["num_real"]) == \
        ("inception", 6, test_images.shape[0])
    assert figures["floor"]["num_images"] == 6
