"""Where fit stands in an epoch: whether it ran to its end, and a progress bar at the true step.

Keras calls ``on_epoch_end`` also when training stops inside an epoch (Ctrl-C through
``checkpoints.stop_on_signals``, a divergence, ``model.stop_training`` set by a batch
callback), and its progress bar then jumps to the epoch's last step. The callbacks
that name files or rows after an epoch (``SampleGrid``, ``LossHistory``,
``GANTensorBoard``) ask :class:`EpochSteps` whether the epoch completed, and
:class:`EpochProgress` shows the position a resumed epoch continues from and the step
an interrupted one stopped at (``78/935`` and ``77/935``, never ``1/858`` or
``935/935``).
"""

import keras


class EpochSteps:
    """Steps done in the epoch in progress of one ``fit``, for a callback that holds it.

    Call :meth:`begin` from ``on_epoch_begin`` and :meth:`step` from
    ``on_train_batch_end``; :meth:`completed` then says in ``on_epoch_end`` whether the
    epoch ran all its ``params["steps"]`` (an epoch of unknown length ends with its data,
    so it counts as completed).
    """

    def __init__(self):
        self.done = 0

    def begin(self):
        self.done = 0

    def step(self, batch):
        # Keras passes the last step's index (also with steps_per_execution > 1).
        self.done = batch + 1

    def completed(self, params):
        steps = (params or {}).get("steps")
        return steps is None or self.done >= steps


class EpochProgress(keras.callbacks.ProgbarLogger):
    """Keras' progress bar, counting steps from the run's position in the epoch.

    Args:
        epochs: the run's target, for the "Epoch k/N" line (``fit_resumable`` fits the
            rest of a resumed epoch as a ``fit`` of its own, whose ``epochs`` is k).

    ``checkpoints.fit_resumable`` adds it to each ``fit`` (``verbose`` not 0) and tells it
    the position it resumes from (:meth:`on_resume`): that epoch's bar starts at the
    step after the checkpoint and ends at the epoch's full length. An epoch that stops
    early ends its bar at the step it stopped at.
    """

    def __init__(self, epochs=None):
        super().__init__()
        self._run_epochs = epochs
        self._resume = None
        self._offset = 0
        self._fit_steps = None

    def on_resume(self, state):
        self._resume = state

    def on_test_begin(self, logs=None):
        self._offset = 0
        super().on_test_begin(logs)

    def on_predict_begin(self, logs=None):
        self._offset = 0
        super().on_predict_begin(logs)

    def set_params(self, params):
        super().set_params(params)  # (Keras' ProgbarLogger keeps no self.params)
        self._fit_steps = params.get("steps")
        if self._run_epochs is not None:
            self.epochs = self._run_epochs

    def on_epoch_begin(self, epoch, logs=None):
        resume, self._resume = self._resume, None
        self._offset = resume.step if resume is not None and resume.epoch == epoch else 0
        steps = self._fit_steps
        self.target = None if steps is None else self._offset + steps
        super().on_epoch_begin(epoch, logs)
        self.seen = self._offset

    def _update_progbar(self, batch, logs=None):
        self._maybe_init_progbar()
        self.seen = self._offset + batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize_progbar(self, logs):
        self._maybe_init_progbar()
        if self.target is None:
            self.progbar.target = self.target = self.seen
        self.progbar.update(self.seen, list((logs or {}).items()), finalize=True)
