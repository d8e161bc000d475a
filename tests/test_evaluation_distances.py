"""Tests for keras_wgan.evaluation.distances: closed forms and brute-force recomputations.

Pure numpy: the Frechet and kernel distances and the Inception score are checked
against formulas worked out another way, at small dimensions.
"""

import itertools

import numpy as np
import pytest

from keras_wgan.evaluation import distances



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
    assert distances.frechet_distance(a, b) == pytest.approx(expected, rel=1e-10)


def test_fd_diagonal_gaussians_sum_over_dimensions():
    rng = np.random.default_rng(1)
    mu1, sd1 = np.array([0.0, 1.0, -2.0, 3.0]), np.array([1.0, 0.5, 2.0, 0.1])
    mu2, sd2 = np.array([0.5, 1.0, 0.0, 3.0]), np.array([2.0, 0.5, 1.0, 0.3])
    a = _uncorrelated(rng, 50, mu1, sd1)
    b = _uncorrelated(rng, 80, mu2, sd2)
    np.testing.assert_allclose(np.cov(a, rowvar=False), np.diag(sd1**2), atol=1e-12)
    expected = np.sum((mu1 - mu2) ** 2 + sd1**2 + sd2**2 - 2 * sd1 * sd2)
    assert distances.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    # Same figure straight from diagonal statistics.
    fd = distances.frechet_distance_from_statistics(
        mu1, np.diag(sd1**2), mu2, np.diag(sd2**2)
    )
    assert fd == pytest.approx(expected, rel=1e-12)


def test_fd_identical_sets_is_zero():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(200, 16)) @ rng.normal(size=(16, 16))
    assert abs(distances.frechet_distance(a, a)) < 1e-8


def test_fd_shift_adds_squared_norm():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(300, 6))
    b = rng.normal(size=(250, 6)) * 1.5
    c = np.array([1.0, -2.0, 0.5, 0.0, 3.0, -1.0])
    assert distances.frechet_distance(a, a + c) == pytest.approx(c @ c, rel=1e-8)
    # General case: the covariance term is unchanged, the mean term moves.
    d_ab = a.mean(0) - b.mean(0)
    expected = distances.frechet_distance(a, b) - d_ab @ d_ab + (d_ab - c) @ (d_ab - c)
    assert distances.frechet_distance(a, b + c) == pytest.approx(expected, rel=1e-8)


def test_fd_statistics_path_matches_features_path():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(120, 10))
    b = rng.normal(size=(90, 10)) @ rng.normal(size=(10, 10)) + 0.3
    mu1, s1 = distances.gaussian_statistics(a)
    mu2, s2 = distances.gaussian_statistics(b)
    np.testing.assert_allclose(mu1, a.mean(0))
    np.testing.assert_allclose(s1, np.cov(a, rowvar=False, ddof=1))
    assert distances.frechet_distance_from_statistics(mu1, s1, mu2, s2) == (
        distances.frechet_distance(a, b)
    )


def _fd_by_nuclear_norm(a, b):
    """FD of two feature sets in closed form: with centred rows C_a / sqrt(n_a - 1), the
    covariances are C_a^T C_a and C_b^T C_b, and Tr sqrt(S_a S_b) is the sum of the
    singular values of C_a C_b^T (exact at any rank, no eigenvalue rounding)."""
    ca = (a - a.mean(0)) / np.sqrt(len(a) - 1)
    cb = (b - b.mean(0)) / np.sqrt(len(b) - 1)
    nuclear = np.linalg.svd(ca @ cb.T, compute_uv=False).sum()
    diff = a.mean(0) - b.mean(0)
    return diff @ diff + np.sum(ca * ca) + np.sum(cb * cb) - 2 * nuclear


@pytest.mark.parametrize("n, d", [(5, 20), (3, 50)])
def test_fd_singular_covariances_are_exact(n, d):
    rng = np.random.default_rng(5)
    a = rng.normal(size=(n, d))
    b = rng.normal(size=(n, d)) + 1.0
    fd = distances.frechet_distance(a, b)
    # No regulariser any more: the figure is the closed form's up to round-off.
    assert fd == pytest.approx(_fd_by_nuclear_norm(a, b), rel=1e-9, abs=1e-9)


def _random_covariance(rng, d, rank, scale=1.0):
    """A covariance of the given rank and its factor: sigma = f f^T, f (d, rank)."""
    factor = rng.normal(size=(d, rank)) * scale
    return factor @ factor.T, factor


