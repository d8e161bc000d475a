"""The best model kept: the epoch with the lowest quality figure (fd) saved as ``best.keras``."""

import json
import math
import os

import keras

from keras_wgan import files
from keras_wgan.callbacks.position import EpochSteps


class KeepBest(keras.callbacks.Callback):
    """Save the model whenever ``monitor`` (a log that :class:`QualityMetrics` writes,
    ``quality_fd`` by default; lower is better) reaches a new low at a completed epoch.

    ``path`` (e.g. ``run/best.keras``) is replaced atomically, and ``path`` with
    ``.json`` for ``.keras`` records the epoch and the figure, so a resumed run knows
    the best so far and ``sample``/``generate``/``evaluate`` take the file like any model.
    List it after the ``QualityMetrics`` that writes ``monitor``.
    """

    def __init__(self, path, monitor="quality_fd"):
        super().__init__()
        self.path = os.fspath(path)
        self.monitor = monitor
        self.state_path = os.path.splitext(self.path)[0] + ".json"
        self.best = read_best(self.state_path)
        self._steps = EpochSteps()

    @property
    def best_value(self):
        return math.inf if self.best is None else self.best[self.monitor]

    def on_epoch_begin(self, epoch, logs=None):
        self._steps.begin()

    def on_train_batch_end(self, batch, logs=None):
        self._steps.step(batch)

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not self._steps.completed(self.params):
            return
        if float(value) < self.best_value:
            with files.replaced_atomically(self.path) as tmp:
                self.model.save(tmp)
            self.best = {"epoch": epoch + 1, self.monitor: float(value)}
            files.write_json(self.state_path, self.best)


def read_best(state_path):
    """``{"epoch": N, monitor: value}`` of a kept best model, or None."""
    try:
        with open(state_path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
