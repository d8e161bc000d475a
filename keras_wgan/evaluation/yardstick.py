"""Scoring generated images against real data, always beside the real-data floor.

:func:`evaluate_images` turns a :class:`~keras_wgan.evaluation.DomainClassifier`'s
features and probabilities into the figures (Frechet and kernel distance, the
Inception-score analogue, class coverage). A figure is only meaningful next to its
scale, so :func:`real_floor` gives the same figures for real training images against
the same reference set (what a perfect generator with the same sample size would
score), and :class:`DomainYardstick` bundles classifier, reference and floor so the
CLI's ``evaluate`` and the ``QualityMetrics`` callback score samples the same way.

Which direction is better: ``fd`` and ``kd`` lower (0 for the real distribution;
compare with the floor, since ``fd`` is biased upwards for small samples), ``is``
higher (1 to ``num_classes``), ``modes_covered`` and ``class_accuracy`` higher.
"""

from __future__ import annotations

import os
import re

import numpy as np

from keras_wgan.evaluation.distances import (
    KID_NUM_SUBSETS,
    KID_SUBSET_SIZE,
    frechet_distance,
    inception_score,
    kernel_distance,
)
from keras_wgan.evaluation.domain_classifier import (
    PREDICT_BATCH_SIZE,
    DomainClassifier,
    classifier_cache_path,
    load_or_train_classifier,
)
from keras_wgan.evaluation.inputs import check_images, check_labels

__all__ = [
    "MODE_COVERAGE_FRACTION",
    "RELIABLE_FD_IMAGES",
    "FOLDER_FEATURES",
    "compare_folders",
    "folder_images",
    "folder_shape",
    "evaluate_images",
    "class_accuracy",
    "real_floor",
    "DomainYardstick",
    "rotations",
]

#: Below this many images on a side the Frechet distance is dominated by its small-sample
#: bias (the usual advice for FID: at least the feature dimension, 2,048 for Inception);
#: the kernel distance, unbiased, and its spread over subsets are then the figures to read.
RELIABLE_FD_IMAGES = 2048

