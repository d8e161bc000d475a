"""Recipe search at equal CPU time: successive halving over recipe strings, resumable.

Each candidate is a recipe string of changes to the ``fashion_mnist_32_v1`` preset (the
default of ``keras-wgan train`` before this search, kept under that name so that the
search stays reproducible after its winner became ``fashion_mnist_32``), e.g. ``n_critic=1,lr_critic=3e-4,lr_generator=1e-4,beta_1=0,
penalty=midpoint,critic_norm=spectral,dim=32,batch=64``; the empty string ``today`` is
the preset untouched. Each round gives every surviving cell more CPU minutes (the
budgets are cumulative: ``--rounds 2,8,30`` trains a cell to 2, then on to 8, then to
30 CPU minutes of its own process), scores it with the domain yardstick (version 2,
``--n-eval`` samples, 10,000 by default: fd, kd, classes covered, against the real
floor at the same size) and keeps the best third by fd (``--keep``); the cells named
by ``--pin`` (default ``today``) always go on, so the final table holds today's default
beside the winner, at the same CPU time, in one run.

Every (cell, round) is a process of its own with one intra-op and one inter-op thread
(``OMP_NUM_THREADS=1``), niced, so cells run side by side (``--parallel``) and each one's
budget is its own process CPU time (``time.process_time``; the scoring is excluded). A
cell keeps its checkpoint (``model.keras``, the library's exact resume) and its scores
(``cell.json``) in ``--out/MODEL/SLUG/``: a killed search continues where it stopped.
The data order of each round is seeded by the round (a resumed cell does not replay the
first round's batches). The table is printed and written to ``--out/results.json``.

Keys (all optional): ``n_critic``, ``lr`` (both nets), ``lr_critic``, ``lr_generator``,
``beta_1``, ``beta_2``, ``optimizer`` (``adam`` | ``rmsprop``), ``ema`` (a decay or
``off``), ``dim``, ``batch``, ``g_batch`` (the generator's batch as a multiple of the critic's),
``critic_norm`` (``spectral`` | ``none``); WGAN-GP:
``penalty`` (``random`` | ``midpoint``), ``penalty_every`` (lazy, weight times k),
``gp`` (the weight), ``drift``; WGAN: ``clip``.

The search whose table the docs show ("Recipe search at equal CPU time"; about 2 CPU
hours; 3 cells at a time on 2 cores, beside other work)::

    python benchmarks/recipe_search.py --models wgan-gp wgan --rounds 1.5,8,30 \\
        --wgan-rounds 1.5,8 --finalists 1 --parallel 3 --nice 0 \\
        --data-dir /usr/share/datasets/fashion-mnist --out runs/recipe-search

``--print`` prints the table of a finished or running search without training.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

MODELS = ("wgan-gp", "wgan")
# The candidates searched by default (README "Recipe search"): today's default, each
# lever of issue #31 on its own at dim 32, and the papers' and projects' recipes.
CANDIDATES = {
    "wgan-gp": [
        "today",
        "dim=32",
        "dim=32,n_critic=1,beta_1=0,beta_2=0.99,drift=0.001",           # ProGAN
        "dim=32,n_critic=1,lr_critic=3e-4,lr_generator=1e-4,beta_1=0",  # TTUR
        "dim=32,critic_norm=spectral",
        "dim=32,penalty=midpoint",
        "dim=32,penalty_every=4",
        "dim=32,batch=32",
        "dim=32,n_critic=1,beta_1=0,beta_2=0.99,penalty_every=4,penalty=midpoint",
    ],
    "wgan": [
        "today",
        "dim=32",
        "dim=32,optimizer=adam,lr=1e-4",
        "dim=32,n_critic=2",
        "dim=32,clip=0.02",
        "dim=32,critic_norm=spectral",
    ],
}
_FLOATS = ("lr", "lr_critic", "lr_generator", "beta_1", "beta_2", "gp", "drift", "clip")
_INTS = ("n_critic", "dim", "batch", "penalty_every", "g_batch")
_CHOICES = {"optimizer": ("adam", "rmsprop"), "penalty": ("random", "midpoint"),
            "critic_norm": ("spectral", "none")}
_ONLY = {"penalty": "wgan-gp", "penalty_every": "wgan-gp", "gp": "wgan-gp",
         "drift": "wgan-gp", "clip": "wgan"}


def parse_recipe(text, model):
    """``{key: value}`` of a recipe string (``today``: none), checked; ValueError names it."""
    if text in ("", "today"):
        return {}
    changes = {}
    for item in text.split(","):
        key, sep, value = item.strip().partition("=")
        known = _FLOATS + _INTS + tuple(_CHOICES) + ("ema",)
        if not sep or key not in known:
            raise ValueError(f"recipe {text!r}: {item!r} is not key=value with a key of "
                             f"{sorted(known)}")
        if _ONLY.get(key, model) != model:
            raise ValueError(f"recipe {text!r}: {key!r} applies to {_ONLY[key]} only")
        try:
            if key in _FLOATS:
                changes[key] = float(value)
            elif key in _INTS:
                changes[key] = int(value)
            elif key == "ema":
                changes[key] = None if value == "off" else float(value)
            elif value in _CHOICES[key]:
                changes[key] = value
            else:
                raise ValueError
        except ValueError:
            raise ValueError(f"recipe {text!r}: bad value for {key!r}: {value!r}") from None
    return changes


def slug(text):
    return "today" if text in ("", "today") else text.replace("=", "-").replace(",", "_")


def preset_overrides(changes):
    """The ``from_preset("fashion_mnist_32_v1", ...)`` overrides of a parsed recipe."""
    names = {"lr": "learning_rate", "lr_critic": "critic_learning_rate",
             "lr_generator": "generator_learning_rate", "optimizer": "optimizers",
             "ema": "ema_decay", "penalty": "penalty_at", "gp": "gp_weight",
             "drift": "drift_weight", "clip": "clip_value",
             "g_batch": "generator_batch_factor"}
    overrides = {names.get(k, k): v for k, v in changes.items() if k != "batch"}
    if overrides.get("critic_norm") == "none":
        overrides["critic_norm"] = None
    return overrides


# ------------------------------------------------------------------- one cell
def run_cell(args):
    """Train one cell on to ``--budget`` CPU minutes (from its checkpoint), then score it."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
    import numpy as np

    import keras_wgan  # noqa: F401  (registers the classes load_model needs)
    from keras_wgan import WGAN, WGANGP
    from keras_wgan.data import load_dataset
    from keras_wgan.evaluation import DomainYardstick
    from keras_wgan.images import save_image_grid

    model, recipe = args.cell.split(":", 1)
    changes = parse_recipe(recipe, model)
    folder = os.path.join(args.out, model, slug(recipe))
    os.makedirs(folder, exist_ok=True)
    state_path, checkpoint = os.path.join(folder, "cell.json"), os.path.join(folder, "model.keras")
    state = _read(state_path) or {"model": model, "recipe": recipe or "today",
                                  "cpu_seconds": 0.0, "scores": []}
    budget = args.budget * 60
    round_index = len(state["scores"])
    with open(os.path.join(folder, "running.pid"), "w") as f:
        f.write(str(os.getpid()))
    if os.path.exists(checkpoint):
        gan = keras.models.load_model(checkpoint)
    else:
        keras.utils.set_random_seed(args.seed)
        cls = WGAN if model == "wgan" else WGANGP
        gan = cls.from_preset("fashion_mnist_32_v1", seed=args.seed, **preset_overrides(changes))
    batch = changes.get("batch", 64)
    data = load_dataset("fashion_mnist", batch_size=batch, seed=args.seed + round_index,
                        data_dir=args.data_dir).repeat()

    class Budget(keras.callbacks.Callback):
        """Stops when the cell's process CPU time reaches its budget."""

        def on_train_begin(self, logs=None):
            self.start, self.before = time.process_time(), state["cpu_seconds"]

        def used(self):
            return self.before + time.process_time() - self.start

        def on_train_batch_end(self, batch, logs=None):
            if self.used() >= budget:
                self.model.stop_training = True

    clock = Budget()
    if state["cpu_seconds"] < budget:
        steps = 20 * gan.n_critic  # whole critic blocks per epoch
        gan.fit(data, epochs=10**9, steps_per_epoch=steps, verbose=0, callbacks=[clock])
        state["cpu_seconds"] = clock.used()
        gan.save(checkpoint + ".tmp.keras")
        os.replace(checkpoint + ".tmp.keras", checkpoint)
    yardstick = DomainYardstick.for_dataset("fashion_mnist", (32, 32, 1),
                                            data_dir=args.data_dir, cache_dir=args.cache_dir)
    started = time.process_time()
    images = gan.generate(args.n_eval, seed=args.seed)
    figures = yardstick.score(images, seed=args.seed)
    floor = yardstick.floor(args.n_eval, seed=args.seed)
    save_image_grid(images[:64], os.path.join(folder, f"grid_{args.budget:g}min.png"))
    state["scores"].append({
        "budget_minutes": args.budget,
        "cpu_minutes": round(state["cpu_seconds"] / 60, 2),
        "generator_updates": int(gan.generator_optimizer.iterations),
        "critic_updates": int(gan.critic_optimizer.iterations),
        "fd": figures["fd"], "kd": figures["kd"], "kd_std": figures["kd_std"],
        "classes": figures["modes_covered"], "num_classes": figures["num_classes"],
        "floor_fd": floor["fd"], "floor_kd": floor["kd"], "n_eval": args.n_eval,
        "scoring_cpu_seconds": round(time.process_time() - started, 1),
    })
    _write(state_path, state)
    print(f"[{model} {recipe or 'today'}] {state['scores'][-1]}", flush=True)
    return 0


