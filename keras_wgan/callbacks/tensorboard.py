"""TensorBoard logs of a GAN run: Keras' TensorBoard callback fitted to two optimizers and resumes.

:class:`GANTensorBoard` is ``keras.callbacks.TensorBoard`` (epoch scalars, weight
histograms, the train graph, validation logs) with what a GAN run needs on top:

- epoch scalars at step = epochs completed (1-based, as ``history.csv`` and the
  ``SampleGrid`` PNG names and images), where Keras uses the 0-based epoch index;
- the generator's learning rate beside Keras' ``learning_rate`` (the critic's: the
  model's ``optimizer``, as for Keras' learning-rate callbacks);
- per-step scalars every ``every_n_steps`` steps, at the run's global step, which
  continues on a resumed ``fit(initial_epoch=...)`` or ``fit_resumable`` instead of
  restarting at 0 (Keras' ``update_freq`` counts from 0 in every ``fit``).

The sample grids go to TensorBoard through ``SampleGrid(..., log_dir=...)``, which logs
the very grid it writes as a PNG. Both need the ``tensorboard`` package, which
TensorFlow does not install: ``pip install "keras-wgan[tensorboard]"``.
"""

import keras

from keras_wgan.callbacks.history import MeanIncrements
from keras_wgan.callbacks.position import EpochSteps
from keras_wgan.checks import check_positive_int

INSTALL = 'pip install "keras-wgan[tensorboard]"'


def require_tensorboard(what):
    """Raise ImportError naming the install command when ``tensorboard`` is missing.

    Without it ``tf.summary`` has no ``scalar`` or ``image``: Keras' callback would
    fail at the first epoch end instead.
    """
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ImportError(
            f"{what} needs the `tensorboard` package, which is not installed: {INSTALL} "
            "(or pip install tensorboard)."
        ) from None


def _learning_rate(optimizer):
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # a LossScaleOptimizer
    return float(keras.ops.convert_to_numpy(inner.learning_rate))


class GANTensorBoard(keras.callbacks.TensorBoard):
    """``keras.callbacks.TensorBoard`` for a keras_wgan model; writes under ``log_dir/train``.

    Tags, in the ``train`` run: ``epoch_<metric>`` for every scalar in the epoch logs
    (the values ``History`` holds), ``epoch_learning_rate`` (critic) and
    ``epoch_generator_learning_rate``, at step = epochs completed; with
    ``every_n_steps=N``, ``step_<metric>`` every N steps at the global step: for the
    model's metrics the mean over those N steps (over each batch on its own at N=1,
    the values of ``LossHistory``'s ``history_batches.csv``), so ``generator_loss``
    averages the generator updates in the window. The last, shorter window of an
    epoch is written at its end.

    Add it to ``fit`` (with a ``SampleGrid`` for the images)::

        gan.fit(data, epochs=20, callbacks=[
            SampleGrid("samples", log_dir="logs/samples"),
            GANTensorBoard("logs", every_n_steps=50),
        ])

    then ``tensorboard --logdir logs``. A resumed run writes into the same ``log_dir``
    and continues the steps: from ``initial_epoch * steps_per_epoch`` in a plain
    ``fit``, from the checkpoint's exact position under ``fit_resumable``. Steps that a
    killed run logged after its last checkpoint are logged again by the resumed run
    (resuming is exact, so at N=1 with the same values; a window the resume cuts
    averages only its steps after the checkpoint).

    Args:
        log_dir: the TensorBoard log directory.
        every_n_steps: write per-step scalars every this many steps; None (default):
            epoch scalars only.
        **kwargs: the other ``keras.callbacks.TensorBoard`` arguments
            (``histogram_freq``, ``write_graph``, ...), except ``update_freq``.
    """

    def __init__(self, log_dir="logs", every_n_steps=None, **kwargs):
        require_tensorboard("GANTensorBoard")
        if kwargs.get("update_freq", "epoch") != "epoch":
            raise ValueError(
                "GANTensorBoard writes per-step scalars with `every_n_steps=N` (steps "
                "that continue on resume), not `update_freq`; got "
                f"update_freq={kwargs['update_freq']!r}."
            )
        kwargs.pop("update_freq", None)
        super().__init__(log_dir=log_dir, **kwargs)
        if every_n_steps is not None:
            every_n_steps = check_positive_int("every_n_steps", every_n_steps)
        self.every_n_steps = every_n_steps
        self._increments = None
        self._global_step = None  # steps done in the run; None until the first epoch
        self._epoch_start = 0
        self._unwritten = False  # steps taken since the last per-step write
        self._resume = None
        self._steps = EpochSteps()

    def on_resume(self, state):
        """Told by ``checkpoints.fit_resumable`` the position a run continues from."""
        self._resume = state if state.global_step is not None else None

    def on_train_begin(self, logs=None):
        model = self.model
        if not hasattr(model, "generator_optimizer") or model.generator_optimizer is None:
            raise TypeError(
                "GANTensorBoard needs a compiled keras_wgan model (with a "
                f"`generator_optimizer`), got {type(model).__name__}; for other models use "
                "keras.callbacks.TensorBoard."
            )
        super().on_train_begin(logs)
        self._increments = MeanIncrements(model)

    def on_epoch_begin(self, epoch, logs=None):
        super().on_epoch_begin(epoch, logs)
        self._steps.begin()
        resume, self._resume = self._resume, None
        baseline = None
        if resume is not None and resume.epoch == epoch:
            self._global_step = resume.global_step
            baseline = resume.metrics if resume.step else None
        elif self._global_step is None:  # a plain fit(initial_epoch=...)
            self._global_step = epoch * int(self.params.get("steps") or 0)
        self._increments.reset(baseline)
        self._epoch_start = self._global_step
        self._unwritten = False

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        self._steps.step(batch)
        previous = self._global_step
        # Keras passes the last step's index (also with steps_per_execution > 1).
        self._global_step = self._epoch_start + batch + 1
        if self.every_n_steps is None:
            return
        self._unwritten = True
        if self._global_step // self.every_n_steps > previous // self.every_n_steps:
            self._write_steps(self._increments.read(logs or {}))

    def on_epoch_end(self, epoch, logs=None):
        if self.every_n_steps is not None and self._unwritten:
            # Only the model's metrics: the epoch logs also hold epoch-level values.
            self._write_steps(self._increments.read(logs or {}, self._increments.trackers))
        if not self._steps.completed(self.params):
            return  # a stopped epoch: its steps are logged, its epoch scalars come on resume
        logs = dict(logs or {})  # a copy: History and the others keep theirs
        logs["generator_learning_rate"] = _learning_rate(self.model.generator_optimizer)
        super().on_epoch_end(epoch + 1, logs)

    def _write_steps(self, values):
        self._unwritten = False
        if not values:
            return
        with self._train_writer.as_default():
            for name, value in values.items():
                self.summary.scalar(f"step_{name}", value, step=self._global_step)
