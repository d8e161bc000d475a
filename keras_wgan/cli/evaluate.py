"""`keras-wgan evaluate`: a saved model's samples scored beside the real-data floor."""

import os
import sys

import numpy as np

from keras_wgan.cli.common import (
    CliError,
    check_model_path,
    load_gan,
    non_negative_int,
    positive_int,
    write_json,
)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "evaluate",
        help="score a saved model's samples with the offline domain yardstick",
        description=(
            "Generate N images from a saved model and score them against the real test "
            "split in the feature space of a small classifier trained once on the real "
            "training split (cached under $KERAS_WGAN_CACHE or ~/.cache/keras_wgan): "
            "Frechet distance, kernel distance, an Inception-score analogue and the class "
            "histogram. The same figures for N real training images are printed beside "
            "them as the floor."
        ),
    )
    p.add_argument("model_path", metavar="MODEL.keras", nargs="?", default=None,
                   help="a model saved by train (or, instead, --fake DIR)")
    p.add_argument("--dataset", default="fashion_mnist",
                   help="the dataset the model was trained on: fashion_mnist, mnist, an IDX "
                        "folder, a TFDS name with labels, or a folder of images (class "
                        "sub-folders, or none: then a rotation classifier gives the "
                        "features); default fashion_mnist")
    p.add_argument("--data-dir", default=None, help="folder with the dataset's IDX files")
    p.add_argument("--n", type=positive_int, default=10000,
                   help="generated (and real floor) images; default 10000")
    p.add_argument("--seed", type=non_negative_int, default=0, help="noise seed; default 0")
    p.add_argument("--cache-dir", default=None,
                   help="where the yardstick classifier is cached")
    p.add_argument("--fake", default=None, metavar="DIR",
                   help="score a folder of images (e.g. from `generate`) instead of a "
                        "model: fd and kd against --real's held-out images")
    p.add_argument("--real", default=None, metavar="DIR",
                   help="with --fake: the real images' folder (or dataset); default "
                        "--dataset")
    p.add_argument("--features", choices=("domain", "inception"), default="domain",
                   help="with --fake: the feature space of fd and kd: the domain yardstick's "
                        "(offline; default) or InceptionV3's (ImageNet weights, downloaded "
                        "once)")
    p.add_argument("--json", default=None, metavar="PATH",
                   help="also write the figures as JSON to PATH")
    p.set_defaults(func=run_evaluate)


def _shape(shape):
    return "x".join(str(d) for d in shape)


def _format_row(label, figures, labelled=True):
    if not labelled:  # a rotation classifier: its classes are no modes of the data
        return f"{label:<22}{figures['fd']:>12.3f}{figures['kd']:>12.4f}{'n/a':>10}{'n/a':>10}"
    return (f"{label:<22}{figures['fd']:>12.3f}{figures['kd']:>12.4f}{figures['is']:>10.3f}"
            f"{figures['modes_covered']:>8d}/{figures['num_classes']}")


def run_evaluate(args):
    """Print the yardstick's figures for a saved model beside the real-data floor."""
    if args.fake is not None:
        return _evaluate_folders(args)
    if args.features != "domain":
        raise CliError(f"--features {args.features} measures folders: add --fake DIR (e.g. "
                       f"from keras-wgan generate MODEL.keras --out DIR --n 10000), or drop "
                       "--features")
    if args.real is not None:
        raise CliError("--real goes with --fake DIR (a folder of images to score); for a "
                       "model, name its data with --dataset: keras-wgan evaluate MODEL.keras "
                       f"--dataset {args.real}")
    if args.model_path is None:
        raise CliError("give a model to score (keras-wgan evaluate runs/x/model.keras) or a "
                       "folder of images: keras-wgan evaluate --real REAL_DIR --fake DIR")
    check_model_path(args.model_path)
    gan = load_gan(args.model_path, compile=False)
    if len(gan.sample_shape) != 3:
        raise CliError(f"{args.model_path!r} does not generate images (sample shape "
                       f"{gan.sample_shape}); evaluate needs an image model.")

    from keras_wgan.data import DataUnavailableError
    from keras_wgan.evaluation import DomainYardstick

    cache = DomainYardstick.cache_path(args.dataset, gan.sample_shape, args.cache_dir)
    cached = cache.exists()
    if cached:
        print(f"Yardstick: the {args.dataset} classifier cached at {cache}.", flush=True)
    else:
        print(f"Yardstick: no {args.dataset} classifier for {_shape(gan.sample_shape)} images "
              f"is cached yet, so one is trained now on the real training split "
              "(minutes on a CPU, once per machine and image size). It will be cached "
              f"at {cache}.", flush=True)
    try:
        yardstick = DomainYardstick.for_dataset(
            args.dataset, gan.sample_shape, data_dir=args.data_dir, cache_dir=args.cache_dir,
            verbose=0 if cached else (1 if sys.stdout.isatty() else 2),
        )
    except (DataUnavailableError, FileNotFoundError, ValueError) as error:
        raise CliError(str(error)) from None
    if not cached:
        print(f"Cached the classifier at {cache}: later evaluations at this size load it "
              "in seconds (delete the file to retrain it).", flush=True)
    n = min(args.n, yardstick.train_images.shape[0])
    labels = None
    if gan.conditional:
        if gan.num_classes != yardstick.classifier.num_classes:
            raise CliError(
                f"{args.model_path!r} has {gan.num_classes} classes but the {args.dataset} "
                f"yardstick has {yardstick.classifier.num_classes}; pass the --dataset the "
                "model was trained on."
            )
        labels = np.arange(n) % gan.num_classes  # an equal mix of the classes
    images = gan.generate(n, seed=args.seed, labels=labels)
    generated = yardstick.score(images, seed=args.seed)
    floor = yardstick.floor(n, seed=args.seed)
    print(f"\n{n} images vs the real {args.dataset} test split "
          f"(classifier features; lower fd/kd is better, higher is is better)")
    print(f"{'':<22}{'fd':>12}{'kd':>12}{'is':>10}{'modes':>10}")
    print(_format_row("generated", generated, yardstick.labelled))
    print(_format_row("real train (floor)", floor, yardstick.labelled))
    if yardstick.labelled:
        print("class histogram (generated):",
              " ".join(f"{h:.3f}" for h in generated["class_histogram"]))
        print("class histogram (real):     ",
              " ".join(f"{h:.3f}" for h in floor["class_histogram"]))
    else:
        print(f"{args.dataset} has no class sub-folders: the features are those of a "
              "classifier of quarter turns trained on its images, so fd and kd compare the "
              "pictures; is and modes would only count turns.")
    report = {"model": args.model_path, "dataset": args.dataset, "seed": args.seed,
              "labelled": yardstick.labelled, "generated": generated, "floor": floor}
    if labels is not None:
        report["class_accuracy"] = _print_class_accuracy(gan, yardstick, images, labels)
    if args.json:
        write_json(args.json, report)
        print(f"Wrote {args.json}")
    return 0


