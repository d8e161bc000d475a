"""Sample-quality metrics for generated images.

Two families of yardsticks live here:

* Distances between feature distributions, independent of any network:
  :func:`frechet_distance` (the statistic behind FID) and
  :func:`kernel_distance` (the statistic behind KID).
* Feature extractors that turn images into the vectors those distances
  compare:

  - :class:`InceptionFeatures` / :func:`fid_features` / :func:`fid`:
    Keras' ImageNet InceptionV3 pool features, i.e. the usual FID recipe.
    Note that ``keras.applications.InceptionV3`` is not the TF1 graph the
    published FID numbers were computed with, so absolute values are only
    comparable with other runs of this module, not with papers.
  - :class:`DomainClassifier` / :func:`evaluate_images`: a small CNN trained
    once on the real training split (e.g. Fashion-MNIST) and cached on disk.
    It works offline and on CPU, and gives a Frechet distance, kernel
    distance, an Inception-score analogue and per-class coverage in a
    feature space that actually knows the domain.

A figure is only meaningful next to its scale, so :func:`real_floor` gives
the same figures for real training images against the same reference set
(what a perfect generator with the same sample size would score).

All images handled here are float arrays in [-1, 1] of shape (N, H, W, C),
the convention used by the models and data loaders of this package;
(N, H, W) is read as grayscale.
"""

from __future__ import annotations

import collections
import os
import re
from pathlib import Path

import keras
import numpy as np
import scipy.linalg

__all__ = [
    "FD_EPS",
    "KID_NUM_SUBSETS",
    "KID_SUBSET_SIZE",
    "INCEPTION_IMAGE_SIZE",
    "INCEPTION_MIN_IMAGE_SIZE",
    "INCEPTION_FEATURE_DIM",
    "YARDSTICK_VERSION",
    "CACHE_ENV_VAR",
    "MODE_COVERAGE_FRACTION",
    "KernelDistance",
    "gaussian_statistics",
    "frechet_distance_from_statistics",
    "frechet_distance",
    "kernel_distance",
    "inception_score",
    "InceptionFeatures",
    "fid_features",
    "fid",
    "DomainClassifier",
    "default_cache_dir",
    "classifier_cache_path",
    "load_or_train_classifier",
    "evaluate_images",
    "real_floor",
    "DomainYardstick",
]

# --------------------------------------------------------------------------
# Defaults
# --------------------------------------------------------------------------

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

#: InceptionV3 input size used for FID, the smallest size Keras' InceptionV3
#: accepts (handy for fast tests), and its pooled feature width.
INCEPTION_IMAGE_SIZE = 299
INCEPTION_MIN_IMAGE_SIZE = 75
INCEPTION_FEATURE_DIM = 2048
INCEPTION_BATCH_SIZE = 50

#: Bump when the domain classifier's architecture or training changes, so
#: stale cached classifiers are not reused (the version is in the file name).
YARDSTICK_VERSION = 1
#: Environment variable naming the cache directory; fallback below.
CACHE_ENV_VAR = "KERAS_WGAN_CACHE"
DEFAULT_CACHE_DIR = os.path.join("~", ".cache", "keras_wgan")

#: Domain classifier training defaults (cheap enough for a CPU).
CLASSIFIER_EPOCHS = 3
CLASSIFIER_BATCH_SIZE = 128
CLASSIFIER_LEARNING_RATE = 1e-3
CLASSIFIER_FEATURE_DIM = 128
#: Batch size for running the classifier over images.
PREDICT_BATCH_SIZE = 500

#: A class counts as covered when it receives at least this fraction of its
#: fair share (1/K) of the predictions: with K=10, at least 2% of images.
MODE_COVERAGE_FRACTION = 0.2

