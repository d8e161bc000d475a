"""Your own nets through the registry: a family of your own, trained, saved and loaded.

What it shows: a family of nets is one ``keras_wgan.architectures.Architecture`` (its
name, a generator and a critic builder, the image sizes it takes, its default width,
what it suits); ``architectures.register`` adds it, and from then on every recipe takes
it by name (``WGANGP.from_preset(..., nets="tiny")``), as does ``keras-wgan train
--arch tiny`` in the same process. Builders are called by keyword with the settings
their signatures name (``latent_dim``, ``image_shape``, ``dim``; also ``num_classes``,
``auxiliary_classifier`` and ``clipping`` when they ask for them). The saved file holds
the nets as stock Keras layers, so ``keras.models.load_model`` needs only ``import
keras_wgan``, not the registration. To make ``--arch tiny`` work from the shell, publish
the family as an entry point of your package::

    [project.entry-points."keras_wgan.architectures"]
    tiny = "my_nets:tiny_family"

Full size (Fashion-MNIST from local IDX files or TFDS, 32x32)::

    python examples/your_own_nets.py --epochs 5 --out runs/tiny

Time on 2 cores, an estimate (not timed at full size): these nets have one layer
each side, a fraction of the DCGAN nets' 94 ms per critic step at dim 32, batch 64;
at most 1.5 minutes an epoch (937 steps), so at most 8 minutes for 5 epochs.

Smoke test (seconds, tiny sizes, made-up images)::

    python examples/your_own_nets.py --smoke

Writes into ``--out``: samples/epoch_NNN.png and model.keras.
"""

import argparse
import os
import tempfile

import numpy as np

import keras

from keras_wgan import WGANGP, architectures
from keras_wgan.callbacks import AtomicModelCheckpoint, SampleGrid
from keras_wgan.data import load_dataset


def tiny_generator(latent_dim, image_shape, dim):
    """Noise -> a (H/2, W/2, dim) map -> upsampled to the image, tanh into [-1, 1]."""
    height, width, channels = image_shape
    noise = keras.Input((latent_dim,))
    x = keras.layers.Dense(height * width * dim // 4, activation="relu")(noise)
    x = keras.layers.Reshape((height // 2, width // 2, dim))(x)
    x = keras.layers.UpSampling2D()(x)
    x = keras.layers.Conv2D(channels, 3, padding="same", activation="tanh")(x)
    return keras.Model(noise, x, name="tiny_generator")


def tiny_critic(image_shape, dim):
    """Image -> one strided convolution -> one score (no batch norm: WGAN-GP's penalty is
    per sample)."""
    images = keras.Input(image_shape)
    x = keras.layers.Conv2D(dim, 3, strides=2, padding="same")(images)
    x = keras.layers.LeakyReLU(0.2)(x)
    return keras.Model(images, keras.layers.Dense(1)(keras.layers.Flatten()(x)),
                       name="tiny_critic")


TINY = architectures.Architecture(
    "tiny", tiny_generator, tiny_critic,
    fits=lambda height, width: height % 2 == 0 and width % 2 == 0,
    sizes_rule="even sides", default_width=32, suits="quick experiments on small images")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="fashion_mnist",
                        help="any source load_dataset takes; default fashion_mnist")
    parser.add_argument("--data-dir", default=None, help="folder with the IDX files")
    parser.add_argument("--out", default="runs/tiny", help="output folder")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--dim", type=int, default=None,
                        help="width of the nets; default: the family's (32)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true",
                        help="seconds: 16 px, dim 4, one short epoch, made-up images unless "
                             "--data is given, --out in a temp folder unless given")
    args = parser.parse_args()
    if args.smoke:
        args.epochs, args.batch_size, args.dim = 1, 8, 4
        if args.out == parser.get_default("out"):
            args.out = tempfile.mkdtemp(prefix="tiny-")
    return args


def main():
    args = parse_args()
    keras.utils.set_random_seed(args.seed)
    if "tiny" not in architectures.names():
        architectures.register(TINY)
    print("Registered families:", ", ".join(architectures.names("images")))

    size = 16 if args.smoke else 32
    source = args.data
    if args.smoke and source == "fashion_mnist":  # 40 made-up images instead
        source = np.random.default_rng(args.seed).integers(0, 256, (40, 28, 28),
                                                           dtype=np.uint8)
    dataset = load_dataset(source, image_size=size, channels=1, batch_size=args.batch_size,
                           seed=args.seed, data_dir=args.data_dir)

    # The library's recipe with your nets: optimizers, weight average, n_critic as usual.
    gan = WGANGP.from_preset("fashion_mnist_32", nets="tiny", image_shape=(size, size, 1),
                             dim=args.dim or TINY.default_width,
                             latent_dim=8 if args.smoke else 128, seed=args.seed)
    gan.generator.summary()
    path = os.path.join(args.out, "model.keras")
    gan.fit(dataset, epochs=args.epochs, shuffle=False, callbacks=[
        SampleGrid(os.path.join(args.out, "samples"), num_samples=16, seed=args.seed),
        AtomicModelCheckpoint(path),
    ], verbose=2 if args.smoke else "auto")

    # The file needs no registration to load: its nets are stock Keras layers.
    architectures.unregister("tiny")
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.generate(seeds=[0, 1]), gan.generate(seeds=[0, 1]),
                               atol=1e-5)
    print(f"Done: {path} loads without the registration and draws the same images.")


if __name__ == "__main__":
    main()
