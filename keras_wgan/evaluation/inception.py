"""InceptionV3 pool features and FID: the customary recipe, through Keras' ImageNet weights.

``keras.applications.InceptionV3`` is not the TF1 graph the published FID numbers
were computed with, so absolute values are only comparable with other runs of this
module, not with papers. The ImageNet weights are downloaded the first time; for an
offline yardstick that knows the domain, see
:mod:`~keras_wgan.evaluation.domain_classifier`.
"""

from __future__ import annotations

import keras
import numpy as np

from keras_wgan.checks import check_int, check_positive_int
from keras_wgan.evaluation.distances import FD_EPS, frechet_distance
from keras_wgan.evaluation.inputs import iter_image_batches, predict_fixed_batch

__all__ = [
    "INCEPTION_IMAGE_SIZE",
    "INCEPTION_MIN_IMAGE_SIZE",
    "INCEPTION_FEATURE_DIM",
    "InceptionFeatures",
    "fid_features",
    "fid",
]

#: InceptionV3 input size used for FID, the smallest size Keras' InceptionV3
#: accepts (handy for fast tests), and its pooled feature width.
INCEPTION_IMAGE_SIZE = 299
INCEPTION_MIN_IMAGE_SIZE = 75
INCEPTION_FEATURE_DIM = 2048
INCEPTION_BATCH_SIZE = 50


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

    Args:
        weights: ``"imagenet"`` or None (above).
        image_size: the side images are resized to, at least
            :data:`INCEPTION_MIN_IMAGE_SIZE`.
        batch_size: images through the network at once.

    Raises:
        ValueError: ``image_size`` below the network's smallest input, or a
            ``batch_size`` that is not a positive int.
    """

    def __init__(
        self,
        weights="imagenet",
        image_size=INCEPTION_IMAGE_SIZE,
        batch_size=INCEPTION_BATCH_SIZE,
    ):
        self.image_size = check_int("image_size", image_size, minimum=INCEPTION_MIN_IMAGE_SIZE,
                                    hint="(InceptionV3's smallest input)")
        self.batch_size = check_positive_int("batch_size", batch_size)
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
        for batch in iter_image_batches(images, self.batch_size, "images"):
            if batch.shape[0] == 0:
                continue
            out.append(predict_fixed_batch(
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

    Args:
        images: ``(N, H, W, C)`` in [-1, 1], an array or an iterable of batches.
        weights: as :class:`InceptionFeatures`'.
        image_size: as :class:`InceptionFeatures`'.
        batch_size: as :class:`InceptionFeatures`'.
        extractor: an :class:`InceptionFeatures` to use instead.

    Returns:
        float32 ``(N, 2048)``.

    Raises:
        ValueError: no images.
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
    """FID between two image sets: the Frechet distance of their InceptionV3 features.

    Comparable between runs of this library (Keras' weights, not the TF1 graph
    published FIDs used).

    Args:
        images_a: images in [-1, 1], an array or an iterable of batches.
        images_b: the other set, the same way.
        weights: as :class:`InceptionFeatures`'.
        image_size: as :class:`InceptionFeatures`'.
        batch_size: as :class:`InceptionFeatures`'.
        extractor: an :class:`InceptionFeatures` to use instead.
        eps: as ``frechet_distance``'s.

    Returns:
        The FID as a float.

    Example:

    ```python
    score = fid(gan.generate(10_000, seed=0), real_test_images)
    ```
    """
    if extractor is None:
        extractor = _get_extractor(weights, image_size, batch_size)
    return frechet_distance(extractor(images_a), extractor(images_b), eps=eps)
