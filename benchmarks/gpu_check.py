"""Helper of ``benchmarks/gpu_check.sh`` (see there): what the shell cannot do alone.

    python3 benchmarks/gpu_check.py devices                 # which devices each backend sees
    python3 benchmarks/gpu_check.py colour --out DIR --seconds 40 [--dim N --n-eval N ...]
    python3 benchmarks/gpu_check.py figures STEP OUT        # a step's figures; rc 1: missing
    python3 benchmarks/gpu_check.py summary OUT [--smoke]   # the table, beside the CPU figures

``colour`` runs ``benchmarks/colour_quality.py``'s own ``run_cell`` on the two cells
DCGAN/plain/full and ResNet/DiffAugment/full, one after the other in this process, with
its budget clock switched from process CPU time to wall time (on a GPU, equal GPU
minutes; process CPU time would measure the host threads, not the GPU). Nothing else of
the cell changes: the clock still starts when ``fit`` starts (tracing and XLA compilation
included, as the CPU figures included tracing), the yardstick and scoring are the script's.
"""

import argparse
import json
import os
import re
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
N_CRITIC = 5

# Where each step leaves its output, relative to OUT (the shell script uses the same names).
STEP_FILES = {
    "tf": "1_tf/rows.json",
    "others": "2_jax_torch/rows.json",
    "cifar": "3_cifar_resnet/run/scores.json",
    "generate": "4_generate/log.txt",
    "colour": "5_colour/results.json",
}

# The CPU baselines, quoted from README.md (2-core AVX-512 CPU), with where they come from.
EVERY = ('README "Every backend" (train_speed.py --model both --dim 128 --backend tensorflow '
         'jax torch)')
BF16 = ('README "Scale-out: bfloat16 and two replicas" (train_speed.py --model wgan-gp '
        '--dim 32 128 --variants fit fit-bf16 fit-2replicas)')
CIFAR = ('README "The WGAN-GP paper\'s CIFAR-10 experiment" (cifar10_resnet.py --random-data '
         '--generator-updates 6 --eval-every 2)')
GEN = ('README "Using a trained generator", Fast path (generate_speed.py --images 4096 '
       '--rounds 3, TensorFlow)')
COLOUR = ('README "Colour pictures at equal CPU time" (colour_quality.py --budget-minutes 6 '
          '--dim 32: 6 CPU min a cell, 2 cores; yardstick version 2, real floor fd 17.7)')
FIGURES = [
    # (key, label, unit, CPU baseline, source)
    ("tf.fit", "TF fit fp32, WGAN-GP DIM 128", "s/G-upd", "8.482 (8.195 in 'Every backend')", BF16),
    ("tf.fit-bf16", "TF fit mixed_bfloat16, WGAN-GP DIM 128", "s/G-upd", "4.332", BF16),
    ("tf.bf16-speedup", "TF bf16 speed-up (fp32 / bf16)", "x", "1.96", BF16),
    ("tf.original", "TF original loop, WGAN-GP DIM 128", "s/G-upd", "13.32", EVERY),
    ("others.jax", "JAX fit, WGAN-GP DIM 128", "s/G-upd", "86.90", EVERY),
    ("others.torch", "PyTorch fit, WGAN-GP DIM 128", "s/G-upd", "12.67", EVERY),
    ("cifar.s", "cifar10_resnet recipe (32 px, DIM 128, batch 64)", "s/G-upd",
     "20.5 (GPU projection in README: 0.09)", CIFAR),
    ("cifar.hours", "  -> 100,000 generator updates", "h", "570 (GPU projection: 2.6)", CIFAR),
    ("generate.resnet-64px-dim64.command", "keras-wgan generate, ResNet 64x64x3 DIM 64",
     "img/s", "58", GEN),
    ("generate.resnet-64px-dim64.bare", "  bare predict loop (the limit)", "img/s", "60", GEN),
    ("generate.dcgan-32px-dim32.command", "keras-wgan generate, DCGAN 32x32x1 DIM 32",
     "img/s", "1172", GEN),
    ("generate.dcgan-32px-dim32.bare", "  bare predict loop (the limit)", "img/s", "2525", GEN),
    ("colour.dcgan-plain-full", "icons fd, DCGAN plain, full set", "fd (G upd)", "64.3 (142)",
     COLOUR),
    ("colour.resnet-aug-full", "icons fd, ResNet+DiffAugment, full set", "fd (G upd)",
     "281.0 (19)", COLOUR),
]

