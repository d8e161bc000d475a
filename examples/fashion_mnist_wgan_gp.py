"""WGAN-GP on Fashion-MNIST: the original experiment as a plain compile/fit script.

The original experiment's settings (``keras_wgan.presets``' ``"original_experiment"``),
which are this script's defaults:

- its DCGAN-style nets (``keras_wgan.architectures``) at DIM=128; the critic has no
  batch normalisation (the penalty is per sample);
- Fashion-MNIST resized to 32x32, batches of 64, images in [-1, 1];
- Adam(learning_rate=1e-4, beta_1=0.5, beta_2=0.9) for both nets, gradient-penalty
  weight (lambda) 10, 5 critic updates per generator update;
- 200,000 generator updates (``--generator-steps``), the WGAN-GP paper's MNIST setting
  (ITERS in its reference gan_mnist.py), i.e. 1,000,000 critic steps.

One Keras step is one critic update (WGANGP's train_step); every 5th also updates
the generator. An "epoch" is ``--steps-per-epoch`` steps over the repeated data, and
the run has as many epochs as needed for ``--generator-steps`` (rounded up).

Full run (GPU): ``python examples/fashion_mnist_wgan_gp.py``
A few minutes on a CPU::

    python examples/fashion_mnist_wgan_gp.py --dim 16 --batch-size 32 \\
        --generator-steps 300 --steps-per-epoch 500 --out runs/example-wgan-gp

Time on 2 cores: the few-minutes command above about 3-5 minutes; the full run is
for a GPU (1,000,000 critic steps at DIM 128: weeks on 2 cores, an estimate).

Smoke test (seconds: tiny nets, made-up images, a temp folder)::

    python examples/fashion_mnist_wgan_gp.py --smoke

Writes into ``--out``: model.keras (after every epoch, atomically), samples/epoch_NNN.png,
history.csv, history_batches.csv and losses.png. Fashion-MNIST is read from local IDX
files when found (``--data-dir`` or $KERAS_WGAN_DATA_DIR), else through TFDS.
For a resumable run with the same nets, use ``keras-wgan train --model wgan-gp``.
"""

import argparse
import math
import os
import tempfile

import numpy as np

import keras

from keras_wgan import WGANGP
from keras_wgan.callbacks import AtomicModelCheckpoint, LossHistory, SampleGrid
from keras_wgan.data import load_dataset
from keras_wgan.presets import get_preset

# The recipe (nets, settings, optimizers) lives in keras_wgan.presets.
PRESET = "original_experiment"
IMAGE_SHAPE = get_preset(PRESET)["image_shape"]
N_CRITIC = get_preset(PRESET)["n_critic"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dim", type=int, default=128,
                        help="width of the nets (the original experiment: 128)")
    parser.add_argument("--generator-steps", type=int, default=200_000,
                        help="generator updates in total (the original experiment: 200,000)")
    parser.add_argument("--steps-per-epoch", type=int, default=1000,
                        help="critic steps per epoch, a multiple of 5 (default 1000)")
    parser.add_argument("--batch-size", type=int, default=64, help="the original experiment: 64")
    parser.add_argument("--out", default="runs/example-wgan-gp", help="output directory")
    parser.add_argument("--data-dir", default=None, help="folder with Fashion-MNIST IDX files")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true",
                        help="seconds: DIM 4, 5 critic steps, made-up images, --out in a "
                             "temp folder unless given")
    args = parser.parse_args()
    if args.smoke:
        args.dim, args.generator_steps, args.steps_per_epoch, args.batch_size = 4, 1, 5, 8
        if args.out == parser.get_default("out"):
            args.out = tempfile.mkdtemp(prefix="example-wgan-gp-")
    for name in ("dim", "generator_steps", "steps_per_epoch", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    if args.steps_per_epoch % N_CRITIC:
        parser.error(f"--steps-per-epoch must be a multiple of n_critic={N_CRITIC}")
    return args


def build_gan(dim, seed):
    """The original experiment's WGAN-GP at width ``dim``, compiled with the papers' optimizers.

    Without weight averaging: the original experiment sampled its live generator (the
    library's default averages, ``ema_decay=0.999``). ``gan.compile(**gan.paper_optimizers())``
    on nets of your own gives the same optimizers.
    """
    return WGANGP.from_preset(PRESET, dim=dim, seed=seed)


def main():
    args = parse_args()
    keras.utils.set_random_seed(args.seed)

    # Repeated, so an epoch of --steps-per-epoch steps never runs out of data.
    # --smoke: 40 made-up 28x28 images in place of Fashion-MNIST.
    source = (np.random.default_rng(args.seed).integers(0, 256, (40, 28, 28), dtype=np.uint8)
              if args.smoke else "fashion_mnist")
    dataset = load_dataset(
        source, image_size=IMAGE_SHAPE[0], batch_size=args.batch_size,
        seed=args.seed, data_dir=args.data_dir,
    ).repeat()

    gan = build_gan(args.dim, args.seed)

    epochs = math.ceil(args.generator_steps * N_CRITIC / args.steps_per_epoch)
    print(f"{epochs} epochs of {args.steps_per_epoch} critic steps = "
          f"{epochs * args.steps_per_epoch // N_CRITIC} generator steps; writing to {args.out}")
    gan.fit(
        dataset,
        epochs=epochs,
        steps_per_epoch=args.steps_per_epoch,
        shuffle=False,  # load_dataset shuffles
        callbacks=[
            LossHistory(args.out),
            SampleGrid(os.path.join(args.out, "samples"), num_samples=16 if args.smoke else 64,
                       seed=args.seed),
            AtomicModelCheckpoint(os.path.join(args.out, "model.keras")),
        ],
        verbose=2 if args.smoke else "auto",
    )
    print(f"Done: {args.out}/model.keras, {args.out}/samples/, {args.out}/losses.png")


if __name__ == "__main__":
    main()
