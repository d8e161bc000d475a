"""Training-speed benchmark: keras_wgan's ``fit`` vs the original loop vs a hand-written loop.

Why: the library replaced the original experiment's hand-rolled training loop with
``keras.Model.fit``; this script checks, on that experiment's exact networks and
optimizers (the ``original_experiment`` preset), that ``fit`` is much faster than the
original loop, no slower than a single hand-written ``tf.function`` doing the same maths,
close to the machine's matmul rate, free of retracing and host syncs, and not heavier in
memory. It also checks that ``keras_wgan.data.load_dataset`` feeds
images far faster than training consumes them. With ``--nets resnet`` it times ``fit``
against the hand-written step on the WGAN-GP paper's CIFAR-10 ResNets instead.

This file is the entry point (the command line, and what each child process runs);
the code lives in the package ``benchmarks/speed/``, split by concern:
  speed.settings        shared constants, the variants' names, the nets families
  speed.variants        the variants (train-step implementations) and the other jobs:
                        what each row runs, documented there
  speed.other_backends  the hand-written JAX and PyTorch reference steps
  speed.flops           the FLOP count (its formula is documented there) and its
                        tf.profiler cross-check
  speed.lockstep        the lockstep timer and the parent/child line protocol
  speed.report          summaries, paired ratios, the table and the notes

Every variant runs in its own subprocess (so peak RSS is per variant), all of one
(model, DIM) at once but in lockstep: the parent lets one child compute one generator
update at a time, round-robin (``speed.lockstep``). A background load that comes and
goes thus hits every variant alike, and the ratios between rows of one run stay
meaningful on a shared machine. An fp32 matmul loop takes part in the same rotation, so
the FLOP rates are compared with a matmul rate measured under the same conditions.

Variants (``--variants``; ``--ablations`` adds the ``fit-*`` ablation rows): original,
reference, fit (the default rows); the ablations fit-stock, fit-split, fit-fastlrelu,
fit-fastconv, fit-fast; the diagnostics reference-steps, reference-fast; the scale-out
rows fit-bf16, fit-2replicas. See ``speed.variants`` for what each one runs.

Nets (``--nets``): ``dcgan`` (the default) times the original experiment's nets on
32x32x1, as above. ``resnet`` times the WGAN-GP paper's CIFAR-10 ResNets
(``keras_wgan.presets`` "cifar10_resnet") on 32x32x3 at each --dim, with that recipe's
Adam(2e-4, beta_1=0, beta_2=0.9) for both nets at a constant rate, no weight average,
n_critic 5, penalty weight 10: WGAN-GP only, TensorFlow only, rows ``reference`` and
``fit`` (the original loop is the DCGAN experiment's), plus the matmul rate. It prints
fit's time per generator update over the reference's, against the 1.05x target.

Backends (``--backend``): each variant's child runs with ``KERAS_BACKEND`` set. Under
``jax`` and ``torch`` the rows are ``fit`` and ``reference`` (a hand-written step on
that backend: JAX, n_critic critic updates + 1 generator update in one ``jax.jit``
with ``stateless_call`` / ``stateless_apply``; PyTorch, the same maths eagerly with
``torch.autograd``); the original loop (TensorFlow) is always added as the common
baseline.
``fit-*`` ablations and the ``reference-*`` diagnostics are TensorFlow-only (they toggle
TensorFlow's run-time fast paths, ``keras_wgan.backend.tensorflow``).

Usage:
  python3 benchmarks/train_speed.py --model both --dim 32 128 --backend tensorflow jax torch
  python3 benchmarks/train_speed.py --model both --dim 32
  python3 benchmarks/train_speed.py --model wgan-gp --dim 128 --jit-compile both
  python3 benchmarks/train_speed.py --model wgan-gp --nets resnet --dim 32 64
  python3 benchmarks/train_speed.py --data-only
"""

import argparse
import os
import statistics
import sys
import time

# The package speed/ sits beside this file; children run this file too, so they find it
# the same way.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

# Re-exported: the names this script has always had (tests load it and call some).
from speed.flops import flops_per_update, layer_macs, profiler_forward_flops  # noqa: E402
from speed.lockstep import (  # noqa: E402
    RESULT_TAG, Child, Lockstep, child_main, peak_rss_mb, run_lockstep, run_single,
)
from speed.report import (  # noqa: E402
    flops_note, fmt, print_data, print_report, print_table, row_note, speed_ratio, summarize,
)
from speed.settings import (  # noqa: E402
    ABLATIONS, ALL_VARIANTS, BACKENDS, BATCH, DEFAULT_VARIANTS, DIAGNOSTICS, FIT_NETS,
    IMAGE_SHAPE, LATENT, NETS, OTHER_BACKEND_VARIANTS, PRESET, RESNET_MODELS, RESNET_VARIANTS,
    SCALE_OUT, default_steps, image_shape,
)
from speed.variants import (  # noqa: E402
    JOBS, build_nets, host_sync_ops, make_dataset, model_class, original_optimizers,
    resolve_jit, run_data, run_fit, run_flops, run_matmul, run_original, run_reference,
    set_fast_paths,
)