#: A class counts as covered when it receives at least this fraction of its
#: fair share (1/K) of the predictions: with K=10, at least 2% of images.
MODE_COVERAGE_FRACTION = 0.2


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

    Compare against :func:`real_floor` at the same ``num_images``: the
    Frechet distance is biased upwards for small samples.

    Args:
        images: ``(N, H, W, C)`` in [-1, 1], the classifier's image shape.
        classifier: a :class:`DomainClassifier`.
        reference_images: the real test split; or instead
        reference_features: ``classifier.features(test_images)``, computed once to
            avoid recomputing them on every call (exactly one of the two).
        kid_num_subsets: the kernel distance's rounds.
        kid_subset_size: its rows per round.
        seed: the kernel distance's draws.
        mode_fraction: the share of its fair 1/K a class needs to count as covered.
        batch_size: images through the classifier at once.

    Returns:
        A dict of plain Python values:

        * ``fd``: Frechet distance in classifier-feature space (lower is better);
        * ``kd``, ``kd_std``: kernel distance mean and std over subsets;
        * ``is``: Inception-score analogue, from 1 to ``num_classes``;
        * ``class_histogram``: fraction of images predicted as each class;
        * ``modes_covered``: classes given ``mode_fraction`` of their share 1/K or more;
        * ``num_classes``, ``num_images``.

    Raises:
        TypeError: ``classifier`` is not a :class:`DomainClassifier`.
        ValueError: both or neither reference given, or images of another shape.
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

    Args:
        predicted: the yardstick classifier's decisions, ints.
        labels: the classes the images were generated for (a conditional generator).
        num_classes: K.

    Returns:
        ``{"per_class": [K floats, None for a class without images], "mean": the mean
        over the classes present}`` (the balanced accuracy, so class frequencies do
        not weigh in).

    Raises:
        ValueError: ``labels`` and ``predicted`` of different lengths.
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
    depends on sample size.

    Args:
        classifier: a :class:`DomainClassifier`.
        train_images: real training images in [-1, 1].
        reference_images: the real test split (or ``reference_features=`` in
            ``kwargs``).
        num_images: how many to draw; None: all.
        seed: the draw's seed.
        **kwargs: passed to :func:`evaluate_images`.

    Returns:
        :func:`evaluate_images`' dict for the real images.
    """
    train_images = check_images(train_images, "train_images")
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


def _unlabelled_folder(dataset):
    from keras_wgan.data.folders import folder_is_labelled
    from keras_wgan.data.idx import has_any_idx_images

    path = os.fspath(dataset)
    return os.path.isdir(path) and not has_any_idx_images(path) and \
        not folder_is_labelled(path)


#: The proxy task of a folder without classes: which of these quarter turns an image had.
ROTATIONS = (0, 1, 2, 3)


def rotations(images):
    """A labelled task made from unlabelled images: which quarter turn each was given.

    Its features must know what upright objects look like: colours, parts and their
    layout (Gidaris et al. 2018).

    Args:
        images: ``(N, H, W, C)`` square images.

    Returns:
        ``(turned, labels)``: every image turned by each of ``ROTATIONS``, and the
        turn's index for each.

    Raises:
        ValueError: images that are not square.
    """
    images = check_images(images, "train_images")
    if images.shape[1] != images.shape[2]:
        raise ValueError(
            f"a folder without class sub-folders needs square images for its rotation "
            f"yardstick, got {images.shape[1]}x{images.shape[2]}; pass a square image_shape"
        )
    turned = np.concatenate([np.rot90(images, k, axes=(1, 2)) for k in ROTATIONS])
    labels = np.repeat(np.arange(len(ROTATIONS)), images.shape[0])
    return np.ascontiguousarray(turned), labels


class DomainYardstick:
    """The offline quality yardstick for one dataset, ready to score samples.

    Bundles the cached :class:`DomainClassifier`, the real test split's features (the
    reference, computed once) and real training images for the floor, so the CLI's
    ``evaluate`` and the ``QualityMetrics`` callback score generated images the same
    way and always next to their scale.

    For a dataset with labels the classifier learns its classes. A folder of images
    without class sub-folders has none to learn, so the classifier learns to tell which
    quarter turn an image was given (:func:`rotations`): its features still describe
    the folder's pictures, so ``fd`` and ``kd`` (the distance of the generated images'
    features from the real test images', beside the real floor) keep their meaning,
    while ``is``, the class histogram and ``modes`` would only count rotations and are
    not reported for it (``labelled`` is False).

    Args:
        classifier: a :class:`DomainClassifier`.
        reference_images: the real test split (its features are computed once here).
        train_images: real training images, for the floor.
        name: the dataset's name, for messages.
        kid_num_subsets: the kernel distance's rounds.
        reference_labels: the test split's labels, for the real class accuracy.
        labelled: False for a folder without classes (above).

    Raises:
        TypeError: ``classifier`` is not a :class:`DomainClassifier`.

    Example:

    ```python
    yardstick = DomainYardstick.for_dataset("fashion_mnist", (32, 32, 1))
    figures = yardstick.score(gan.generate(2000, seed=0))
    floor = yardstick.floor(2000)
    print(f"fd {figures['fd']:.2f} (real images: {floor['fd']:.2f})")
    ```
    """

    def __init__(self, classifier, reference_images, train_images, name="dataset",
                 kid_num_subsets=KID_NUM_SUBSETS, reference_labels=None, labelled=True):
        if not isinstance(classifier, DomainClassifier):
            raise TypeError(
                f"classifier must be a DomainClassifier, got {type(classifier).__name__}"
            )
        self.classifier = classifier
        self.name = name
        self.train_images = check_images(train_images, "train_images")
        reference_images = check_images(reference_images, "reference_images")
        self.reference_features, probabilities = classifier.features_and_probabilities(
            reference_images
        )
        self.reference_predictions = probabilities.argmax(axis=1)
        self.reference_labels = None
        if reference_labels is not None:
            self.reference_labels = check_labels(
                reference_labels, reference_images.shape[0], classifier.num_classes,
                name="reference_labels",
            )
        self.kid_num_subsets = kid_num_subsets
        # False for a folder without classes: the classifier tells rotations apart, so
        # only the feature distances (fd, kd) mean something; is and modes do not.
        self.labelled = bool(labelled)
        self._floors = {}

    @staticmethod
    def cache_key(dataset, image_shape):
        """The name :meth:`for_dataset` caches its classifier under: the dataset's name (or
        folder's) and the image shape, so each size gets its own classifier."""
        height, width, channels = image_shape
        base = os.path.basename(os.path.normpath(os.fspath(dataset)))
        key = re.sub(r"[^A-Za-z0-9_.\-]", "_", base) + f"-{height}x{width}x{channels}"
        return key + ("-rotations" if _unlabelled_folder(dataset) else "")

    @classmethod
    def cache_path(cls, dataset, image_shape, cache_dir=None):
        """The file :meth:`for_dataset` loads, or writes after training the classifier."""
        return classifier_cache_path(cls.cache_key(dataset, image_shape), cache_dir)

    @classmethod
    def for_dataset(cls, dataset, image_shape, data_dir=None, cache_dir=None, seed=0,
                    verbose=0, **kwargs):
        """Load (or train once and cache) the yardstick of a dataset.

        Args:
            dataset: a name (``"fashion_mnist"``, ``"mnist"``, a TFDS name with
                labels), an IDX folder or a folder of pictures (classes from its
                sub-folders, else the rotation task).
            image_shape: ``(H, W, C)``: images are converted to it like training data.
            data_dir: where IDX files or TFDS data are looked for first.
            cache_dir: where the classifier is cached; None: the default cache.
            seed: the classifier's training seed.
            verbose: its ``fit`` output.
            **kwargs: passed to :class:`DomainYardstick`.

        Returns:
            A :class:`DomainYardstick`.

        Raises:
            DataUnavailableError: the dataset cannot be had.
            FileNotFoundError: a path that is not there.
            ValueError: a source without the splits or labels it needs.
        """
        from keras_wgan import data  # needed only by this convenience

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
        labelled = train_labels is not None
        if labelled:
            task_images, task_labels = train_images, train_labels
        else:
            task_images, task_labels = rotations(train_images)
        classifier = load_or_train_classifier(
            cls.cache_key(dataset, image_shape), task_images, task_labels,
            cache_dir=cache_dir, seed=seed, verbose=verbose,
        )
        return cls(classifier, test_images, train_images, name=base,
                   reference_labels=test_labels, labelled=labelled, **kwargs)

    def score(self, images, seed=0):
        """The figures of generated images against the real test split.

        Args:
            images: ``(N, H, W, C)`` in [-1, 1] (2,000 or more for a reliable fd).
            seed: the kernel distance's draws.

        Returns:
            :func:`evaluate_images`' dict; compare ``fd`` with :meth:`floor`'s at the
            same N.
        """
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
        """The same figures for real training images: the scale of :meth:`score`'s.

        Args:
            num_images: how many (capped at the training images there are); cached
                per size.
            seed: the draw's seed.

        Returns:
            :func:`evaluate_images`' dict for the real images.
        """
        num_images = min(int(num_images), self.train_images.shape[0])
        if num_images not in self._floors:
            self._floors[num_images] = real_floor(
                self.classifier, self.train_images, num_images=num_images, seed=seed,
                reference_features=self.reference_features,
                kid_num_subsets=self.kid_num_subsets,
            )
        return self._floors[num_images]