def _print_class_accuracy(gan, yardstick, images, labels):
    """Print and return the conditional accuracy beside the classifier's real-image ceiling."""
    generated = yardstick.class_accuracy(images, labels)
    real = yardstick.class_accuracy_real()
    names = gan.class_names or [str(k) for k in range(gan.num_classes)]
    print("\nconditional accuracy: share of images generated for class k that the "
          "classifier assigns to k")
    print(f"{'class':<16}{'generated':>10}{'real test':>11}")
    for name, g, r in zip(names, generated["per_class"], real["per_class"]):
        print(f"{name[:15]:<16}{g:>10.3f}{r:>11.3f}")
    share = generated["mean"] / real["mean"] if real["mean"] else float("nan")
    print(f"{'mean':<16}{generated['mean']:>10.3f}{real['mean']:>11.3f}   "
          f"({share:.1%} of the real-image ceiling)")
    return {"generated": generated, "real": real}


def _evaluate_folders(args):
    """``--fake DIR``: fd and kd of a folder of images against ``--real``'s held-out ones."""
    from keras_wgan.data import DataUnavailableError
    from keras_wgan.evaluation import RELIABLE_FD_IMAGES, compare_folders

    if args.model_path is not None:
        raise CliError(f"give a model or --fake DIR, not both: keras-wgan evaluate --real "
                       f"{args.real or args.dataset} --fake {args.fake}")
    if not os.path.isdir(args.fake):
        raise CliError(f"--fake {args.fake!r} is not a folder of images; e.g. make one "
                       "with: keras-wgan generate MODEL.keras --out fake --n 10000")
    real = args.real or args.dataset
    if args.features == "inception":
        print("Features: InceptionV3's (Keras' ImageNet weights, downloaded once); "
              "comparable between runs of keras-wgan, not with published FIDs.", flush=True)
    else:
        print(f"Yardstick: {real}'s classifier (trained once on its training split and "
              "cached; minutes on a CPU the first time).", flush=True)
    try:
        figures = compare_folders(real, args.fake, cache_dir=args.cache_dir, seed=args.seed,
                                  verbose=0, features=args.features)
    except (DataUnavailableError, FileNotFoundError, ValueError) as error:
        raise CliError(str(error)) from None
    floor = figures["floor"]
    print(f"\n{figures['num_fake']} images in {args.fake} vs {figures['num_real']} held-out "
          f"images of {real}, at {_shape(figures['image_shape'])} (lower is better)")
    print(f"{'':<22}{'fd':>12}{'kd':>12}{'kd spread':>12}")
    print(f"{'--fake':<22}{figures['fd']:>12.3f}{figures['kd']:>12.4f}"
          f"{figures['kd_std']:>12.4f}")
    print(f"{'real train (floor)':<22}{floor['fd']:>12.3f}{floor['kd']:>12.4f}"
          f"{floor['kd_std']:>12.4f}")
    if not figures["fd_reliable"]:
        print(f"warning: fewer than {RELIABLE_FD_IMAGES:,} images on a side: fd is biased "
              "upwards at this size (compare it with the floor only); read kd and its "
              "spread over subsets.", file=sys.stderr)
    if args.json:
        write_json(args.json, {"real": real, "fake": args.fake, **figures})
        print(f"Wrote {args.json}")
    return 0