# Figures a step may lack and still pass (the original loop only comes along in step 1).
OPTIONAL = {"tf.original"}


# ----------------------------------------------------------------------------- devices
def devices():
    """One line per backend: the GPUs it sees (imports all three; nothing is allocated)."""
    seen = {}
    try:
        import tensorflow as tf

        seen["tensorflow"] = [d.name for d in tf.config.list_physical_devices("GPU")]
    except Exception as error:  # report, do not stop: the steps say the rest
        seen["tensorflow"] = f"error: {error}"
    try:
        import jax

        seen["jax"] = [str(d) for d in jax.devices() if d.platform == "gpu"]
    except Exception as error:
        seen["jax"] = f"error: {error}"
    try:
        import torch

        seen["torch"] = ([torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
                         if torch.cuda.is_available() else [])
    except Exception as error:
        seen["torch"] = f"error: {error}"
    for name, gpus in seen.items():
        print(f"{name}: {gpus if gpus else 'no GPU'}")
    print("GPU_BACKENDS=" + " ".join(n for n, g in seen.items() if isinstance(g, list) and g))
    return 0


# ------------------------------------------------------------------------------ colour
CELLS = (("dcgan", "off", "full"), ("resnet", "color,translation,cutout", "full"))


def colour(argv):
    p = argparse.ArgumentParser(prog="gpu_check.py colour")
    p.add_argument("--out", required=True)
    p.add_argument("--seconds", type=float, required=True, help="wall seconds of fit a cell")
    p.add_argument("--icons", default=None)
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--n-eval", type=int, default=96)
    args = p.parse_args(argv)
    sys.path.insert(0, HERE)
    import colour_quality as cq

    class WallClock:  # the budget callback reads time.process_time: make it wall time
        process_time = staticmethod(time.perf_counter)
        perf_counter = staticmethod(time.perf_counter)

    cq.time = WallClock
    cq_args = cq.parse_args(["--out", args.out, "--dim", str(args.dim),
                             "--batch-size", str(args.batch_size), "--n-eval", str(args.n_eval),
                             *(["--icons", args.icons] if args.icons else [])])
    cq_args.budget_minutes = args.seconds / 60
    os.makedirs(args.out, exist_ok=True)
    full, subset = cq.prepare_folders(cq_args.icons, args.out)
    import keras

    results = []
    for cell in CELLS:
        started = time.perf_counter()
        result = cq.run_cell(cq_args, cell, full, subset)
        result["budget_wall_s"] = args.seconds
        results.append(result)
        keras.backend.clear_session()
        print(f"{result['cell']}: {result['generator_updates']} generator updates in "
              f"{result['wall_s']:.0f} s of fit ({time.perf_counter() - started:.0f} s with "
              f"yardstick and scoring), fd {result['fd']:.2f} (floor {result['fd_floor']:.2f})",
              flush=True)
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump(results, f, indent=1)
    cq.print_table(results)
    return 0


# ----------------------------------------------------------------------------- figures
def _load(path):
    with open(path) as f:
        return json.load(f)


def _train_rows(path):
    """{backend.variant: row} of a train_speed.py --json file."""
    rows = {}
    for row in _load(path):
        spec, result = row["spec"], row["result"]
        key = (spec["variant"] if spec.get("backend", "tensorflow") == "tensorflow"
               else spec["backend"])
        rows[key] = result
    return rows


def _median(result):
    if not result or "error" in result or not result.get("per_update"):
        return None
    return statistics.median(result["per_update"])


ERRORS = {}  # figure key: why its row failed (train_speed.py rows that carry an error)


def step_figures(step, out):
    """{figure key: (value text, note)} of one step, from its files; {} when there are none."""
    path = os.path.join(out, STEP_FILES[step])
    if not os.path.isfile(path):
        return {}
    found = {}
    if step in ("tf", "others"):
        rows = _train_rows(path)
        keys = ("fit", "fit-bf16", "original") if step == "tf" else ("jax", "torch")
        for key in keys:
            t = _median(rows.get(key))
            result = rows.get(key) or {}
            if t is None and result.get("error"):
                ERRORS[f"{step}.{key}"] = str(result["error"])[:200]
            if t is not None:
                jit = result.get("jit_resolved")
                note = f"median of {len(result['per_update'])}"
                if jit is not None:
                    note += f", jit_compile {'on' if jit else 'off'}"
                found[f"{step}.{key}"] = (f"{t:.4f}", note)
        if "tf.fit" in found and "tf.fit-bf16" in found:
            ratio = float(found["tf.fit"][0]) / float(found["tf.fit-bf16"][0])
            found["tf.bf16-speedup"] = (f"{ratio:.2f}", "")
    elif step == "cifar":
        data = _load(path)
        rows = data.get("rows") or []
        if rows:
            last = rows[-1]
            s = last["seconds_per_update"]
            note = f"epoch ending at update {last['generator_updates']}; {data.get('data')}"
            if last.get("fid") is not None:
                note += f"; IS {last['inception_score']:.2f}, FID {last['fid']:.1f}"
            found["cifar.s"] = (f"{s:.4f}", note)
            found["cifar.hours"] = (f"{s * 100_000 / 3600:.2f}", "at that rate")
    elif step == "generate":
        with open(path) as f:
            for line in f:
                m = re.match(r"^(\S+-\d+px-dim\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+"
                             r"([\d.]+)\s+([\d.]+)\s+\(seed images identical at batch 7: (\w+)",
                             line)
                if m:
                    net = m.group(1)
                    found[f"generate.{net}.command"] = (
                        m.group(3), f"{m.group(4)} of the limit; identical at batch 7: "
                                    f"{m.group(7)}")
                    found[f"generate.{net}.bare"] = (m.group(2), f"writing loop {m.group(5)}")
    elif step == "colour":
        for r in _load(path):
            found[f"colour.{r['cell']}"] = (
                f"{r['fd']:.2f} ({r['generator_updates']})",
                f"{r['wall_s']:.0f} s of fit a cell (budget {r.get('budget_wall_s', 0):.0f} s), "
                f"floor {r['fd_floor']:.2f}")
    return found


def figures(argv):
    step, out = argv
    found = step_figures(step, out)
    wanted = [f for f in FIGURES if f[0].split(".")[0] == step]
    for key, label, unit, cpu, _ in wanted:
        value, note = found.get(key, ("-", "missing" + (f": {ERRORS[key]}" if key in ERRORS
                                                        else "")))
        print(f"  {label}: {value} {unit} (CPU {cpu}){'; ' + note if note else ''}")
    missing = [key for key, *_ in wanted if key not in found and key not in OPTIONAL]
    return 1 if missing else 0


def summary(argv):
    out, smoke = argv[0], "--smoke" in argv[1:]
    status = {}
    path = os.path.join(out, "steps.tsv")
    if os.path.isfile(path):
        with open(path) as f:
            for line in f:
                step, word, rc, seconds = line.rstrip("\n").split("\t")
                status[step] = (word, rc, seconds)
    found = {}
    for step in STEP_FILES:
        try:
            found.update(step_figures(step, out))
        except Exception as error:  # a malformed file: say so in the table
            status[step] = (f"unreadable ({error})", "-", "-")
    width = max(len(f[1]) for f in FIGURES)
    column = "this run" if smoke else "GPU"
    if smoke:
        print("\nSMOKE run: tiny sizes on the CPU; the values below mean nothing.")
    print(f"\n{'figure':<{width}}  {'unit':<10} {column:>16}  {'CPU baseline':<34} source")
    print("-" * (width + 100))
    sources = []
    for key, label, unit, cpu, source in FIGURES:
        step = key.split(".")[0]
        value = found.get(key, (None,))[0]
        if value is None:
            word = status.get(step, ("not run",))[0]
            value = word if word != "ok" else "missing"
        if source not in sources:
            sources.append(source)
        print(f"{label:<{width}}  {unit:<10} {value:>16}  {cpu:<34} [{sources.index(source) + 1}]")
    print()
    for i, source in enumerate(sources, 1):
        print(f"[{i}] {source}")
    print("\nsteps: " + ", ".join(f"{s} {w} (rc {r}, {t} s)" for s, (w, r, t) in status.items()))
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("devices", "colour", "figures", "summary"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "devices":
        return devices()
    return {"colour": colour, "figures": figures, "summary": summary}[command](rest)


if __name__ == "__main__":
    sys.exit(main())
