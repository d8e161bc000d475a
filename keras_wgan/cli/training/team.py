"""This process's role in a run: :class:`Solo` (alone) or :class:`Team` (one of several).

The training loop (:mod:`.loop`) trains through a :class:`ProcessRole`, so it has no
branch on how many processes there are. A multi-process run
(``keras-wgan train --distribute multi-process``, JAX) keeps four promises:

- **One owner.** Process 0 owns ``--out``: it resolves the run's settings (a resume reads
  them from its ``config.json``) and sends them, with the checkpoint to resume from, to the
  others, which write nothing there and need not see its file system.
- **Start-up agreement.** Before JAX's runtime starts, each process connects to process 0
  over the control link (:mod:`.control_link`: the coordinator's address, port + 1,
  authenticated with the run's key) and shows its command line and package versions;
  any difference is refused on every process, naming the flag.
- **Stops at the same step.** A stop (Ctrl-C or SIGTERM on any process) goes to process 0,
  which broadcasts its decision at every step's end (:class:`.runtime.StepAgreement`,
  one small collective), so every process ends after the same step and process 0 saves it.
- **Faults.** The link carries heartbeats. A killed process closes its connection at once
  and the others stop within about a second; a machine that goes silent is declared lost
  after ``control_link.SILENCE_LIMIT_S``. The survivors print which process was lost and
  the command that resumes, then exit with ``control_link.LOST_PEER_EXIT`` (nothing waits
  forever on a collective that cannot complete).

The launch (where this process stands) is :class:`.launch.Launch`; the runtime hooks
are in :mod:`.runtime`.
"""

import os
import tempfile
import time
from typing import Protocol

from keras_wgan.cli.common import CliError
from keras_wgan.cli.training.control_link import HEARTBEAT_EVERY_S
from keras_wgan.cli.training.runtime import (
    StepAgreement,
    owner_checkpoint,
    owner_only,
    peer_checkpoint,
)


class ProcessRole(Protocol):
    """What the training loop asks of this process's role in the run."""

    is_owner: bool  # this process writes the run directory
    who: str  # the start line's prefix ("" alone)

    def resume_source(self, run):
        """The run directory to resume from (None: nothing to resume)."""

    def checkpoint(self, path, **kwargs):
        """This process's ``TrainingCheckpoint`` of ``path``."""

    def callbacks_on_this_process(self, callbacks):
        """``{name: callback}`` as they run on this process."""

    def check_same_data(self, settings, dataset, steps):
        """Refuse data that differs between processes; True when ``dataset`` was read."""

    def watch(self, checkpoint, run, resume, alone):
        """Start watching for stops (and lost processes) during training."""

    @property
    def stops(self):
        """What the signal handlers ask to stop."""

    @property
    def callbacks(self):
        """Callbacks the run needs besides its own."""

    def resume_command(self, run, epochs, backend):
        """The command that continues the run, in words a user types."""

    def ended_together(self):
        """The run ended at its target or an agreed stop."""

    def await_verdict(self, error):
        """After ``error`` in a step: wait for the verdict on a lost process, if any."""

    def finish(self, code):
        """The exit code, after whatever ending alone needs."""


class Solo:
    """A run on this process alone, through the same questions a :class:`Team` answers:
    it owns the run directory, stops by its own signals, and has no one to agree with."""

    is_owner = True
    who = ""  # the start line's prefix

    def resume_source(self, run):
        """The run directory to resume from."""
        return run

    def checkpoint(self, path, **kwargs):
        from keras_wgan.checkpoints import TrainingCheckpoint

        return TrainingCheckpoint(path, **kwargs)

    def callbacks_on_this_process(self, callbacks):
        """The callbacks as they run here (a team runs them on process 0 alone)."""
        return callbacks

    def check_same_data(self, settings, dataset, steps):
        """Nothing to compare with; False: ``dataset`` was not read."""
        return False

    def watch(self, checkpoint, run, resume, alone):
        self._checkpoint = checkpoint

    @property
    def stops(self):
        """What the signal handlers ask to stop: the checkpoint itself."""
        return self._checkpoint

    @property
    def callbacks(self):
        """Callbacks the run needs besides its own (a team's stop agreement)."""
        return []

    def resume_command(self, run, epochs, backend):
        return run.resume_command(epochs, backend)

    def ended_together(self):
        """The run ended at its target or an agreed stop: nothing to tell anyone."""

    def await_verdict(self, error):
        """A failed step is this process's own error: nothing to wait for."""

    def finish(self, code):
        return code


