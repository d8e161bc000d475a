"""Checkpoints inside epochs: save the whole training state every N steps and resume there.

A WGAN run is a stream of train steps; a kill should cost at most the steps since the
last checkpoint, and a resumed run should continue exactly as the uninterrupted one
would. Three pieces:

- :class:`TrainingCheckpoint`: a callback that saves the model (weights, both
  optimizers, the noise stream's seed state, the unfinished critic block) every
  ``every_n_steps`` steps and at every epoch end, together with the run's *position*
  (epochs done, steps done in the epoch in progress, steps done in all) and the
  epoch's running metric totals. The position is written *inside* the ``.keras`` zip
  (member :data:`STATE_MEMBER`, which Keras ignores when loading), so model and
  position are one file, replaced atomically and durably (``fsync``) or not at all. A
  stop requested by :meth:`TrainingCheckpoint.request_stop` (see :func:`stop_on_signals`)
  saves at the end of the current step and ends ``fit``: nothing is lost.
- :func:`load_checkpoint`: the model and its :class:`TrainingState`.
- :func:`fit_resumable`: ``fit`` from a position: it skips the batches the run has
  already used (``make_dataset()`` must build the same stream each call, e.g. a
  seeded ``load_dataset(...).repeat()``), finishes the epoch in progress with its
  metric totals restored, then runs the remaining epochs. Callbacks with an
  ``on_resume(state)`` method (``LossHistory``) are told the position first, and the
  progress bar counts each epoch's steps from it (``callbacks.position``).

It also keeps ``checkpoint_state_path(path)`` (``model.state.json``) up to date with
the protocol of :class:`keras_wgan.callbacks.AtomicModelCheckpoint`, so
:func:`keras_wgan.callbacks.checkpoint_epochs` keeps working on its files.
"""

import contextlib
import json
import math
import os
import signal
import time
import warnings
import zipfile
from dataclasses import asdict, dataclass, field

import keras
import numpy as np

from keras_wgan.callbacks.epoch_checkpoint import AtomicModelCheckpoint, checkpoint_epochs
from keras_wgan.callbacks.history import scalar_or_none
from keras_wgan.callbacks.position import EpochProgress
from keras_wgan.checks import check_positive_int

#: The zip member of a ``.keras`` checkpoint that holds its :class:`TrainingState`.
STATE_MEMBER = "keras_wgan_training_state.json"
STATE_FORMAT = 1


@dataclass(frozen=True)
class TrainingState:
    """Where a run stands: what a checkpoint file holds besides the model.

    Args:
        epoch: epochs completed (also the 0-based index of the epoch in progress).
        step: steps done in that epoch (0 at an epoch boundary).
        global_step: steps done since the run began (None when unknown: a file of
            ``AtomicModelCheckpoint``).
        steps_per_epoch: the epoch length the run used (None when unknown).
        metrics: for a mid-epoch position, each ``keras.metrics.Mean`` tracker's
            ``[total, count]`` over the epoch so far, so its epoch mean comes out as if
            uninterrupted.

    Example:

    ```python
    gan, state = load_checkpoint("runs/x/model.keras")
    print(state.describe())  # "300 of 900 steps into epoch 3"
    ```
    """

    epoch: int = 0
    step: int = 0
    global_step: int | None = 0
    steps_per_epoch: int | None = None
    metrics: dict = field(default_factory=dict)

    def describe(self):
        """The position in words, e.g. ``"300 of 900 steps into epoch 3"``."""
        if self.step:
            return f"{self.step} of {self.steps_per_epoch} steps into epoch {self.epoch + 1}"
        return f"{self.epoch} completed epoch(s)"


def read_state(path):
    """The position saved inside a checkpoint file.

    Args:
        path: a ``.keras`` file.

    Returns:
        The :class:`TrainingState` inside it, or None when it has none (a file saved
        another way, e.g. ``model.save``).

    Raises:
        OSError: the file is missing or unreadable.
        ValueError: it is not a ``.keras`` zip archive, or its state has an unknown
            format.
    """
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if STATE_MEMBER not in archive.namelist():
                return None
            raw = json.loads(archive.read(STATE_MEMBER))
    except zipfile.BadZipFile as error:
        raise ValueError(f"{path!r} is not a .keras file (not a zip archive): {error}") from None
    if not isinstance(raw, dict) or raw.get("format") != STATE_FORMAT:
        raise ValueError(
            f"{path!r} holds a training state of an unknown format "
            f"({raw.get('format') if isinstance(raw, dict) else raw!r}); this keras-wgan "
            f"reads format {STATE_FORMAT}."
        )
    raw.pop("format")
    return TrainingState(**raw)


