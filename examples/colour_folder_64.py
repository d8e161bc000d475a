"""Your own colour pictures at 64x64: WGAN-GP on a folder of PNG/JPEG files.

What it shows: ``load_dataset`` on a folder of image files (class sub-folders are
allowed and ignored here; RGBA is composited onto white), converted to 64x64 RGB in
[-1, 1]; the ``"small_colour_64"`` recipe (DCGAN nets at ``dim=32``, no augmentation,
the library's optimizers and weight average: what measured best at equal CPU time on
2 cores, the README table "Colour pictures at equal CPU time"); ``fit`` with the
callbacks that write a sample grid per epoch, the loss history and the model.

Full size (a folder of a few hundred pictures)::

    python examples/colour_folder_64.py --data ~/pictures --epochs 40 --out runs/colour64

Time on 2 cores, an estimate (this script was not timed at full size): about 0.5 CPU
seconds per critic step, from the colour table's runs of these nets (about 700 critic
steps in 6 CPU minutes), so 40 epochs of 500 pictures (7 steps of 64 each) take about
2-3 minutes and 10,000 pictures (156 steps per epoch) about an hour.
The same from the command line: ``keras-wgan train --dataset ~/pictures``.

Smoke test (seconds, tiny sizes, made-up pictures unless ``--data`` is given)::

    python examples/colour_folder_64.py --smoke

Writes into ``--out``: samples/epoch_NNN.png, history.csv, history_batches.csv,
losses.png and model.keras (after every epoch).
"""

import argparse
import os
import tempfile

import numpy as np

import keras

from keras_wgan import WGANGP
from keras_wgan.callbacks import AtomicModelCheckpoint, LossHistory, SampleGrid
from keras_wgan.data import load_dataset
from keras_wgan.images import write_png


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="a folder of PNG/JPEG/BMP/GIF pictures")
    parser.add_argument("--out", default="runs/colour64", help="output folder")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--image-size", type=int, default=64,
                        help="side in pixels; the DCGAN nets take multiples of 8")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true",
                        help="seconds: 16 px, tiny nets, one short epoch, made-up "
                             "pictures unless --data is given, --out in a temp folder "
                             "unless given")
    args = parser.parse_args()
    if args.smoke:
        args.epochs, args.batch_size, args.image_size = 1, 8, 16
        if args.out == parser.get_default("out"):
            args.out = tempfile.mkdtemp(prefix="colour64-")
    if args.data is None:
        if not args.smoke:
            parser.error("--data FOLDER is required (or --smoke for made-up pictures)")
        args.data = made_up_pictures(os.path.join(args.out, "pictures"))
    return args


def made_up_pictures(folder, count=40, size=20):
    """A few random colour PNGs, so the smoke test needs no data of yours."""
    rng = np.random.default_rng(0)
    for i in range(count):
        write_png(rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
                  os.path.join(folder, f"picture{i:02d}.png"))
    return folder


def main():
    args = parse_args()
    keras.utils.set_random_seed(args.seed)
    size = args.image_size

    # Every picture converted to size x size RGB in [-1, 1], shuffled per epoch.
    dataset = load_dataset(args.data, image_size=size, channels=3,
                           batch_size=args.batch_size, seed=args.seed)

    # The recipe that measured best for small colour folders on a CPU; one setting
    # changed by name (e.g. nets="resnet", augment="color,translation,cutout" on a GPU).
    overrides = dict(image_shape=(size, size, 3), seed=args.seed)
    if args.smoke:
        overrides.update(dim=4, latent_dim=8)
    gan = WGANGP.from_preset("small_colour_64", **overrides)

    gan.fit(dataset, epochs=args.epochs, shuffle=False, callbacks=[
        SampleGrid(os.path.join(args.out, "samples"), num_samples=16 if args.smoke else 64,
                   seed=args.seed),
        LossHistory(args.out),
        AtomicModelCheckpoint(os.path.join(args.out, "model.keras")),
    ], verbose=2 if args.smoke else "auto")
    print(f"Done: {args.out}/model.keras, {args.out}/samples/, {args.out}/losses.png")


if __name__ == "__main__":
    main()
