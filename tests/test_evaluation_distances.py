"""Tests for keras_wgan.metrics: offline, tiny shapes, a few seconds of CPU.

Distances are checked against closed forms or independent brute-force
implementations; the InceptionV3 tests use ``weights=None`` (no network
here) at the minimum input size 75, so they only test the plumbing.
"""

import itertools
import os

import numpy as np
import pytest

from keras_wgan import metrics


# --------------------------------------------------------------------------
# Frechet distance
# --------------------------------------------------------------------------


def _uncorrelated(rng, n, means, stds):
    """Features whose sample covariance (ddof=1) is exactly diag(stds^2)."""
    d = len(means)
    x = rng.normal(size=(n, d))
    x -= x.mean(axis=0)
    q, _ = np.linalg.qr(x)  # orthonormal, still centred columns
    return q * np.sqrt(n - 1) * np.asarray(stds) + np.asarray(means)


def test_fd_one_dimensional_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 2.0, size=(300, 1))
    b = rng.normal(-0.5, 0.7, size=(200, 1))
    m1, m2 = a.mean(), b.mean()
    s1, s2 = a.std(ddof=1), b.std(ddof=1)
    expected = (m1 - m2) ** 2 + s1**2 + s2**2 - 2 * s1 * s2
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-10)


def test_fd_diagonal_gaussians_sum_over_dimensions():
    rng = np.random.default_rng(1)
    mu1, sd1 = np.array([0.0, 1.0, -2.0, 3.0]), np.array([1.0, 0.5, 2.0, 0.1])
    mu2, sd2 = np.array([0.5, 1.0, 0.0, 3.0]), np.array([2.0, 0.5, 1.0, 0.3])
    a = _uncorrelated(rng, 50, mu1, sd1)
    b = _uncorrelated(rng, 80, mu2, sd2)
    np.testing.assert_allclose(np.cov(a, rowvar=False), np.diag(sd1**2), atol=1e-12)
    expected = np.sum((mu1 - mu2) ** 2 + sd1**2 + sd2**2 - 2 * sd1 * sd2)
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    # Same figure straight from diagonal statistics.
    fd = metrics.frechet_distance_from_statistics(
        mu1, np.diag(sd1**2), mu2, np.diag(sd2**2)
    )
    assert fd == pytest.approx(expected, rel=1e-12)


def test_fd_identical_sets_is_zero():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(200, 16)) @ rng.normal(size=(16, 16))
    assert abs(metrics.frechet_distance(a, a)) < 1e-8


def test_fd_shift_adds_squared_norm():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(300, 6))
    b = rng.normal(size=(250, 6)) * 1.5
    c = np.array([1.0, -2.0, 0.5, 0.0, 3.0, -1.0])
    assert metrics.frechet_distance(a, a + c) == pytest.approx(c @ c, rel=1e-8)
    # General case: the covariance term is unchanged, the mean term moves.
    d_ab = a.mean(0) - b.mean(0)
    expected = metrics.frechet_distance(a, b) - d_ab @ d_ab + (d_ab - c) @ (d_ab - c)
    assert metrics.frechet_distance(a, b + c) == pytest.approx(expected, rel=1e-8)


def test_fd_statistics_path_matches_features_path():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(120, 10))
    b = rng.normal(size=(90, 10)) @ rng.normal(size=(10, 10)) + 0.3
    mu1, s1 = metrics.gaussian_statistics(a)
    mu2, s2 = metrics.gaussian_statistics(b)
    np.testing.assert_allclose(mu1, a.mean(0))
    np.testing.assert_allclose(s1, np.cov(a, rowvar=False, ddof=1))
    assert metrics.frechet_distance_from_statistics(mu1, s1, mu2, s2) == (
        metrics.frechet_distance(a, b)
    )


def _fd_by_eigenvalues(a, b):
    """FD via Tr sqrt(S1 S2) = sum sqrt(eig(R S2 R)), R = sqrt(S1) (PSD)."""
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(s1)
    r = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    eig = np.clip(np.linalg.eigvalsh(r @ s2 @ r), 0, None)
    diff = a.mean(0) - b.mean(0)
    return diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.sqrt(eig).sum()


