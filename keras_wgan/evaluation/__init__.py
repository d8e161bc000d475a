"""Measuring generated images: one module per metric family, public names exported here.

* :mod:`.distances`: Frechet distance (FID's statistic), kernel distance (KID's) and
  the Inception score, from features or class probabilities; numpy only.
* :mod:`.inception`: InceptionV3 pool features and :func:`fid`, the usual recipe.
* :mod:`.domain_classifier`: a small CNN trained once on the real training split and
  cached on disk, the offline feature extractor that knows the domain.
* :mod:`.yardstick`: :func:`evaluate_images`, :func:`real_floor` and
  :class:`DomainYardstick`, the figures of a sample beside those of real images.
* :mod:`.inputs`: the checks and batching every extractor applies to its images.

All images are float arrays in [-1, 1] of shape (N, H, W, C), the convention of the
models and data loaders of this package; (N, H, W) is read as grayscale. The old name,
``keras_wgan.metrics`` (which shadowed ``keras.metrics``), still imports, with a
``DeprecationWarning``.
"""

from keras_wgan.evaluation.distances import (
    FD_EPS,
    KID_NUM_SUBSETS,
    KID_SUBSET_SIZE,
    KernelDistance,
    frechet_distance,
    frechet_distance_from_statistics,
    gaussian_statistics,
    inception_score,
    kernel_distance,
    trace_sqrt_product,
)
from keras_wgan.evaluation.domain_classifier import (
    CACHE_ENV_VAR,
    FEATURE_BLOCK_SHARES,
    FEATURE_DIM,
    YARDSTICK_VERSION,
    DomainClassifier,
    classifier_cache_path,
    default_cache_dir,
    load_or_train_classifier,
    training_schedule,
)
from keras_wgan.evaluation.inception import (
    INCEPTION_FEATURE_DIM,
    INCEPTION_IMAGE_SIZE,
    INCEPTION_MIN_IMAGE_SIZE,
    InceptionFeatures,
    fid,
    fid_features,
)
from keras_wgan.evaluation.yardstick import (
    FOLDER_FEATURES,
    MODE_COVERAGE_FRACTION,
    RELIABLE_FD_IMAGES,
    DomainYardstick,
    class_accuracy,
    compare_folders,
    folder_images,
    folder_shape,
    evaluate_images,
    real_floor,
    rotations,
)

__all__ = [
    "RELIABLE_FD_IMAGES",
    "FOLDER_FEATURES",
    "FEATURE_DIM",
    "FEATURE_BLOCK_SHARES",
    "training_schedule",
    "compare_folders",
    "folder_images",
    "folder_shape",
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
    "trace_sqrt_product",
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
    "class_accuracy",
    "real_floor",
    "DomainYardstick",
    "rotations",
]
