"""A linear rate decay to 0 against a constant rate, on the default recipe, at equal work.

The recipe search (``recipe_search.py``) cannot compare a decay fairly: a cell that has
decayed to 0 cannot be extended into a later round. This benchmark gives each schedule
the same run from the start instead: ``keras-wgan train``'s recipe
(``WGANGP.from_preset("fashion_mnist_32")``), the same seed and data order, exactly
``--updates`` generator updates, with the rates constant (the default) or decaying
linearly to 0 over those updates (``lr_decay_steps``, what ``train --lr-decay linear``
sets). Equal updates are equal CPU time (a decay changes no computation); each cell's
process CPU time is printed beside its score to show it. Every cell is a process of its
own with one thread, niced, so that two run side by side on two cores; scores are the
domain yardstick's (version 2, ``--n-eval`` samples, 10,000 by default) with the real
floor at the same size. A finished cell keeps ``cell.json`` in ``--out/NAME/``, so a
killed run continues with the cells it has not finished.

The run the docs quote ("Recipe search at equal CPU time", "A rate decay to 0")::

    python benchmarks/rate_decay.py --updates 2000 \\
        --data-dir /usr/share/datasets/fashion-mnist --out runs/rate-decay
"""

import argparse
import json
import os
import subprocess
import sys
import time

SCHEDULES = ("constant", "linear")


def run_cell(args):
    """Train one schedule for ``--updates`` generator updates, then score it."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    from keras_wgan import WGANGP
    from keras_wgan.data import load_dataset
    from keras_wgan.evaluation import DomainYardstick
    from keras_wgan.images import save_image_grid

    folder = os.path.join(args.out, args.cell)
    os.makedirs(folder, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    decay = {"lr_decay_steps": args.updates} if args.cell == "linear" else {}
    gan = WGANGP.from_preset("fashion_mnist_32", seed=args.seed, **decay)
    data = load_dataset("fashion_mnist", batch_size=64, seed=args.seed,
                        data_dir=args.data_dir).repeat()
    started = time.process_time()
    gan.fit(data, epochs=1, steps_per_epoch=args.updates * gan.n_critic, verbose=0)
    cpu = time.process_time() - started
    gan.save(os.path.join(folder, "model.keras"))
    yardstick = DomainYardstick.for_dataset("fashion_mnist", (32, 32, 1),
                                            data_dir=args.data_dir, cache_dir=args.cache_dir)
    images = gan.generate(args.n_eval, seed=args.seed)
    figures = yardstick.score(images, seed=args.seed)
    floor = yardstick.floor(args.n_eval, seed=args.seed)
    save_image_grid(images[:64], os.path.join(folder, "grid.png"))
    rate = gan.generator_optimizer.learning_rate
    result = {
        "schedule": args.cell, "cpu_minutes": round(cpu / 60, 2),
        "generator_updates": int(gan.generator_optimizer.iterations),
        "final_generator_rate": float(keras.ops.convert_to_numpy(rate)),
        "fd": figures["fd"], "kd": figures["kd"], "classes": figures["modes_covered"],
        "num_classes": figures["num_classes"], "floor_fd": floor["fd"],
        "floor_kd": floor["kd"], "n_eval": args.n_eval,
    }
    with open(os.path.join(folder, "cell.json.tmp"), "w") as f:
        json.dump(result, f, indent=1)
    os.replace(os.path.join(folder, "cell.json.tmp"), os.path.join(folder, "cell.json"))
    print(f"[{args.cell}] {result}", flush=True)
    return 0


def _result(args, name):
    try:
        with open(os.path.join(args.out, name, "cell.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def run_all(args):
    """Start every unfinished schedule's cell, side by side; then print the table."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
           "TF_NUM_INTEROP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    children = []
    for name in args.schedules:
        if _result(args, name) is None:
            command = ["nice", "-n", str(args.nice), sys.executable, os.path.abspath(__file__),
                       "--cell", name] + _passed(args)
            print("start:", " ".join(command[3:]), flush=True)
            children.append(subprocess.Popen(command, env=env))
    codes = [child.wait() for child in children]
    print_table(args)
    return max(codes, default=0)


def _passed(args):
    flags = ["--updates", str(args.updates), "--n-eval", str(args.n_eval),
             "--seed", str(args.seed), "--out", args.out]
    for flag, value in (("--data-dir", args.data_dir), ("--cache-dir", args.cache_dir)):
        if value:
            flags += [flag, value]
    return flags


def print_table(args):
    rows = [r for r in (_result(args, name) for name in args.schedules) if r]
    if rows:
        print(f"Real floor ({rows[0]['n_eval']} real training images vs the test split, "
              f"yardstick version 2): fd {rows[0]['floor_fd']:.3f}  kd {rows[0]['floor_kd']:.4f}")
    print(f"{'schedule':<10} {'G upd':>6} {'cpu min':>8} {'last rate':>10} {'fd':>8} "
          f"{'kd':>8} classes")
    for r in rows:
        print(f"{r['schedule']:<10} {r['generator_updates']:>6} {r['cpu_minutes']:>8.2f} "
              f"{r['final_generator_rate']:>10.2e} {r['fd']:>8.3f} {r['kd']:>8.4f} "
              f"{r['classes']:>4}/{r['num_classes']}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--updates", type=int, default=2000,
                   help="generator updates per schedule (the decay's length); default 2000")
    p.add_argument("--schedules", nargs="+", choices=SCHEDULES, default=list(SCHEDULES))
    p.add_argument("--n-eval", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--nice", type=int, default=10, help="niceness of the cells; default 10")
    p.add_argument("--data-dir", default=None, help="Fashion-MNIST IDX folder (else the "
                   "library's search: KERAS_WGAN_DATA_DIR, Debian's, TFDS)")
    p.add_argument("--cache-dir", default=None, help="the yardstick's classifier cache")
    p.add_argument("--out", default="runs/rate-decay")
    p.add_argument("--print", action="store_true", help="print the table and exit")
    p.add_argument("--cell", choices=SCHEDULES, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.updates < 1:
        p.error(f"--updates must be an integer >= 1, got {args.updates}")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.cell:
        return run_cell(args)
    if args.print:
        print_table(args)
        return 0
    return run_all(args)


if __name__ == "__main__":
    sys.exit(main())
