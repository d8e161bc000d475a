"""Distances between feature distributions, and the Inception score: numpy and scipy only.

These are the statistics behind FID (:func:`frechet_distance`), KID
(:func:`kernel_distance`) and IS (:func:`inception_score`); they take feature vectors
or class probabilities from any extractor (:mod:`~keras_wgan.evaluation.inception`,
:mod:`~keras_wgan.evaluation.domain_classifier`) and know no network.
"""

from __future__ import annotations

import collections

import numpy as np
import scipy.linalg

from keras_wgan.checks import check_int, check_positive_int

__all__ = [
    "FD_EPS",
    "KID_NUM_SUBSETS",
    "KID_SUBSET_SIZE",
    "KernelDistance",
    "gaussian_statistics",
    "frechet_distance_from_statistics",
    "frechet_distance",
    "kernel_distance",
    "inception_score",
]

#: Diagonal offset added to both covariances when their product is singular
#: or its square root cannot be computed accurately.
FD_EPS = 1e-6
#: Largest imaginary part of sqrt(S_a S_b), relative to its largest real
#: entry, that is treated as round-off and dropped.
FD_IMAG_TOL = 1e-3
#: Relative residual ||X X - P||_F / ||P||_F above which sqrtm is retried.
FD_SQRTM_TOL = 1e-6

#: KID: number of random subsets averaged, and their size (capped by the
#: smaller of the two sets). 100 x 1000 is the customary setting.
KID_NUM_SUBSETS = 100
KID_SUBSET_SIZE = 1000


KernelDistance = collections.namedtuple("KernelDistance", ["mean", "std"])
KernelDistance.__doc__ = """KID estimate: mean and standard deviation of the
unbiased MMD^2 over the random subsets (population std, ddof=0)."""


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


def _is_singular(sigma):
    """True when a symmetric covariance is numerically rank deficient.

    Uses the same tolerance as numpy's matrix_rank. Sample covariances with
    N <= D, or with a feature that never varies (dead ReLU), land here.
    """
    eig = np.linalg.eigvalsh(sigma)
    top = max(abs(eig[-1]), abs(eig[0]))
    if top == 0.0:
        return True
    return eig[0] <= top * sigma.shape[0] * np.finfo(np.float64).eps


def _sqrtm_ok(root, product):
    """A matrix square root is usable if finite and it squares back to P."""
    if not np.all(np.isfinite(root)):
        return False
    scale = np.linalg.norm(product)
    if scale == 0.0:
        return True
    return np.linalg.norm(root @ root - product) <= FD_SQRTM_TOL * scale


def frechet_distance_from_statistics(mu1, sigma1, mu2, sigma2, eps=FD_EPS):
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    ``||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 sqrt(sigma1 sigma2))``, in
    float64. When a covariance is singular (common: fewer samples than
    dimensions, or dead features) or ``scipy.linalg.sqrtm`` returns a
    non-finite or inaccurate root, ``eps * I`` is added to both covariances
    and the root recomputed. That shifts the result slightly: by about
    ``eps * D`` for merely rank-deficient covariances, and by up to
    ``2 sqrt(eps) Tr(sqrt(sigma))`` when one set is (near) constant.
    Imaginary parts of the root come from round-off and are dropped when
    small; a large one means the inputs are not valid covariances (not
    positive semi-definite), and raises ``ValueError``.

    The result can be a tiny negative number (round-off) for identical
    statistics; it is returned as is. Cost is dominated by ``sqrtm``, cubic
    in D: instant for the 128-D classifier features, but minutes on a
    loaded 2-core CPU for 2048-D Inception features.
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

    diff = mu1 - mu2
    root = None
    if not (_is_singular(sigma1) or _is_singular(sigma2)):
        product = sigma1 @ sigma2
        root = scipy.linalg.sqrtm(product)
        if not _sqrtm_ok(root, product):
            root = None
    if root is None:
        offset = eps * np.eye(sigma1.shape[0])
        sigma1 = sigma1 + offset
        sigma2 = sigma2 + offset
        product = sigma1 @ sigma2
        root = scipy.linalg.sqrtm(product)
        if not np.all(np.isfinite(root)):
            raise ValueError(
                "the matrix square root of sigma1 @ sigma2 is not finite even "
                f"after adding eps={eps} to the diagonals; try a larger eps"
            )

    if np.iscomplexobj(root):
        imag = np.max(np.abs(root.imag))
        real = np.max(np.abs(root.real))
        if imag > FD_IMAG_TOL * max(real, 1e-12):
            raise ValueError(
                "sqrt(sigma1 @ sigma2) has a large imaginary component "
                f"(max |imag| = {imag:.3g} vs max |real| = {real:.3g}); "
                "sigma1/sigma2 are probably not positive semi-definite"
            )
        root = root.real

    trace = np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(root)
    return float(diff @ diff + trace)


def frechet_distance(features_a, features_b, eps=FD_EPS):
    """Frechet distance between Gaussian fits of two (N, D) feature arrays.

    This is FID when the features are InceptionV3 pool features; the sets
    may have different sizes. Lower is better; 0 means equal fitted means
    and covariances. The estimate is biased upwards for small N, which is
    why figures should be compared at equal sample sizes
    (see :func:`real_floor`).
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
    return KernelDistance(float(values.mean()), float(values.std()))


# --------------------------------------------------------------------------
# Inception score analogue
# --------------------------------------------------------------------------


def inception_score(probabilities):
    """exp(E_x KL(p(y|x) || p(y))) from (N, K) class probabilities.

    Ranges from 1 (every image gets the same prediction) to K (confident
    predictions spread evenly over the K classes). Computed on the whole set
    at once (no 10-split averaging), with 0 log 0 taken as 0.
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