@pytest.mark.parametrize("d, seed", [(3, 0), (8, 1), (20, 2)])
def test_trace_of_the_root_matches_scipy_sqrtm_on_full_rank_covariances(d, seed):
    scipy_linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(seed)
    s1, _ = _random_covariance(rng, d, d + 3)
    s2, _ = _random_covariance(rng, d, d + 5, scale=0.3)
    expected = np.trace(scipy_linalg.sqrtm(s1 @ s2)).real  # a general (Schur) root
    assert distances.trace_sqrt_product(s1, s2) == pytest.approx(expected, rel=1e-9)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    fd = distances.frechet_distance_from_statistics(mu1, s1, mu2, s2)
    assert fd == pytest.approx(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
                               - 2 * expected, rel=1e-9)


@pytest.mark.parametrize("d, rank1, rank2", [(12, 3, 12), (12, 3, 5), (40, 9, 40)])
def test_trace_of_the_root_is_exact_on_rank_deficient_covariances(d, rank1, rank2):
    """Closed form: with sigma1 = A A^T and sigma2 = B B^T, the non-zero eigenvalues of
    sigma1 sigma2 are those of (A^T B)(A^T B)^T, so Tr sqrt(sigma1 sigma2) is the sum of
    A^T B's singular values (its nuclear norm)."""
    rng = np.random.default_rng(d + rank1 + rank2)
    s1, f1 = _random_covariance(rng, d, rank1)
    s2, f2 = _random_covariance(rng, d, rank2, scale=0.5)
    nuclear = np.linalg.svd(f1.T @ f2, compute_uv=False).sum()
    assert distances.trace_sqrt_product(s1, s2) == pytest.approx(nuclear, rel=1e-9)
    assert distances.trace_sqrt_product(s2, s1) == pytest.approx(nuclear, rel=1e-9)
    fd = distances.frechet_distance_from_statistics(np.zeros(d), s1, np.zeros(d), s2)
    assert fd == pytest.approx(np.trace(s1) + np.trace(s2) - 2 * nuclear, rel=1e-9)


def test_fd_of_sets_of_different_ranks_has_no_eps_bias():
    """The icon case in small: few held-out images (a low-rank covariance) against many
    samples (full rank). Adding eps to the diagonals used to move fd by O(sqrt(eps))."""
    rng = np.random.default_rng(11)
    held_out = rng.normal(size=(8, 30))
    samples = rng.normal(size=(600, 30)) * 0.8 + 0.1
    mu1, s1 = distances.gaussian_statistics(held_out)
    mu2, s2 = distances.gaussian_statistics(samples)
    centred = (held_out - mu1) / np.sqrt(held_out.shape[0] - 1)  # s1 = centred^T centred
    chol = np.linalg.cholesky(s2)  # s2 = chol chol^T
    nuclear = np.linalg.svd(centred @ chol, compute_uv=False).sum()
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * nuclear
    assert distances.frechet_distance(held_out, samples) == pytest.approx(expected, abs=1e-9)


def test_fd_dead_feature_and_constant_set_are_exact():
    rng = np.random.default_rng(6)
    a = rng.normal(size=(100, 4))
    a[:, 2] = 0.0  # a feature that never fires
    const = np.ones((50, 4))
    assert abs(distances.frechet_distance(a, a)) < 1e-8  # a set is at distance 0 from itself
    # A constant set has zero covariance, so the root's trace is 0 and fd is the mean
    # term plus the other set's total variance, exactly.
    expected = np.sum((a.mean(0) - 1.0) ** 2) + np.trace(np.cov(a, rowvar=False))
    assert distances.frechet_distance(a, const) == pytest.approx(expected, rel=1e-12)
    # The old regularised figure is one argument away.
    eps = 1e-6
    lam = np.clip(np.linalg.eigvalsh(np.cov(a, rowvar=False)), 0, None) + eps
    regularised = (np.sum((a.mean(0) - 1.0) ** 2) + lam.sum() + 4 * eps
                   - 2 * np.sqrt(eps) * np.sqrt(lam).sum())
    assert distances.frechet_distance(a, const, eps=eps) == pytest.approx(regularised,
                                                                           rel=1e-9)


def test_fd_large_imaginary_part_raises():
    eye = np.eye(3)
    with pytest.raises(ValueError, match="imaginary"):
        distances.frechet_distance_from_statistics(np.zeros(3), eye, np.zeros(3), -eye)
    with pytest.raises(ValueError, match="sigma1 is not positive semi-definite"):
        distances.frechet_distance_from_statistics(np.zeros(3), -eye, np.zeros(3), eye)


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
        distances.frechet_distance(a, b)