def load_checkpoint(path, compile=True):
    """The model and its position from a checkpoint, to continue with :func:`fit_resumable`.

    A file without an embedded state (saved by ``AtomicModelCheckpoint``) gets its
    epoch count from ``model.state.json`` (:func:`checkpoint_epochs`) and an unknown
    ``global_step``.

    Args:
        path: the ``.keras`` file a :class:`TrainingCheckpoint` (or
            ``AtomicModelCheckpoint``) wrote.
        compile: as ``keras.models.load_model``'s; True restores both optimizers'
            state, which an exact resume needs.

    Returns:
        ``(model, state)``: the loaded model and its :class:`TrainingState`.

    Raises:
        FileNotFoundError: there is no file at ``path``.
        ValueError: the file is not a ``.keras`` archive or its state is unreadable.

    Example:

    ```python
    checkpoint = TrainingCheckpoint("runs/x/model.keras", every_n_steps=300)
    gan, state = load_checkpoint(checkpoint.path)
    fit_resumable(gan, make_dataset, epochs=20, steps_per_epoch=900,
                  checkpoint=checkpoint, state=state)
    ```
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"There is no checkpoint file {path!r}.")
    read_state(path)  # a clear error for a file that is not a .keras zip, before Keras'
    model = keras.models.load_model(path, compile=compile)
    return model, checkpoint_position(path, model)


def checkpoint_position(path, model):
    """The position of a checkpoint already loaded as ``model``.

    Args:
        path: the ``.keras`` file.
        model: the model loaded from it (its step count matches the epochs of an
            ``AtomicModelCheckpoint`` file to ``model.state.json``).

    Returns:
        The embedded :class:`TrainingState`, or for a file of ``AtomicModelCheckpoint``
        one with its epochs from ``model.state.json`` and an unknown ``global_step``.
    """
    state = read_state(path)
    if state is None:
        state = TrainingState(epoch=checkpoint_epochs(path, model), global_step=None)
    return state


def _mean_trackers(model):
    return [m for m in model.metrics if isinstance(m, keras.metrics.Mean)]


def _sync(model):
    if hasattr(model, "jax_state_sync"):  # JAX keeps the state outside the variables
        model.jax_state_sync()


class TrainingDiverged(RuntimeError):
    """A loss (or a weight) became NaN or infinite; the last good checkpoint was kept."""


class TrainingCheckpoint(AtomicModelCheckpoint):
    """Save the model and its position every N steps or minutes and every epoch end.

    Args:
        path: the ``.keras`` file (rewritten in place, atomically and durably).
        every_n_steps: save after every this many steps (counted over the whole run).
        every_n_minutes: save after the first step that ends this many minutes after
            the last save. With neither, only at epoch ends.
        writes: False for a checkpoint that keeps the position, the stops and the
            divergence checks of one that writes, but writes no file (a process of a
            multi-process run whose process 0 saves the replicated state).

    Use it with :func:`fit_resumable` to resume inside an epoch; in a plain ``fit`` it
    counts steps from ``initial_epoch * steps_per_epoch``.

    Divergence: a non-finite scalar in a step's logs (or a non-finite weight at a
    save) stops ``fit`` at that step without saving, so ``path`` keeps the last good
    model; ``diverged`` then holds ``(metric, value, global_step)`` and, at the end of
    ``fit``, :class:`TrainingDiverged` is raised with the metric, the step and the
    checkpoint kept (list this callback last, so the others end their files first).

    ``request_stop`` (safe from a signal handler) makes it save after the current step
    and stop ``fit``; ``stopped_by`` then names the reason and ``state`` the position
    saved. A save never happens at the end of training on its own.

    Not ``keras.callbacks.BackupAndRestore``: it resumes at the start of the interrupted
    epoch and trains its batches again (measured: 50/10 updates where 40/8 were due),
    from a backup kept apart from the ``.keras`` file users load and sample.
    """

    def __init__(self, path, every_n_steps=None, every_n_minutes=None, writes=True):
        super().__init__(path)
        self.writes = bool(writes)
        if every_n_steps is not None:
            every_n_steps = check_positive_int("every_n_steps", every_n_steps)
        if every_n_minutes is not None:
            ok = isinstance(every_n_minutes, (int, float)) and not isinstance(
                every_n_minutes, bool) and every_n_minutes > 0
            if not ok:
                raise ValueError(
                    f"`every_n_minutes` must be a number > 0, got {every_n_minutes!r}."
                )
        self.every_n_steps = every_n_steps
        self.every_n_minutes = every_n_minutes
        self.state = None  # the position of the last save (or of the resume)
        self.stopped_by = None
        self.diverged = None
        self._last_save_time = None
        self._stop_reason = None
        self._resume = None  # the position fit_resumable starts from
        self._epoch = self._step = self._global_step = 0
        self._offset = 0  # steps of the epoch in progress done before this fit
        self._epoch_start_global = 0

    def start_at(self, state):
        """Continue counting from ``state`` (called by :func:`fit_resumable`)."""
        self._resume = state
        self.state = state
        self._global_step = state.global_step or 0

    def request_stop(self, reason="a stop request"):
        """Save after the current step, then end ``fit`` (``model.stop_training``)."""
        self._stop_reason = reason

    @property
    def stop_requested(self):
        """Whether a stop was asked for (and not yet carried out) or has ended ``fit``."""
        return self._stop_reason is not None or self.stopped_by is not None

    # ------------------------------------------------------------- callbacks
    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.stopped_by = self.diverged = None
        self._last_save_time = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        resume = self._resume
        self._epoch, self._offset = epoch, 0
        if resume is not None and resume.epoch == epoch and resume.step:
            self._offset = resume.step
            self._restore_metrics(resume.metrics)
        elif resume is None and self._global_step == 0 and epoch:
            self._global_step = epoch * int(self.params.get("steps") or 0)
        self._resume = None  # it applies to the first epoch only
        self._step = self._offset
        self._epoch_start_global = self._global_step

    def on_train_batch_end(self, batch, logs=None):
        done = batch + 1  # Keras passes the last step's index (steps_per_execution)
        previous = self._global_step
        self._step = self._offset + done
        self._global_step = self._epoch_start_global + done
        if self._check_finite(logs):
            return
        last_of_epoch = done == self.params.get("steps")  # then on_epoch_end saves
        if self._stop_reason is not None:
            self.stopped_by, self._stop_reason = self._stop_reason, None
            self.model.stop_training = True
            if not last_of_epoch:
                self._save_position()
        elif last_of_epoch:
            pass
        elif (self.every_n_steps and (
            self._global_step // self.every_n_steps > previous // self.every_n_steps
        )) or (self.every_n_minutes and (
            time.monotonic() - self._last_save_time >= 60.0 * self.every_n_minutes
        )):
            self._save_position()

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged is not None or self._check_finite(logs):
            return
        if self._step - self._offset != self.params.get("steps", self._step - self._offset):
            return  # fit stopped inside the epoch (Keras still ends it): not complete
        self._epoch, self._step = epoch + 1, 0
        self._save_position()

    def on_train_end(self, logs=None):
        # Never saves here: the end state may be a broken one (see the class docstring).
        if self.diverged is not None:
            metric, value, step = self.diverged
            kept = self.state.describe() if self.state else "none written yet"
            raise TrainingDiverged(
                f"Training diverged: {metric} is {value} at step {step}. The last good "
                f"checkpoint {self.path!r} ({kept}) was kept; resume from it with a lower "
                "learning rate."
            )

    def _check_finite(self, logs):
        """Stop (and return True) when a log value is NaN or infinite."""
        for name, value in (logs or {}).items():
            value = scalar_or_none(value)
            if value is not None and not math.isfinite(value):
                self._diverge(name, value)
                return True
        return False

    def _diverge(self, metric, value):
        self.diverged = (metric, value, self._global_step)
        self.model.stop_training = True

    # ----------------------------------------------------------------- saving
    def _restore_metrics(self, metrics):
        trackers = {m.name: m for m in _mean_trackers(self.model)}
        for name, (total, count) in metrics.items():
            if name in trackers:
                trackers[name].total.assign(total)
                trackers[name].count.assign(count)

    def _current_state(self):
        metrics = {}
        if self._step:
            for tracker in _mean_trackers(self.model):
                metrics[tracker.name] = [
                    float(keras.ops.convert_to_numpy(tracker.total)),
                    float(keras.ops.convert_to_numpy(tracker.count)),
                ]
        steps = self.params.get("steps") if self.params else None
        if self._offset:  # the resumed epoch: this fit runs only its remainder
            steps = self._offset + steps if steps else None
        return TrainingState(
            epoch=int(self._epoch), step=int(self._step), global_step=int(self._global_step),
            steps_per_epoch=None if steps is None else int(steps), metrics=metrics,
        )

    def _save_position(self):
        if not self.writes:  # no weights to read: only the position is kept
            self.save_state(self._current_state())
            return
        _sync(self.model)
        for variable in self.model.weights:
            if not np.all(np.isfinite(keras.ops.convert_to_numpy(variable))):
                self._diverge(f"weight {variable.path}", "not finite")
                return
        self.save_state(self._current_state())

    def save(self, epochs_done):
        """Save at an epoch boundary (the parent class's entry point)."""
        self.save_state(TrainingState(epoch=int(epochs_done), global_step=self._global_step))

    def save_state(self, state):
        """Write the model with ``state`` inside it to ``path``, atomically and durably.

        The model goes to a temporary sibling, gets the state member, is flushed to
        disk, then replaces ``path``; ``model.state.json`` is updated before the
        replace, keeping the entry of the file being replaced (see the parent class).
        With ``writes=False`` only the position is kept.
        """
        if self.writes:
            def write(tmp):
                self.model.save(tmp, overwrite=True)
                with zipfile.ZipFile(tmp, "a") as archive:
                    archive.writestr(
                        STATE_MEMBER,
                        json.dumps({"format": STATE_FORMAT, **asdict(state)}, sort_keys=True),
                    )

            self.write_model(state.epoch, write, step=state.step,
                             global_step=state.global_step)
        self._last_save_time = time.monotonic()
        self.state = state


# ------------------------------------------------------------------- resuming


def fit_resumable(model, make_dataset, *, epochs, steps_per_epoch, checkpoint, state=None,
                  callbacks=(), **fit_kwargs):
    """``model.fit`` from ``state`` (a fresh run when None) to ``epochs``, resumable.

    Args:
        model: a compiled keras_wgan model (from :func:`load_checkpoint` to resume).
        make_dataset: a callable returning a fresh, endless dataset that yields the
            same batches in the same order on every call (e.g. a seeded
            ``load_dataset(...).repeat()``); the batches already used are skipped.
        epochs: the total number of epochs, as Keras' ``epochs``.
        steps_per_epoch: steps per epoch; a mid-epoch ``state`` needs the one it was
            saved with.
        checkpoint: the run's :class:`TrainingCheckpoint`.
        state: the :class:`TrainingState` to continue from.
        callbacks: passed to each ``fit``.
        **fit_kwargs: passed to each ``fit``.

    Returns:
        The ``History`` objects of the ``fit`` calls (two when resuming inside an
        epoch: its remainder, then the rest). Stops early when the checkpoint's
        ``stopped_by`` is set.

    Raises:
        TypeError: ``make_dataset`` is not callable or ``checkpoint`` is not a
            :class:`TrainingCheckpoint`.
        ValueError: ``epochs`` is already reached, ``steps_per_epoch`` differs from a
            mid-epoch ``state``'s, or ``fit_kwargs`` sets what ``state`` decides
            (``initial_epoch``, ``x``, ``steps_per_epoch``).
        TrainingDiverged: a loss became non-finite (raised by the checkpoint).

    Example:

    ```python
    def make_dataset():  # the same stream on every call
        return load_dataset("fashion_mnist", batch_size=64, seed=0).repeat()

    checkpoint = TrainingCheckpoint("runs/x/model.keras", every_n_steps=300)
    fit_resumable(WGANGP.from_preset("fashion_mnist_32"), make_dataset, epochs=20,
                  steps_per_epoch=900, checkpoint=checkpoint)
    ```
    """
    if not callable(make_dataset):
        raise TypeError(
            "`make_dataset` must be a callable that builds the dataset afresh (e.g. "
            f"`lambda: load_dataset(..., seed=0).repeat()`), got {type(make_dataset).__name__}."
        )
    steps_per_epoch = check_positive_int("steps_per_epoch", steps_per_epoch)
    epochs = check_positive_int("epochs", epochs)
    if not isinstance(checkpoint, TrainingCheckpoint):
        raise TypeError(
            f"`checkpoint` must be a TrainingCheckpoint, got {type(checkpoint).__name__}."
        )
    for forbidden in ("initial_epoch", "x", "steps_per_epoch"):
        if forbidden in fit_kwargs:
            raise ValueError(f"`{forbidden}` is set by fit_resumable from `state`; remove it.")
    fit_kwargs.setdefault("shuffle", False)  # a dataset: Keras could not shuffle it anyway
    state = TrainingState() if state is None else state
    if state.step and state.steps_per_epoch not in (None, steps_per_epoch):
        raise ValueError(
            f"The checkpoint is {state.describe()}: `steps_per_epoch` must stay "
            f"{state.steps_per_epoch} to finish that epoch (got {steps_per_epoch}); a "
            "new length can start at an epoch boundary."
        )
    if state.epoch >= epochs:
        raise ValueError(
            f"`epochs`={epochs} is the total target and the checkpoint has already "
            f"completed {state.epoch} epoch(s): pass a larger `epochs` to continue."
        )
    if state.global_step is None:  # a file without a position: whole epochs so far
        state = TrainingState(state.epoch, 0, state.epoch * steps_per_epoch,
                              steps_per_epoch, {})
    callbacks = list(callbacks)
    if checkpoint not in callbacks:
        callbacks.append(checkpoint)
    if fit_kwargs.get("verbose", "auto") != 0 and not any(
        isinstance(callback, keras.callbacks.ProgbarLogger) for callback in callbacks
    ):  # the bar at the run's position in the epoch, not at the fit's
        callbacks.insert(0, EpochProgress(epochs))
    checkpoint.start_at(state)
    for callback in callbacks:
        if hasattr(callback, "on_resume"):
            callback.on_resume(state)

    def stream(skip):
        dataset = make_dataset()
        return dataset.skip(skip) if skip else dataset

    histories = []
    epoch, used = state.epoch, state.global_step
    if state.step:  # finish the epoch in progress
        remaining = steps_per_epoch - state.step
        with warnings.catch_warnings():  # its block count continues from the file
            warnings.filterwarnings("ignore", message="An epoch of .* not a multiple")
            histories.append(model.fit(
                stream(used), initial_epoch=epoch, epochs=epoch + 1,
                steps_per_epoch=remaining, callbacks=callbacks, **fit_kwargs,
            ))
        if checkpoint.stopped_by is not None or model.stop_training:
            return histories
        epoch, used = epoch + 1, used + remaining
    if epoch < epochs:
        histories.append(model.fit(
            stream(used), initial_epoch=epoch, epochs=epochs,
            steps_per_epoch=steps_per_epoch, callbacks=callbacks, **fit_kwargs,
        ))
    return histories


# -------------------------------------------------------------------- signals


@contextlib.contextmanager
def stop_on_signals(checkpoint, signals=("SIGINT", "SIGTERM", "SIGHUP")):
    """A context in which Ctrl-C, a kill or a closed terminal saves, then stops ``fit``.

    Within the block, the first of ``signals`` makes ``checkpoint`` save after the
    current step and stop ``fit``; a second SIGINT interrupts at once
    (``KeyboardInterrupt``), leaving the last checkpoint on disk. Only in the main
    thread (Python's rule for signal handlers); elsewhere it does nothing. The previous
    handlers come back on exit.

    Args:
        checkpoint: a :class:`TrainingCheckpoint`, or anything with its
            ``request_stop(reason)`` and ``stop_requested`` (the CLI's agreement
            between processes).
        signals: names of the signals to catch; those this platform lacks are skipped.

    Example:

    ```python
    with stop_on_signals(checkpoint):
        fit_resumable(gan, make_dataset, epochs=20, steps_per_epoch=900,
                      checkpoint=checkpoint, state=state)
    if checkpoint.stop_requested:
        print("saved; run again to continue")
    ```
    """
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    numbers = [getattr(signal, name) for name in signals if hasattr(signal, name)]
    previous = {number: signal.getsignal(number) for number in numbers}

    def handler(number, frame):
        name = signal.Signals(number).name
        if checkpoint.stop_requested:
            if number == signal.SIGINT:
                raise KeyboardInterrupt
            return
        checkpoint.request_stop(name)

    for number in numbers:
        signal.signal(number, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


__all__ = [
    "STATE_MEMBER",
    "TrainingCheckpoint",
    "TrainingDiverged",
    "checkpoint_position",
    "TrainingState",
    "fit_resumable",
    "load_checkpoint",
    "read_state",
    "stop_on_signals",
]