def _read(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def _write(path, value):
    with open(path + ".tmp", "w") as f:
        json.dump(value, f, indent=1)
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------- the search
def score_at(state, budget):
    for score in (state or {}).get("scores", []):
        if score["budget_minutes"] == budget:
            return score
    return None


def rounds_of(args, model):
    return args.wgan_rounds if model == "wgan" and args.wgan_rounds else args.rounds


def survivors(args, model, candidates):
    """``[(round budget, [recipes])]``: who trains in each round, from the scores so far."""
    plan, alive = [], list(candidates)
    rounds = rounds_of(args, model)
    for budget in rounds:
        plan.append((budget, list(alive)))
        scores = {r: score_at(_read(_cell_json(args, model, r)), budget) for r in alive}
        if any(s is None for s in scores.values()):
            break  # this round is not finished: the next one is not known yet
        ranked = sorted(alive, key=lambda r: scores[r]["fd"])
        keep = max(1, math.ceil(len(ranked) * args.keep))
        if len(plan) == len(rounds) - 1 and args.finalists:
            keep = args.finalists
        alive = ranked[:keep] + [r for r in ranked[keep:] if r in args.pin]
    return plan


def _cell_json(args, model, recipe):
    return os.path.join(args.out, model, slug(recipe), "cell.json")


def _running(args, model, recipe):
    """Whether a live process (of this search or an earlier driver's) trains the cell."""
    try:
        with open(os.path.join(os.path.dirname(_cell_json(args, model, recipe)),
                               "running.pid")) as f:
            os.kill(int(f.read()), 0)
        return True
    except (OSError, ValueError):
        return False


def pending_cells(args):
    """The next round's unscored cells of every model: ``[(model, recipe, budget)]``."""
    todo = []
    for model in args.models:
        for budget, alive in survivors(args, model, args.candidates[model]):
            missing = [r for r in alive
                       if score_at(_read(_cell_json(args, model, r)), budget) is None
                       and not _running(args, model, r)]
            todo += [(model, r, budget) for r in missing]
            if missing:
                break
    return todo


def search(args):
    os.makedirs(args.out, exist_ok=True)
    from keras_wgan.evaluation import DomainYardstick

    DomainYardstick.for_dataset("fashion_mnist", (32, 32, 1), data_dir=args.data_dir,
                                cache_dir=args.cache_dir)  # trained once, children read it
    base = [sys.executable, os.path.abspath(__file__), "--out", args.out,
            "--n-eval", str(args.n_eval), "--seed", str(args.seed)]
    for flag, value in (("--data-dir", args.data_dir), ("--cache-dir", args.cache_dir)):
        if value:
            base += [flag, value]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
           "TF_NUM_INTEROP_THREADS": "1", "KERAS_BACKEND": "tensorflow"}
    active = {}
    while True:
        busy = {key for key in active}
        todo = [c for c in pending_cells(args) if (c[0], c[1]) not in busy]
        while todo and len(active) < args.parallel:
            model, recipe, budget = todo.pop(0)
            print(f"training {model} {recipe or 'today'} to {budget:g} CPU minutes", flush=True)
            command = ["nice", "-n", str(args.nice)] + base + [
                "--cell", f"{model}:{recipe}", "--budget", str(budget)]
            active[(model, recipe)] = subprocess.Popen(command, env=env)
        if not active:
            break
        time.sleep(5)
        for key, proc in list(active.items()):
            if proc.poll() is not None:
                del active[key]
                if proc.returncode:
                    print(f"cell {key} failed (exit {proc.returncode})", file=sys.stderr)
                    return proc.returncode
        if not todo and not active:
            continue
    print_table(args)
    return 0


