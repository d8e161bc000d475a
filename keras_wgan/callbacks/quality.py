"""Sample-quality figures (FD, IS, class accuracy) added to the logs every few epochs."""

import keras
import numpy as np

from keras_wgan.checks import check_positive_int


class QualityMetrics(keras.callbacks.Callback):
    """Score generated samples every ``every_n_epochs`` epochs and add them to the logs.

    ``yardstick`` is a :class:`keras_wgan.evaluation.DomainYardstick` (e.g.
    ``DomainYardstick.for_dataset("fashion_mnist", (32, 32, 1))``). The figures go into
    the epoch logs as ``quality_fd``, ``quality_kd``, ``quality_is`` and
    ``quality_modes`` (plus ``quality_fd_floor`` etc. for real images, so a number is
    never shown without its scale), where ``History``, :class:`LossHistory` and
    TensorBoard see them: list this callback *before* those that read the logs. Samples
    come from fixed noise (``seed``) through ``model.generate``, so weight averaging is
    used when it is on. For a class-conditional model the samples are an equal mix of
    the classes, and ``quality_class_accuracy`` (the share of samples generated for
    class k that the yardstick's classifier assigns to k, averaged over classes) is
    logged beside ``quality_class_accuracy_real``, the classifier's accuracy on the
    real test images (its ceiling).

    Args:
        yardstick: a :class:`keras_wgan.evaluation.DomainYardstick`.
        every_n_epochs: score after every this many epochs.
        num_samples: samples scored each time (2,000 or more for a reliable fd).
        seed: the seed of the fixed noise.
        prefix: the start of the logged names.
        include_floor: also log the real images' figures (``*_floor``).

    Raises:
        TypeError: ``yardstick`` has no ``score`` and ``floor``.
        ValueError: a count that is not a positive int.

    Example:

    ```python
    yardstick = DomainYardstick.for_dataset("fashion_mnist", (32, 32, 1))
    gan.fit(dataset, epochs=20, callbacks=[QualityMetrics(yardstick), LossHistory("runs/x")])
    ```
    """

    FIGURES = {"fd": "fd", "kd": "kd", "is": "is", "modes": "modes_covered"}

    def __init__(self, yardstick, every_n_epochs=5, num_samples=2000, seed=0,
                 prefix="quality_", include_floor=True):
        super().__init__()
        if not hasattr(yardstick, "score") or not hasattr(yardstick, "floor"):
            raise TypeError(
                "`yardstick` must be a keras_wgan.evaluation.DomainYardstick (with score() and "
                f"floor()), got {type(yardstick).__name__}."
            )
        self.yardstick = yardstick
        self.every_n_epochs = check_positive_int("every_n_epochs", every_n_epochs)
        self.num_samples = check_positive_int("num_samples", num_samples)
        self.seed = seed
        self.prefix = prefix
        self.include_floor = include_floor

    def _figures(self):
        """(log name, figure) pairs; fd and kd only for a yardstick without classes,
        whose classifier's classes are rotations, not modes of the data."""
        if getattr(self.yardstick, "labelled", True):
            return self.FIGURES.items()
        return [(short, key) for short, key in self.FIGURES.items() if key in ("fd", "kd")]

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or (epoch + 1) % self.every_n_epochs:
            return
        num_classes = getattr(self.model, "num_classes", None)
        labels = None
        if num_classes is not None:
            labels = np.arange(self.num_samples) % num_classes
        images = self.model.generate(self.num_samples, seed=self.seed, labels=labels)
        figures = self.yardstick.score(images, seed=self.seed)
        for short, key in self._figures():
            logs[f"{self.prefix}{short}"] = float(figures[key])
        if labels is not None:
            accuracy = self.yardstick.class_accuracy(images, labels)
            logs[f"{self.prefix}class_accuracy"] = accuracy["mean"]
            logs[f"{self.prefix}class_accuracy_real"] = self.yardstick.class_accuracy_real()["mean"]
        if self.include_floor:
            floor = self.yardstick.floor(self.num_samples, seed=self.seed)
            for short, key in self._figures():
                logs[f"{self.prefix}{short}_floor"] = float(floor[key])
