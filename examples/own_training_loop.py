"""Your own training script: ``fit_resumable``, a checkpoint inside epochs, the callbacks.

What it shows: the loop ``keras-wgan train`` runs, written out for you to change.
``checkpoints.TrainingCheckpoint`` saves the model *with its position* (epoch, step) every
N steps and at every epoch end; ``checkpoints.fit_resumable`` continues from that
position exactly (the batches already used are skipped, the optimizers' and the noise's
state restored), which Keras' ``BackupAndRestore`` does not (it replays an interrupted
epoch from its first batch); ``stop_on_signals`` turns Ctrl-C, SIGTERM or SIGHUP into a
save after the current step; ``MaxTime`` stops cleanly at a wall-clock limit (a SLURM
job's), also through the checkpoint. Beside them: ``LossHistory`` (CSV files appended to
across resumes, and a plot) and ``SampleGrid`` (the same noise every epoch); with
``--quality``, ``QualityMetrics`` scores samples with the dataset's yardstick and
``KeepBest`` keeps the epoch with the lowest fd as best.keras. Run the same command
again after a stop: it continues where it stopped, and says so.

Full size (Fashion-MNIST from local IDX files or TFDS, 32x32)::

    python examples/own_training_loop.py --epochs 20 --max-minutes 60 --quality --out runs/loop

Time on 2 cores, an estimate (not timed at full size): about 0.1 s per step at dim 32,
batch 64 (the README's Fashion-MNIST run measured 94 ms per critic step with these
nets), 900 steps per epoch, so about 1.5 minutes an epoch and 30 minutes for 20
epochs; ``--quality`` adds the yardstick (trained once, minutes, then cached) and a
score of 2,000 samples per epoch.

Smoke test (seconds, tiny sizes, made-up images; run it twice with a larger
``--epochs`` to see it resume)::

    python examples/own_training_loop.py --smoke

Writes into ``--out``: model.keras (with its position), history.csv,
history_batches.csv, losses.png, samples/epoch_NNN.png; with ``--quality`` also
best.keras and best.json.
"""

import argparse
import os
import tempfile

import numpy as np

import keras

from keras_wgan import WGANGP
from keras_wgan.callbacks import KeepBest, LossHistory, MaxTime, QualityMetrics, SampleGrid
from keras_wgan.checkpoints import (TrainingCheckpoint, fit_resumable, load_checkpoint,
                                    stop_on_signals)
from keras_wgan.data import load_dataset


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="fashion_mnist",
                        help="any source load_dataset takes; default fashion_mnist")
    parser.add_argument("--data-dir", default=None, help="folder with the IDX files")
    parser.add_argument("--out", default="runs/loop", help="output folder")
    parser.add_argument("--epochs", type=int, default=None,
                        help="the total to reach (a resumed run continues to it); default 20")
    parser.add_argument("--steps-per-epoch", type=int, default=900)
    parser.add_argument("--save-every-steps", type=int, default=300,
                        help="checkpoint inside epochs every N steps (and at epoch ends)")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="stop cleanly (saved) after this much wall-clock time")
    parser.add_argument("--quality", action="store_true",
                        help="score samples with the dataset's yardstick each epoch and keep "
                             "the best model (a labelled dataset: fashion_mnist, mnist)")
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true",
                        help="seconds: 16 px, dim 4, one epoch of 6 steps, made-up images "
                             "unless --data is given, --out in a temp folder unless given")
    args = parser.parse_args()
    if args.smoke:
        args.epochs = args.epochs or 1
        args.steps_per_epoch, args.save_every_steps, args.batch_size, args.dim = 6, 4, 8, 4
        if args.out == parser.get_default("out"):
            args.out = tempfile.mkdtemp(prefix="loop-")
    args.epochs = args.epochs or 20
    return args


def main():
    args = parse_args()
    size = 16 if args.smoke else 32
    source = args.data
    if args.smoke and source == "fashion_mnist":  # 40 made-up images instead
        source = np.random.default_rng(args.seed).integers(0, 256, (40, 28, 28),
                                                           dtype=np.uint8)

    def make_dataset():
        """The same endless stream on every call, so a resume can skip what was used."""
        return load_dataset(source, image_size=size, channels=1, batch_size=args.batch_size,
                            seed=args.seed, data_dir=args.data_dir).repeat()

    checkpoint = TrainingCheckpoint(os.path.join(args.out, "model.keras"),
                                    every_n_steps=args.save_every_steps)
    if os.path.exists(checkpoint.path):
        gan, state = load_checkpoint(checkpoint.path)  # the model and its position
        print(f"Resuming from {checkpoint.path}: {state.describe()}")
    else:
        keras.utils.set_random_seed(args.seed)
        gan = WGANGP.from_preset("fashion_mnist_32", image_shape=(size, size, 1),
                                 dim=args.dim, latent_dim=8 if args.smoke else 128,
                                 seed=args.seed)
        state = None

    callbacks = [LossHistory(args.out, flush_every=1),
                 SampleGrid(os.path.join(args.out, "samples"), num_samples=16, seed=args.seed)]
    if args.quality:  # trains the dataset's classifier once (minutes), then cached
        from keras_wgan.evaluation import DomainYardstick

        yardstick = DomainYardstick.for_dataset(args.data, gan.sample_shape,
                                                data_dir=args.data_dir)
        callbacks += [QualityMetrics(yardstick, every_n_epochs=1),  # before KeepBest
                      KeepBest(os.path.join(args.out, "best.keras"))]
    if args.max_minutes:
        callbacks.append(MaxTime(60 * args.max_minutes, stopper=checkpoint))
    callbacks.append(checkpoint)  # last: it saves what the others have logged

    with stop_on_signals(checkpoint):  # Ctrl-C / SIGTERM / SIGHUP: save, then stop
        fit_resumable(gan, make_dataset, epochs=args.epochs,
                      steps_per_epoch=args.steps_per_epoch, state=state,
                      checkpoint=checkpoint, callbacks=callbacks,
                      verbose=2 if args.smoke else "auto")
    if checkpoint.stop_requested:
        print("Stopped and saved; run the same command again to continue.")
    else:
        print(f"Done: {args.epochs} epochs in {checkpoint.path}")


if __name__ == "__main__":
    main()