def folder_images(folder, image_shape):
    """Every image of a folder, converted exactly as training data is.

    Args:
        folder: a folder of image files (sub-folders too).
        image_shape: ``(H, W, C)`` to convert to.

    Returns:
        float32 ``(N, H, W, C)`` in [-1, 1].
    """
    from keras_wgan import data  # needed only by this convenience

    height, width, channels = image_shape
    batches = data.load_dataset(os.fspath(folder), split="train", image_size=(height, width),
                                channels=channels, batch_size=1024, shuffle=False,
                                drop_remainder=False, cache=False)
    return np.concatenate([batch.numpy() for batch in batches])


def folder_shape(folder):
    """The size to compare a folder's images at.

    Args:
        folder: a folder of image files.

    Returns:
        ``(H, W, C)`` of its first image file (sorted).

    Raises:
        ValueError: the folder holds no image files.
    """
    from PIL import Image

    from keras_wgan.data.folders import _list_image_files

    found = _list_image_files(os.fspath(folder))
    if not found:
        raise ValueError(f"{os.fspath(folder)!r} holds no image files (PNG, JPEG, ...).")
    with Image.open(found[0]) as image:
        channels = 1 if image.mode in ("L", "LA", "I", "I;16", "1") else 3
        return image.size[1], image.size[0], channels


#: The feature spaces :func:`compare_folders` measures in.
FOLDER_FEATURES = ("domain", "inception")


