"""Several processes, one run: ``keras-wgan train --distribute multi-process``.

Every machine runs the same command; only ``--process-id`` differs. The training itself is
JAX's multi-process runtime with ``keras.distribution.DataParallel`` (gradients all-reduced
by the runtime's collectives: gloo on CPU hosts). Around it this module keeps four promises:

- **One owner.** Process 0 owns ``--out``: it resolves the run's settings (a resume reads
  them from its ``config.json``) and sends them, with the checkpoint to resume from, to the
  others, which write nothing there and need not see its file system.
- **Start-up agreement.** Before JAX's runtime starts, each process connects to process 0
  over a *control link* (the coordinator's address, port + 1, authenticated with the
  run's key) and shows its command line and package versions; any difference is refused
  on every process, naming the flag.
- **Stops at the same step.** A stop (Ctrl-C or SIGTERM on any process) goes to process 0,
  which broadcasts its decision at every step's end (:class:`StepAgreement`, one small
  collective), so every process ends after the same step and process 0 saves it.
- **Faults.** The link carries heartbeats. A killed process closes its connection at once
  and the others stop within about a second; a machine that goes silent is declared lost
  after ``control_link.SILENCE_LIMIT_S``. The survivors print which process was lost and
  the command that resumes, then exit with ``control_link.LOST_PEER_EXIT`` (nothing waits
  forever on a collective that cannot complete). The link lives in
  :mod:`keras_wgan.cli.control_link`.

One process model: ``cli/train.py`` trains through a :class:`Team` (this process's part
in a multi-process run) or a :class:`Solo` (a run on this process alone), which answer
the same questions (who writes, how stops are agreed, what to say), so the training code
has no branch on how many processes there are.

The launch (:meth:`Launch.resolve`) comes from the flags, else Keras' own
``KERAS_DISTRIBUTION_*`` variables, else a SLURM job's (the variables JAX's own SLURM
detection reads); the start line names where each value came from.
"""

import contextlib
import os
import signal
import socket
import tempfile
import time
from dataclasses import dataclass

from keras_wgan.cli.common import PROG, CliError
from keras_wgan.cli.control_link import HEARTBEAT_EVERY_S, STARTUP_TIMEOUT_S

MULTI_PROCESS = "multi-process"
# JAX's own heartbeat timeout is longer, so the control link names a lost process before
# JAX's coordination service aborts the survivors with an internal error.
JAX_HEARTBEAT_TIMEOUT_S = 100
# The environment variables Keras' own keras.distribution.initialize() reads.
ENV_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
ENV_NUM_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
ENV_PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"
# A SLURM job step's variables, as JAX's SlurmCluster reads them: the first node of the
# step is the coordinator, the task count and rank are the process count and id.
SLURM_JOB_ID = "SLURM_JOB_ID"
SLURM_NODELIST = "SLURM_STEP_NODELIST"
SLURM_NTASKS = "SLURM_NTASKS"
SLURM_PROCID = "SLURM_PROCID"
# The coordinator's port in a SLURM job: derived from the job id, as JAX does, in
# [61440, 65534], so that the control link's port + 1 is a port too.
SLURM_PORT_BASE, SLURM_PORT_SPAN = 61440, 4095


# ------------------------------------------------------------------ the launch


