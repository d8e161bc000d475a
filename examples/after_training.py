"""After training: images by seed, a walk through the noise, and the memorisation check.

What it shows, from a saved ``model.keras`` (``import keras_wgan`` before
``keras.models.load_model``: Keras imports only its own packages while loading, so
without it the load fails with ``Could not locate class 'WGANGP'``):

- **images by seed**: ``gan.generate(seeds=...)`` draws each image from its own seed's
  noise, so seed 42 gives the same image whatever else is drawn with it;
  ``generation.write_seed_images`` writes them as seedNNNNNN.png; ``truncation=t``
  trades variety for typical samples;
- **a walk**: ``generation.walk_images`` interpolates spherically from each seed's noise
  to the next and back; ``generation.save_animation`` writes the frames as a GIF;
- **the memorisation check**: ``evaluation.memorisation.memorisation_ratio`` compares the
  distance from samples to their nearest training image with the same for held-out real
  images, in the features of the dataset's yardstick classifier. About 1 is healthy;
  well below 1 means the samples sit on training images (copies).

Full size (a model trained on Fashion-MNIST, e.g. by ``keras-wgan train``)::

    python examples/after_training.py --model runs/wgan-gp-fashion_mnist/model.keras \\
        --data fashion_mnist --out after

Time on 2 cores: seconds for the images and the walk (hundreds of 32x32 images per
second); the yardstick's classifier trains once, a few minutes, then it is cached
(an estimate, not timed here). The same from the command line: ``keras-wgan generate``,
``keras-wgan interpolate`` and ``keras-wgan nearest``.

Smoke test (seconds: trains a tiny model on made-up pictures first, and a one-epoch
classifier whose figures mean nothing)::

    python examples/after_training.py --smoke

Writes into ``--out``: seeds/seedNNNNNN.png, truncated/seedNNNNNN.png, walk.gif and
nearest.png (samples, each beside its three nearest training images).
"""

import argparse
import os
import tempfile

import numpy as np

import keras

import keras_wgan  # registers the model classes, so load_model finds them
from keras_wgan import generation
from keras_wgan.evaluation import DomainYardstick, load_or_train_classifier, rotations
from keras_wgan.evaluation.memorisation import memorisation_ratio
from keras_wgan.images import save_image_grid, to_uint8, write_png


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a model.keras (or best.keras) saved by training")
    parser.add_argument("--data", default="fashion_mnist",
                        help="the data the model was trained on, for the memorisation check: "
                             "a labelled dataset name, an IDX folder or a folder of pictures")
    parser.add_argument("--data-dir", default=None, help="folder with the IDX files")
    parser.add_argument("--out", default="after", help="output folder")
    parser.add_argument("--seeds", default="0-15", help="seeds of the images, e.g. 0-99 or 3,17,42")
    parser.add_argument("--walk-seeds", default="3,17,42", help="the seeds the walk visits")
    parser.add_argument("--steps", type=int, default=30, help="frames from one seed to the next")
    parser.add_argument("--n", type=int, default=1000, help="samples measured for the ratio")
    parser.add_argument("--smoke", action="store_true",
                        help="seconds: train a tiny model first (made-up pictures unless "
                             "--data is a folder), 4 frames per step, a one-epoch classifier; "
                             "--out in a temp folder unless given")
    args = parser.parse_args()
    if args.smoke:
        args.steps, args.n = 4, 40
        if args.out == parser.get_default("out"):
            args.out = tempfile.mkdtemp(prefix="after-")
    elif args.model is None:
        parser.error("--model MODEL.keras is required (or --smoke to train a tiny one)")
    return args


def tiny_model(args):
    """--smoke: a tiny model trained for a few steps on a folder of pictures."""
    from keras_wgan import WGANGP
    from keras_wgan.data import load_dataset

    if args.data == "fashion_mnist":  # made-up pictures instead, in --out
        args.data = os.path.join(args.out, "pictures")
        rng = np.random.default_rng(0)
        for i in range(40):
            write_png(rng.integers(0, 256, (16, 16), dtype=np.uint8),
                      os.path.join(args.data, f"p{i:02d}.png"))
    keras.utils.set_random_seed(0)
    gan = WGANGP.from_preset("fashion_mnist_32", image_shape=(16, 16, 1), dim=4,
                             latent_dim=8, seed=0)
    gan.fit(load_dataset(args.data, image_size=16, channels=1, batch_size=8, seed=0),
            epochs=1, shuffle=False, verbose=0)
    path = os.path.join(args.out, "model.keras")
    gan.save(path)
    return path


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.smoke and args.model is None:
        args.model = tiny_model(args)
    gan = keras.models.load_model(args.model)
    print(f"{args.model}: a {type(gan).__name__} drawing {gan.sample_shape} images")

    # Images by seed: each seed's image is the same whatever is drawn beside it.
    seeds = generation.parse_seeds(args.seeds)
    images = gan.generate(seeds=seeds)  # numpy, in [-1, 1]
    generation.write_seed_images(os.path.join(args.out, "seeds"), seeds, images)
    assert np.allclose(gan.generate(seeds=seeds[-1:]), images[-1:], atol=1e-5)
    truncated = gan.generate(seeds=seeds, truncation=0.7)  # noise cut at |0.7|
    generation.write_seed_images(os.path.join(args.out, "truncated"), seeds, truncated)

    # A looping walk through the seeds' noise, as a GIF.
    frames = generation.walk_images(gan, generation.parse_seeds(args.walk_seeds), args.steps)
    walk = generation.save_animation(to_uint8(frames), os.path.join(args.out, "walk.gif"))
    print(f"Wrote {len(seeds)} images by seed, {len(frames)} frames in {walk}")

    # The memorisation check, in the features of the dataset's classifier.
    if args.smoke:  # a one-epoch classifier: seconds, its figures mean nothing
        from keras_wgan.data import load_labelled_arrays

        shape = gan.sample_shape
        train, _ = load_labelled_arrays(args.data, "train", image_size=shape[:2],
                                        channels=shape[2])
        test, _ = load_labelled_arrays(args.data, "test", image_size=shape[:2],
                                       channels=shape[2])
        classifier = load_or_train_classifier("smoke", *rotations(train), epochs=1,
                                              cache_dir=os.path.join(args.out, "cache"))
        yardstick = DomainYardstick(classifier, test, train, labelled=False)
    else:  # trained once on the dataset's training split (minutes), then cached
        yardstick = DomainYardstick.for_dataset(args.data, gan.sample_shape,
                                                data_dir=args.data_dir)
    samples = gan.generate(seeds=range(args.n))
    train = yardstick.train_images
    report = memorisation_ratio(yardstick.classifier.features(samples),
                                yardstick.classifier.features(train),
                                yardstick.reference_features, k=3)
    rows = [np.concatenate([samples[i:i + 1], train[report.indices[i]]]) for i in range(8)]
    save_image_grid(np.concatenate(rows), os.path.join(args.out, "nearest.png"), columns=4)
    print(f"Memorisation ratio {report.ratio:.3f} (generated {report.generated_distance:.4f} "
          f"vs held-out real {report.heldout_distance:.4f} from the nearest training image; "
          "about 1 is healthy, well below 1 means copies)")


if __name__ == "__main__":
    main()
