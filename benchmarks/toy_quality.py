"""Toy-set quality of WGAN and WGAN-GP: modes covered and high-quality share.

For each toy set, model and generator weight-averaging setting, train the paper's toy
MLPs for a stated budget (``keras_wgan.toy.train_toy``), draw 5,000 samples and score
them with ``keras_wgan.toy.mode_statistics``: modes covered and the share of samples
within 3 noise stds of a centre for the Gaussian mixtures, nearest-neighbour distances
for the swiss roll. Prints one table with the budget and wall times.

Targets for WGAN-GP: 8/8 modes with >= 80% high-quality samples on 8gaussians, 25/25
modes on 25gaussians.

Default budget (meets the targets on 2 CPU cores in about 10 minutes for all 12 runs):
3,000 generator updates of width-128 MLPs, the paper's optimizers at rate 1e-3, each
run once without and once with a 0.999 generator weight average.

    python benchmarks/toy_quality.py                                  # the default budget
    python benchmarks/toy_quality.py --learning-rate none             # the paper's rates
    python benchmarks/toy_quality.py --ema-decay none                 # no averaging only
    python benchmarks/toy_quality.py --steps 100000 --width 512 --learning-rate none \
        --ema-decay none                                              # the reference run
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _rate(value):
    if value.lower() == "none":
        return None
    rate = float(value)
    if not rate > 0:
        raise argparse.ArgumentTypeError(f"--learning-rate must be 'none' or > 0, got {value}")
    return rate


def _ema(value):
    if value.lower() == "none":
        return None
    decay = float(value)
    if not 0.0 < decay < 1.0:
        raise argparse.ArgumentTypeError(f"--ema-decay must be 'none' or in (0, 1), got {value}")
    return decay


def parse_args(argv=None):
    from keras_wgan import toy  # noqa: PLC0415 - after the environment is set

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3000, help="generator updates per run")
    parser.add_argument("--width", type=int, default=128, help="MLP width (reference: 512)")
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--n-critic", type=int, default=5)
    parser.add_argument("--sets", nargs="+", default=list(toy.TOY_DATASETS),
                        choices=list(toy.TOY_DATASETS))
    parser.add_argument("--models", nargs="+", default=["wgan-gp", "wgan"],
                        choices=list(toy.MODELS))
    parser.add_argument("--learning-rate", type=_rate, default=1e-3,
                        help="rate of both paper optimizers; 'none': the paper's own "
                        "(Adam 1e-4 for WGAN-GP, RMSprop 5e-5 for WGAN)")
    parser.add_argument("--ema-decay", nargs="+", type=_ema, default=[None, 0.999],
                        help="one or more of 'none' and decays in (0, 1); each is a run")
    parser.add_argument("--samples", type=int, default=5000, help="samples scored per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    return parser.parse_args(argv)


def _cells(result):
    stats = result.stats
    if "modes_covered" in stats:
        modes = f"{stats['modes_covered']}/{stats['num_modes']}"
        return modes, f"{100 * stats['high_quality']:.1f}", "-", "-"
    return "-", "-", f"{stats['gen_to_real']:.3f}", f"{stats['real_to_gen']:.3f}"


def main(argv=None):
    args = parse_args(argv)
    from keras_wgan import toy  # noqa: PLC0415

    rows = []
    start = time.perf_counter()
    for decay in args.ema_decay:
        if args.verbose:
            print(f"--- ema_decay={decay}", flush=True)
        results = toy.run_toy_suite(
            args.sets, args.models, steps=args.steps, width=args.width,
            n_samples=args.samples, seed=args.seed, verbose=args.verbose,
            depth=args.depth, batch_size=args.batch_size, n_critic=args.n_critic,
            ema_decay=decay, learning_rate=args.learning_rate,
        )
        rows += [(decay, r) for r in results]
    total = time.perf_counter() - start

    rates = ("1e-4", "5e-5") if args.learning_rate is None else (f"{args.learning_rate:g}",) * 2
    print()
    print(
        f"Budget: {args.steps} generator updates ({args.n_critic * args.steps} critic updates), "
        f"batch {args.batch_size}, MLP {args.depth}x{args.width}, latent 2, "
        f"WGAN-GP Adam({rates[0]}, 0.5, 0.9) lambda {toy.REFERENCE_GP_WEIGHT}, "
        f"WGAN RMSprop({rates[1]}) clip 0.01, {args.samples} samples scored, seed {args.seed}"
    )
    header = ("set", "model", "ema", "modes", "HQ %", "gen->real", "real->gen", "train s")
    lines = [header] + [
        (r.name, r.model, "none" if d is None else f"{d:g}", *_cells(r), f"{r.seconds:.0f}")
        for d, r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for i, line in enumerate(lines):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    baselines = {r.name: r.stats["real_baseline"] for _, r in rows if "real_baseline" in r.stats}
    for name, value in baselines.items():
        print(f"({name}: real data vs real data scores {value:.3f} in both distance columns)")
    print(f"Total wall time {total:.0f} s")


if __name__ == "__main__":
    main()
