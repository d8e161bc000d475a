"""The truncation trick's fidelity/diversity trade-off, measured with the domain yardstick.

For a saved model, generates the same seeds at each truncation t (noise components beyond
|t| drawn again; ``off`` = the model as trained) and scores them against the real test
split: fd and kd (lower is better), the Inception-score analogue ``is`` (higher: confident
and varied classes) and the classes covered, beside the real-data floor.

    python benchmarks/truncation_quality.py runs/readme-wgan-gp/model.keras \\
        --dataset fashion_mnist --n 10000
"""

import argparse
import sys

import numpy as np

TRUNCATIONS = ("0.5", "0.75", "1.0", "1.5", "off")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--truncations", nargs="+", default=list(TRUNCATIONS))
    args = parser.parse_args(argv)

    import keras

    import keras_wgan  # noqa: F401 - registers the classes for loading
    from keras_wgan.evaluation import DomainYardstick

    gan = keras.models.load_model(args.model, compile=False)
    yardstick = DomainYardstick.for_dataset(args.dataset, gan.sample_shape,
                                            data_dir=args.data_dir, verbose=2)
    n = min(args.n, yardstick.train_images.shape[0])
    labels = np.arange(n) % gan.num_classes if gan.conditional else None
    print(f"{args.model}: {n} images per row (seeds 0..{n - 1}), {args.dataset} yardstick")
    print(f"{'truncation':<12}{'fd':>9}{'kd':>9}{'is':>8}{'classes':>9}")
    for text in args.truncations:
        t = None if text == "off" else float(text)
        images = gan.generate(seeds=range(n), labels=labels, truncation=t)
        f = yardstick.score(images)
        print(f"{text:<12}{f['fd']:>9.3f}{f['kd']:>9.4f}{f['is']:>8.3f}"
              f"{f['modes_covered']:>6d}/{f['num_classes']}", flush=True)
    f = yardstick.floor(n)
    print(f"{'real floor':<12}{f['fd']:>9.3f}{f['kd']:>9.4f}{f['is']:>8.3f}"
          f"{f['modes_covered']:>6d}/{f['num_classes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
