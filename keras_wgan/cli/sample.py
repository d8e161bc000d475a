"""`keras-wgan sample`: a grid of images from a saved model (a row per class when conditional)."""

import os

import numpy as np

from keras_wgan.cli.common import (
    PROG,
    CliError,
    add_label_flag,
    add_truncation_flag,
    check_model_path,
    class_of,
    load_gan,
    non_negative_int,
    positive_int,
)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "sample",
        help="write a grid of samples from a saved model",
        description="Generate N images from a saved model (.keras) and write them as a PNG grid.",
    )
    p.add_argument("model_path", metavar="MODEL.keras", help="a model saved by train")
    p.add_argument("--n", type=positive_int, default=64, help="number of images; default 64")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="noise seed (the same seed gives the same images); default 0")
    p.add_argument("--out", default="samples.png", help="PNG to write; default samples.png")
    p.add_argument("--columns", type=positive_int, default=None,
                   help="images per row; default a near-square grid")
    p.add_argument("--batch-size", type=positive_int, default=256,
                   help="images generated per batch; default 256")
    add_label_flag(p, "the class to draw, by index or name (e.g. 7 or sneaker); default "
                      "one row per class")
    add_truncation_flag(p)
    p.set_defaults(func=run_sample)


def run_sample(args):
    """Write a PNG grid of ``--n`` images generated from a saved model."""
    check_model_path(args.model_path)
    if os.path.isdir(args.out):
        raise CliError(f"--out {args.out!r} is a directory; give the PNG file to write.")

    from keras_wgan.images import save_image_grid

    gan = load_gan(args.model_path, compile=False)
    labels, columns, what = _sample_labels(gan, args)
    n = args.n if labels is None else len(labels)
    images = gan.generate(n, seed=args.seed, batch_size=args.batch_size, labels=labels,
                          truncation=args.truncation)
    try:
        save_image_grid(images, args.out, columns=columns)
    except ValueError as error:  # e.g. a model that does not output images
        raise CliError(str(error)) from None
    except OSError as error:  # e.g. a folder that cannot be created
        raise CliError(f"cannot write --out {args.out!r}: {error.strerror or error}.") from None
    print(f"Wrote {n} samples{what} (seed {args.seed}) to {args.out}")
    return 0


def _sample_labels(gan, args):
    """The labels ``sample`` asks for, the grid's columns and words for the summary line."""
    if not gan.conditional:
        if args.label is not None:
            raise CliError(
                f"--label {args.label}: {args.model_path!r} is unconditional (trained without "
                f"labels); drop --label: {PROG} sample {args.model_path} --n {args.n}"
            )
        return None, args.columns, ""
    names = gan.class_names or [str(k) for k in range(gan.num_classes)]
    if args.label is not None:
        k = class_of(gan, args.label, args.model_path, f"{PROG} sample {args.model_path} "
                     f"--label {{label}} --n {args.n}")
        return [k] * args.n, args.columns, f" of class {k} ({names[k]})"

    per_class = args.columns or max(1, args.n // gan.num_classes)
    labels = np.repeat(np.arange(gan.num_classes), per_class)
    return labels, per_class, f", one row per class ({', '.join(names)})"