@dataclass(frozen=True)
class Launch:
    """Where this process stands in the job: the coordinator, the count, its id."""

    host: str
    port: int
    num_processes: int
    process_id: int
    from_environment: bool = False
    # where the coordinator, the process count and the process id came from, in words
    sources: tuple = ("--coordinator", "--num-processes", "--process-id")

    @property
    def coordinator(self):
        return f"{self.host}:{self.port}"

    @property
    def is_owner(self):
        return self.process_id == 0

    @property
    def control_port(self):
        return self.port + 1

    def flags(self):
        """This process's launch flags (none when they came from the environment)."""
        if self.from_environment:
            return ""
        return (f" --distribute {MULTI_PROCESS} --coordinator {self.coordinator} "
                f"--num-processes {self.num_processes} --process-id {self.process_id}")

    def describe(self):
        """The start line's account of the launch, each value with where it came from."""
        coordinator, count, pid = self.sources
        return (f"Launch: coordinator {self.coordinator} ({coordinator}), "
                f"{self.num_processes} processes ({count}), this is process "
                f"{self.process_id} ({pid}).")

    def resume_note(self):
        if self.from_environment and self.sources[0].startswith("SLURM"):
            return (f" --distribute {MULTI_PROCESS}, as a step of a SLURM job again (srun, "
                    f"{self.num_processes} tasks)")
        if self.from_environment:
            return (f" --distribute {MULTI_PROCESS}, on every machine with its "
                    f"{ENV_ADDRESSES} / {ENV_NUM_PROCESSES} / {ENV_PROCESS_ID} as before")
        return f" (each machine with its own --process-id, 0 to {self.num_processes - 1})"

    @classmethod
    def from_flags(cls, coordinator, num_processes, process_id, environ=None):
        """The launch from the flags, each missing one from Keras' environment variables,
        else from a SLURM job's (see :func:`_slurm_launch`)."""
        env = os.environ if environ is None else environ
        sources = ["--coordinator", "--num-processes", "--process-id"]
        from_env = coordinator is None
        slurm = _slurm_launch(env)
        if coordinator is None and env.get(ENV_ADDRESSES):
            coordinator = env[ENV_ADDRESSES].split(",")[0].strip() or None
            sources[0] = ENV_ADDRESSES
        if coordinator is None and slurm:
            coordinator, sources[0] = slurm["coordinator"]
        if num_processes is None and env.get(ENV_NUM_PROCESSES):
            num_processes = _int_setting(ENV_NUM_PROCESSES, env[ENV_NUM_PROCESSES])
            sources[1] = ENV_NUM_PROCESSES
        if num_processes is None and slurm:
            num_processes, sources[1] = slurm["num_processes"]
        if process_id is None and env.get(ENV_PROCESS_ID):
            process_id = _int_setting(ENV_PROCESS_ID, env[ENV_PROCESS_ID])
            sources[2] = ENV_PROCESS_ID
        if process_id is None and slurm:
            process_id, sources[2] = slurm["process_id"]
        example = (f"{PROG} train --backend jax --distribute {MULTI_PROCESS} --coordinator "
                   "10.0.0.1:1234 --num-processes 2 --process-id 0 (1 on the other machine)")
        missing = [name for name, value in (("--coordinator", coordinator),
                                            ("--num-processes", num_processes),
                                            ("--process-id", process_id)) if value is None]
        if missing:
            raise CliError(
                f"--distribute {MULTI_PROCESS} needs {', '.join(missing)} (or Keras' "
                f"{ENV_ADDRESSES}, {ENV_NUM_PROCESSES}, {ENV_PROCESS_ID}, or a SLURM job's "
                f"{SLURM_JOB_ID}, {SLURM_NODELIST}, {SLURM_NTASKS}, {SLURM_PROCID}); "
                f"e.g. {example}"
            )
        host, _, port = coordinator.rpartition(":")
        host = host.strip("[]")  # [::1]:1234
        if not host or not port.isdigit() or not 0 < int(port) < 65535:
            raise CliError(f"--coordinator {coordinator!r} must be HOST:PORT, the address of "
                           f"process 0's machine and a free port (PORT+1 is used too); "
                           f"e.g. {example}")
        if num_processes < 1:
            raise CliError(f"--num-processes must be >= 1, got {num_processes}; e.g. {example}")
        if not 0 <= process_id < num_processes:
            raise CliError(f"--process-id {process_id} must be in 0..{num_processes - 1} for "
                           f"--num-processes {num_processes}; e.g. {example}")
        return cls(host, int(port), int(num_processes), int(process_id),
                   from_environment=from_env, sources=tuple(sources))


def _slurm_launch(env):
    """``{what: (value, source)}`` from a SLURM job step's variables, or ``{}`` outside
    one. The coordinator is the step's first node (``node[001-004],gpu7`` -> ``node001``)
    at a port derived from the job id, so every task of the job finds the same one."""
    if not all(env.get(name) for name in (SLURM_JOB_ID, SLURM_NODELIST, SLURM_NTASKS,
                                          SLURM_PROCID)):
        return {}
    nodes = env[SLURM_NODELIST].strip()
    first = nodes.split(",")[0]
    if "[" in first:  # a range comes first: its prefix and the range's first number
        prefix, _, numbers = nodes.partition("[")
        first = prefix + numbers.replace("-", ",").split(",")[0].rstrip("]")
    host = first
    job = _int_setting(SLURM_JOB_ID, env[SLURM_JOB_ID].split("_")[0])
    port = SLURM_PORT_BASE + job % SLURM_PORT_SPAN
    return {
        "coordinator": (f"{host}:{port}", f"SLURM: first node of {SLURM_NODELIST}, port "
                                          f"from {SLURM_JOB_ID}"),
        "num_processes": (_int_setting(SLURM_NTASKS, env[SLURM_NTASKS]), SLURM_NTASKS),
        "process_id": (_int_setting(SLURM_PROCID, env[SLURM_PROCID]), SLURM_PROCID),
    }