def compare_folders(real, fake, image_shape=None, cache_dir=None, seed=0, verbose=0,
                    features="domain", extractor=None):
    """Frechet and kernel distance between two image folders: the images of ``fake``
    against ``real``'s held-out test images, beside the floor of as many of ``real``'s
    training images against the same.

    ``features="domain"``: in the features of ``real``'s domain yardstick (trained once on
    its training split and cached; offline). ``"inception"``: InceptionV3's pool features
    (Keras' ImageNet weights, downloaded once; ``extractor`` an
    :class:`~keras_wgan.evaluation.InceptionFeatures` of your own, e.g. smaller for
    tests): the customary recipe, comparable between runs of this library only.

    Args:
        real: the folder of real images (its ``test/`` sub-folder, or every 5th file,
            is held out).
        fake: the folder of generated images.
        image_shape: the size both are compared at; None: ``fake``'s first image's.
        cache_dir: where the domain yardstick is cached.
        seed: the draws' seed.
        verbose: the classifier's training output.
        features: ``"domain"`` or ``"inception"``.
        extractor: for ``"inception"``, an ``InceptionFeatures`` of your own.

    Returns:
        A dict: ``fd``, ``kd``, ``kd_std``, ``num_fake``, ``num_real`` (the test images
        compared with), ``fd_reliable`` (both at least :data:`RELIABLE_FD_IMAGES`),
        ``features`` and ``floor`` (the same figures for as many real training images).

    Raises:
        ValueError: an unknown ``features``, or a folder without images.

    Example:

    ```python
    figures = compare_folders("data/icons", "generated/")
    print(figures["fd"], figures["floor"]["fd"])
    ```
    """
    from keras_wgan.checks import check_choice

    features = check_choice("features", features, FOLDER_FEATURES,
                            hint="(the domain yardstick's, or InceptionV3's)")
    image_shape = tuple(image_shape) if image_shape is not None else folder_shape(fake)
    images = folder_images(fake, image_shape)
    labelled = None  # the domain yardstick's classes are the data's, or rotations
    if features == "inception":
        figures, floor, num_real = _inception_figures(real, images, image_shape, extractor,
                                                      seed)
    else:
        yardstick = DomainYardstick.for_dataset(real, image_shape, cache_dir=cache_dir,
                                                seed=seed, verbose=verbose)
        figures = yardstick.score(images, seed=seed)
        num_real = int(yardstick.reference_features.shape[0])
        floor = yardstick.floor(images.shape[0], seed=seed)
        labelled = yardstick.labelled
    return {
        "fd": figures["fd"], "kd": figures["kd"], "kd_std": figures["kd_std"],
        "num_fake": int(images.shape[0]), "num_real": num_real,
        "fd_reliable": min(images.shape[0], num_real) >= RELIABLE_FD_IMAGES,
        "image_shape": list(image_shape), "features": features,
        "labelled": labelled,
        "floor": {key: floor[key] for key in ("fd", "kd", "kd_std", "num_images")},
    }


def _inception_figures(real, images, image_shape, extractor, seed):
    """fd/kd of ``images`` and of the real floor against ``real``'s test split, in
    InceptionV3's features; a clear error when its weights cannot be had."""
    from keras_wgan import data
    from keras_wgan.evaluation.inception import InceptionFeatures

    if extractor is None:
        try:
            extractor = InceptionFeatures(weights="imagenet")
        except Exception as error:  # noqa: BLE001 (a download: URL, HTTP, OS errors)
            raise ValueError(
                f"InceptionV3's ImageNet weights are not available here ({error}); they "
                "download once into ~/.keras/models. Without them, measure in the domain "
                f"yardstick's features: keras-wgan evaluate --real {os.fspath(real)} "
                "--fake DIR --features domain") from None
    height, width, channels = image_shape
    arrays = {split: data.load_labelled_arrays(real, split, image_size=(height, width),
                                               channels=channels)[0]
              for split in ("train", "test")}
    reference = extractor(arrays["test"])

    def figures(feats):
        kd = kernel_distance(feats, reference, KID_NUM_SUBSETS, KID_SUBSET_SIZE, seed)
        return {"fd": frechet_distance(feats, reference), "kd": kd.mean, "kd_std": kd.std,
                "num_images": int(feats.shape[0])}

    train = arrays["train"]
    n = min(images.shape[0], train.shape[0])
    chosen = np.sort(np.random.default_rng(seed).choice(train.shape[0], n, replace=False))
    return figures(extractor(images)), figures(extractor(train[chosen])), \
        int(reference.shape[0])
