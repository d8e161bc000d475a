"""Callbacks that plug into ``fit``: sample grids, the loss history, quality, TensorBoard.

Each writes files while a (possibly long) run is going; every file rewritten as a whole
goes through :mod:`keras_wgan.files`, so a kill at any moment leaves the previous or the
new version, never a truncated one. Append-only CSVs are appended to and flushed instead.

- :class:`SampleGrid` (``samples``): a PNG grid of samples from *fixed* noise every N
  epochs, so grids of different epochs show the same latent points and can be compared.
- :class:`LossHistory` (``history``): every logged metric, per epoch and per batch, as
  CSV files in a directory (appended to when a run resumes) plus a plot of the losses.
- :class:`QualityMetrics` (``quality``): the offline yardstick's figures in the logs.
- :class:`KeepBest` (``best``): the model of the epoch with the lowest fd kept as
  ``best.keras``, its epoch in ``best.json``.
- :class:`GANTensorBoard` (``tensorboard``): Keras' TensorBoard fitted to two optimizers.
- :class:`AtomicModelCheckpoint` (``epoch_checkpoint``): the whole model saved at epoch
  ends, with a small JSON state file that records how many epochs it holds;
  :func:`checkpoint_epochs` reads that back to resume with ``initial_epoch``.
  :mod:`keras_wgan.checkpoints` builds saves inside epochs and exact resumes on it.
- :class:`MaxTime` (``max_time``): a wall-clock limit that stops the run as safely as
  Ctrl-C (a save after the current step), as Lightning's ``max_time``.
- :class:`DecayLength` (``decay_length``): fixes where a rate decay to 0 ends from the
  speed of the run's first minute and the time left (``train --max-time --lr-decay``).
- ``position``: :class:`~keras_wgan.callbacks.position.EpochSteps` (whether an epoch ran
  to its end; the callbacks above name nothing after an epoch stopped inside) and
  :class:`~keras_wgan.callbacks.position.EpochProgress` (the progress bar at the run's
  true step, which ``checkpoints.fit_resumable`` uses).
"""

from keras_wgan.callbacks.best import KeepBest
from keras_wgan.callbacks.decay_length import DecayLength
from keras_wgan.callbacks.epoch_checkpoint import (
    AtomicModelCheckpoint,
    checkpoint_epochs,
    checkpoint_state_path,
)
from keras_wgan.callbacks.history import LossHistory
from keras_wgan.callbacks.max_time import MaxTime
from keras_wgan.callbacks.quality import QualityMetrics
from keras_wgan.callbacks.samples import SampleGrid
from keras_wgan.callbacks.tensorboard import GANTensorBoard

__all__ = [
    "AtomicModelCheckpoint",
    "DecayLength",
    "GANTensorBoard",
    "KeepBest",
    "LossHistory",
    "MaxTime",
    "QualityMetrics",
    "SampleGrid",
    "checkpoint_epochs",
    "checkpoint_state_path",
]
