"""What a user gets: ``keras-wgan train`` with no flags, stopped after N wall minutes.

The recipe search (``benchmarks/recipe_search.py``) compares recipes at equal CPU time on
one thread each. A user instead types ``keras-wgan train`` on a laptop and stops it with
Ctrl-C when the time they had is gone. This script does exactly that, for today's command
and for the command of an older checkout side by side, one after the other in one run so
both meet the same machine:

- each ``train`` runs as the user types it (``python -m keras_wgan train --out DIR
  --verbose 2``: the default data, model and recipe; the two flags only say where to write
  and to print a line per epoch instead of a progress bar), with every core it wants;
- after ``--minutes`` of wall time from its start it gets SIGINT (Ctrl-C), the stop every
  release handles the same way: save after the current step and exit;
- then ``keras-wgan evaluate`` of *this* checkout scores each saved ``model.keras`` with
  the domain yardstick (version 2, 10,000 samples, fd and kd beside the real floor);
- and, for ``--keep-best``'s defaults, this checkout times one of its scorings (the
  ``QualityMetrics`` callback ``train --keep-best`` adds, ``QUALITY_SAMPLES`` images, every
  epoch) on each model, in CPU seconds beside the CPU seconds of one of the run's epochs
  (its mean epoch time in the log times the run's cores in use), so the share holds
  whatever else the machine runs.

Nothing else may run on the machine meanwhile: the figure is a wall-clock one. Example
(the figures in docs "Recipe search at equal CPU time"; 802c608 is the last commit with
the earlier default, dim 64 and five critic steps)::

    git worktree add --detach ../keras-wgan-before 802c608
    python benchmarks/train_wall_time.py --minutes 25 --before ../keras-wgan-before \\
        --data-dir /usr/share/datasets/fashion-mnist --out runs/train-25-minutes

``--also NAME=FLAGS`` adds a run of this checkout with flags, after today's (e.g. the
rate decay to 0 that ``--max-time`` fixes: ``--also 'decay=--max-time 25m --lr-decay
linear'``). ``--print`` prints the table of a finished run again.
"""

import argparse
import csv
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(tree, data_dir):
    env = dict(os.environ, PYTHONPATH=tree, TF_CPP_MIN_LOG_LEVEL="2")
    if data_dir:
        env["KERAS_WGAN_DATA_DIR"] = data_dir  # where the library looks; not a train flag
    return env


