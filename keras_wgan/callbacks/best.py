"""The best model kept: the epoch with the lowest quality figure (fd) saved as ``best.keras``.

``best.keras`` and ``best.json`` always agree: the JSON names the SHA-256 of the model file
it describes, and the yardstick version its figure was measured with. A new best is
written in three steps, each atomic: the model to ``best.pending.keras``, then
``best.json`` naming the pending file's hash, then the pending file renamed over
``best.keras``. A crash between any two leaves a state :class:`KeepBest` recognises on the
next start (a resume): a pending file that ``best.json`` names is renamed into place (the
crash came after the JSON); one it does not name is removed (the crash came before it, and
the JSON still describes ``best.keras``). A pair that still disagrees, or a figure measured
on another yardstick version, is not compared with: the search starts over, saying so.
"""

import json
import math
import os

import keras

from keras_wgan import files
from keras_wgan.callbacks.position import EpochSteps
from keras_wgan.evaluation.domain_classifier import YARDSTICK_VERSION


class KeepBest(keras.callbacks.Callback):
    """Save the model whenever ``monitor`` (a log that :class:`QualityMetrics` writes,
    ``quality_fd`` by default; lower is better) reaches a new low at a completed epoch.

    ``path`` (e.g. ``run/best.keras``) holds the model, and ``path`` with ``.json`` for
    ``.keras`` records the epoch, the figure, the model file's ``sha256`` and the
    ``yardstick_version`` the figure was measured with (see the module docstring for why
    the two always agree). A resumed run knows the best so far, unless the record was
    made on another yardstick version (figures on two scales) or does not describe the
    file: then it starts over and prints why (:attr:`notice`). ``sample``/``generate``/
    ``evaluate`` take the file like any model. List it after the ``QualityMetrics`` that
    writes ``monitor``.

    Args:
        path: the ``.keras`` file of the best model.
        monitor: the log to minimise.
        yardstick_version: the version the figures are measured with.
    """

    def __init__(self, path, monitor="quality_fd", yardstick_version=YARDSTICK_VERSION):
        super().__init__()
        self.path = os.fspath(path)
        self.monitor = monitor
        self.yardstick_version = yardstick_version
        stem = os.path.splitext(self.path)[0]
        self.state_path = stem + ".json"
        self.pending_path = stem + ".pending.keras"
        self.best, self.notice = self._recover()
        if self.notice:
            print(self.notice, flush=True)
        self._steps = EpochSteps()

    @property
    def best_value(self):
        return math.inf if self.best is None else self.best[self.monitor]

    def _recover(self):
        """``(record or None, notice or None)``: finish or undo a write a crash cut short,
        then keep the record only if it describes ``best.keras`` on this yardstick."""
        record = read_best(self.state_path)
        files.remove_interrupted_writes(self.pending_path)  # a save killed midway
        if os.path.exists(self.pending_path):
            if record is not None and record.get("sha256") == files.sha256_of(
                    self.pending_path):
                os.replace(self.pending_path, self.path)  # the crash came after the JSON
                files.fsync_directory(os.path.dirname(os.path.abspath(self.path)))
            else:
                os.remove(self.pending_path)  # before it: the JSON describes best.keras
        if record is None:
            return None, None
        where = f"{self.state_path} (epoch {record.get('epoch')})"
        if record.get("yardstick_version") != self.yardstick_version:
            return None, (
                f"{where} was measured with yardstick version "
                f"{record.get('yardstick_version', 'unknown (1 or 2)')}, this run measures "
                f"with version {self.yardstick_version}: the figures are on two scales, so "
                f"the best-model search starts over ({self.path} is replaced at the next "
                "scored epoch).")
        if not os.path.exists(self.path) or files.sha256_of(self.path) != record.get(
                "sha256"):
            return None, (
                f"{where} does not describe {self.path} (missing, or another file: its "
                "SHA-256 differs), so its figure cannot be trusted: the best-model search "
                "starts over (both are replaced at the next scored epoch).")
        return record, None

    def on_epoch_begin(self, epoch, logs=None):
        self._steps.begin()

    def on_train_batch_end(self, batch, logs=None):
        self._steps.step(batch)

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not self._steps.completed(self.params):
            return
        if float(value) < self.best_value:
            self._write({"epoch": epoch + 1, self.monitor: float(value),
                         "yardstick_version": self.yardstick_version})

    def _write(self, record):
        """The three steps; a crash between two is undone or finished by _recover."""
        with files.replaced_atomically(self.pending_path) as tmp:
            self.model.save(tmp)
        record = {**record, "sha256": files.sha256_of(self.pending_path)}
        files.write_json(self.state_path, record)
        self._install()
        self.best = record

    def _install(self):
        os.replace(self.pending_path, self.path)
        files.fsync_directory(os.path.dirname(os.path.abspath(self.path)))


def read_best(state_path):
    """``{"epoch": N, monitor: value, "sha256": ..., "yardstick_version": V}`` of a kept
    best model (files of older versions lack the last two), or None."""
    try:
        with open(state_path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
