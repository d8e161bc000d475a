"""`keras-wgan interpolate`: a looping walk through the noise of some seeds, as a GIF/WebP.

Spherical interpolation (:func:`keras_wgan.generation.walk`): ``--steps`` frames from each
seed's noise to the next seed's, and from the last back to the first, so the animation
loops without a jump. A conditional model also walks between classes at one seed's noise
(``--labels a,b``: their class embeddings mixed, :func:`~keras_wgan.generation.class_walk_images`).
``--frames DIR`` also writes each frame as a PNG.
"""

import os

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


def _label_list(text):
    import argparse

    labels = [part.strip() for part in text.split(",") if part.strip()]
    if len(labels) < 2:
        raise argparse.ArgumentTypeError(f"a walk between classes needs at least 2 classes, "
                                         f"e.g. sneaker,sandal or 7,5; got {text!r}")
    return labels


def add_parser(subparsers):
    p = subparsers.add_parser(
        "interpolate",
        help="animate a looping walk between seeds (GIF or WebP)",
        description="Write an animation that walks from each seed's image to the next "
                    "and back to the first (spherical interpolation of their noise).",
    )
    p.add_argument("model_path", metavar="MODEL.keras", help="a model saved by train")
    add_seeds_flag(p, "the seeds to walk through, in order, e.g. 3,17,42; default 0,1,2 "
                      "(with --labels: the one seed whose noise is kept; default 0)")
    p.add_argument("--steps", type=positive_int, default=30,
                   help="frames from each seed to the next; default 30")
    p.add_argument("--out", default="walk.gif", help="the animation: .gif or .webp; "
                                                     "default walk.gif")
    p.add_argument("--frames", default=None, metavar="DIR",
                   help="also write every frame as DIR/frame_NNNN.png")
    add_label_flag(p, "the class to walk in (index or name); default the first class")
    p.add_argument("--labels", type=_label_list, default=None,
                   help="conditional models: walk between these classes (names or indices, "
                        "e.g. sneaker,sandal) at one seed's noise, looping back to the first")
    add_truncation_flag(p, "truncation of the seeds' noise; default off")
    p.add_argument("--fps", type=positive_int, default=25, help="frames per second; "
                                                                "default 25")
    p.set_defaults(func=run_interpolate)


def run_interpolate(args):
    from keras_wgan.generation import class_walk_images, save_animation, walk_images
    from keras_wgan.images import to_uint8, write_png

    check_model_path(args.model_path)
    if os.path.splitext(args.out)[1].lower() not in (".gif", ".webp"):
        raise CliError(f"--out {args.out!r}: an animation is written as .gif or .webp; "
                       f"e.g. {PROG} interpolate {args.model_path} --out walk.gif")
    if args.labels is not None:
        if args.label is not None:
            raise CliError(f"give --label (walk between seeds in one class) or --labels (walk "
                           f"between classes), not both: {PROG} interpolate {args.model_path} "
                           f"--labels {','.join(args.labels)}")
        seeds = args.seeds or [0]
        if len(seeds) != 1:
            raise CliError(f"--labels walks at one seed's noise, got --seeds "
                           f"{','.join(map(str, seeds))}: {PROG} interpolate "
                           f"{args.model_path} --labels {','.join(args.labels)} "
                           f"--seeds {seeds[0]}")
    else:
        seeds = args.seeds or [0, 1, 2]
        if len(seeds) < 2:
            raise CliError(f"a walk needs at least 2 seeds, got --seeds {seeds[0]}: "
                           f"{PROG} interpolate {args.model_path} --seeds {seeds[0]},"
                           f"{seeds[0] + 1}")
    gan = load_gan(args.model_path, compile=False)
    for flag, value in (("--label", args.label), ("--labels", args.labels)):
        if value is not None and not gan.conditional:
            shown = value if isinstance(value, str) else ",".join(value)
            raise CliError(f"{flag} {shown}: {args.model_path!r} is unconditional; "
                           f"drop {flag}: {PROG} interpolate {args.model_path}")
    if args.labels is not None:
        labels = [class_of(gan, label, args.model_path,
                           f"{PROG} interpolate {args.model_path} --labels {{label}},"
                           f"{args.labels[0]}") for label in args.labels]
        images = class_walk_images(gan, seeds[0], labels, args.steps,
                                   truncation=args.truncation)
        what = f"{len(labels)} classes at seed {seeds[0]}"
    else:
        label = None if args.label is None else class_of(
            gan, args.label, args.model_path,
            f"{PROG} interpolate {args.model_path} --label {{label}}")
        images = walk_images(gan, seeds, args.steps, label=label,
                             truncation=args.truncation)
        what = f"{len(seeds)} seeds"
    frames = to_uint8(images)
    try:
        save_animation(frames, args.out, seconds_per_frame=1.0 / args.fps)
        if args.frames is not None:
            for i, frame in enumerate(frames):
                write_png(frame[..., 0] if frame.shape[-1] == 1 else frame,
                          os.path.join(args.frames, f"frame_{i:04d}.png"))
    except OSError as error:
        raise CliError(f"cannot write {args.out!r}: {error.strerror or error}.") from None
    print(f"Wrote {len(frames)} frames ({what} x {args.steps} steps, "
          f"looping) to {args.out}" + (f" and {args.frames}" if args.frames else "") + ".")
    return 0