@pytest.mark.parametrize("n, d", [(5, 20), (3, 50)])
def test_fd_singular_covariances_stay_finite(n, d):
    rng = np.random.default_rng(5)
    a = rng.normal(size=(n, d))
    b = rng.normal(size=(n, d)) + 1.0
    fd = metrics.frechet_distance(a, b)
    assert np.isfinite(fd)
    # The eps*I regulariser moves the answer by about eps * d only.
    assert fd == pytest.approx(_fd_by_eigenvalues(a, b), abs=1e-3)


def test_fd_dead_feature_and_constant_set_are_finite():
    rng = np.random.default_rng(6)
    a = rng.normal(size=(100, 4))
    a[:, 2] = 0.0  # a feature that never fires
    const = np.ones((50, 4))
    assert np.isfinite(metrics.frechet_distance(a, a))
    fd = metrics.frechet_distance(a, const)
    # Constant set: zero covariance, so eps*I is added to both; then
    # sqrt((S_a + eps I) eps I) = sqrt(eps) sqrt(S_a + eps I), via eigenvalues.
    eps = metrics.FD_EPS
    lam = np.clip(np.linalg.eigvalsh(np.cov(a, rowvar=False)), 0, None) + eps
    expected = (np.sum((a.mean(0) - 1.0) ** 2) + lam.sum() + 4 * eps
                - 2 * np.sqrt(eps) * np.sqrt(lam).sum())
    assert fd == pytest.approx(expected, rel=1e-9)
    # ... which is within 2 sqrt(eps) Tr sqrt(S_a) of the eps-free value.
    assert fd == pytest.approx(lam.sum() - 4 * eps + np.sum((a.mean(0) - 1.0) ** 2),
                               abs=2 * np.sqrt(eps) * np.sqrt(lam).sum() + 1e-9)


def test_fd_large_imaginary_part_raises():
    eye = np.eye(3)
    with pytest.raises(ValueError, match="imaginary"):
        metrics.frechet_distance_from_statistics(np.zeros(3), eye, np.zeros(3), -eye)


@pytest.mark.parametrize(
    "a, b, match",
    [
        (np.zeros(10), np.zeros((10, 2)), "features_a"),
        (np.zeros((10, 2)), np.zeros((10, 2, 1)), "features_b"),
        (np.zeros((1, 2)), np.zeros((10, 2)), "at least 2 rows"),
        (np.zeros((10, 2)), np.zeros((10, 3)), "different feature dimensions"),
        (np.full((10, 2), np.nan), np.zeros((10, 2)), "NaN"),
    ],
)
def test_fd_bad_shapes_raise(a, b, match):
    with pytest.raises(ValueError, match=match):
        metrics.frechet_distance(a, b)


def test_fd_statistics_bad_shapes_raise():
    with pytest.raises(ValueError, match="sigma2"):
        metrics.frechet_distance_from_statistics(
            np.zeros(3), np.eye(3), np.zeros(3), np.eye(2)
        )
    with pytest.raises(ValueError, match="mu1 and mu2"):
        metrics.frechet_distance_from_statistics(
            np.zeros(3), np.eye(3), np.zeros(2), np.eye(2)
        )


# --------------------------------------------------------------------------
# Kernel distance
# --------------------------------------------------------------------------


def _mmd2_brute_force(x, y):
    d = x.shape[1]

    def k(u, v):
        return (float(np.dot(u, v)) / d + 1.0) ** 3

    m, n = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2))
    kyy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(n), 2))
    kxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n))
    return kxx / (m * (m - 1)) + kyy / (n * (n - 1)) - 2 * kxy / (m * n)


def test_kid_matches_brute_force_on_full_sets():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(12, 5))
    b = rng.normal(size=(12, 5)) * 1.3 + 0.4
    kd = metrics.kernel_distance(a, b, num_subsets=1, subset_size=1000)
    assert kd.mean == pytest.approx(_mmd2_brute_force(a, b), rel=1e-10)
    assert kd.std == 0.0
    mean, std = kd  # a (mean, std) namedtuple
    assert (mean, std) == (kd.mean, kd.std)


def test_kid_same_distribution_near_zero_and_shift_positive():
    rng = np.random.default_rng(8)
    a = rng.normal(size=(400, 8))
    b = rng.normal(size=(400, 8))
    same = metrics.kernel_distance(a, b, num_subsets=20, subset_size=200)
    shifted = metrics.kernel_distance(a, b + 1.0, num_subsets=20, subset_size=200)
    assert abs(same.mean) < 0.02
    assert shifted.mean > 0.5
    assert shifted.mean > 20 * (abs(same.mean) + same.std)


