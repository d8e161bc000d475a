"""The domain classifier: a small CNN trained once on the real training split, cached on disk.

It is the offline yardstick's feature extractor: it works without network access
and on a CPU, and its features and class probabilities give a Frechet distance,
kernel distance, an Inception-score analogue and per-class coverage in a feature
space that actually knows the domain (Fashion-MNIST, say), where ImageNet's
InceptionV3 does not. The cache file is keyed by dataset name and
:data:`YARDSTICK_VERSION`, so every run on a machine is measured with the same net.

Version 2 (``benchmarks/yardstick_calibration.py``, docs "How strict the yardstick
is"): version 1's features, the 128 dense units before the softmax, learn only what
tells classes apart, so pixel noise of sigma 0.05 moved fd by 3x the real floor on
Fashion-MNIST. The features are now that dense layer beside the spatial means of
the three convolution blocks (which see textures, edges and noise), each block scaled
to unit mean variance per feature on the training images. That makes a block's share of
the total variance, and so of a distance between features, its width's share of the
240 features (:data:`FEATURE_BLOCK_SHARES`): dense 53%, conv1 7%, conv2 13%, conv3 27%;
the blocks are not weighed equally, and the calibration table was measured with these
weights. And a small set gets enough gradient steps to learn its classes (:data:`CLASSIFIER_MIN_STEPS`;
3 epochs of batch 128 were 12 steps on 470 icons: chance accuracy).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import keras
import numpy as np

from keras_wgan.checks import check_int
from keras_wgan.evaluation.inputs import (
    check_images,
    check_labels,
    iter_image_batches,
    predict_fixed_batch,
)
from keras_wgan.files import replaced_atomically

__all__ = [
    "YARDSTICK_VERSION",
    "FEATURE_DIM",
    "FEATURE_BLOCK_SHARES",
    "training_schedule",
    "CACHE_ENV_VAR",
    "DomainClassifier",
    "default_cache_dir",
    "classifier_cache_path",
    "load_or_train_classifier",
]

#: Bump when the domain classifier's architecture or training changes, so
#: stale cached classifiers are not reused (the version is in the file name).
YARDSTICK_VERSION = 2
#: Environment variable naming the cache directory; fallback below.
CACHE_ENV_VAR = "KERAS_WGAN_CACHE"
DEFAULT_CACHE_DIR = os.path.join("~", ".cache", "keras_wgan")

#: Domain classifier training defaults (cheap enough for a CPU).
CLASSIFIER_EPOCHS = 3
CLASSIFIER_BATCH_SIZE = 128
#: A small set trains at a smaller batch for at least this many steps (at most
#: CLASSIFIER_MAX_EPOCHS epochs): 470 icons get 34 epochs of batch 32.
CLASSIFIER_MIN_STEPS = 500
CLASSIFIER_SMALL_BATCH_SIZE = 32
CLASSIFIER_MAX_EPOCHS = 40
CLASSIFIER_LEARNING_RATE = 1e-3
CLASSIFIER_FEATURE_DIM = 128
#: Batch size for running the classifier over images.
PREDICT_BATCH_SIZE = 500


def default_cache_dir():
    """Where the yardstick classifiers are cached.

    Returns:
        ``$KERAS_WGAN_CACHE`` when set, else ``~/.cache/keras_wgan``, as a path.
    """
    return Path(os.environ.get(CACHE_ENV_VAR) or DEFAULT_CACHE_DIR).expanduser()


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def classifier_cache_path(name, cache_dir=None):
    """Where the classifier for dataset ``name`` is (or will be) cached.

    Lets callers skip loading the training split when the file exists.

    Args:
        name: the cache key (the dataset's name and image shape, as
            ``DomainYardstick.cache_key`` makes it).
        cache_dir: the folder; None: :func:`default_cache_dir`.

    Returns:
        A ``pathlib.Path`` whose name carries :data:`YARDSTICK_VERSION`.
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            "name must be a non-empty dataset name of letters, digits, '_', "
            f"'-' or '.', got {name!r}"
        )
    base = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return base / f"{name}-classifier-v{YARDSTICK_VERSION}.keras"


