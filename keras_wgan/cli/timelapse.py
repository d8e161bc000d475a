"""`keras-wgan timelapse`: a run's epoch grids as one animation, the epoch on each frame."""

import os

from keras_wgan.cli.common import CliError, PROG, positive_int


def add_parser(subparsers):
    p = subparsers.add_parser(
        "timelapse",
        help="animate a run's epoch sample grids (GIF or WebP)",
        description="Write RUN_DIR/samples/epoch_NNN.png, in epoch order, as one "
                    "animation with the epoch written on each frame.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a train run's --out folder")
    p.add_argument("--out", default="progress.gif",
                   help="the animation: .gif or .webp; default progress.gif")
    p.add_argument("--fps", type=positive_int, default=2,
                   help="frames (epochs) per second; default 2")
    p.set_defaults(func=run_timelapse)


def run_timelapse(args):
    from keras_wgan.generation import timelapse

    if not os.path.isdir(args.run_dir):
        raise CliError(f"{args.run_dir!r} is not a folder: give a train run's --out, e.g. "
                       f"{PROG} timelapse runs/wgan-gp-fashion_mnist --out progress.gif")
    try:
        count = timelapse(args.run_dir, args.out, seconds_per_frame=1.0 / args.fps)
    except ValueError as error:
        raise CliError(str(error)) from None
    except OSError as error:
        raise CliError(f"cannot write --out {args.out!r}: {error.strerror or error}.") from None
    print(f"Wrote {count} frames (one per epoch) to {args.out}.")
    return 0