def test_kid_is_seeded_and_caps_subset_size():
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(30, 3)), rng.normal(size=(20, 3))
    k1 = metrics.kernel_distance(a, b, num_subsets=5, subset_size=10, seed=1)
    k2 = metrics.kernel_distance(a, b, num_subsets=5, subset_size=10, seed=1)
    assert k1 == k2
    # subset_size larger than both sets is capped at 20 rows.
    assert np.isfinite(metrics.kernel_distance(a, b, subset_size=10**6).mean)
    with pytest.raises(ValueError, match="num_subsets"):
        metrics.kernel_distance(a, b, num_subsets=0)
    with pytest.raises(ValueError, match="different feature dimensions"):
        metrics.kernel_distance(a, np.zeros((5, 4)))


# --------------------------------------------------------------------------
# Inception score analogue
# --------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 5, 10])
def test_inception_score_confident_and_spread_is_k(k):
    probs = np.tile(np.eye(k), (7, 1))
    assert metrics.inception_score(probs) == pytest.approx(k, rel=1e-12)


def test_inception_score_single_class_or_uniform_is_one():
    one_class = np.zeros((20, 4))
    one_class[:, 2] = 1.0
    assert metrics.inception_score(one_class) == pytest.approx(1.0)
    assert metrics.inception_score(np.full((20, 4), 0.25)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="probabilities"):
        metrics.inception_score(np.ones(4))


# --------------------------------------------------------------------------
# InceptionV3 plumbing (weights=None: no network; size 75: fast)
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inception():
    return metrics.InceptionFeatures(weights=None, image_size=75, batch_size=4)


def test_inception_features_shapes_and_channels(inception):
    rng = np.random.default_rng(10)
    gray = rng.uniform(-1, 1, size=(5, 32, 32, 1)).astype(np.float32)
    feats = inception(gray)
    assert feats.shape == (5, metrics.INCEPTION_FEATURE_DIM)
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
        metrics.InceptionFeatures(weights=None, image_size=32)


def test_fid_plumbing(inception, monkeypatch):
    # A 2048-D sqrtm takes tens of seconds on a small CPU, and the Frechet
    # distance itself is tested above at small D, so only the wiring is
    # checked here: fid(a, b) == frechet_distance(features(a), features(b)).
    rng = np.random.default_rng(11)
    a = rng.uniform(-1, 1, size=(6, 16, 16, 3))
    b = np.clip(a + 0.5, -1, 1)
    feats_a = metrics.fid_features(a, extractor=inception)
    feats_b = metrics.fid_features(b, extractor=inception)
    assert feats_a.shape == feats_b.shape == (6, 2048)
    assert not np.allclose(feats_a, feats_b)
    calls = []

    def spy(fa, fb, eps):
        calls.append((fa, fb, eps))
        return 42.0

    monkeypatch.setattr(metrics, "frechet_distance", spy)
    assert metrics.fid(a, b, extractor=inception, eps=1e-3) == 42.0
    (fa, fb, eps), = calls
    np.testing.assert_allclose(fa, feats_a, atol=1e-6)
    np.testing.assert_allclose(fb, feats_b, atol=1e-6)
    assert eps == 1e-3


# --------------------------------------------------------------------------
# Domain classifier yardstick
# --------------------------------------------------------------------------


def _stripes(n, rng):
    """Two classes: horizontal (0) vs vertical (1) stripes, with noise."""
    labels = np.arange(n) % 2
    grid = np.arange(32)
    images = np.empty((n, 32, 32, 1), np.float32)
    for i, label in enumerate(labels):
        phase = rng.integers(0, 8)
        wave = np.sign(np.sin((grid + phase) * np.pi / 4))
        img = np.tile(wave[:, None], (1, 32)) if label == 0 else np.tile(wave, (32, 1))
        images[i, ..., 0] = img * 0.8 + rng.normal(0, 0.1, (32, 32))
    return np.clip(images, -1, 1), labels


@pytest.fixture(scope="module")
def stripes():
    rng = np.random.default_rng(12)
    train = _stripes(256, rng)
    test = _stripes(128, rng)
    return train, test