#: The feature blocks (layer names): the dense layer and the convolutions' spatial means.
FEATURE_BLOCKS = ("dense_features", "conv1_mean", "conv2_mean", "conv3_mean")
CONV_FILTERS = (16, 32, 64)
#: The width of ``features``: 128 dense units and 16 + 32 + 64 channel means.
FEATURE_DIM = CLASSIFIER_FEATURE_DIM + sum(CONV_FILTERS)
#: Each block's share of the features' total variance on the training images, which is
#: its share of the width (every block has unit mean variance per feature): dense 128/240,
#: conv1 16/240, conv2 32/240, conv3 64/240.
FEATURE_BLOCK_SHARES = dict(zip(
    FEATURE_BLOCKS, (w / FEATURE_DIM for w in (CLASSIFIER_FEATURE_DIM, *CONV_FILTERS))))


class DomainClassifier:
    """A small CNN trained on real data, used as an offline feature extractor.

    ``features`` (used for Frechet and kernel distances) are the penultimate dense
    layer's 128 activations joined with the spatial means of the three convolution
    blocks (16 + 32 + 64), each block scaled to unit mean variance per feature on the
    training images (:meth:`scale_features`), so each block weighs in a distance in
    proportion to its width (:data:`FEATURE_BLOCK_SHARES`; the dense block 53%);
    ``probabilities`` are the softmax outputs, used
    for the Inception-score analogue and class coverage. Build with :meth:`build` or
    :func:`load_or_train_classifier`; wrap a loaded Keras model with
    ``DomainClassifier(model)``.

    Args:
        model: a Keras classifier with a layer named ``"features"``.

    Raises:
        ValueError: the model has no ``"features"`` layer.
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
        self._both = self._feature_model(model)

    def _feature_model(self, model):
        # One pass yields both outputs: evaluation needs both.
        return keras.Model(model.inputs, [model.get_layer(self.FEATURE_LAYER).output,
                                          model.get_layer("probabilities").output])

    @classmethod
    def build(cls, image_shape, num_classes, seed=0):
        """Untrained classifier: three conv blocks, dense 128, softmax.

        Deliberately small so that a few epochs on 60k 32x32 images take
        minutes on a CPU; initialisers are seeded for repeatability.
        """
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (H, W, C), got {image_shape}")
        num_classes = check_int("num_classes", num_classes, minimum=2)

        def init(i):
            return keras.initializers.GlorotUniform(seed=seed * 100 + i)

        inputs = keras.Input(image_shape, name="images")
        x, means = inputs, []
        for i, filters in enumerate(CONV_FILTERS):
            x = keras.layers.Conv2D(
                filters, 3, padding="same", activation="relu",
                kernel_initializer=init(i), name=f"conv{i + 1}",
            )(x)
            means.append(keras.layers.GlobalAveragePooling2D(name=f"conv{i + 1}_mean")(x))
            x = keras.layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        dense = keras.layers.Dense(
            CLASSIFIER_FEATURE_DIM, activation="relu",
            kernel_initializer=init(10), name="dense_features",
        )(x)
        outputs = keras.layers.Dense(
            int(num_classes), activation="softmax",
            kernel_initializer=init(11), name="probabilities",
        )(dense)
        # Each block through a Rescaling (1 until scale_features sets it from the
        # training images): the scales are saved in the file with the net.
        scaled = [keras.layers.Rescaling(1.0, name=f"{block}_scaled")(tensor)
                  for block, tensor in zip(FEATURE_BLOCKS, [dense, *means])]
        features = keras.layers.Concatenate(name=cls.FEATURE_LAYER)(scaled)
        model = keras.Model(inputs, [outputs, features], name="domain_classifier")
        return cls(model)

    def scale_features(self, images, batch_size=PREDICT_BATCH_SIZE):
        """Scale each feature block to unit mean variance per feature over ``images``
        (the training split), so a block's features are on a common scale and the block
        weighs in proportion to its width (:data:`FEATURE_BLOCK_SHARES`); returns the
        scales."""
        blocks = keras.Model(self.model.inputs,
                             [self.model.get_layer(b).output for b in FEATURE_BLOCKS])
        parts = [[] for _ in FEATURE_BLOCKS]
        for batch in self._batches(images, batch_size):
            for part, values in zip(parts, predict_fixed_batch(blocks, batch, batch_size)):
                part.append(values)
        scales = []
        for block, part in zip(FEATURE_BLOCKS, parts):
            spread = float(np.sqrt(np.mean(np.var(np.concatenate(part), axis=0))))
            scale = 1.0 / spread if spread > 0 else 1.0
            self.model.get_layer(f"{block}_scaled").scale = scale
            scales.append(scale)
        self._both = self._feature_model(self.model)  # traced again with the scales
        return scales

    @property
    def image_shape(self):
        return tuple(self.model.input_shape[1:])

    @property
    def num_classes(self):
        return int(self.model.get_layer("probabilities").units)

    def _batches(self, images, batch_size, name="images"):
        for batch in iter_image_batches(images, batch_size, name):
            if batch.shape[1:] != self.image_shape:
                raise ValueError(
                    f"{name} must have per-image shape {self.image_shape} to "
                    f"match the classifier, got {batch.shape[1:]}"
                )
            if batch.shape[0]:
                yield batch

    def features_and_probabilities(self, images, batch_size=PREDICT_BATCH_SIZE):
        """Features and class probabilities in one pass.

        Args:
            images: ``(N, H, W, C)`` in [-1, 1], the classifier's image shape.
            batch_size: images through the network at once.

        Returns:
            ``(features, probabilities)``: float64 ``(N, FEATURE_DIM)`` and ``(N, K)``.

        Raises:
            ValueError: images of another shape, empty or not finite.
        """
        feats, probs = [], []
        for batch in self._batches(images, batch_size):
            f, p = predict_fixed_batch(self._both, batch, batch_size)
            feats.append(f)
            probs.append(p)
        if not feats:
            raise ValueError("images is empty")
        return np.concatenate(feats), np.concatenate(probs)

    def features(self, images, batch_size=PREDICT_BATCH_SIZE):
        """The scaled feature blocks, for the Frechet and kernel distances.

        Args:
            images: ``(N, H, W, C)`` in [-1, 1].
            batch_size: images through the network at once.

        Returns:
            float64 ``(N, FEATURE_DIM)``.
        """
        return self.features_and_probabilities(images, batch_size)[0]

    def probabilities(self, images, batch_size=PREDICT_BATCH_SIZE):
        """Softmax class probabilities, for the Inception-score analogue and the modes.

        Args:
            images: ``(N, H, W, C)`` in [-1, 1].
            batch_size: images through the network at once.

        Returns:
            float64 ``(N, K)``.
        """
        return self.features_and_probabilities(images, batch_size)[1]

    def accuracy(self, images, labels, batch_size=PREDICT_BATCH_SIZE):
        """Fraction of correctly classified images (report it with results).

        Args:
            images: ``(N, H, W, C)`` in [-1, 1].
            labels: their int classes.
            batch_size: images through the network at once.

        Returns:
            The accuracy as a float.
        """
        labels = np.asarray(labels).reshape(-1)
        pred = self.probabilities(images, batch_size).argmax(axis=1)
        if pred.shape[0] != labels.shape[0]:
            raise ValueError(
                f"labels has {labels.shape[0]} entries for {pred.shape[0]} images"
            )
        return float(np.mean(pred == labels))

    def fit(self, images, labels, epochs=CLASSIFIER_EPOCHS,
            batch_size=CLASSIFIER_BATCH_SIZE, seed=0, verbose=0):
        """Train in place with Adam; shuffling is seeded (numpy permutation).

        Args:
            images: training images in [-1, 1].
            labels: their int classes.
            epochs: passes over the images.
            batch_size: images per step.
            seed: the shuffling's seed.
            verbose: Keras' ``fit`` output.
        """
        images = check_images(images, "train_images")
        labels = check_labels(labels, images.shape[0], self.num_classes)
        if images.shape[1:] != self.image_shape:
            raise ValueError(
                f"train_images must have per-image shape {self.image_shape}, "
                f"got {images.shape[1:]}"
            )
        # Trained through its class output alone (the features are read, not learnt).
        classifier = keras.Model(self.model.inputs, self.model.get_layer("probabilities").output)
        classifier.compile(
            optimizer=keras.optimizers.Adam(CLASSIFIER_LEARNING_RATE),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        rng = np.random.default_rng(seed)
        history = []
        for epoch in range(int(epochs)):
            if verbose:  # Keras' own bar names no epoch for a one-epoch fit
                print(f"Classifier epoch {epoch + 1}/{int(epochs)}", flush=True)
            perm = rng.permutation(images.shape[0])
            h = classifier.fit(
                images[perm], labels[perm], batch_size=batch_size, epochs=1,
                shuffle=False, verbose=verbose,
            )
            history.append({k: float(v[-1]) for k, v in h.history.items()})
        return history

    def save(self, path):
        """Save with :func:`keras_wgan.files.replaced_atomically`, so concurrent runs never
        see a half-written cache file."""
        with replaced_atomically(path) as tmp:
            self.model.save(tmp)
        return os.fspath(path)

    @classmethod
    def load(cls, path):
        """A classifier saved by :meth:`save`.

        Args:
            path: the ``.keras`` file.

        Returns:
            A :class:`DomainClassifier`.
        """
        return cls(keras.saving.load_model(path, compile=False))


def training_schedule(num_images):
    """How long the yardstick's classifier trains on a training split.

    Args:
        num_images: the split's size.

    Returns:
        ``(epochs, batch_size)``: 3 epochs of 128 for a large set (Fashion-MNIST: 1,407
        steps); a small one at batch 32 for at least :data:`CLASSIFIER_MIN_STEPS`
        steps, at most :data:`CLASSIFIER_MAX_EPOCHS` epochs.
    """
    if num_images // CLASSIFIER_BATCH_SIZE * CLASSIFIER_EPOCHS >= CLASSIFIER_MIN_STEPS:
        return CLASSIFIER_EPOCHS, CLASSIFIER_BATCH_SIZE
    batch = CLASSIFIER_SMALL_BATCH_SIZE
    steps_per_epoch = max(1, -(-num_images // batch))
    epochs = -(-CLASSIFIER_MIN_STEPS // steps_per_epoch)
    return min(max(epochs, CLASSIFIER_EPOCHS), CLASSIFIER_MAX_EPOCHS), batch


def _train_classifier(train_images, train_labels, num_classes, epochs, seed,
                      batch_size, verbose):
    """Build and train a fresh classifier, then scale its feature blocks on the same
    images (module-level so tests can spy)."""
    images = check_images(train_images, "train_images")
    planned_epochs, planned_batch = training_schedule(images.shape[0])
    classifier = DomainClassifier.build(images.shape[1:], num_classes, seed=seed)
    classifier.fit(images, train_labels, epochs=epochs or planned_epochs,
                   batch_size=batch_size or planned_batch, seed=seed, verbose=verbose)
    classifier.scale_features(images)
    return classifier


def load_or_train_classifier(
    name,
    train_images=None,
    train_labels=None,
    cache_dir=None,
    epochs=None,
    seed=0,
    num_classes=None,
    batch_size=None,
    verbose=0,
):
    """Load the cached classifier for dataset ``name``, or train and cache it.

    The cache file (:func:`classifier_cache_path`) is keyed by ``name`` and
    :data:`YARDSTICK_VERSION`, so the yardstick is trained once per machine
    and every run is measured with the same network. ``train_images`` (in
    [-1, 1], (N, H, W, C)) and ``train_labels`` are only needed when there
    is no cache yet; if given with a cached model, their shape must match it
    (put the image size in ``name`` if you use several). ``epochs`` and
    ``batch_size``: None follows :func:`training_schedule`.

    Args:
        name: the cache key (e.g. ``"fashion_mnist-32x32x1"``).
        train_images: ``(N, H, W, C)`` in [-1, 1]; needed only without a cache.
        train_labels: their int labels.
        cache_dir: the folder; None: :func:`default_cache_dir`.
        epochs: training epochs; None: :func:`training_schedule`'s.
        seed: the training's seed.
        num_classes: K; None: from the labels.
        batch_size: None: :func:`training_schedule`'s.
        verbose: Keras' ``fit`` output.

    Returns:
        A trained :class:`DomainClassifier`.

    Raises:
        ValueError: no cache and no training images, or a cached classifier of
            another image shape.

    Example:

    ```python
    images, labels = load_labelled_arrays("fashion_mnist", "train")
    classifier = load_or_train_classifier("fashion_mnist-32x32x1", images, labels)
    features = classifier.features(generated)  # (N, 240)
    ```
    """
    path = classifier_cache_path(name, cache_dir)
    if path.exists():
        classifier = DomainClassifier.load(path)
        if train_images is not None:
            shape = check_images(train_images[:1], "train_images").shape[1:]
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
    train_images = check_images(train_images, "train_images")
    labels = check_labels(train_labels, train_images.shape[0], num_classes)
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    classifier = _train_classifier(train_images, labels, num_classes, epochs,
                                   seed, batch_size, verbose)
    classifier.save(path)
    return classifier