def table(args):
    rows = []
    for model in args.models:
        for recipe in args.candidates[model]:
            state = _read(_cell_json(args, model, recipe))
            for score in (state or {}).get("scores", []):
                rows.append({"model": model, "recipe": recipe or "today", **score})
    return rows


def print_table(args):
    rows = table(args)
    if not rows:
        print("no cell has been scored yet")
        return
    floor = rows[0]
    print(f"\nReal floor ({floor['n_eval']} real training images vs the test split, "
          f"yardstick version 2): fd {floor['floor_fd']:.3f}  kd {floor['floor_kd']:.4f}")
    print(f"{'model':<8}{'recipe':<72}{'cpu min':>8}{'G upd':>7}{'fd':>9}{'kd':>9}"
          f"{'classes':>8}")
    for row in sorted(rows, key=lambda r: (r["model"], r["budget_minutes"], r["fd"])):
        print(f"{row['model']:<8}{row['recipe']:<72}{row['cpu_minutes']:>8.1f}"
              f"{row['generator_updates']:>7d}{row['fd']:>9.3f}{row['kd']:>9.4f}"
              f"{row['classes']:>5d}/{row['num_classes']}")
    _write(os.path.join(args.out, "results.json"), {
        "rounds": args.rounds, "keep": args.keep, "pin": args.pin,
        "candidates": args.candidates, "rows": rows})


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--rounds", type=lambda s: [float(x) for x in s.split(",")],
                   default=[2.0, 8.0, 30.0],
                   help="cumulative CPU minutes per cell after each round; default 2,8,30")
    p.add_argument("--keep", type=float, default=1 / 3,
                   help="share of a round's cells that go on (rounded up); default 1/3")
    p.add_argument("--wgan-rounds", type=lambda s: [float(x) for x in s.split(",")],
                   default=None, help="WGAN's own rounds (default: --rounds)")
    p.add_argument("--finalists", type=int, default=None,
                   help="cells (besides the pinned ones) in the last round; default: "
                        "--keep's share")
    p.add_argument("--pin", nargs="*", default=["today"],
                   help="recipes that always go on (the baseline); default today")
    p.add_argument("--gp-candidates", nargs="+", default=None,
                   help="WGAN-GP recipe strings (default: the built-in list)")
    p.add_argument("--wgan-candidates", nargs="+", default=None,
                   help="WGAN recipe strings (default: the built-in list)")
    p.add_argument("--parallel", type=int, default=2, help="cells at a time; default 2")
    p.add_argument("--nice", type=int, default=10, help="niceness of the cells; default 10")
    p.add_argument("--n-eval", type=int, default=10_000,
                   help="samples (and real floor images) per score; default 10000")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None, help="Fashion-MNIST IDX folder (else the "
                   "library's search: KERAS_WGAN_DATA_DIR, Debian's, TFDS)")
    p.add_argument("--cache-dir", default=None, help="the yardstick's classifier cache")
    p.add_argument("--out", default="runs/recipe-search")
    p.add_argument("--print", action="store_true", help="print the table and exit")
    p.add_argument("--cell", default=None, help=argparse.SUPPRESS)    # "model:recipe" (child)
    p.add_argument("--budget", type=float, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.candidates = {
        "wgan-gp": args.gp_candidates or CANDIDATES["wgan-gp"],
        "wgan": args.wgan_candidates or CANDIDATES["wgan"],
    }
    args.candidates = {m: ["" if r == "today" else r for r in rs]
                       for m, rs in args.candidates.items()}
    args.pin = ["" if r == "today" else r for r in args.pin]
    for model, recipes in args.candidates.items():
        for recipe in recipes:
            try:
                parse_recipe(recipe, model)
            except ValueError as error:
                p.error(str(error))
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.cell:
        return run_cell(args)
    if args.print:
        print_table(args)
        return 0
    return search(args)


if __name__ == "__main__":
    sys.exit(main())
