"""The per-step cost of differentiable augmentation: ``fit`` with and without ``augment=``.

For each image shape, builds the DCGAN or ResNet nets (``--nets``,
``keras_wgan.architectures``) and times
WGAN-GP's ``fit`` (the library's defaults) with ``augment=None`` and with each policy, in
one process and in alternation: round after round, each variant trains ``--steps`` train
steps (whole n_critic blocks) on the same random batch, so a background load that comes
and goes hits every variant alike. Printed: the median time per train step over the
rounds, and its ratio to the baseline's (``augment=None``) of the same rounds. A train
step is one critic update plus, every ``n_critic`` steps, one generator update: what
``fit`` reports per batch.

TensorFlow (the backend's default compile settings)::

    KERAS_BACKEND=tensorflow python benchmarks/augment_speed.py \\
        --shapes 32x32x3 64x64x3 --batch-size 64 --rounds 5 --steps 10
    KERAS_BACKEND=tensorflow python benchmarks/augment_speed.py --nets resnet --dim 64 \\
        --shapes 32x32x3 64x64x3 --batch-size 32 --rounds 3 --steps 5 \\
        --policies color,translation,cutout
"""

import argparse
import os
import statistics
import time

import numpy as np

POLICIES = ("color", "translation", "cutout", "color,translation,cutout")


def shape(text):
    height, width, channels = (int(v) for v in text.lower().split("x"))
    return height, width, channels


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="+", type=shape, default=[(32, 32, 3), (64, 64, 3)])
    parser.add_argument("--policies", nargs="+", default=list(POLICIES))
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--nets", choices=("dcgan", "resnet"), default="dcgan")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="train steps per round (n_critic 5)")
    parser.add_argument("--threads", type=int, default=0, help="TF intra-op threads (0: TF's)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras
    import tensorflow as tf

    class StepTimer(keras.callbacks.Callback):
        """From the first step's start to the last step's end (not fit's set-up)."""

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0:
                self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.elapsed = time.perf_counter() - self.start

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    from keras_wgan import WGANGP
    from keras_wgan import architectures

    if args.nets == "resnet":
        build_generator = architectures.build_resnet_generator
        build_critic = architectures.build_resnet_critic
    else:
        build_generator, build_critic = architectures.build_generator, architectures.build_critic

    print(f"backend {keras.backend.backend()}, batch {args.batch_size}, {args.nets} nets at dim "
          f"{args.dim}, {args.steps} steps x {args.rounds} rounds, "
          f"{os.cpu_count()} CPUs visible, threads {args.threads or 'default'}")
    print("| image | augment | ms / train step (median) | vs none |")
    print("| --- | --- | --- | --- |")
    for image_shape in args.shapes:
        batch = np.random.default_rng(0).uniform(
            -1, 1, (args.batch_size,) + image_shape).astype("float32")
        data = tf.data.Dataset.from_tensors(batch).repeat()
        variants = {}
        for policy in [None] + list(args.policies):
            keras.utils.set_random_seed(0)
            gan = WGANGP(build_generator(128, image_shape, args.dim),
                         build_critic(image_shape, args.dim), seed=0, augment=policy)
            gan.compile()
            gan.fit(data, epochs=1, steps_per_epoch=args.steps, verbose=0)  # compile, warm up
            variants[policy] = (gan, [])
        for _ in range(args.rounds):
            for gan, times in variants.values():
                timer = StepTimer()
                gan.fit(data, epochs=1, steps_per_epoch=args.steps, verbose=0,
                        callbacks=[timer])
                times.append(timer.elapsed / args.steps)
        baseline = variants[None][1]
        for policy, (_, times) in variants.items():
            ratio = statistics.median(t / b for t, b in zip(times, baseline))
            print(f"| {'x'.join(map(str, image_shape))} | {policy} | "
                  f"{1000 * statistics.median(times):.1f} | {ratio:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