#: Slack on the [-1, 1] range check for images (float round-off).
RANGE_TOL = 1e-3

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
    a = _as_features(features_a, "features_a")
    b = _as_features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"features_a and features_b have different feature dimensions: "
            f"{a.shape[1]} vs {b.shape[1]}"
        )
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
    a = _as_features(features_a, "features_a")
    b = _as_features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"features_a and features_b have different feature dimensions: "
            f"{a.shape[1]} vs {b.shape[1]}"
        )
    if int(num_subsets) < 1:
        raise ValueError(f"num_subsets must be at least 1, got {num_subsets}")
    if int(subset_size) < 2:
        raise ValueError(f"subset_size must be at least 2, got {subset_size}")
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


# --------------------------------------------------------------------------
# Image handling shared by the extractors
# --------------------------------------------------------------------------


def _check_image_batch(batch, name):
    """Validate one batch of images in [-1, 1]; return (N, H, W, C) float32."""
    arr = np.asarray(batch, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4:
        raise ValueError(
            f"{name} must be images of shape (N, H, W, C) or (N, H, W), "
            f"got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        return arr
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -1.0 - RANGE_TOL or hi > 1.0 + RANGE_TOL:
        raise ValueError(
            f"{name} must be scaled to [-1, 1], got values in [{lo:.3g}, {hi:.3g}]"
        )
    return np.clip(arr, -1.0, 1.0)


def _iter_image_batches(images, batch_size, name):
    """Yield validated numpy batches from an array or an iterable of batches.

    An iterable may yield arrays/tensors or (images, ...) tuples, as a
    tf.data.Dataset of (images, labels) does; only the images are used.
    """
    if isinstance(images, np.ndarray) or hasattr(images, "shape"):
        arr = _check_image_batch(images, name)
        for start in range(0, arr.shape[0], batch_size):
            yield arr[start : start + batch_size]
        return
    for batch in images:
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        arr = _check_image_batch(batch, name)
        for start in range(0, arr.shape[0], batch_size):
            yield arr[start : start + batch_size]


def _predict_fixed_batch(model, batch, batch_size):
    """predict_on_batch with the batch zero-padded to ``batch_size`` rows.

    Every call then has the same shape, so the model is traced once instead
    of once per ragged final batch (seconds each for InceptionV3).
    """
    n = batch.shape[0]
    if n < batch_size:
        pad = np.zeros((batch_size - n,) + tuple(batch.shape[1:]), np.float32)
        batch = np.concatenate([np.asarray(batch, np.float32), pad])
    out = model.predict_on_batch(batch)
    if isinstance(out, (list, tuple)):
        return [np.asarray(o, dtype=np.float64)[:n] for o in out]
    return np.asarray(out, dtype=np.float64)[:n]


# --------------------------------------------------------------------------
# InceptionV3 features (FID)
# --------------------------------------------------------------------------


class InceptionFeatures:
    """InceptionV3 average-pool features (2048-D) for FID.

    Images in [-1, 1] are resized bilinearly to ``image_size`` and
    grayscale is tiled to three channels. No further scaling is applied:
    ``keras.applications.inception_v3.preprocess_input`` maps [0, 255] to
    [-1, 1], so images already in [-1, 1] are exactly what the network
    expects.

    ``weights="imagenet"`` downloads/loads the standard Keras weights (needs
    network access the first time); ``weights=None`` gives a randomly
    initialised network, only useful for testing the plumbing offline.
    ``image_size`` below 299 (down to 75) is likewise for fast tests: FID
    values are only comparable at the same size and weights.
    """

    def __init__(
        self,
        weights="imagenet",
        image_size=INCEPTION_IMAGE_SIZE,
        batch_size=INCEPTION_BATCH_SIZE,
    ):
        image_size = int(image_size)
        if image_size < INCEPTION_MIN_IMAGE_SIZE:
            raise ValueError(
                f"image_size must be at least {INCEPTION_MIN_IMAGE_SIZE} for "
                f"InceptionV3, got {image_size}"
            )
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.image_size = image_size
        self.batch_size = int(batch_size)
        self.weights = weights
        self.model = keras.applications.InceptionV3(
            include_top=False,
            pooling="avg",
            weights=weights,
            input_shape=(image_size, image_size, 3),
        )

    def _prepare(self, batch):
        channels = batch.shape[-1]
        if channels == 1:
            batch = np.repeat(batch, 3, axis=-1)
        elif channels != 3:
            raise ValueError(
                f"images must have 1 or 3 channels, got {channels}"
            )
        if batch.shape[1:3] != (self.image_size, self.image_size):
            batch = keras.ops.convert_to_numpy(
                keras.ops.image.resize(
                    batch,
                    (self.image_size, self.image_size),
                    interpolation="bilinear",
                )
            )
        return batch

    def __call__(self, images):
        """(N, 2048) float64 features of ``images`` (array or batch iterable)."""
        out = []
        for batch in _iter_image_batches(images, self.batch_size, "images"):
            if batch.shape[0] == 0:
                continue
            out.append(_predict_fixed_batch(
                self.model, self._prepare(batch), self.batch_size))
        if not out:
            raise ValueError("images is empty")
        return np.concatenate(out, axis=0)

    features = __call__


_EXTRACTORS = {}


def _get_extractor(weights, image_size, batch_size):
    """Build InceptionV3 once per (weights, size): construction is slow."""
    key = (weights, int(image_size))
    extractor = _EXTRACTORS.get(key)
    if extractor is None:
        extractor = InceptionFeatures(weights, image_size, batch_size)
        _EXTRACTORS[key] = extractor
    extractor.batch_size = int(batch_size)
    return extractor


def fid_features(
    images,
    weights="imagenet",
    image_size=INCEPTION_IMAGE_SIZE,
    batch_size=INCEPTION_BATCH_SIZE,
    extractor=None,
):
    """InceptionV3 pool features of images in [-1, 1], shape (N, 2048).

    Reuses a module-level extractor per (weights, image_size) unless an
    :class:`InceptionFeatures` is passed as ``extractor``.
    """
    if extractor is None:
        extractor = _get_extractor(weights, image_size, batch_size)
    return extractor(images)


def fid(
    images_a,
    images_b,
    weights="imagenet",
    image_size=INCEPTION_IMAGE_SIZE,
    batch_size=INCEPTION_BATCH_SIZE,
    extractor=None,
    eps=FD_EPS,
):
    """FID between two image sets in [-1, 1] (arrays or batch iterables)."""
    if extractor is None:
        extractor = _get_extractor(weights, image_size, batch_size)
    return frechet_distance(extractor(images_a), extractor(images_b), eps=eps)


# --------------------------------------------------------------------------
# Domain classifier yardstick
# --------------------------------------------------------------------------


def default_cache_dir():
    """Cache directory: ``$KERAS_WGAN_CACHE`` or ``~/.cache/keras_wgan``."""
    return Path(os.environ.get(CACHE_ENV_VAR) or DEFAULT_CACHE_DIR).expanduser()


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def classifier_cache_path(name, cache_dir=None):
    """Where the classifier for dataset ``name`` is (or will be) cached.

    Lets callers skip loading the training split when the file exists.
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            "name must be a non-empty dataset name of letters, digits, '_', "
            f"'-' or '.', got {name!r}"
        )
    base = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return base / f"{name}-classifier-v{YARDSTICK_VERSION}.keras"


class DomainClassifier:
    """A small CNN trained on real data, used as an offline feature extractor.

    ``features`` are the 128-D penultimate (ReLU dense) activations, used for
    Frechet and kernel distances; ``probabilities`` are the softmax outputs,
    used for the Inception-score analogue and class coverage. Build with
    :meth:`build` or :func:`load_or_train_classifier`; wrap a loaded Keras
    model with ``DomainClassifier(model)``.
    """

    FEATURE_LAYER = "features"

    def __init__(self, model):
        try:
            feature_layer = model.get_layer(self.FEATURE_LAYER)
        except ValueError as exc:
            raise ValueError(
                f"model must have a layer named {self.FEATURE_LAYER!r}"
            ) from exc
        self.model = model
        # One pass yields both outputs: evaluation needs both.
        self._both = keras.Model(model.inputs, [feature_layer.output, model.outputs[0]])

    @classmethod
    def build(cls, image_shape, num_classes, seed=0):
        """Untrained classifier: three conv blocks, dense 128, softmax.

        Deliberately small so that a few epochs on 60k 32x32 images take
        minutes on a CPU; initialisers are seeded for repeatability.
        """
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (H, W, C), got {image_shape}")
        if int(num_classes) < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")

        def init(i):
            return keras.initializers.GlorotUniform(seed=seed * 100 + i)

        inputs = keras.Input(image_shape, name="images")
        x = inputs
        for i, filters in enumerate((16, 32, 64)):
            x = keras.layers.Conv2D(
                filters, 3, padding="same", activation="relu",
                kernel_initializer=init(i), name=f"conv{i + 1}",
            )(x)
            x = keras.layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(
            CLASSIFIER_FEATURE_DIM, activation="relu",
            kernel_initializer=init(10), name=cls.FEATURE_LAYER,
        )(x)
        outputs = keras.layers.Dense(
            int(num_classes), activation="softmax",
            kernel_initializer=init(11), name="probabilities",
        )(x)
        model = keras.Model(inputs, outputs, name="domain_classifier")
        return cls(model)

    @property
    def image_shape(self):
        return tuple(self.model.input_shape[1:])

    @property
    def num_classes(self):
        return int(self.model.output_shape[-1])

    def _batches(self, images, batch_size, name="images"):
        for batch in _iter_image_batches(images, batch_size, name):
            if batch.shape[1:] != self.image_shape:
                raise ValueError(
                    f"{name} must have per-image shape {self.image_shape} to "
                    f"match the classifier, got {batch.shape[1:]}"
                )
            if batch.shape[0]:
                yield batch

    def features_and_probabilities(self, images, batch_size=PREDICT_BATCH_SIZE):
        """(features (N, 128) float64, probabilities (N, K) float64)."""
        feats, probs = [], []
        for batch in self._batches(images, batch_size):
            f, p = _predict_fixed_batch(self._both, batch, batch_size)
            feats.append(f)
            probs.append(p)
        if not feats:
            raise ValueError("images is empty")
        return np.concatenate(feats), np.concatenate(probs)

    def features(self, images, batch_size=PREDICT_BATCH_SIZE):
        """Penultimate-layer features, (N, 128) float64."""
        return self.features_and_probabilities(images, batch_size)[0]

    def probabilities(self, images, batch_size=PREDICT_BATCH_SIZE):
        """Softmax class probabilities, (N, K) float64."""
        return self.features_and_probabilities(images, batch_size)[1]

    def accuracy(self, images, labels, batch_size=PREDICT_BATCH_SIZE):
        """Fraction of correctly classified images (report it with results)."""
        labels = np.asarray(labels).reshape(-1)
        pred = self.probabilities(images, batch_size).argmax(axis=1)
        if pred.shape[0] != labels.shape[0]:
            raise ValueError(
                f"labels has {labels.shape[0]} entries for {pred.shape[0]} images"
            )
        return float(np.mean(pred == labels))

    def fit(self, images, labels, epochs=CLASSIFIER_EPOCHS,
            batch_size=CLASSIFIER_BATCH_SIZE, seed=0, verbose=0):
        """Train in place with Adam; shuffling is seeded (numpy permutation)."""
        images = _check_image_batch(images, "train_images")
        labels = _check_labels(labels, images.shape[0], self.num_classes)
        if images.shape[1:] != self.image_shape:
            raise ValueError(
                f"train_images must have per-image shape {self.image_shape}, "
                f"got {images.shape[1:]}"
            )
        self.model.compile(
            optimizer=keras.optimizers.Adam(CLASSIFIER_LEARNING_RATE),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        rng = np.random.default_rng(seed)
        history = []
        for _ in range(int(epochs)):
            perm = rng.permutation(images.shape[0])
            h = self.model.fit(
                images[perm], labels[perm], batch_size=batch_size, epochs=1,
                shuffle=False, verbose=verbose,
            )
            history.append({k: float(v[-1]) for k, v in h.history.items()})
        return history

    def save(self, path):
        """Save atomically (temp file + rename) so concurrent runs never
        see a half-written cache file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.keras")
        try:
            self.model.save(tmp)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()

    @classmethod
    def load(cls, path):
        return cls(keras.saving.load_model(path, compile=False))


def _check_labels(labels, n, num_classes=None):
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(
            f"train_labels must be {n} integer class ids, got shape {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(labels == np.round(labels)):
            raise ValueError("train_labels must be integer class ids")
    labels = labels.astype(np.int64)
    if labels.min() < 0 or (num_classes is not None and labels.max() >= num_classes):
        raise ValueError(
            f"train_labels must lie in [0, {num_classes}), got "
            f"[{labels.min()}, {labels.max()}]"
        )
    return labels


def _train_classifier(train_images, train_labels, num_classes, epochs, seed,
                      batch_size, verbose):
    """Build and train a fresh classifier (module-level so tests can spy)."""
    images = _check_image_batch(train_images, "train_images")
    classifier = DomainClassifier.build(images.shape[1:], num_classes, seed=seed)
    classifier.fit(images, train_labels, epochs=epochs, batch_size=batch_size,
                   seed=seed, verbose=verbose)
    return classifier


def load_or_train_classifier(
    name,
    train_images=None,
    train_labels=None,
    cache_dir=None,
    epochs=CLASSIFIER_EPOCHS,
    seed=0,
    num_classes=None,
    batch_size=CLASSIFIER_BATCH_SIZE,
    verbose=0,
):
    """Load the cached classifier for dataset ``name``, or train and cache it.

    The cache file (:func:`classifier_cache_path`) is keyed by ``name`` and
    :data:`YARDSTICK_VERSION`, so the yardstick is trained once per machine
    and every run is measured with the same network. ``train_images`` (in
    [-1, 1], (N, H, W, C)) and ``train_labels`` are only needed when there
    is no cache yet; if given with a cached model, their shape must match it
    (put the image size in ``name`` if you use several).
    """
    path = classifier_cache_path(name, cache_dir)
    if path.exists():
        classifier = DomainClassifier.load(path)
        if train_images is not None:
            shape = _check_image_batch(train_images[:1], "train_images").shape[1:]
            if shape != classifier.image_shape:
                raise ValueError(
                    f"cached classifier {path} expects images of shape "
                    f"{classifier.image_shape}, train_images have {shape}; "
                    "use a different name (e.g. include the image size)"
                )
        return classifier
    if train_images is None or train_labels is None:
        raise ValueError(
            f"no cached classifier at {path}: train_images and train_labels "
            "are needed to train one"
        )
    train_images = _check_image_batch(train_images, "train_images")
    labels = _check_labels(train_labels, train_images.shape[0], num_classes)
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    classifier = _train_classifier(train_images, labels, num_classes, epochs,
                                   seed, batch_size, verbose)
    classifier.save(path)
    return classifier


def evaluate_images(
    images,
    classifier,
    reference_images=None,
    *,
    reference_features=None,
    kid_num_subsets=KID_NUM_SUBSETS,
    kid_subset_size=KID_SUBSET_SIZE,
    seed=0,
    mode_fraction=MODE_COVERAGE_FRACTION,
    batch_size=PREDICT_BATCH_SIZE,
):
    """Score ``images`` with a :class:`DomainClassifier` against real data.

    ``reference_images`` should be the real test split; pass
    ``reference_features=classifier.features(test_images)`` instead to avoid
    recomputing them on every call. Returns a dict of plain Python values:

    * ``fd``: Frechet distance in classifier-feature space (lower is better);
    * ``kd``, ``kd_std``: kernel distance mean and std over subsets;
    * ``is``: Inception-score analogue, from 1 to ``num_classes``;
    * ``class_histogram``: fraction of images predicted as each class;
    * ``modes_covered``: number of classes receiving at least
      ``mode_fraction`` of their fair share 1/K of the predictions;
    * ``num_classes``, ``num_images``.

    Compare against :func:`real_floor` at the same ``num_images``: the
    Frechet distance is biased upwards for small samples.
    """
    if not isinstance(classifier, DomainClassifier):
        raise TypeError(
            f"classifier must be a DomainClassifier, got {type(classifier).__name__}"
        )
    if (reference_images is None) == (reference_features is None):
        raise ValueError("pass exactly one of reference_images or reference_features")
    if reference_features is None:
        reference_features = classifier.features(reference_images, batch_size)
    feats, probs = classifier.features_and_probabilities(images, batch_size)
    k = probs.shape[1]
    hist = np.bincount(probs.argmax(axis=1), minlength=k) / probs.shape[0]
    kd = kernel_distance(feats, reference_features, kid_num_subsets,
                         kid_subset_size, seed)
    return {
        "fd": frechet_distance(feats, reference_features),
        "kd": kd.mean,
        "kd_std": kd.std,
        "is": inception_score(probs),
        "class_histogram": [float(h) for h in hist],
        "modes_covered": int(np.sum(hist >= mode_fraction / k)),
        "num_classes": int(k),
        "num_images": int(probs.shape[0]),
    }


def class_accuracy(predicted, labels, num_classes):
    """Per-class and class-averaged share of ``predicted`` classes equal to ``labels``.

    For a conditional generator: ``labels`` are the classes the images were generated
    for, ``predicted`` the yardstick classifier's decisions. Returns ``{"per_class":
    [K floats, None for a class without images], "mean": the mean over the classes
    present}`` (the balanced accuracy, so class frequencies do not weigh in).
    """
    predicted = np.asarray(predicted).reshape(-1)
    labels = np.asarray(labels).reshape(-1)
    if predicted.shape != labels.shape:
        raise ValueError(
            f"labels has {labels.shape[0]} entries for {predicted.shape[0]} predictions"
        )
    per_class = []
    for k in range(num_classes):
        chosen = labels == k
        per_class.append(float(np.mean(predicted[chosen] == k)) if chosen.any() else None)
    present = [value for value in per_class if value is not None]
    return {"per_class": per_class, "mean": float(np.mean(present)) if present else float("nan")}


def real_floor(
    classifier,
    train_images,
    reference_images=None,
    num_images=None,
    seed=0,
    **kwargs,
):
    """The :func:`evaluate_images` figures for real training images.

    Draws ``num_images`` (default: all) real training images without
    replacement and scores them against the reference set exactly like
    generated images, i.e. what a perfect generator would get. Use the same
    ``num_images`` as the generated sample, since the Frechet distance
    depends on sample size. Extra keyword arguments (e.g.
    ``reference_features``) go to :func:`evaluate_images`.
    """
    train_images = _check_image_batch(train_images, "train_images")
    n = train_images.shape[0]
    if num_images is not None:
        num_images = int(num_images)
        if not 2 <= num_images <= n:
            raise ValueError(
                f"num_images must be between 2 and len(train_images)={n}, "
                f"got {num_images}"
            )
        idx = np.random.default_rng(seed).choice(n, num_images, replace=False)
        train_images = train_images[np.sort(idx)]
    return evaluate_images(train_images, classifier, reference_images,
                           seed=seed, **kwargs)


class DomainYardstick:
    """The offline quality yardstick for one labelled dataset, ready to score samples.

    Bundles the cached :class:`DomainClassifier`, the real test split's features (the
    reference, computed once) and real training images for the floor, so the CLI's
    ``evaluate`` and the ``QualityMetrics`` callback score generated images the same
    way and always next to their scale.
    """

    def __init__(self, classifier, reference_images, train_images, name="dataset",
                 kid_num_subsets=KID_NUM_SUBSETS, reference_labels=None):
        if not isinstance(classifier, DomainClassifier):
            raise TypeError(
                f"classifier must be a DomainClassifier, got {type(classifier).__name__}"
            )
        self.classifier = classifier
        self.name = name
        self.train_images = _check_image_batch(train_images, "train_images")
        reference_images = _check_image_batch(reference_images, "reference_images")
        self.reference_features, probabilities = classifier.features_and_probabilities(
            reference_images
        )
        self.reference_predictions = probabilities.argmax(axis=1)
        self.reference_labels = None
        if reference_labels is not None:
            self.reference_labels = _check_labels(
                reference_labels, reference_images.shape[0], classifier.num_classes
            )
        self.kid_num_subsets = kid_num_subsets
        self._floors = {}

    @classmethod
    def for_dataset(cls, dataset, image_shape, data_dir=None, cache_dir=None, seed=0,
                    verbose=0, **kwargs):
        """Load (or train once and cache) the yardstick of a labelled dataset.

        ``dataset``: a name ("fashion_mnist", "mnist", a TFDS name with labels) or an
        IDX folder; images are converted to ``image_shape`` (H, W, C) like training data.
        """
        from keras_wgan import data  # metrics needs data only for this convenience

        height, width, channels = image_shape
        train_images, train_labels = data.load_labelled_arrays(
            dataset, "train", image_size=(height, width), data_dir=data_dir,
            channels=channels,
        )
        test_images, test_labels = data.load_labelled_arrays(
            dataset, "test", image_size=(height, width), data_dir=data_dir,
            channels=channels,
        )
        base = os.path.basename(os.path.normpath(os.fspath(dataset)))
        key = re.sub(r"[^A-Za-z0-9_.\-]", "_", base) + f"-{height}x{width}x{channels}"
        classifier = load_or_train_classifier(
            key, train_images, train_labels, cache_dir=cache_dir, seed=seed, verbose=verbose
        )
        return cls(classifier, test_images, train_images, name=base,
                   reference_labels=test_labels, **kwargs)

    def score(self, images, seed=0):
        """:func:`evaluate_images` figures of ``images`` against the real test split."""
        return evaluate_images(
            images, self.classifier, reference_features=self.reference_features,
            kid_num_subsets=self.kid_num_subsets, seed=seed,
        )

    def class_accuracy(self, images, labels):
        """:func:`class_accuracy` of images generated for ``labels`` (conditional models)."""
        predicted = self.classifier.probabilities(images).argmax(axis=1)
        return class_accuracy(predicted, labels, self.classifier.num_classes)

    def class_accuracy_real(self):
        """The same on the real test images: the ceiling of a conditional generator."""
        if self.reference_labels is None:
            raise ValueError(
                "this yardstick was built without reference_labels (the real test split's "
                "labels), so it has no real-image accuracy; pass reference_labels=..."
            )
        return class_accuracy(
            self.reference_predictions, self.reference_labels, self.classifier.num_classes
        )

    def floor(self, num_images, seed=0):
        """The same figures for ``num_images`` real training images (cached per size)."""
        num_images = min(int(num_images), self.train_images.shape[0])
        if num_images not in self._floors:
            self._floors[num_images] = real_floor(
                self.classifier, self.train_images, num_images=num_images, seed=seed,
                reference_features=self.reference_features,
                kid_num_subsets=self.kid_num_subsets,
            )
        return self._floors[num_images]
