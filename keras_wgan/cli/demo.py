"""`keras-wgan demo`: the WGAN-GP paper's 2-D toy experiments and Figure 1."""

import os

from keras_wgan.cli.common import CliError, MODELS, non_negative_int, positive_int


def add_parser(subparsers):
    p = subparsers.add_parser(
        "demo",
        help="train WGAN and WGAN-GP on the paper's 2-D toy sets and draw Figure 1",
        description=(
            "Train WGAN (clipping) and WGAN-GP on 8gaussians, 25gaussians and swissroll "
            "with the toy MLPs, print mode statistics and draw the critic's value surface "
            "with real (orange) and generated (green) points, as in Figure 1 of the "
            "WGAN-GP paper. Offline; about 5 minutes on 2 CPU cores with the defaults."
        ),
    )
    p.add_argument("--out", default="toy_demo.png", help="PNG to write; default toy_demo.png")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="generator updates per run; default keras_wgan.toy.DEMO_STEPS "
                        "(the paper: 100000)")
    p.add_argument("--width", type=positive_int, default=None,
                   help="hidden units of the MLPs; default keras_wgan.toy.DEMO_WIDTH "
                        "(the paper: 512)")
    p.add_argument("--sets", nargs="+", default=None, metavar="SET",
                   help="toy sets; default all three")
    p.add_argument("--models", nargs="+", choices=MODELS, default=None,
                   help="models; default both")
    p.add_argument("--seed", type=non_negative_int, default=0, help="default 0")
    p.set_defaults(func=run_demo)


#: One adder per subcommand.


def run_demo(args):
    """Train the toy runs and draw the Figure 1 panel."""
    if os.path.isdir(args.out):
        raise CliError(f"--out {args.out!r} is a directory; give the PNG file to write.")
    from keras_wgan import toy

    sets = tuple(args.sets) if args.sets else toy.TOY_DATASETS
    unknown = [name for name in sets if name not in toy.TOY_DATASETS]
    if unknown:
        raise CliError(f"unknown toy set(s) {unknown}; choose from {list(toy.TOY_DATASETS)}.")
    models = tuple(args.models) if args.models else MODELS
    budget = {key: value for key, value in (("steps", args.steps), ("width", args.width))
              if value is not None}
    toy.run_demo(out=args.out, sets=sets, models=models, seed=args.seed, verbose=1, **budget)
    return 0
