"""`keras-wgan generate`: one image file per seed, into a folder (or one .npz array file).

``seed000042.png`` is the image of seed 42 (and of its class: a sub-folder per class name
for a conditional model), the same whatever ``--n``, ``--batch-size`` or the range it was
in (:mod:`keras_wgan.generation`). A second run into the same folder keeps the files there
and writes the rest, so Ctrl-C loses nothing. The generator runs on batches while a
thread encodes the previous batch's PNGs.
"""

import os
import sys
import time

import numpy as np

from keras_wgan.cli.common import (
    PROG,
    CliError,
    add_label_flag,
    add_seeds_flag,
    add_truncation_flag,
    check_model_path,
    class_of,
    load_gan,
    positive_int,
)

FORMATS = ("png", "npz")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "generate",
        help="write one image per seed into a folder (seed000042.png), or an .npz",
        description=(
            "Generate images from a saved model, one per seed: --seeds 0-9999 (or --n N "
            "for seeds 0..N-1) into --out DIR as seedNNNNNN.png (a sub-folder per class "
            "for a conditional model). An image depends only on its seed (and class). "
            "Files already in DIR are kept: run it again to finish an interrupted run."
        ),
    )
    p.add_argument("model_path", metavar="MODEL.keras", help="a model saved by train")
    p.add_argument("--out", required=True,
                   help="folder to write (with --format npz: the .npz file)")
    which = p.add_mutually_exclusive_group()
    add_seeds_flag(which, "seeds, e.g. 0-9999 or 3,17,42 or 0-99,1000")
    which.add_argument("--n", type=positive_int, default=None,
                       help="seeds 0..N-1; default 64 (when --seeds is not given)")
    add_label_flag(p, "the class, by index or name; default every class, each in a "
                      "sub-folder named after it")
    add_truncation_flag(p)
    p.add_argument("--batch-size", type=positive_int, default=256,
                   help="images per generator call; default 256")
    p.add_argument("--format", choices=FORMATS, default="png",
                   help="png: one file per seed; npz: one file with arrays images (uint8), "
                        "seeds and labels; default png")
    p.set_defaults(func=run_generate)


def run_generate(args):
    check_model_path(args.model_path)
    seeds = args.seeds if args.seeds is not None else list(range(args.n or 64))
    if args.format == "npz" and not args.out.endswith(".npz"):
        raise CliError(f"--format npz writes one file: --out must end with .npz, e.g. "
                       f"{PROG} generate {args.model_path} --format npz --out images.npz")
    if args.format == "png" and os.path.isfile(args.out):
        raise CliError(f"--out {args.out!r} is a file; give the folder to write the "
                       f"images into, e.g. --out {os.path.splitext(args.out)[0]}")
    gan = load_gan(args.model_path, compile=False)
    classes = _classes(gan, args)
    if args.format == "npz":
        return _write_npz(gan, args, seeds, classes)
    total_new = 0
    started = time.monotonic()
    for label, name in classes:
        folder = args.out if name is None else os.path.join(args.out, name)
        total_new += _write_folder(gan, args, folder, seeds, label, name)
    took = time.monotonic() - started
    kept = len(seeds) * len(classes) - total_new
    rate = f", {total_new / took:.0f} images/s" if total_new and took > 0 else ""
    print(f"Wrote {total_new} images into {args.out}{rate}"
          f"{f' ({kept} were there already)' if kept else ''}.")
    return 0


def _classes(gan, args):
    """``[(label or None, sub-folder name or None)]``: the classes to write."""
    if not gan.conditional:
        if args.label is not None:
            raise CliError(f"--label {args.label}: {args.model_path!r} is unconditional; "
                           f"drop --label: {PROG} generate {args.model_path} --out {args.out}")
        return [(None, None)]
    names = gan.class_names or [str(k) for k in range(gan.num_classes)]
    if args.label is not None:
        k = class_of(gan, args.label, args.model_path, f"{PROG} generate "
                     f"{args.model_path} --out {args.out} --label {{label}}")
        return [(k, _folder_name(names[k]))]
    return [(k, _folder_name(name)) for k, name in enumerate(names)]


def _folder_name(name):
    """A class name as a folder name (no path separators)."""
    return str(name).replace(os.sep, "_").replace("/", "_") or "_"


# Threads that encode and write PNGs while the generator makes the next batch: creating
# a file costs about 0.45 ms on the disk measured (benchmarks/generate_speed.py), as much
# as generating a 32 px DCGAN image, so one writer would be the bottleneck.
WRITERS = 2


def _write_folder(gan, args, folder, seeds, label, name):
    """Generate the seeds not in ``folder`` yet, batch by batch, while threads write the
    previous batches; the number of images written."""
    from concurrent.futures import ThreadPoolExecutor

    from keras_wgan.generation import missing_seeds, write_seed_images

    todo = missing_seeds(folder, seeds)
    if not todo:
        return 0
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise CliError(f"cannot create --out {folder!r}: {error.strerror or error}.") from None
    progress = _Progress(len(todo), "" if name is None else f"{name}: ")
    pending, written = [], 0
    with ThreadPoolExecutor(max_workers=WRITERS) as writers:
        for i in range(0, len(todo), args.batch_size):
            batch = todo[i:i + args.batch_size]
            images = gan.generate(seeds=batch, batch_size=args.batch_size,
                                  labels=None if label is None else [label] * len(batch),
                                  truncation=args.truncation)
            while len(pending) >= 2 * WRITERS:  # at most two batches in flight
                written += pending.pop(0).result()  # surfaces a write error
                progress.update(written)
            share = -(-len(batch) // WRITERS)
            for j in range(0, len(batch), share):
                pending.append(writers.submit(write_seed_images, folder,
                                              batch[j:j + share], images[j:j + share]))
        for future in pending:
            written += future.result()
    progress.update(written, done=True)
    return written


def _write_npz(gan, args, seeds, classes):
    from keras_wgan import files
    from keras_wgan.images import to_uint8

    images, all_seeds, labels = [], [], []
    for label, _ in classes:
        batch = gan.generate(seeds=seeds, batch_size=args.batch_size,
                             labels=None if label is None else [label] * len(seeds),
                             truncation=args.truncation)
        images.append(to_uint8(batch))
        all_seeds.extend(seeds)
        labels.extend([-1 if label is None else label] * len(seeds))
    arrays = {"images": np.concatenate(images), "seeds": np.asarray(all_seeds, np.int64)}
    if gan.conditional:
        arrays["labels"] = np.asarray(labels, np.int32)

    def write(f):
        np.savez(f, **arrays)

    try:
        files.atomic_write(args.out, write, binary=True)
    except OSError as error:
        raise CliError(f"cannot write --out {args.out!r}: {error.strerror or error}.") from None
    print(f"Wrote {len(arrays['images'])} images (uint8) with their seeds to {args.out}.")
    return 0


class _Progress:
    """One line on stderr: images done of the total and images per second."""

    def __init__(self, total, prefix=""):
        self.total, self.prefix = total, prefix
        self.started = time.monotonic()
        self.live = sys.stderr.isatty()

    def update(self, count, done=False):
        seconds = max(time.monotonic() - self.started, 1e-9)
        line = f"{self.prefix}{count}/{self.total} images, {count / seconds:.0f} images/s"
        if self.live:
            print(f"\r{line}", end="\n" if done else "", file=sys.stderr, flush=True)
        elif done:
            print(line, file=sys.stderr, flush=True)