@pytest.fixture(scope="module")
def trained(stripes, tmp_path_factory):
    (x, y), _ = stripes
    cache = tmp_path_factory.mktemp("cache")
    clf = metrics.load_or_train_classifier(
        "stripes", x, y, cache_dir=cache, epochs=2, batch_size=32, seed=0
    )
    return clf, cache


def test_classifier_trains_and_caches(stripes, trained):
    (_, _), (xt, yt) = stripes
    clf, cache = trained
    path = metrics.classifier_cache_path("stripes", cache)
    assert path.exists() and path.suffix == ".keras"
    assert f"v{metrics.YARDSTICK_VERSION}" in path.name
    assert clf.num_classes == 2 and clf.image_shape == (32, 32, 1)
    assert clf.accuracy(xt, yt) > 0.9
    feats, probs = clf.features_and_probabilities(xt[:10])
    assert feats.shape == (10, metrics.CLASSIFIER_FEATURE_DIM)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)


def test_classifier_second_call_loads_without_training(stripes, trained, monkeypatch):
    (x, y), (xt, _) = stripes
    clf, cache = trained
    path = metrics.classifier_cache_path("stripes", cache)
    mtime = os.stat(path).st_mtime_ns

    def no_training(*args, **kwargs):
        raise AssertionError("classifier was retrained instead of loaded")

    monkeypatch.setattr(metrics, "_train_classifier", no_training)
    again = metrics.load_or_train_classifier("stripes", x, y, cache_dir=cache)
    assert os.stat(path).st_mtime_ns == mtime
    np.testing.assert_allclose(again.features(xt[:8]), clf.features(xt[:8]), atol=1e-5)
    # Data is optional once cached; a shape mismatch is an error.
    metrics.load_or_train_classifier("stripes", cache_dir=cache)
    with pytest.raises(ValueError, match="expects images of shape"):
        metrics.load_or_train_classifier("stripes", np.zeros((2, 28, 28, 1)), cache_dir=cache)
    with pytest.raises(ValueError, match="no cached classifier"):
        metrics.load_or_train_classifier("other", cache_dir=cache)


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(metrics.CACHE_ENV_VAR, str(tmp_path))
    assert metrics.default_cache_dir() == tmp_path
    assert metrics.classifier_cache_path("fashion_mnist").parent == tmp_path
    with pytest.raises(ValueError, match="name"):
        metrics.classifier_cache_path("../escape")


def test_evaluate_images(stripes, trained):
    (x, _), (xt, _) = stripes
    clf, _ = trained
    kwargs = dict(kid_num_subsets=10, kid_subset_size=64)
    itself = metrics.evaluate_images(xt, clf, xt, **kwargs)
    real = metrics.evaluate_images(x[:128], clf, xt, **kwargs)
    const = metrics.evaluate_images(np.zeros((64, 32, 32, 1)), clf, xt, **kwargs)
    expected_keys = {"fd", "kd", "kd_std", "is", "class_histogram",
                     "modes_covered", "num_classes", "num_images"}
    for result in (itself, real, const):
        assert set(result) == expected_keys
        assert sum(result["class_histogram"]) == pytest.approx(1.0)
        assert 1.0 - 1e-9 <= result["is"] <= 2.0 + 1e-9
    assert abs(itself["fd"]) < 1e-6
    assert real["modes_covered"] == 2 and real["is"] > 1.5
    assert const["modes_covered"] == 1 and const["is"] == pytest.approx(1.0)
    assert const["fd"] > 10 * real["fd"] > 0
    assert const["kd"] > 10 * abs(real["kd"])
    # Precomputed reference features give identical figures.
    ref = clf.features(xt)
    assert metrics.evaluate_images(x[:128], clf, reference_features=ref, **kwargs) == real
    with pytest.raises(ValueError, match="exactly one"):
        metrics.evaluate_images(xt, clf)
    with pytest.raises(ValueError, match="per-image shape"):
        metrics.evaluate_images(np.zeros((4, 28, 28, 1)), clf, xt)


def test_real_floor(stripes, trained):
    (x, _), (xt, _) = stripes
    clf, _ = trained
    floor = metrics.real_floor(clf, x, xt, num_images=100,
                               kid_num_subsets=5, kid_subset_size=50)
    assert floor["num_images"] == 100 and floor["modes_covered"] == 2
    assert np.isfinite(floor["fd"])
    with pytest.raises(ValueError, match="num_images"):
        metrics.real_floor(clf, x, xt, num_images=10**6)
