"""`keras-wgan nearest`: whether a model copies its training set, measured and shown.

Samples beside their nearest training images, the distance ratio against held-out real
images, and the share of samples closer to a training image than held-out images usually
are, those samples named and shown first (:mod:`keras_wgan.evaluation.memorisation`).

What is compared with what: a dataset with a test split (IDX, TFDS, a folder with
``train/`` and ``test/``): samples against the training images, and the test images, never
trained on, against the same. A folder without them: the model trained on every file, so
samples are compared with every file, and the baseline is each file against the others
(leave-one-out); the yardstick's held-out files would hide copies of themselves.
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
            "for held-out real images (about 1 is healthy, well below 1 means copies), "
            "and the share of samples closer to a training image than 95% of held-out "
            "images are (about 5% when nothing is copied), naming them."
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


#: Seeds of the flagged samples printed, at most (the rest counted).
NAMED_SEEDS = 20


def _plain_folder(dataset):
    """True for an image folder without train/test sub-folders: the model trained on
    every file of it."""
    import os

    from keras_wgan.data.folders import folder_has_splits
    from keras_wgan.data.idx import has_any_idx_images

    path = os.fspath(dataset)
    return os.path.isdir(path) and not has_any_idx_images(path) and \
        not folder_has_splits(path)


def run_nearest(args):
    from keras_wgan.data import DataUnavailableError
    from keras_wgan.evaluation import DomainYardstick
    from keras_wgan.evaluation.memorisation import (
        COPY_PERCENTILE,
        COPY_SHARE_ALERT,
        leave_one_out_distances,
        memorisation_ratio,
    )
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
    generated = yardstick.classifier.features(images)
    plain = _plain_folder(args.dataset)
    if plain:
        # Every file was trained on: all of them are the reference, and the baseline is
        # each file against the others.
        from keras_wgan.data import load_labelled_arrays

        height, width, channels = gan.sample_shape
        held = load_labelled_arrays(args.dataset, "test", image_size=(height, width),
                                    channels=channels)[0]
        train = np.concatenate([yardstick.train_images, held])
        features = np.concatenate([yardstick.classifier.features(yardstick.train_images),
                                   yardstick.reference_features])
        report = memorisation_ratio(generated, features, None, k=NEIGHBOURS,
                                    heldout_distances=leave_one_out_distances(features))
    else:
        train = yardstick.train_images
        report = memorisation_ratio(generated, yardstick.classifier.features(train),
                                    yardstick.reference_features, k=NEIGHBOURS)
    copied = [int(i) for i in report.copied]
    shown = (copied + [i for i in range(n) if i not in set(copied)])[:args.rows]
    rows = [np.concatenate([images[i:i + 1], train[report.indices[i]]]) for i in shown]
    try:
        save_image_grid(np.concatenate(rows), args.out, columns=1 + NEIGHBOURS)
    except OSError as error:
        raise CliError(f"cannot write --out {args.out!r}: {error.strerror or error}.") from None
    print(f"\n{n} samples (seeds {seeds[0]}..{seeds[-1]}) of {args.dataset}, in the "
          "yardstick's features:")
    if plain:
        print(f"  compared: the samples against all {len(train)} images of the folder (it "
              "has no train/test sub-folders, so the model trained on every one);\n"
              f"  baseline: each of those {len(train)} images against the other "
              f"{len(train) - 1} (no image of the folder is unseen by the model)")
    else:
        print(f"  compared: the samples against the {len(train)} training images;\n"
              f"  baseline: the {report.num_heldout} held-out test images (never trained "
              "on) against the same training images")
    print(f"  mean distance to the nearest training image: generated "
          f"{report.generated_distance:.4f}, baseline {report.heldout_distance:.4f}")
    ratio_note = ("well below 1: samples sit on training images" if report.ratio < 0.5
                  else "a mean: a model copying a share p of its samples scores about 1 - p")
    print(f"  ratio {report.ratio:.3f} ({ratio_note})")
    share = report.copy_share
    print(f"  closer than {100 - COPY_PERCENTILE}% of the baseline images are (distance < "
          f"{report.threshold:.4f}): {len(copied)} of {n} samples, share {share:.3f} "
          f"(about {COPY_PERCENTILE / 100:.2f} when nothing is copied)")
    if share > COPY_SHARE_ALERT or report.ratio < 0.5:
        verdict = (f"copying: about {max(share - COPY_PERCENTILE / 100, 0):.0%} of the "
                   "samples more than chance sit on training images")
    else:
        verdict = (f"no sign of copying (a share of at most {COPY_SHARE_ALERT:.2f} and a "
                   "ratio of at least 0.5)")
    print(f"  verdict: {verdict}")
    if copied:
        named = ", ".join(str(seeds[i]) for i in copied[:NAMED_SEEDS])
        more = f" and {len(copied) - NAMED_SEEDS} more" if len(copied) > NAMED_SEEDS else ""
        print(f"  those samples, nearest first (seeds): {named}{more}")
    print(f"Wrote {args.out}: each row a sample, then its {NEIGHBOURS} nearest training "
          f"images; the {min(len(copied), args.rows)} flagged samples first. Compare: "
          f"{PROG} evaluate {args.model_path} --dataset {args.dataset}")
    return 0