def test_fd_statistics_bad_shapes_raise():
    with pytest.raises(ValueError, match="sigma2"):
        distances.frechet_distance_from_statistics(
            np.zeros(3), np.eye(3), np.zeros(3), np.eye(2)
        )
    with pytest.raises(ValueError, match="mu1 and mu2"):
        distances.frechet_distance_from_statistics(
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
    kd = distances.kernel_distance(a, b, num_subsets=1, subset_size=1000)
    assert kd.mean == pytest.approx(_mmd2_brute_force(a, b), rel=1e-10)
    assert kd.std == 0.0
    mean, std = kd  # a (mean, std) namedtuple
    assert (mean, std) == (kd.mean, kd.std)


def test_kid_same_distribution_near_zero_and_shift_positive():
    rng = np.random.default_rng(8)
    a = rng.normal(size=(400, 8))
    b = rng.normal(size=(400, 8))
    same = distances.kernel_distance(a, b, num_subsets=20, subset_size=200)
    shifted = distances.kernel_distance(a, b + 1.0, num_subsets=20, subset_size=200)
    assert abs(same.mean) < 0.02
    assert shifted.mean > 0.5
    assert shifted.mean > 20 * (abs(same.mean) + same.std)


def test_kid_is_seeded_and_caps_subset_size():
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(30, 3)), rng.normal(size=(20, 3))
    k1 = distances.kernel_distance(a, b, num_subsets=5, subset_size=10, seed=1)
    k2 = distances.kernel_distance(a, b, num_subsets=5, subset_size=10, seed=1)
    assert k1 == k2
    # subset_size larger than both sets is capped at 20 rows (b's size): the same draws.
    assert distances.kernel_distance(a, b, subset_size=10**6, seed=3) == \
        distances.kernel_distance(a, b, subset_size=20, seed=3)
    with pytest.raises(ValueError, match="num_subsets"):
        distances.kernel_distance(a, b, num_subsets=0)
    with pytest.raises(ValueError, match="different feature dimensions"):
        distances.kernel_distance(a, np.zeros((5, 4)))


def test_kid_spread_of_small_sets_is_a_bootstrap_not_zero():
    """With no more images than the subset size every subset is the whole set, so the
    spread over subsets was exactly 0. The bootstrap's spread must be near the real
    spread of the estimate over fresh draws of the images (measured here by drawing
    them afresh), and the mean still the whole sets' value."""
    rng = np.random.default_rng(21)
    n, d = 60, 4

    def draw():
        return rng.normal(size=(n, d)), rng.normal(size=(n, d)) * 1.2 + 0.3

    fresh = [distances._unbiased_mmd2(*draw()) for _ in range(150)]
    true_spread = np.std(fresh)
    spreads = []
    for seed in range(6):
        a, b = draw()
        kd = distances.kernel_distance(a, b, num_subsets=60, subset_size=1000, seed=seed)
        assert kd.mean == pytest.approx(distances._unbiased_mmd2(a, b), rel=1e-12)
        spreads.append(kd.std)
    assert min(spreads) > 0
    assert 0.6 * true_spread < np.mean(spreads) < 1.6 * true_spread


def test_kid_bootstrap_round_leaves_out_pairs_of_the_same_row():
    """A round drawn with replacement averages k over pairs of different source rows:
    with every row drawn (a permutation) it is the unbiased whole-set value."""
    rng = np.random.default_rng(22)
    a, b = rng.normal(size=(10, 3)), rng.normal(size=(10, 3)) + 0.5
    rows = rng.permutation(10)
    assert distances._resampled_mmd2(a, rows, b, rows[::-1]) == pytest.approx(
        _mmd2_brute_force(a, b), rel=1e-10)
    # Two copies of every row: the within-set means still see each distinct pair once
    # per copy, so the value is unchanged.
    twice = np.repeat(np.arange(10), 2)
    doubled = distances._resampled_mmd2(a, twice, b, twice)
    assert doubled == pytest.approx(_mmd2_brute_force(a, b), rel=1e-10)


# --------------------------------------------------------------------------
# Inception score analogue
# --------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 5, 10])
def test_inception_score_confident_and_spread_is_k(k):
    probs = np.tile(np.eye(k), (7, 1))
    assert distances.inception_score(probs) == pytest.approx(k, rel=1e-12)


def test_inception_score_single_class_or_uniform_is_one():
    one_class = np.zeros((20, 4))
    one_class[:, 2] = 1.0
    assert distances.inception_score(one_class) == pytest.approx(1.0)
    assert distances.inception_score(np.full((20, 4), 0.25)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="probabilities"):
        distances.inception_score(np.ones(4))
