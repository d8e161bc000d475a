"""`keras-wgan nearest`: whether a model copies its training set, measured and shown.

Samples beside their nearest training images, and the distance ratio against held-out
real images (:mod:`keras_wgan.evaluation.memorisation`).
"""


import numpy as np

from keras_wgan.cli.common import (
    PROG,
    CliError,
    check_model_path,
    load_gan,
    non_negative_int,
    positive_int,
)

NEIGHBOURS = 3


def add_parser(subparsers):
    p = subparsers.add_parser(
        "nearest",
        help="is it memorising? samples beside their nearest training images",
        description=(
            "Write a picture of generated samples, each beside its three nearest training "
            "images in the domain yardstick's feature space, and print the mean distance "
            "from generated samples to their nearest training image divided by the same "
            "for held-out real images: about 1 is healthy, well below 1 means copies."
        ),
    )
    p.add_argument("model_path", metavar="MODEL.keras", help="a model saved by train")
    p.add_argument("--dataset", default="fashion_mnist",
                   help="the dataset the model was trained on (as for evaluate); default "
                        "fashion_mnist")
    p.add_argument("--data-dir", default=None, help="folder with the dataset's IDX files")
    p.add_argument("--out", default="nearest.png", help="the picture; default nearest.png")
    p.add_argument("--rows", type=positive_int, default=8,
                   help="samples shown, one per row; default 8")
    p.add_argument("--n", type=positive_int, default=1000,
                   help="samples measured for the ratio; default 1000")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="the first seed (samples are seeds SEED..SEED+N-1); default 0")
    p.add_argument("--cache-dir", default=None, help="where the yardstick is cached")
    p.set_defaults(func=run_nearest)


def run_nearest(args):
    from keras_wgan.data import DataUnavailableError
    from keras_wgan.evaluation import DomainYardstick
    from keras_wgan.evaluation.memorisation import memorisation_ratio
    from keras_wgan.images import save_image_grid

    check_model_path(args.model_path)
    gan = load_gan(args.model_path, compile=False)
    if len(gan.sample_shape) != 3:
        raise CliError(f"{args.model_path!r} does not generate images; nearest needs an "
                       "image model.")
    print(f"Yardstick: {args.dataset}'s classifier (trained once and cached; minutes on a "
          "CPU the first time).", flush=True)
    try:
        yardstick = DomainYardstick.for_dataset(args.dataset, gan.sample_shape,
                                                data_dir=args.data_dir,
                                                cache_dir=args.cache_dir)
    except (DataUnavailableError, FileNotFoundError, ValueError) as error:
        raise CliError(str(error)) from None
    n = max(args.n, args.rows)
    seeds = list(range(args.seed, args.seed + n))
    labels = None
    if gan.conditional:
        labels = np.arange(n) % gan.num_classes
    images = gan.generate(seeds=seeds, labels=labels)
    train = yardstick.train_images
    report = memorisation_ratio(yardstick.classifier.features(images),
                                yardstick.classifier.features(train),
                                yardstick.reference_features, k=NEIGHBOURS)
    rows = [np.concatenate([images[i:i + 1], train[report.indices[i]]])
            for i in range(args.rows)]
    try:
        save_image_grid(np.concatenate(rows), args.out, columns=1 + NEIGHBOURS)
    except OSError as error:
        raise CliError(f"cannot write --out {args.out!r}: {error.strerror or error}.") from None
    verdict = ("well below 1: samples sit on training images (copies)"
               if report.ratio < 0.5 else "about 1 or more: no sign of copying")
    print(f"\n{n} samples (seeds {seeds[0]}..{seeds[-1]}) vs {len(train)} training images "
          f"of {args.dataset}, in the yardstick's features:")
    print(f"  mean distance to the nearest training image: generated "
          f"{report.generated_distance:.4f}, held-out real {report.heldout_distance:.4f}")
    print(f"  ratio {report.ratio:.3f} ({verdict})")
    print(f"Wrote {args.out}: each row a sample, then its {NEIGHBOURS} nearest training "
          f"images. Compare: {PROG} evaluate {args.model_path} --dataset {args.dataset}")
    return 0