from speed.other_backends import run_reference_jax, run_reference_torch  # noqa: E402,F401


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("wgan", "wgan-gp", "both"), default="both")
    parser.add_argument("--nets", choices=tuple(NETS), default="dcgan",
                        help="dcgan: the original experiment's nets (32x32x1); resnet: the "
                             "WGAN-GP paper's CIFAR-10 ResNets (32x32x3; WGAN-GP, TensorFlow, "
                             "rows reference and fit)")
    parser.add_argument("--dim", type=int, nargs="+", default=[32])
    parser.add_argument(
        "--steps", type=int, default=None,
        help="timed generator updates (default: 20 at DIM 32, ~20*(32/dim)^2, >= 3)",
    )
    parser.add_argument("--warmup", type=int, default=2,
                        help="generator updates excluded from timing (the first traces)")
    parser.add_argument("--jit-compile", choices=("auto", "on", "off", "both"), default="auto")
    parser.add_argument("--backend", nargs="+", choices=BACKENDS, default=["tensorflow"],
                        help="Keras backends to time fit and a hand-written step on "
                             "(the TensorFlow original loop is always the baseline)")
    parser.add_argument("--steps-per-execution", type=int, nargs="+", default=[1])
    parser.add_argument("--n-critic", type=int, default=5)
    parser.add_argument("--variants", nargs="+", choices=ALL_VARIANTS, default=None)
    parser.add_argument("--ablations", action="store_true",
                        help="add the fit-* ablation rows")
    parser.add_argument("--data", action="store_true", help="also measure the data path")
    parser.add_argument("--data-only", action="store_true")
    parser.add_argument("--no-flops-check", action="store_true",
                        help="skip the tf.profiler cross-check of the forward FLOPs")
    parser.add_argument("--log-dir", default=None,
                        help="where children's stderr goes (default: a temporary folder)")
    parser.add_argument("--json", default=None,
                        help="also write every row's raw result (all update times) here")
    parser.add_argument("--matmul-size", type=int, default=2048,
                        help="side of the fp32 matmul row's matrices (the FLOP-rate yardstick); "
                             "smaller only for smoke runs (gpu_check.sh --smoke)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is None and args.nets == "resnet" and not args.data_only:
        check_resnet_args(parser, args)
    return args


def check_resnet_args(parser, args):
    """Refuse, with the reason, what --nets resnet does not time."""
    models = ("wgan", "wgan-gp") if args.model == "both" else (args.model,)
    refused = sorted(set(models) - set(RESNET_MODELS))
    if refused:
        parser.error(
            f"--nets resnet times WGAN-GP only (the cifar10_resnet recipe's penalty; weight "
            f"clipping on the ResNets is not timed here), not {', '.join(refused)}: "
            "pass --model wgan-gp")
    if list(args.backend) != ["tensorflow"]:
        parser.error("--nets resnet times the TensorFlow rows only: pass --backend tensorflow "
                     "(the default)")
    if args.ablations:
        parser.error("--nets resnet has no ablation rows (they toggle the DCGAN nets' fast "
                     "paths): drop --ablations")
    others = [v for v in (args.variants or ()) if v not in RESNET_VARIANTS]
    if others:
        parser.error(f"--nets resnet runs only the rows {' and '.join(RESNET_VARIANTS)} (the "
                     f"original loop and the diagnostics are the DCGAN experiment's), not "
                     f"{', '.join(others)}")


def training_jobs(args, model):
    """The (backend, variant, jit, spe) rows to run for one model."""
    jits = ("off", "on") if args.jit_compile == "both" else (args.jit_compile,)
    if getattr(args, "nets", "dcgan") == "resnet":
        # TensorFlow, the hand-written step and fit; no original-loop baseline.
        jobs = []
        for variant in args.variants or RESNET_VARIANTS:
            if variant == "reference":
                jobs.extend(("tensorflow", variant, jit, 1) for jit in jits)
            else:
                jobs.extend(("tensorflow", variant, jit, spe)
                            for jit in jits for spe in args.steps_per_execution)
        return jobs
    variants = list(args.variants or DEFAULT_VARIANTS)
    if args.ablations:
        variants += [v for v in ABLATIONS if v not in variants]
    jobs = []
    if "tensorflow" in args.backend or "original" in variants:
        jobs.append(("tensorflow", "original", "auto", 1))  # the common baseline
    for backend in args.backend:
        for variant in variants:
            if variant == "original":
                continue
            if backend == "tensorflow":
                if variant.startswith("reference"):
                    jobs.extend((backend, variant, jit, 1) for jit in jits)
                elif model == "wgan" and variant in ("fit-split", "fit-fastlrelu"):
                    continue  # no double backward; its BatchNorm critic already uses two calls
                else:
                    jobs.extend((backend, variant, jit, spe)
                                for jit in jits for spe in args.steps_per_execution)
            elif variant in OTHER_BACKEND_VARIANTS:
                # JAX always compiles (eager JAX is not a way to train); torch: eager
                # (Keras' "auto") unless --jit-compile on asks for torch.compile.
                backend_jits = ("auto",) if backend == "jax" else jits
                spes = (1,) if backend == "torch" else args.steps_per_execution
                if variant == "reference":
                    jobs.extend((backend, variant, jit, 1) for jit in
                                (("auto",) if backend != "tensorflow" else jits))
                else:
                    jobs.extend((backend, variant, jit, spe)
                                for jit in backend_jits for spe in spes)
    return jobs


def main(argv=None):
    args = parse_args(argv)
    if args.child is not None:
        child_main(args.child)
        return
    import tempfile

    log_dir = args.log_dir or tempfile.mkdtemp(prefix="train_speed_")
    os.makedirs(log_dir, exist_ok=True)
    models = ("wgan", "wgan-gp") if args.model == "both" else (args.model,)
    n_critic = args.n_critic
    wall_start = time.perf_counter()
    print(f"# train_speed.py {' '.join(sys.argv[1:]) or '(defaults)'}", flush=True)
    print(f"# python {sys.version.split()[0]}, {os.cpu_count()} CPUs, batch {BATCH}, "
          f"n_critic {n_critic}, images {image_shape(args.nets)}; children's stderr in "
          f"{log_dir}", flush=True)
    if args.nets != "dcgan":
        recipe = NETS[args.nets]
        print(f"# nets: {args.nets} (keras_wgan.presets {recipe['preset']!r} at each DIM, "
              f"overrides {recipe['overrides']}; the recipe's optimizers, no weight "
              f"average)", flush=True)

    def progress(child):
        spec, result = child.spec, child.result
        s = summarize(result, n_critic) if result else None
        status = (f"{s['t']:.3f} s/update, trace {s['trace_s']:.1f} s, "
                  f"RSS {result['peak_rss_mb']:.0f} MB") if s else (child.error or "no result")
        print(f"#   {spec['model']} DIM {spec['dim']} {spec.get('backend', '')} {spec['variant']} "
              f"jit={spec.get('jit')} "
              f"spe={spec.get('spe')}: {status}", flush=True)

    rows, notes, best_img_s = [], [], {}
    for model in () if args.data_only else models:
        for dim in args.dim:
            steps = args.steps or default_steps(dim)
            base = {"model": model, "nets": args.nets, "dim": dim, "n_critic": n_critic,
                    "steps": steps, "warmup": args.warmup}
            if not args.no_flops_check:
                check = run_single(dict(base, variant="flops"), log_dir)
                if "error" not in check:
                    notes.append(flops_note(model, dim, check))
                    print("# " + notes[-1], flush=True)
            specs = [dict(base, variant="matmul", jit="-", spe="-",
                          matmul_size=args.matmul_size)]
            specs += [dict(base, backend=b, variant=v, jit=j, spe=e)
                      for b, v, j, e in training_jobs(args, model)]
            results = run_lockstep(specs, log_dir, progress)
            matmul_result = results[0][1]
            matmul = (statistics.median(matmul_result["flops"] / t / 1e9
                                        for t in matmul_result["per_update"])
                      if "error" not in matmul_result else 0.0)
            notes.append(f"{model} DIM {dim}: fp32 matmul "
                         f"{args.matmul_size}x{args.matmul_size}, median of {steps} runs "
                         f"interleaved with the training rows: {matmul:.1f} GFLOP/s")
            for spec, result in results[1:]:
                rows.append({"spec": spec, "result": result, "matmul": matmul})
                s = summarize(result, n_critic)
                if s:
                    key = (model, dim)
                    best_img_s[key] = max(best_img_s.get(key, 0.0), s["img_s"])
                    note = row_note(spec, result, n_critic)
                    if note:
                        notes.append(note)

    print_report(rows, notes, n_critic)
    if args.json:
        import json

        with open(args.json, "w") as handle:
            json.dump([{"spec": r["spec"], "result": r["result"], "matmul_gflops": r["matmul"]}
                       for r in rows], handle, indent=1)

    if args.data or args.data_only:
        print_data(run_single({"variant": "data"}, log_dir), best_img_s)
    print(f"\n# total wall time {time.perf_counter() - wall_start:.0f} s")


if __name__ == "__main__":
    main()
