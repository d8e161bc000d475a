"""Distances between feature distributions, and the Inception score: numpy only.

These are the statistics behind FID (:func:`frechet_distance`), KID
(:func:`kernel_distance`) and IS (:func:`inception_score`); they take feature vectors
or class probabilities from any extractor (:mod:`~keras_wgan.evaluation.inception`,
:mod:`~keras_wgan.evaluation.domain_classifier`) and know no network.
"""

from __future__ import annotations

import collections

import numpy as np

from keras_wgan.checks import check_int, check_positive_int

__all__ = [
    "FD_EPS",
    "KID_NUM_SUBSETS",
    "KID_SUBSET_SIZE",
    "KernelDistance",
    "gaussian_statistics",
    "frechet_distance_from_statistics",
    "trace_sqrt_product",
    "frechet_distance",
    "kernel_distance",
    "inception_score",
]

#: Kept for compatibility: the Frechet distance needs no diagonal offset any more
#: (the trace of the root comes from eigenvalues of symmetric PSD matrices), so the
#: default ``eps`` is 0. A positive ``eps`` still adds ``eps * I`` to both covariances.
FD_EPS = 0.0
#: Most negative eigenvalue of a covariance, relative to its largest, that is treated
#: as round-off (clipped to 0); below it the input is not a covariance and raises.
FD_PSD_TOL = 1e-3

#: KID: number of random subsets averaged, and their size (capped by the
#: smaller of the two sets). 100 x 1000 is the customary setting.
KID_NUM_SUBSETS = 100
KID_SUBSET_SIZE = 1000


KernelDistance = collections.namedtuple("KernelDistance", ["mean", "std"])
KernelDistance.__doc__ = """KID estimate: the mean of the unbiased MMD^2 over the
random subsets, and its spread (population std, ddof=0): over the subsets, or over
bootstrap rounds where a set is used whole (see :func:`kernel_distance`)."""


# --------------------------------------------------------------------------
# Frechet distance
# --------------------------------------------------------------------------


def _as_features(features, name):
    """Validate an (N, D) feature array and return it as float64."""
    arr = np.asarray(features, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D (N, D) feature array, got shape {arr.shape}"
        )
    if arr.shape[0] < 2:
        raise ValueError(
            f"{name} needs at least 2 rows to estimate a covariance, "
            f"got {arr.shape[0]}"
        )
    if arr.shape[1] < 1:
        raise ValueError(f"{name} has no feature columns (shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _feature_pair(features_a, features_b):
    """Both feature arrays checked, and of the same feature dimension."""
    a = _as_features(features_a, "features_a")
    b = _as_features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"features_a and features_b have different feature dimensions: "
            f"{a.shape[1]} vs {b.shape[1]}"
        )
    return a, b


def gaussian_statistics(features):
    """Mean and covariance (ddof=1) of (N, D) features, in float64.

    Precompute these once for a fixed reference set (e.g. the real test
    split) and pass them to :func:`frechet_distance_from_statistics`.

    Args:
        features: an ``(N, D)`` array, N >= 2, finite.

    Returns:
        ``(mu, sigma)``: the ``(D,)`` mean and the ``(D, D)`` covariance.

    Raises:
        ValueError: not a finite 2-D array of at least 2 rows.
    """
    arr = _as_features(features, "features")
    mu = arr.mean(axis=0)
    sigma = np.cov(arr, rowvar=False, ddof=1)
    return mu, np.atleast_2d(sigma)


def _check_statistics(mu, sigma, mu_name, sigma_name):
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    if mu.ndim != 1:
        raise ValueError(f"{mu_name} must be a 1-D mean vector, got shape {mu.shape}")
    d = mu.shape[0]
    if sigma.shape != (d, d):
        raise ValueError(
            f"{sigma_name} must be a ({d}, {d}) covariance matching {mu_name}, "
            f"got shape {sigma.shape}"
        )
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(sigma))):
        raise ValueError(f"{mu_name}/{sigma_name} contain NaN or infinite values")
    return mu, sigma


def _psd_root(sigma, name):
    """Symmetric square root of a covariance, from its eigen-decomposition.

    Eigenvalues within round-off of zero (numpy's rank tolerance) count as 0; a
    clearly negative one means ``sigma`` is not positive semi-definite, whose root
    would be imaginary.
    """
    sigma = 0.5 * (sigma + sigma.T)
    eig, vec = np.linalg.eigh(sigma)
    top = float(np.max(np.abs(eig)))
    if eig[0] < -FD_PSD_TOL * max(top, 1e-300):
        raise ValueError(
            f"{name} is not positive semi-definite (smallest eigenvalue {eig[0]:.3g}, "
            f"largest magnitude {top:.3g}), so its square root would be imaginary; "
            "pass covariances such as gaussian_statistics(features) returns"
        )
    # Below numpy's rank tolerance an eigenvalue is round-off of an exact zero (a
    # rank-deficient covariance); its root (~1e-8 of the top one's) would count.
    eig = np.where(eig > top * eig.size * np.finfo(np.float64).eps, eig, 0.0)
    return (vec * np.sqrt(eig)) @ vec.T