def _children_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train(name, tree, args):
    """One ``train`` as typed, stopped by SIGINT after ``--minutes``; its facts as a dict."""
    out = os.path.join(args.out, name)
    done = os.path.join(out, "run.json")
    if os.path.exists(done):
        with open(done) as f:
            return json.load(f)
    cmd = [sys.executable, "-m", "keras_wgan", "train", "--out", out, "--verbose", "2"]
    cmd += args.flags.get(name, [])
    print(f"[{name}] {' '.join(cmd)}  (PYTHONPATH={tree})", flush=True)
    cpu_before = _children_cpu_s()
    started = time.monotonic()
    with open(os.path.join(args.out, f"{name}.log"), "w") as log:
        proc = subprocess.Popen(cmd, cwd=tree, env=_env(tree, args.data_dir), stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            proc.wait(timeout=args.minutes * 60)
            stopped_by = "itself"
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            stopped_by = "SIGINT"
            proc.wait()
    facts = {
        "name": name, "tree": os.path.abspath(tree), "commit": _commit(tree),
        "command": " ".join(cmd[1:]), "stopped_by": stopped_by, "exit": proc.returncode,
        "wall_s": round(time.monotonic() - started, 1),
        "cpu_s": round(_children_cpu_s() - cpu_before, 1),
        "generator_updates": _generator_updates(out),
        "settings": _settings(out),
    }
    if not os.path.exists(os.path.join(out, "model.keras")):
        raise SystemExit(f"[{name}] no model.keras in {out}; see {out}.log")
    with open(done, "w") as f:
        json.dump(facts, f, indent=1)
    return facts


def _commit(tree):
    try:
        return subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def _generator_updates(out):
    """Rows of history_batches.csv with a generator loss: one per generator update (a
    step is one critic batch; the generator moves every n_critic of them)."""
    path = os.path.join(out, "history_batches.csv")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return sum(1 for row in csv.DictReader(f) if row.get("generator_loss"))


def _settings(out):
    path = os.path.join(out, "config.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        config = json.load(f)
    keep = ("model", "dim", "n_critic", "recipe", "batch_size", "paper_optimizers",
            "lr_decay", "lr_decay_steps")
    return {key: config[key] for key in keep if key in config}


def evaluate(name, args):
    """``keras-wgan evaluate`` of this checkout on the run's model.keras (cached as JSON)."""
    out = os.path.join(args.out, name)
    path = os.path.join(out, "evaluate.json")
    if not os.path.exists(path):
        cmd = [sys.executable, "-m", "keras_wgan", "evaluate",
               os.path.join(out, "model.keras"), "--n", str(args.n_eval), "--json", path]
        if args.data_dir:
            cmd += ["--data-dir", args.data_dir]
        print(f"[{name}] {' '.join(cmd[1:])}", flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT, env=_env(ROOT, None))
    with open(path) as f:
        return json.load(f)


SCORING_SNIPPET = """
import sys, time
import keras
import keras_wgan  # registers the classes keras.models.load_model needs
from keras_wgan.callbacks import QualityMetrics
from keras_wgan.cli.training.loop import QUALITY_SAMPLES
from keras_wgan.evaluation import DomainYardstick

gan = keras.models.load_model(sys.argv[1])
stick = DomainYardstick.for_dataset("fashion_mnist", gan.sample_shape, data_dir=sys.argv[2] or None)
metrics = QualityMetrics(stick, every_n_epochs=1, num_samples=QUALITY_SAMPLES, seed=0)
metrics.set_model(gan)
metrics.on_epoch_end(0, {})  # the first call builds the sampling function
spent = []
for _ in range(3):
    started = time.process_time()
    metrics.on_epoch_end(0, {})
    spent.append(time.process_time() - started)
print(sorted(spent)[1])
"""


def keep_best_cost(name, args):
    """CPU seconds of one --keep-best scoring of the run's model, and of one of its epochs."""
    out = os.path.join(args.out, name)
    path = os.path.join(out, "keep_best_cost.json")
    if not os.path.exists(path):
        done = subprocess.run([sys.executable, "-c", SCORING_SNIPPET,
                               os.path.join(out, "model.keras"), args.data_dir or ""],
                              check=True, cwd=ROOT, env=_env(ROOT, None), capture_output=True,
                              text=True)
        epochs = _epoch_seconds(os.path.join(args.out, f"{name}.log"))
        with open(os.path.join(out, "run.json")) as f:
            facts = json.load(f)
        cores = facts["cpu_s"] / facts["wall_s"]
        cost = {"scoring_cpu_s": float(done.stdout.split()[-1]),
                "epoch_wall_s": sum(epochs) / len(epochs) if epochs else None,
                "epoch_cpu_s": sum(epochs) / len(epochs) * cores if epochs else None}
        with open(path, "w") as f:
            json.dump(cost, f, indent=1)
    with open(path) as f:
        return json.load(f)


def _epoch_seconds(log):
    """Each completed epoch's seconds from Keras' verbose-2 lines ("937/937 - 168s - ...")."""
    with open(log, errors="replace") as f:
        return [float(m.group(1)) for m in re.finditer(r"^\d+/\d+ - (\d+)s - ", f.read(), re.M)]


def print_table(rows):
    print(f"{'run':8} {'commit':8} {'wall s':>7} {'cpu s':>7} {'G upd':>6} {'fd':>8} "
          f"{'kd':>8} {'floor fd':>8} {'epoch s':>8} {'keep-best':>10}  settings (config.json)")
    for facts, scores, cost in rows:
        settings = ", ".join(f"{k} {v}" for k, v in facts["settings"].items())
        share = (f"{100 * cost['scoring_cpu_s'] / cost['epoch_cpu_s']:.1f}%"
                 if cost.get("epoch_cpu_s") else "-")
        epoch = f"{cost['epoch_wall_s']:.0f}" if cost.get("epoch_wall_s") else "-"
        print(f"{facts['name']:8} {facts['commit']:8} {facts['wall_s']:7.0f} "
              f"{facts['cpu_s']:7.0f} {facts['generator_updates'] or 0:6d} "
              f"{_figure(scores, 'fd'):>8} {_figure(scores, 'kd'):>8} "
              f"{_figure(scores, 'floor_fd'):>8} {epoch:>8} {share:>10}  {settings}")
    print("(epoch s: the mean wall seconds of a completed epoch; keep-best: the CPU time of "
          "one --keep-best scoring as a share of an epoch's)")


def _figure(scores, key):
    """``fd``/``kd`` of the generated images, ``floor_fd`` of the real ones (evaluate's JSON)."""
    part, _, name = key.rpartition("_")
    value = scores.get(part or "generated", {}).get(name)
    return "-" if value is None else f"{value:.3f}"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=25.0, help="wall minutes per run; default 25")
    p.add_argument("--before", default=None, metavar="TREE",
                   help="a checkout of the earlier default (run first); none: only this one")
    p.add_argument("--data-dir", default=None,
                   help="Fashion-MNIST IDX folder, given to the runs as KERAS_WGAN_DATA_DIR")
    p.add_argument("--n-eval", type=int, default=10000, help="samples per score; default 10000")
    p.add_argument("--out", default="runs/train-wall-time")
    p.add_argument("--also", action="append", default=[], metavar="NAME=FLAGS",
                   help="one more run of this checkout, after today's, with these train "
                        "flags (e.g. 'decay=--max-time 25m --lr-decay linear'); it also "
                        "gets Ctrl-C at --minutes if it has not stopped itself; repeatable")
    p.add_argument("--print", action="store_true", help="print a finished run's table")
    args = p.parse_args(argv)
    args.flags = {}
    for item in args.also:
        name, sep, flags = item.partition("=")
        if not sep or not name.isidentifier() or name in ("before", "today"):
            p.error(f"--also takes NAME=FLAGS with a new name, got {item!r}; e.g. "
                    "--also 'decay=--max-time 25m --lr-decay linear'")
        args.flags[name] = flags.split()
    if not args.minutes > 0:
        p.error(f"--minutes must be positive, got {args.minutes}; e.g. --minutes 25")
    return args


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    runs = ([("before", args.before)] if args.before else []) + [("today", ROOT)]
    runs += [(name, ROOT) for name in args.flags]
    rows = []
    for name, tree in runs:
        if args.print and not os.path.exists(os.path.join(args.out, name, "run.json")):
            continue
        facts = train(name, tree, args)
        rows.append((facts, evaluate(name, args), keep_best_cost(name, args)))
    print_table(rows)


if __name__ == "__main__":
    main()
