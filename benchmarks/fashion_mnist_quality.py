"""Sample quality on real Fashion-MNIST at equal CPU time: the original recipe vs the library's.

For each model (WGAN, WGAN-GP) and each recipe, trains the original experiment's
DCGAN-style nets on real Fashion-MNIST (32x32, [-1, 1]) for a CPU-time budget and scores
the generator with the offline domain yardstick
(``keras_wgan.evaluation.DomainYardstick``: a small classifier trained once on the real
training split) every ``--eval-every`` CPU minutes, printing the curve beside the
real-data floor.

Recipes (same nets, data order, seed, batch size, n_critic 5, clip 0.01 / lambda 10;
each a ``keras_wgan.presets`` recipe at ``--dim``):
- ``original``: the original experiment's (and the papers') optimizers, no weight
  averaging (preset ``"original_experiment"``: WGAN RMSprop 5e-5; WGAN-GP Adam 1e-4,
  0.5, 0.9).
- ``library``: the library's defaults of the time (preset ``"fashion_mnist_32_v1"``, as
  ``WGAN(g, c)`` / ``WGANGP(g, c)`` and a bare ``compile()``): the same optimizers at rate
  1e-3 and generator weight averaging (``ema_decay=0.999``). The figures this script
  printed chose those defaults. ``--preset fashion_mnist_32`` builds ``library``,
  ``conditional`` and the changed recipes on the recipe search's winner instead.

- ``conditional`` (``--conditional``): the library's defaults with class-conditional
  nets (``num_classes=10``: class embedding joined to the noise, projection critic)
  trained on the labels. Scored on an equal mix of the classes, with the conditional
  accuracy (the share of images generated for class k that the yardstick classifier
  assigns to k) beside the classifier's accuracy on the real test images (the ceiling).
  ``--conditional`` runs it beside ``library`` at the same budget::

    python benchmarks/fashion_mnist_quality.py --conditional --models wgan-gp \
        --budget-minutes 30 --eval-every 10 --dim 32 --parallel 2 --out runs/conditional

Each run is a subprocess limited to ``--threads`` intra-op threads, so several can run
side by side and each one's budget is its own process CPU time (``time.process_time``;
scoring time is excluded from the budget). Example (the figures in the README)::

    python benchmarks/fashion_mnist_quality.py --budget-minutes 30 --eval-every 5 \\
        --dim 32 --parallel 4 --out runs/quality

Data: ``--dataset fashion_mnist`` finds Debian's dataset-fashion-mnist IDX files (or
``--data-dir`` / KERAS_WGAN_DATA_DIR); a ``.npz`` with x_train/x_test works too for the
training images, but the yardstick needs labels (IDX folder or TFDS).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

MODELS = ("wgan", "wgan-gp")
RECIPES = ("original", "library", "conditional")
OPTIMIZERS = ("adam", "rmsprop")


def recipe(text):
    """``original``, ``library``, or the library's defaults changed, e.g. ``rate=3e-4,ema=off``.

    Keys: ``rate`` (both optimizers' learning rate), ``ema`` (a decay or ``off``) and
    ``optimizer`` (``adam`` = Adam(beta_1=0.5, beta_2=0.9), ``rmsprop``): how the
    library's defaults were chosen, kept runnable.
    """
    if text in RECIPES:
        return text
    allowed = {"rate", "ema", "optimizer"}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or key not in allowed:
            raise argparse.ArgumentTypeError(
                f"must be 'original', 'library' or comma-separated {sorted(allowed)}=value "
                f"changes to the library's defaults, got {text!r}"
            )
        try:
            if key == "rate" and not float(value) > 0:
                raise ValueError
            if key == "ema" and value != "off" and not 0 < float(value) < 1:
                raise ValueError
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{key} must be {'a positive number' if key == 'rate' else 'in (0, 1) or off'}"
                f", got {value!r}"
            ) from None
        if key == "optimizer" and value not in OPTIMIZERS:
            raise argparse.ArgumentTypeError(f"optimizer must be one of {OPTIMIZERS}, got {value!r}")
    return text


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--recipes", nargs="+", type=recipe, default=list(RECIPES),
                   help="original, library, or changes to the library's defaults such as "
                        "rate=3e-4,ema=off (see recipe()); default: original library conditional")
    p.add_argument("--budget-minutes", type=float, default=30.0,
                   help="CPU minutes of training per run (scoring excluded); default 30")
    p.add_argument("--eval-every", type=float, default=5.0,
                   help="CPU minutes of training between scores; default 5")
    p.add_argument("--dim", type=int, default=32,
                   help="net width (the original experiment: 128); default 32")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--latent-dim", type=int, default=128)
    p.add_argument("--n-eval", type=int, default=2000,
                   help="generated (and real floor) images per score; default 2000")
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--cache-dir", default=None, help="yardstick classifier cache")
    p.add_argument("--threads", type=int, default=1, help="intra-op threads per run")
    p.add_argument("--parallel", type=int, default=1, help="runs at the same time")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/quality", help="results folder")
    p.add_argument("--conditional", action="store_true",
                   help="compare the class-conditional nets with the unconditional ones "
                        "(recipes library and conditional)")
    p.add_argument("--preset", default="fashion_mnist_32_v1",
                   help="the keras_wgan.presets recipe that library, conditional and the "
                        "changed recipes build on; default fashion_mnist_32_v1 (the one the "
                        "published tables measured: they stay reproducible); "
                        "fashion_mnist_32 re-checks them on the recipe search's winner")
    p.add_argument("--run", default=None, help=argparse.SUPPRESS)  # "model:recipe" (child)
    args = p.parse_args(argv)
    if args.conditional and "--recipes" not in (argv if argv is not None else sys.argv):
        args.recipes = ["library", "conditional"]
    return args


def build_gan(model, recipe, args):
    """The (model, recipe) run's GAN, compiled: a ``keras_wgan.presets`` recipe at ``--dim``."""
    import keras

    from keras_wgan import WGAN, WGANGP

    cls = WGAN if model == "wgan" else WGANGP
    common = {"dim": args.dim, "latent_dim": args.latent_dim, "seed": args.seed}
    if recipe == "original":  # the papers' optimizers, no weight average
        return cls.from_preset("original_experiment", **common)
    if recipe == "library":  # the library's defaults, untouched
        return cls.from_preset(args.preset, **common)
    if recipe == "conditional":
        from keras_wgan.data import CLASS_NAMES

        names = list(CLASS_NAMES.get(args.dataset, [str(k) for k in range(10)]))
        return cls.from_preset(args.preset, class_names=names, **common)
    # The defaults with the changes the recipe names.
    changes = dict(item.split("=") for item in recipe.split(","))
    ema = changes.get("ema")
    if ema is not None:
        common["ema_decay"] = None if ema == "off" else float(ema)
    rate = float(changes["rate"]) if "rate" in changes else None
    kind = changes.get("optimizer")
    if kind is None:  # the class's own optimizers, at the rate asked for
        return cls.from_preset(args.preset, learning_rate=rate, **common)
    gan = cls.from_preset(args.preset, compile=False, **common)
    optimizers = {}
    for arg in ("critic_optimizer", "generator_optimizer"):
        if kind == "adam":
            optimizer = keras.optimizers.Adam(beta_1=0.5, beta_2=0.9)
        else:
            optimizer = keras.optimizers.RMSprop()
        if rate is not None:
            optimizer.learning_rate = rate
        optimizers[arg] = optimizer
    gan.compile(**optimizers)
    return gan


def run_child(args):
    """One (model, recipe) run: train for the CPU budget, scoring every eval period."""
    import keras
    import tensorflow as tf
    from keras import ops

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(max(1, args.threads))
    from keras_wgan.callbacks import SampleGrid
    from keras_wgan.data import load_dataset
    from keras_wgan.evaluation import DomainYardstick

    model, recipe = args.run.split(":")
    keras.utils.set_random_seed(args.seed)
    yardstick = DomainYardstick.for_dataset(args.dataset, (32, 32, 1), data_dir=args.data_dir,
                                            cache_dir=args.cache_dir, kid_num_subsets=20)
    floor = yardstick.floor(args.n_eval, seed=args.seed)
    conditional = recipe == "conditional"
    data = load_dataset(args.dataset, batch_size=args.batch_size, seed=args.seed,
                        data_dir=args.data_dir, labels=conditional).repeat()
    gan = build_gan(model, recipe, args)
    # Conditional models are scored on an equal mix of the classes.
    eval_labels = np.arange(args.n_eval) % gan.num_classes if conditional else None
    ceiling = yardstick.class_accuracy_real() if conditional else None
    out = os.path.join(args.out, f"{model}-{recipe}")
    os.makedirs(out, exist_ok=True)

    budget, period = args.budget_minutes * 60, args.eval_every * 60
    curve = []

    class Budget(keras.callbacks.Callback):
        """Scores at each period of training CPU time; stops at the budget."""

        def __init__(self):
            super().__init__()
            self.start = time.process_time()
            self.scoring = 0.0  # CPU seconds spent scoring, excluded from the budget
            self.next_eval = period

        def trained(self):
            return time.process_time() - self.start - self.scoring

        def on_train_batch_end(self, batch, logs=None):
            used = self.trained()
            if used < self.next_eval:
                return
            t0 = time.process_time()
            images = gan.generate(args.n_eval, seed=args.seed, labels=eval_labels)
            figures = yardstick.score(images, seed=args.seed)
            curve.append({
                "cpu_minutes": round(used / 60, 2),
                "generator_updates": int(gan.generator_optimizer.iterations),
                **{k: figures[k] for k in ("fd", "kd", "is", "modes_covered")},
            })
            if conditional:
                accuracy = yardstick.class_accuracy(images, eval_labels)
                curve[-1].update({
                    "class_accuracy": accuracy["mean"],
                    "class_accuracy_per_class": accuracy["per_class"],
                    "class_accuracy_real": ceiling["mean"],
                })
            elif gan.ema_generator is not None:
                # The same training sampled from the live generator (same noise): what
                # the weight average itself adds, without a second run.
                noise = keras.random.normal((args.n_eval, gan.latent_dim), seed=args.seed)
                live = yardstick.score(ops.convert_to_numpy(gan.generator.predict(
                    noise, batch_size=256, verbose=0)), seed=args.seed)
                curve[-1].update({f"live_{k}": live[k] for k in ("fd", "is")})
            print(f"[{model}/{recipe}] {curve[-1]}", flush=True)
            self.scoring += time.process_time() - t0
            self.next_eval += period
            if used >= budget:
                self.model.stop_training = True

    # 100-step epochs (a multiple of n_critic); the budget callback ends training.
    gan.fit(data, epochs=1_000_000, steps_per_epoch=100, verbose=0,
            callbacks=[Budget(), SampleGrid(os.path.join(out, "samples"), num_samples=64,
                                            every_n_epochs=50)])
    gan.save(os.path.join(out, "model.keras"))
    from keras_wgan.images import save_image_grid

    if conditional:  # one row per class, the same ten noise vectors on every row
        rows = np.repeat(np.arange(gan.num_classes), 10)
        noise = np.tile(np.random.default_rng(args.seed).standard_normal(
            (10, gan.latent_dim)).astype("float32"), (gan.num_classes, 1))
        save_image_grid(gan.generate_from_noise(noise, labels=rows),
                        os.path.join(out, "final.png"), columns=10)
    else:
        save_image_grid(gan.generate(64, seed=args.seed), os.path.join(out, "final.png"))
    result = {"model": model, "recipe": recipe, "curve": curve, "floor": {
        k: floor[k] for k in ("fd", "kd", "is", "modes_covered")},
        "settings": {k: v for k, v in vars(args).items() if k != "run"}}
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(result, f, indent=2)
    return 0


def print_table(results):
    floor = results[0]["floor"]
    print(f"\nReal-data floor ({results[0]['settings']['n_eval']} real training images vs "
          f"the test split): fd {floor['fd']:.3f}  kd {floor['kd']:.4f}  is {floor['is']:.3f}"
          f"  modes {floor['modes_covered']}/10")
    print("(live fd / live is: the same run sampled from the live generator instead of "
          "the weight average)")
    print("(cond acc: conditional accuracy, the share of images generated for class k that "
          "the classifier assigns to k; real: its accuracy on real test images)")
    print(f"{'run':<24}{'cpu min':>8}{'gen upd':>9}{'fd':>10}{'kd':>9}{'is':>8}{'modes':>7}"
          f"{'live fd':>9}{'live is':>9}{'cond acc':>10}{'real':>7}")
    for result in results:
        for point in result["curve"]:
            live = (f"{point['live_fd']:>9.3f}{point['live_is']:>9.3f}" if "live_fd" in point
                    else f"{'-':>9}{'-':>9}")
            accuracy = (f"{point['class_accuracy']:>10.3f}{point['class_accuracy_real']:>7.3f}"
                        if "class_accuracy" in point else f"{'-':>10}{'-':>7}")
            print(f"{result['model'] + '/' + result['recipe']:<24}{point['cpu_minutes']:>8.1f}"
                  f"{point['generator_updates']:>9d}{point['fd']:>10.3f}{point['kd']:>9.4f}"
                  f"{point['is']:>8.3f}{point['modes_covered']:>7d}{live}{accuracy}")


def main(argv=None):
    args = parse_args(argv)
    if args.run:
        return run_child(args)
    os.makedirs(args.out, exist_ok=True)
    # Train (or load) the yardstick once here, so parallel children only read the cache.
    from keras_wgan.evaluation import DomainYardstick

    DomainYardstick.for_dataset(args.dataset, (32, 32, 1), data_dir=args.data_dir,
                                cache_dir=args.cache_dir)
    runs = [f"{m}:{r}" for m in args.models for r in args.recipes]
    base = [sys.executable, os.path.abspath(__file__)] + [
        a for a in (argv if argv is not None else sys.argv[1:])]
    pending, active, start = list(runs), [], time.time()
    while pending or active:
        while pending and len(active) < args.parallel:
            run = pending.pop(0)
            print(f"starting {run}", flush=True)
            active.append(subprocess.Popen(base + ["--run", run]))
        time.sleep(5)
        for proc in [p for p in active if p.poll() is not None]:
            active.remove(proc)
            if proc.returncode:
                print(f"a run failed with exit code {proc.returncode}", file=sys.stderr)
                return proc.returncode
    print(f"all runs done in {(time.time() - start) / 60:.1f} wall minutes")
    results = []
    for run in runs:
        model, recipe = run.split(":")
        with open(os.path.join(args.out, f"{model}-{recipe}", "result.json")) as f:
            results.append(json.load(f))
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
