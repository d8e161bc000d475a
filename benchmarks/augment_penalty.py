"""Where WGAN-GP's penalty goes under augmentation: augmented or plain interpolates, measured.

With ``augment=`` on, the critic scores augmented real and fake images. The gradient
penalty can be taken between those (``augmented``: the library's choice) or between the
plain real and fake images (``plain``). This script trains WGAN-GP on a small real
subset of Fashion-MNIST (``--subset`` images of the training split, 32x32, [-1, 1]) three
ways at equal CPU time, one thread each:

- ``none``: no augmentation;
- ``augmented``: ``augment=POLICY``, penalty between the augmented images (the default);
- ``plain``: ``augment=POLICY``, penalty between the plain images.

Every ``--eval-every`` CPU minutes it scores the generator with the offline domain
yardstick (fd / kd / is against the real test split; a classifier trained once on the
full training split) and measures the critic on 256 training images and 256 fakes:

- its mean input-gradient norm, and the penalty's E[(||grad|| - 1)^2], at plain
  interpolates (a*real + (1-a)*fake) and at augmented ones (a*T(real) + (1-a)*T(fake),
  T drawn as in training);
- the memorisation gap: mean D(training images) - mean D(held-out test images), both
  plain. A critic that memorises its few thousand images scores them above unseen
  images of the same distribution;
- the samples' pixel mean and standard deviation beside the training subset's: an
  augmentation that leaked into the samples (say, a contrast bias) would move them.

Data: ``--data`` is a ``.npz`` with ``x_train`` / ``y_train`` / ``x_test`` / ``y_test``
uint8 arrays (Fashion-MNIST's, e.g. /work/shared/data/fashion_mnist.npz). The figures in
the README::

    python benchmarks/augment_penalty.py --data /work/shared/data/fashion_mnist.npz \\
        --subset 2000 --budget-minutes 10 --eval-every 2.5 --out runs/augment_penalty
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

POLICY = "color,translation,cutout"
RUNS = ("none", "augmented", "plain")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help=".npz with x_train/y_train/x_test/y_test")
    parser.add_argument("--subset", type=int, default=2000, help="training images used")
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=RUNS)
    parser.add_argument("--policy", default=POLICY)
    parser.add_argument("--budget-minutes", type=float, default=10.0)
    parser.add_argument("--eval-every", type=float, default=2.5)
    parser.add_argument("--n-eval", type=int, default=2000)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--parallel", type=int, default=1, help="runs at once")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/augment_penalty")
    parser.add_argument("--child", choices=RUNS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def load_images(path, subset, seed):
    """(subset of train, train, train labels, test, test labels) at 32x32 in [-1, 1]."""
    import tensorflow as tf

    arrays = np.load(path)

    def convert(x):  # as keras_wgan.data's pipeline: scale, then bilinear resize up
        x = x[..., None].astype("float32") / 127.5 - 1.0
        return np.clip(tf.image.resize(x, (32, 32), method="bilinear").numpy(), -1, 1)

    train, test = convert(arrays["x_train"]), convert(arrays["x_test"])
    chosen = np.random.default_rng(seed).permutation(len(train))[:subset]
    return train[chosen], train, arrays["y_train"], test, arrays["y_test"]


def yardstick(args, train, train_labels, test, test_labels, subset):
    from keras_wgan.evaluation import DomainYardstick
    from keras_wgan.evaluation.domain_classifier import load_or_train_classifier

    classifier = load_or_train_classifier(
        "fashion_mnist_npz-32x32x1", train, train_labels,
        cache_dir=os.path.join(args.out, "cache"), seed=args.seed)
    # The floor is the training subset itself: what a generator that memorised it gets.
    return DomainYardstick(classifier, test, subset, name="fashion_mnist",
                           reference_labels=test_labels, kid_num_subsets=20)


def critic_figures(gan, policy, reals, held_out, seed):
    """Gradient norms at plain and augmented interpolates, and the memorisation gap."""
    import keras
    from keras import ops

    from keras_wgan.augment import apply_policy
    from keras_wgan.backend import input_gradients

    n = len(reals)
    rng = np.random.default_rng(seed)
    fakes = ops.convert_to_numpy(gan.generator(
        keras.random.normal((n, gan.latent_dim), seed=seed), training=False))

    def uniform(shape=()):
        return rng.uniform(size=(n,) + tuple(shape)).astype("float32")

    alpha = rng.uniform(size=(n, 1, 1, 1)).astype("float32")
    points = {
        "plain": alpha * reals + (1 - alpha) * fakes,
        "augmented": alpha * ops.convert_to_numpy(apply_policy(reals, policy, uniform))
        + (1 - alpha) * ops.convert_to_numpy(apply_policy(fakes, policy, uniform)),
    }
    figures = {}
    for name, x in points.items():
        grads = ops.convert_to_numpy(input_gradients(
            lambda v: gan.critic(v, training=False), ops.convert_to_tensor(x)))
        norms = np.sqrt((grads.reshape(n, -1) ** 2).sum(axis=1))
        figures[f"grad_norm_{name}"] = float(norms.mean())
        figures[f"penalty_{name}"] = float(((norms - 1) ** 2).mean())

    def mean_score(x):
        return float(ops.convert_to_numpy(gan.critic(x, training=False)).mean())

    figures["memorisation_gap"] = mean_score(reals) - mean_score(held_out)
    return figures


def run_child(args):
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(max(1, args.threads))
    from keras_wgan import WGANGP
    from keras_wgan.architectures import build_critic, build_generator
    from keras_wgan.images import save_image_grid

    run = args.child
    subset, train, train_labels, test, test_labels = load_images(
        args.data, args.subset, args.seed)
    ruler = yardstick(args, train, train_labels, test, test_labels, subset)
    floor = ruler.floor(args.n_eval, seed=args.seed)

    class PlainPenalty(WGANGP):
        _penalize_augmented = False

    keras.utils.set_random_seed(args.seed)
    cls = PlainPenalty if run == "plain" else WGANGP
    gan = cls(build_generator(128, (32, 32, 1), args.dim), build_critic((32, 32, 1), args.dim),
              seed=args.seed, augment=None if run == "none" else args.policy)
    gan.compile()
    data = (tf.data.Dataset.from_tensor_slices(subset)
            .shuffle(len(subset), seed=args.seed, reshuffle_each_iteration=True)
            .batch(args.batch_size, drop_remainder=True).repeat())
    rng = np.random.default_rng(args.seed + 1)
    probe_real = subset[rng.permutation(len(subset))[:256]]
    probe_held = test[rng.permutation(len(test))[:256]]
    budget, period = args.budget_minutes * 60, args.eval_every * 60
    curve = []

    class Budget(keras.callbacks.Callback):
        """Scores at each period of training CPU time (scoring excluded); stops at the budget."""

        def __init__(self):
            super().__init__()
            self.start, self.scoring, self.next_eval = time.process_time(), 0.0, period

        def on_train_batch_end(self, batch, logs=None):
            used = time.process_time() - self.start - self.scoring
            if used < self.next_eval:
                return
            t0 = time.process_time()
            images = gan.generate(args.n_eval, seed=args.seed)
            scores = ruler.score(images, seed=args.seed)
            curve.append({
                "cpu_minutes": round(used / 60, 2),
                "generator_updates": int(gan.generator_optimizer.iterations),
                **{k: scores[k] for k in ("fd", "kd", "is")},
                # A leak of the augmentation into the samples would shift these.
                "pixel_mean": float(images.mean()), "pixel_std": float(images.std()),
                **critic_figures(gan, args.policy, probe_real, probe_held, args.seed),
            })
            print(f"[{run}] {curve[-1]}", flush=True)
            self.scoring += time.process_time() - t0
            self.next_eval += period
            if used >= budget:
                self.model.stop_training = True

    gan.fit(data, epochs=1_000_000, steps_per_epoch=100, verbose=0, callbacks=[Budget()])
    out = os.path.join(args.out, run)
    os.makedirs(out, exist_ok=True)
    save_image_grid(gan.generate(64, seed=args.seed), os.path.join(out, "final.png"))
    gan.save(os.path.join(out, "model.keras"))
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump({"run": run, "curve": curve,
                   "floor": {**{k: floor[k] for k in ("fd", "kd", "is")},
                             "pixel_mean": float(subset.mean()),
                             "pixel_std": float(subset.std())},
                   "settings": {k: v for k, v in vars(args).items() if k != "child"}},
                  f, indent=2)
    return 0


def print_table(results):
    floor = {"pixel_mean": float("nan"), "pixel_std": float("nan"), **results[0]["floor"]}
    print(f"\nFloor (the {results[0]['settings']['subset']}-image training subset itself): "
          f"fd {floor['fd']:.2f}, is {floor['is']:.2f}, pixel mean {floor['pixel_mean']:.3f}, "
          f"std {floor['pixel_std']:.3f}")
    columns = ("generator_updates", "fd", "is", "grad_norm_plain", "penalty_plain",
               "grad_norm_augmented", "penalty_augmented", "memorisation_gap", "pixel_mean",
               "pixel_std")
    print("| run | CPU min | " + " | ".join(columns) + " |")
    print("|" + " --- |" * (len(columns) + 2))
    for result in results:
        for point in result["curve"]:
            cells = [f"{point[c]:.3f}" if isinstance(point.get(c), float) else
                     str(point.get(c, "-")) for c in columns]
            print(f"| {result['run']} | {point['cpu_minutes']:.1f} | " + " | ".join(cells) + " |")


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        return run_child(args)
    os.makedirs(args.out, exist_ok=True)
    # Train (or load) the yardstick's classifier once, before the runs share it.
    subset, train, train_labels, test, test_labels = load_images(args.data, args.subset,
                                                                 args.seed)
    yardstick(args, train, train_labels, test, test_labels, subset)
    base = [sys.executable, os.path.abspath(__file__)] + [
        a for a in (argv if argv is not None else sys.argv[1:])]
    pending, running = list(args.runs), []
    while pending or running:
        while pending and len(running) < args.parallel:
            run = pending.pop(0)
            running.append((run, subprocess.Popen(base + ["--child", run])))
        time.sleep(2)
        for run, process in list(running):
            if process.poll() is not None:
                running.remove((run, process))
                if process.returncode:
                    raise SystemExit(f"run {run} failed ({process.returncode})")
    results = []
    for run in args.runs:
        with open(os.path.join(args.out, run, "result.json")) as f:
            results.append(json.load(f))
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
