"""The lockstep timer: variants take turns, one block of updates at a time.

Every variant runs in its own subprocess (so peak RSS is per variant), all of one
(model, DIM) at once but in lockstep: the parent lets one child compute one generator
update at a time, round-robin (see ``Lockstep``). A background load that comes and goes
thus hits every variant alike, and the ratios between rows of one run stay meaningful on
a shared machine. An fp32 matmul loop takes part in the same rotation, so the FLOP rates
are compared with a matmul rate measured under the same conditions.

The protocol, one line at a time over the child's stdin / stdout. The parent starts a
child as ``python benchmarks/train_speed.py --child SPEC_JSON`` (``ENTRY``; the script
puts ``benchmarks/`` on ``sys.path``, so the child imports this package as the parent
does) and ``child_main`` runs the job that ``SPEC_JSON["variant"]`` names
(``speed.variants.JOBS``):
  child  -> READY                 set up (nets built); waits for GO
  parent -> GO                    time one block now
  child  -> DONE secs updates remaining    the block's wall time, its generator updates,
                                  and how many blocks follow (after 0, it waits for
                                  FINISH so its post-processing overlaps no timed block)
  parent -> FINISH
  child  -> @@RESULT@@{json}      the job's result (also the only line of a job run
                                  without lockstep, ``run_single``)
The child's stderr goes to a file per variant in the log folder.
"""

import json
import os
import subprocess
import sys
import time

RESULT_TAG = "@@RESULT@@"
# The script a child runs (with --child): the entry point, one folder up.
ENTRY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     "train_speed.py")


# --------------------------------------------------------------------------- child side
def _quiet_tf(backend="tensorflow"):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["KERAS_BACKEND"] = backend


def peak_rss_mb():
    """Peak resident memory of this process (ru_maxrss is KiB on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class Lockstep:
    """Child side of the parent's round-robin: run one block of updates per "GO" line.

    All variants of a (model, DIM) run at once, each in its own process, but only one
    computes at a time: the parent hands a "GO" to each in turn and waits for its "DONE".
    Consecutive updates of every variant are thus interleaved in time, so a background
    load that comes and goes hits all variants alike, and ratios stay meaningful on a
    shared machine. The time of a block is measured in the child, from "GO" to "DONE".
    """

    def __init__(self, warmup):
        self.warmup = warmup
        self.blocks = []  # (seconds, generator updates in the block)
        self._go = None
        self._go_cpu = None
        self.peak_rss_mb = None
        self.busy_cpu = []  # CPU seconds of this process during each block
        self.idle_cpu = 0.0  # CPU seconds while waiting for GO (should be ~0)

    def ready(self):
        print("READY", flush=True)

    def wait_go(self):
        idle_cpu = time.process_time()
        line = sys.stdin.readline()
        if line.strip() != "GO":
            raise SystemExit(f"parent said {line!r}, not GO")
        self._go = time.perf_counter()
        self._go_cpu = time.process_time()
        if self.blocks:  # CPU this process used while another variant was timed
            self.idle_cpu += self._go_cpu - idle_cpu

    def done(self, updates=1, remaining=0):
        """End a block; ``remaining`` blocks follow. After the last, wait for FINISH so
        this child's post-processing never overlaps another variant's timed block."""
        seconds = time.perf_counter() - self._go
        self.busy_cpu.append(time.process_time() - self._go_cpu)
        self.blocks.append((seconds, updates))
        print(f"DONE {seconds:.6f} {updates} {remaining}", flush=True)
        if remaining == 0:
            self.peak_rss_mb = peak_rss_mb()
            line = sys.stdin.readline()
            if line.strip() != "FINISH":
                raise SystemExit(f"parent said {line!r}, not FINISH")

    def run(self, total, update):
        """Time ``update()`` (one generator update, finished before it returns) ``total``
        times, one block per GO; returns its last result."""
        self.ready()
        for i in range(total):
            self.wait_go()
            result = update()
            self.done(1, total - 1 - i)
        return result

    def results(self):
        """Per-update steady-state times (warm-up blocks dropped) and the first block's time."""
        steady, seen = [], 0
        for seconds, updates in self.blocks:
            if seen >= self.warmup:
                steady.append(seconds / updates)
            seen += updates
        return {
            "per_update": steady,
            "first_update_s": self.blocks[0][0] / self.blocks[0][1],
            "peak_rss_mb": self.peak_rss_mb,
            "busy_cpu": self.busy_cpu,
            "idle_cpu": self.idle_cpu,
        }


def child_main(spec_json):
    """A child's whole life: run the job its spec names and print the result line."""
    spec = json.loads(spec_json)
    _quiet_tf(spec.get("backend", "tensorflow"))
    from speed.variants import JOBS

    result = JOBS[spec["variant"]](spec, Lockstep(spec.get("warmup", 0)))
    print(RESULT_TAG + json.dumps(result), flush=True)


# -------------------------------------------------------------------------- parent side
class Child:
    """One variant's process, driven line by line over its stdin/stdout."""

    def __init__(self, spec, log_dir):
        self.spec = spec
        self.result = None
        self.error = None
        self.wall_start = time.perf_counter()
        name = "-".join(str(spec.get(k, "")) for k in ("model", "nets", "dim", "backend",
                                                        "variant", "jit", "spe"))
        self.stderr_path = os.path.join(log_dir, f"{name}.stderr")
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                   KERAS_BACKEND=spec.get("backend", "tensorflow"), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, ENTRY, "--child", json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(self.stderr_path, "w"), text=True, env=env,
        )

    def send(self, word):
        try:
            self.proc.stdin.write(word + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass

    def expect(self, *tags):
        """Read stdout up to a line starting with one of ``tags``; record result/errors."""
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line.startswith(RESULT_TAG):
                self.result = json.loads(line[len(RESULT_TAG):])
                self.result["wall_s"] = time.perf_counter() - self.wall_start
                return RESULT_TAG, None
            for tag in tags:
                if line.startswith(tag):
                    return tag, line[len(tag):].split()
        self.proc.wait()
        with open(self.stderr_path) as handle:
            tail = handle.read().strip().splitlines()
        self.error = f"rc {self.proc.returncode}: {tail[-1] if tail else 'no output'}"
        return None, None


def run_single(spec, log_dir):
    """A job without lockstep (FLOP check, data path): start it and wait for its result."""
    child = Child(spec, log_dir)
    child.expect()
    child.proc.wait()
    return child.result if child.result is not None else {"error": child.error}


def run_lockstep(specs, log_dir, progress):
    """Run the variants round-robin, one block at a time (see Lockstep); return results."""
    children = [Child(spec, log_dir) for spec in specs]
    active = [c for c in children if c.expect("READY")[0] == "READY"]
    while active:
        for child in list(active):
            child.send("GO")
            tag, fields = child.expect("DONE")
            if tag != "DONE":
                active.remove(child)
                continue
            if int(fields[2]) == 0:
                active.remove(child)
                child.send("FINISH")  # post-processing runs while nobody is timed
                child.expect()
                child.proc.wait()
                progress(child)
    for child in children:
        if child.result is None and child.error is None:
            child.expect()
        if child.proc.poll() is None:
            child.proc.kill()
        if child.result is None:
            progress(child)
    return [(c.spec, c.result if c.result is not None else {"error": c.error})
            for c in children]
