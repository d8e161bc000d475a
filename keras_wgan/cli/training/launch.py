"""Where this process stands in a multi-process run: the launch.

The coordinator, the process count and this process's id come from the flags
(``--coordinator``, ``--num-processes``, ``--process-id``), else from Keras' own
``KERAS_DISTRIBUTION_*`` variables, else from a SLURM job step's (the variables JAX's own
SLURM detection reads); :meth:`Launch.from_flags` resolves them and the start line names
where each value came from. The control link listens on the coordinator's port + 1.
"""

import os
import re
import socket
from dataclasses import dataclass

from keras_wgan.cli.common import PROG, CliError

MULTI_PROCESS = "multi-process"
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
# The coordinator's port in a SLURM job: derived from the job id, in [61440, 65532] and
# an even offset from the base, so that the control link's port + 1 is odd and never
# the coordinator port of another job (job + 1's, when ports were base + job % span).
SLURM_PORT_BASE, SLURM_PORT_PAIRS = 61440, 2047


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
    one. The coordinator is the step's first node (:func:`first_host`) at a port derived
    from the job id (:func:`slurm_port`), so every task of the job finds the same one."""
    if not all(env.get(name) for name in (SLURM_JOB_ID, SLURM_NODELIST, SLURM_NTASKS,
                                          SLURM_PROCID)):
        return {}
    host = first_host(env[SLURM_NODELIST])
    port = slurm_port(_int_setting(SLURM_JOB_ID, env[SLURM_JOB_ID].split("_")[0]))
    return {
        "coordinator": (f"{host}:{port}", f"SLURM: first node of {SLURM_NODELIST}, port "
                                          f"from {SLURM_JOB_ID}"),
        "num_processes": (_int_setting(SLURM_NTASKS, env[SLURM_NTASKS]), SLURM_NTASKS),
        "process_id": (_int_setting(SLURM_PROCID, env[SLURM_PROCID]), SLURM_PROCID),
    }


def first_host(nodelist):
    """The first host of a SLURM host list: ``node[001-004],gpu7`` -> ``node001``,
    ``node[1-2]-ib`` -> ``node1-ib``, ``rack[1-2]-n[3-4]`` -> ``rack1-n3``."""
    depth, nodelist = 0, nodelist.strip()
    for i, char in enumerate(nodelist):  # the first entry: up to a comma outside brackets
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            nodelist = nodelist[:i]
            break
    return re.sub(r"\[([^\]]*)\]", lambda group: re.split(r"[-,]", group[1])[0], nodelist)


def slurm_port(job):
    """The coordinator's port of SLURM job ``job`` (its control link takes the next one):
    even offsets from :data:`SLURM_PORT_BASE`, so no job's control port is another job's
    coordinator port."""
    return SLURM_PORT_BASE + 2 * (job % SLURM_PORT_PAIRS)


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