def trace_sqrt_product(sigma1, sigma2):
    """``Tr sqrt(sigma1 sigma2)`` for covariances of any rank, without a regulariser.

    ``sigma1 sigma2`` is similar to the symmetric PSD ``R1 sigma2 R1`` with
    ``R1 = sqrt(sigma1)``, so they share eigenvalues, all real and non-negative, and
    the trace of the root is the sum of their square roots. Those are the singular
    values of ``R1 R2`` (``R2 = sqrt(sigma2)``; ``R1 sigma2 R1 = (R1 R2)(R1 R2)^T``),
    which an SVD gets to within round-off of the largest one: taking eigenvalues of
    the product and then their roots would square the condition number and turn
    round-off into errors of ``sqrt(machine eps)``.

    Args:
        sigma1: a ``(D, D)`` covariance.
        sigma2: another, of the same D.

    Returns:
        The trace as a float.

    Raises:
        ValueError: a matrix that is clearly not positive semi-definite.
    """
    root1 = _psd_root(sigma1, "sigma1")
    root2 = _psd_root(sigma2, "sigma2")
    return float(np.linalg.svd(root1 @ root2, compute_uv=False).sum())


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2, eps=FD_EPS):
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 sqrt(sigma1 sigma2))``, in
    float64. The trace of the root comes from the eigenvalues of
    ``sqrt(sigma1) sigma2 sqrt(sigma1)`` (:func:`trace_sqrt_product`), which are
    real and non-negative at every rank, so singular covariances (fewer samples
    than dimensions, dead features, a constant set, two sets of different ranks)
    need no diagonal offset and the figure is exact up to round-off. ``eps > 0``
    (default 0) still adds ``eps * I`` to both covariances, for those who want
    the old regularised figure. A covariance that is clearly not positive
    semi-definite raises ``ValueError``.

    The result can be a tiny negative number (round-off) for identical
    statistics; it is returned as is. Cost is two symmetric eigen-decompositions
    and an SVD, cubic in D: instant for the 240-D yardstick features, seconds for 2048-D
    Inception features.

    Args:
        mu1: the first mean, ``(D,)``.
        sigma1: the first covariance, ``(D, D)``.
        mu2: the second mean.
        sigma2: the second covariance.
        eps: a diagonal offset added to both covariances (0: none).

    Returns:
        The distance as a float.

    Raises:
        ValueError: shapes that do not match, non-finite values, or a covariance
            that is clearly not positive semi-definite.
    """
    mu1, sigma1 = _check_statistics(mu1, sigma1, "mu1", "sigma1")
    mu2, sigma2 = _check_statistics(mu2, sigma2, "mu2", "sigma2")
    if mu1.shape != mu2.shape:
        raise ValueError(
            f"mu1 and mu2 have different feature dimensions: "
            f"{mu1.shape[0]} vs {mu2.shape[0]}"
        )
    if eps < 0:
        raise ValueError(f"eps must be non-negative, got {eps}")
    if eps > 0:
        offset = eps * np.eye(sigma1.shape[0])
        sigma1, sigma2 = sigma1 + offset, sigma2 + offset

    diff = mu1 - mu2
    trace = np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    return float(diff @ diff + trace)


def frechet_distance(features_a, features_b, eps=FD_EPS):
    """Frechet distance between Gaussian fits of two (N, D) feature arrays.

    This is FID when the features are InceptionV3 pool features; the sets
    may have different sizes. Lower is better; 0 means equal fitted means
    and covariances. The estimate is biased upwards for small N, which is
    why figures should be compared at equal sample sizes
    (see :func:`real_floor`).

    Args:
        features_a: an ``(N, D)`` array.
        features_b: an ``(M, D)`` array.
        eps: as :func:`frechet_distance_from_statistics`'s.

    Returns:
        The distance as a float.

    Raises:
        ValueError: arrays that are not finite, 2-D, of at least 2 rows and of one D.

    Example:

    ```python
    fd = frechet_distance(classifier.features(fakes), classifier.features(reals))
    ```
    """
    a, b = _feature_pair(features_a, features_b)
    mu1, s1 = gaussian_statistics(a)
    mu2, s2 = gaussian_statistics(b)
    return frechet_distance_from_statistics(mu1, s1, mu2, s2, eps=eps)


# --------------------------------------------------------------------------
# Kernel distance (KID)
# --------------------------------------------------------------------------


def _polynomial_kernel(x, y):
    """Cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, the KID choice."""
    k = x @ y.T / x.shape[1] + 1.0
    return k * k * k  # cheaper than ** 3 (a general pow)


def _unbiased_mmd2(x, y):
    """Unbiased MMD^2 between two equal-size samples (diagonals excluded)."""
    m = x.shape[0]
    k_xx = _polynomial_kernel(x, x)
    k_yy = _polynomial_kernel(y, y)
    k_xy = _polynomial_kernel(x, y)
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (
        m * (m - 1)
    )
    return within - 2.0 * k_xy.mean()


def _resampled_mmd2(x, rows_x, y, rows_y):
    """MMD^2 of rows drawn with replacement: a within-set pair counts only when its
    two rows are different source rows, so a round's expectation is the whole sets'
    unbiased MMD^2 (a repeated row would add k(x, x) and bias it upwards)."""
    within = 0.0
    for data, rows in ((x, rows_x), (y, rows_y)):
        distinct = rows[:, None] != rows[None, :]
        within += (_polynomial_kernel(data[rows], data[rows]) * distinct).sum() / distinct.sum()
    return within - 2.0 * _polynomial_kernel(x[rows_x], y[rows_y]).mean()


def kernel_distance(
    features_a,
    features_b,
    num_subsets=KID_NUM_SUBSETS,
    subset_size=KID_SUBSET_SIZE,
    seed=0,
):
    """Kernel (Inception) distance: unbiased MMD^2 with a cubic kernel.

    Each of ``num_subsets`` rounds draws ``subset_size`` rows without
    replacement from each set (capped by the smaller set's size) and
    computes the unbiased MMD^2; returns ``KernelDistance(mean, std)`` over
    rounds (a namedtuple, so ``mean, std = kernel_distance(...)`` works).
    Unlike the Frechet distance the estimator is unbiased, so figures at
    different sample sizes are comparable, and the mean can be slightly
    negative when the distributions match.

    A set with no more rows than the subset size (1,000 by default) is used whole
    in every round, so its own sampling noise would not show in ``std`` (with both
    sets that small it would be exactly 0). Then ``std`` comes from as many
    bootstrap rounds instead: such a set is drawn with replacement (pairs of the
    same source row left out of the within-set means), the other as before. It
    estimates the spread of ``mean`` under a fresh draw of the images, while
    ``mean`` is still the average over the subsets (the whole-set value when both
    sets are used whole).

    Args:
        features_a: an ``(N, D)`` array.
        features_b: an ``(M, D)`` array.
        num_subsets: rounds.
        subset_size: rows drawn from each set per round.
        seed: the draws' seed.

    Returns:
        :class:`KernelDistance` ``(mean, std)``.

    Raises:
        ValueError: arrays that are not finite, 2-D, of at least 2 rows and of one D,
            or counts that are not positive ints.
    """
    a, b = _feature_pair(features_a, features_b)
    num_subsets = check_positive_int("num_subsets", num_subsets)
    subset_size = check_int("subset_size", subset_size, minimum=2)
    m = min(int(subset_size), a.shape[0], b.shape[0])
    rng = np.random.default_rng(seed)
    values = np.empty(int(num_subsets))
    for i in range(int(num_subsets)):
        x = a[rng.choice(a.shape[0], m, replace=False)]
        y = b[rng.choice(b.shape[0], m, replace=False)]
        values[i] = _unbiased_mmd2(x, y)
    whole = (a.shape[0] == m, b.shape[0] == m)
    if not any(whole):
        return KernelDistance(float(values.mean()), float(values.std()))
    rounds = np.empty(int(num_subsets))
    for i in range(int(num_subsets)):
        rows = [rng.choice(n, m, replace=is_whole)
                for n, is_whole in ((a.shape[0], whole[0]), (b.shape[0], whole[1]))]
        rounds[i] = _resampled_mmd2(a, rows[0], b, rows[1])
    return KernelDistance(float(values.mean()), float(rounds.std()))


# --------------------------------------------------------------------------
# Inception score analogue
# --------------------------------------------------------------------------


def inception_score(probabilities):
    """exp(E_x KL(p(y|x) || p(y))) from (N, K) class probabilities.

    Ranges from 1 (every image gets the same prediction) to K (confident
    predictions spread evenly over the K classes). Computed on the whole set
    at once (no 10-split averaging), with 0 log 0 taken as 0.

    Args:
        probabilities: an ``(N, K)`` array whose rows are distributions.

    Returns:
        The score as a float.

    Raises:
        ValueError: not a finite 2-D array of non-negative values, or a row that sums
            to 0 (rows are normalised otherwise).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise ValueError(
            f"probabilities must be a non-empty (N, K) array, got shape {p.shape}"
        )
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("probabilities must be finite and non-negative")
    sums = p.sum(axis=1, keepdims=True)
    if np.any(sums <= 0):
        raise ValueError("probabilities has a row summing to zero")
    p = p / sums  # tolerate float32 softmax round-off
    marginal = p.mean(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0)
    return float(np.exp(terms.sum(axis=1).mean()))