class Team:
    """This process's part in a multi-process run (the same questions as :class:`Solo`)."""

    def __init__(self, launch, link, resume_from=b""):
        self.launch, self.link, self.resume_from = launch, link, resume_from
        self.agreement = None
        self._received = None

    @property
    def is_owner(self):
        return self.launch.is_owner

    @property
    def who(self):
        return f"Process {self.launch.process_id} of {self.launch.num_processes}: "

    def resume_source(self, run):
        """Process 0: ``run``; another: the checkpoint process 0 sent (see
        :meth:`received_run`)."""
        return run if self.is_owner else self.received_run()

    def received_run(self):
        """Another process: a private RunDirectory holding the checkpoint process 0 sent
        (None for a fresh run). Outside ``--out``, which only process 0 writes."""
        from keras_wgan.cli.training.run_directory import MODEL_FILE, RunDirectory

        if not self.resume_from:
            return None
        if self._received is None:
            self._received = tempfile.TemporaryDirectory(prefix="keras-wgan-resume-")
            with open(os.path.join(self._received.name, MODEL_FILE), "wb") as f:
                f.write(self.resume_from)
        return RunDirectory(self._received.name)

    def checkpoint(self, path, **kwargs):
        if self.is_owner:
            return owner_checkpoint(self.link, path, **kwargs)
        return peer_checkpoint(path, **kwargs)

    def callbacks_on_this_process(self, callbacks):
        """Process 0 runs the callbacks, outside the distribution; the others none."""
        if not self.is_owner:
            return {}
        return {name: owner_only(callback) for name, callback in callbacks.items()}

    def watch(self, checkpoint, run, resume, alone):
        """Agree on stops per step, and say how to resume if a process is lost."""
        self.agreement = StepAgreement(checkpoint, self.link)

        def describe_loss(process_id):
            if self.is_owner:
                kept = f"{run.model_path} holds {run.position()}"
                also = f"\nor on this machine alone:\n  {alone}"
            else:
                kept = f"process 0 keeps the run in its {run.path}"
                also = ""
            return (f" {kept}; when every machine is back, resume with:\n  {resume}{also}")

        self.link.watch_for(self.agreement.request_stop, describe_loss)

    @property
    def stops(self):
        return self.agreement

    @property
    def callbacks(self):
        return [self.agreement.callback]

    def resume_command(self, run, epochs, backend):
        return (run.resume_command(epochs, backend) + self.launch.flags()
                + self.launch.resume_note())

    def ended_together(self):
        self.link.end_together()

    def finish(self, code):
        """The exit code, after ending alone (telling the others) if this process did not
        end with them: JAX's runtime would otherwise wait for them at exit."""
        if not self.link.ended_together:  # a second Ctrl-C, a full disk, ...
            self.link.abandon(code)
        return code

    def check_same_data(self, settings, dataset, steps):
        """Refuse, on every process, data that differs from process 0's: its epoch
        length, or a checksum of its first global batch (a different folder, file or
        dataset version on one machine would otherwise train on other batches).
        ``dataset`` is not iterated again: a second pass would be shuffled otherwise."""
        import numpy as np
        from jax.experimental import multihost_utils

        first = next(iter(dataset.take(1)))
        images = np.asarray(first[0] if isinstance(first, tuple) else first, np.float64)
        mine = np.array([steps, images.sum(), np.square(images).sum()], np.float64)
        every = np.asarray(multihost_utils.process_allgather(mine)).reshape(-1, 3)
        differ = [pid for pid in range(len(every))
                  if not np.allclose(every[pid], every[0], rtol=1e-6, atol=1e-6)]
        if differ:
            raise CliError(
                f"--dataset {settings['dataset']!r} differs on process(es) "
                f"{', '.join(map(str, differ))} from process 0's (its batches per epoch "
                f"or its first batch): every machine must read the same data, a copy or a "
                "shared folder with the same files, or the same TFDS name and version"
            )
        return True  # the dataset was read: not to be iterated again

    def await_verdict(self, error):
        """After a failed collective (a peer's connection broke), give the control link
        the moment it needs to name the lost process (it then ends this process);
        return at once for any other error, or when no process was lost."""
        import jax

        if isinstance(error, jax.errors.JaxRuntimeError):
            time.sleep(2 * HEARTBEAT_EVERY_S)
