"""The runtime hooks of a multi-process run: JAX's runtime, and what runs on process 0 alone.

:func:`start_runtime` joins JAX's multi-process runtime (gradients all-reduced by its
collectives: gloo on CPU hosts). Process 0 alone saves and draws the sample grids,
outside the distribution (:func:`unshared`, :func:`owner_only`,
:func:`owner_checkpoint`); the others follow the run's position without writing
(:func:`peer_checkpoint`). :class:`StepAgreement` makes every process stop after the
same step.
"""

import contextlib
import os
import signal

from keras_wgan.cli.training.control_link import STARTUP_TIMEOUT_S

# A --max-time stop in the step agreement's broadcast (signal numbers are positive).
TIME_LIMIT_CODE = -1

# JAX's own heartbeat timeout is longer, so the control link names a lost process before
# JAX's coordination service aborts the survivors with an internal error.
JAX_HEARTBEAT_TIMEOUT_S = 100


def start_runtime(launch):
    """Join JAX's multi-process runtime; the data-parallel distribution over every
    process's devices. CPU hosts all-reduce with gloo unless the user chose otherwise."""
    import jax

    if "JAX_CPU_COLLECTIVES_IMPLEMENTATION" not in os.environ:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=launch.coordinator,
        num_processes=launch.num_processes,
        process_id=launch.process_id,
        initialization_timeout=int(STARTUP_TIMEOUT_S),
        heartbeat_timeout_seconds=JAX_HEARTBEAT_TIMEOUT_S,
    )
    import keras

    return keras.distribution.DataParallel()


@contextlib.contextmanager
def unshared():
    """Process 0 alone (saving, sample grids): outside the distribution, whose variable
    creation and computations would wait for the other processes. The replicated weights
    are read from this process's own copy."""
    import keras

    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(previous)


def owner_checkpoint(link, *args, **kwargs):
    """Process 0's :class:`TrainingCheckpoint`: it saves outside the distribution and
    never while the control link is ending the process."""
    from keras_wgan.checkpoints import TrainingCheckpoint

    class OwnerCheckpoint(TrainingCheckpoint):
        def save_state(self, state):
            with link.save_lock, unshared():
                super().save_state(state)

    return OwnerCheckpoint(*args, **kwargs)


def peer_checkpoint(*args, **kwargs):
    """Another process's :class:`TrainingCheckpoint`: it follows the run's position and
    stops with process 0, and writes nothing (process 0 saves the replicated state)."""
    from keras_wgan.checkpoints import TrainingCheckpoint

    return TrainingCheckpoint(*args, writes=False, **kwargs)


def owner_only(callback):
    """``callback`` run on process 0 alone, outside the distribution (see :func:`unshared`)."""
    import keras

    class OwnerOnly(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.inner = callback

        def set_model(self, model):
            super().set_model(model)
            callback.set_model(model)

        def set_params(self, params):
            super().set_params(params)
            callback.set_params(params)

        def __getattr__(self, name):  # on_resume, last_path, plot_path, ...
            if name == "inner":
                raise AttributeError(name)
            return getattr(self.inner, name)

    def forward(hook):
        def method(self, *args, **kwargs):
            with unshared():
                return getattr(callback, hook)(*args, **kwargs)
        return method

    for hook in ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
                 "on_train_batch_begin", "on_train_batch_end"):
        setattr(OwnerOnly, hook, forward(hook))
    return OwnerOnly()


class StepAgreement:
    """At every step's end, process 0's stop decision broadcast to every process, so
    they all stop after the same step (a process that stopped alone would leave the
    others waiting in the next step's collectives). One collective of three integers.

    ``request_stop`` is what the signal handlers call (on process 0 directly; another
    process forwards its signal over the control link)."""

    def __init__(self, checkpoint, link):
        import keras
        from jax.experimental import multihost_utils

        self.checkpoint, self.link = checkpoint, link
        self._broadcast = multihost_utils.broadcast_one_to_all
        self._pending = None  # (signal name, process id)
        agreement = self

        class Agree(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                agreement.agree()

        self.callback = Agree()

    @property
    def stop_requested(self):
        return self._pending is not None or self.checkpoint.stopped_by is not None

    def request_stop(self, reason, process_id=None):
        if not self.link.launch.is_owner:
            self.link.request_stop(reason)
        elif self._pending is None:
            self._pending = (reason, self.link.launch.process_id if process_id is None
                             else process_id)

    def agree(self):
        import numpy as np

        pending = self._pending if self.link.launch.is_owner else None
        number = _stop_code(pending[0]) if pending else 0
        decision = np.asarray(self._broadcast(
            np.array([1 if pending else 0, number, pending[1] if pending else 0], np.int32)))
        if decision[0]:
            from keras_wgan.callbacks.max_time import REASON_PREFIX

            reason = pending[0] if pending else REASON_PREFIX
            self._pending = None
            code = int(decision[1])
            name = reason if code == TIME_LIMIT_CODE else signal.Signals(code).name
            where = "" if int(decision[2]) == 0 else f" on process {int(decision[2])}"
            self.checkpoint.request_stop(f"{name}{where}")


def _stop_code(reason):
    """The number a stop travels as: a signal's, or :data:`TIME_LIMIT_CODE` for
    --max-time (callbacks.max_time), so that every process records why it stopped."""
    from keras_wgan.callbacks.max_time import REASON_PREFIX

    if reason.startswith(REASON_PREFIX):
        return TIME_LIMIT_CODE
    return int(getattr(signal, reason.split()[0], signal.SIGINT))