def free_port_pair(host="127.0.0.1"):
    """A port P of ``host`` with P+1 free too: a ``--coordinator`` for processes tried
    on one machine (JAX's coordinator takes P, the control link P+1). Drawn below the
    kernel's ephemeral range, which outgoing connections and ``bind(0)`` draw from (JAX's
    gloo collectives open many): a port found free there stays free until it is used."""
    import random

    low, high = 10000, _ephemeral_start() - 1
    for _ in range(200):
        port = random.randrange(low, high - 1)
        try:
            for candidate in (port, port + 1):
                with socket.socket() as probe:
                    probe.bind((host, candidate))
        except OSError:
            continue
        return port
    raise OSError(f"no two free consecutive ports on {host} in {low}..{high}")


def _ephemeral_start():
    """The first port of the kernel's ephemeral range (Linux; 32768 elsewhere)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return max(int(f.read().split()[0]), 10100)
    except (OSError, ValueError, IndexError):
        return 32768


def _int_setting(name, text):
    try:
        return int(text)
    except ValueError:
        raise CliError(f"{name}={text!r} must be an integer.") from None


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

    class PeerCheckpoint(TrainingCheckpoint):
        def _save_position(self):  # no weights to read: only the position is kept
            self.save_state(self._current_state())

        def save_state(self, state):
            self._saved_epoch = state.epoch
            self._last_save_time = time.monotonic()
            self.state = state

    return PeerCheckpoint(*args, **kwargs)


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
        number = int(getattr(signal, pending[0], signal.SIGINT)) if pending else 0
        decision = np.asarray(self._broadcast(
            np.array([1 if pending else 0, number, pending[1] if pending else 0], np.int32)))
        if decision[0]:
            self._pending = None
            name = signal.Signals(int(decision[1])).name
            where = "" if int(decision[2]) == 0 else f" on process {int(decision[2])}"
            self.checkpoint.request_stop(f"{name}{where}")


def distribution_scope(choice):
    """One process's ``--distribute`` (auto, none, mirrored): a context in which models
    are built and trained data-parallel over this machine's devices, and its replica
    count."""
    import contextlib

    import keras

    backend = keras.backend.backend()
    if choice == "auto":
        gpus = gpu_count(backend)
        choice = "mirrored" if gpus > 1 else "none"
    if choice == "none":
        return contextlib.nullcontext(), 1
    if backend == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()
        return strategy.scope(), strategy.num_replicas_in_sync
    if backend == "jax":
        distribution = keras.distribution.DataParallel()
        return distribution.scope(), len(distribution.device_mesh.devices.flatten())
    raise CliError(
        f"--distribute {choice}: data-parallel training is not available on the {backend} "
        "backend here; use --backend tensorflow or --backend jax, or --distribute none."
    )


def gpu_visible_before_jax_starts():
    """Whether JAX will see a GPU, without starting its backend: an NVIDIA device node
    here and a JAX CUDA plugin installed."""
    import glob
    import importlib.util

    plugins = ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_plugins.xla_cuda12")
    try:
        plugin = any(importlib.util.find_spec(name) is not None for name in plugins)
    except ModuleNotFoundError:
        plugin = False
    return plugin and bool(glob.glob("/dev/nvidia[0-9]*"))


def gpu_count(backend):
    """How many GPUs Keras' backend sees here."""
    if backend == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return sum(device.platform == "gpu" for device in jax.devices())
    import torch

    return torch.cuda.device_count()


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

    def share(self, callbacks):
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
    """This process's part in a multi-process run, as ``cli/train.py`` uses it (the
    same questions as :class:`Solo`)."""

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
        from keras_wgan.cli.run_directory import MODEL_FILE, RunDirectory

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

    def share(self, callbacks):
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
