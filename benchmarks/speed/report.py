"""The report: per-row summaries, paired speed ratios, the table and the notes.

Every ratio between two rows of one run is the median of the per-round paired ratios
(``speed_ratio``) when both rows ran one generator update per lockstep round: the
rows took turns, so a load that drifts between rounds cancels in each pair.
"""

import statistics

from speed.settings import BATCH, DIAGNOSTICS

LEGEND = (
    "s/G-upd: median seconds per generator update (n_critic critic updates + 1 "
    "generator update), steady state, variants interleaved update by update; min: "
    "fastest update; IQR: interquartile range / median; trace s: first update "
    "minus the median; crit img/s: real images the critic consumes per second; "
    "x orig / x ref: times faster than the original loop (TensorFlow) / the "
    "hand-written reference (same backend and jit), median of the per-round paired "
    "ratios; %mm: useful GFLOP/s as % "
    "of the interleaved matmul rate; RSS: peak resident memory; retr: traces "
    "after the first epoch; n: timed updates."
)
# The issue's target for fit on the ResNets: at most this many times the hand-written
# step's time per generator update.
RESNET_TARGET = 1.05


def fmt(value, spec):
    """format(value, spec), or a dash padded to the same width when there is no value."""
    if value is None:
        width = spec.split(".")[0]
        return "-".rjust(int(width) if width.isdigit() else 1)
    return format(value, spec)


def summarize(result, n_critic):
    if "error" in result or not result.get("per_update"):
        return None
    t = statistics.median(result["per_update"])
    return {
        "t": t,
        "img_s": n_critic * BATCH / t,
        "gflops": result["flops"] / t / 1e9,
        "trace_s": max(0.0, result["first_update_s"] - t),
    }


def speed_ratio(base, result):
    """How many times faster ``result`` is than ``base``: the median of the per-round
    ratios when both ran one update per lockstep round (paired samples cancel a load
    that drifts between rounds), else the ratio of the medians."""
    a, b = base["per_update"], result["per_update"]
    if len(a) == len(b) and base.get("updates_per_block", 1) == 1 \
            and result.get("updates_per_block", 1) == 1:
        return statistics.median(x / y for x, y in zip(a, b))
    return statistics.median(a) / statistics.median(b)


def print_table(rows, n_critic):
    header = (
        f"{'model':8} {'dim':>4} {'backend':10} {'variant':15} {'jit':>4} {'spe':>3} "
        f"{'s/G-upd':>8} {'min':>7} {'IQR':>5} {'trace s':>7} {'crit img/s':>10} {'x orig':>6} "
        f"{'x ref':>6} {'GFLOP/s':>7} {'%mm':>4} {'RSS MB':>7} {'RSS/orig':>8} "
        f"{'retr':>4} {'n':>3}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        spec, result = row["spec"], row["result"]
        variant, jit, spe = spec["variant"], spec["jit"], spec["spe"]
        backend = spec.get("backend", "tensorflow")
        head = f"{spec['model']:8} {spec['dim']:>4} {backend:10} {variant:15} {jit:>4} {spe:>3}"
        s = summarize(result, n_critic)
        if s is None:
            print(f"{head} ERROR: {result.get('error')}")
            continue
        group = [x for x in rows if x["spec"]["model"] == spec["model"]
                 and x["spec"]["dim"] == spec["dim"] and summarize(x["result"], n_critic)]
        original = next((x for x in group if x["spec"]["variant"] == "original"), None)
        refs = [x for x in group if x["spec"]["variant"] == "reference"
                and x["spec"].get("backend", "tensorflow") == backend]
        ref = next((x for x in refs if x["spec"]["jit"] == jit), refs[0] if refs else None)
        x_original = speed_ratio(original["result"], result) if original else None
        x_ref = speed_ratio(ref["result"], result) if ref else None
        rss_vs = result["peak_rss_mb"] / original["result"]["peak_rss_mb"] if original \
            else None
        q = statistics.quantiles(result["per_update"], n=4) if len(result["per_update"]) > 1 \
            else [s["t"], s["t"], s["t"]]
        iqr = (q[2] - q[0]) / s["t"]
        matmul = row["matmul"]
        retr = result.get("retraces_after_first_epoch")
        print(
            f"{head} {s['t']:8.3f} {min(result['per_update']):7.3f} {100 * iqr:4.0f}% "
            f"{s['trace_s']:7.1f} {s['img_s']:10.1f} "
            f"{fmt(x_original, '6.2f')} {fmt(x_ref, '6.3f')} {s['gflops']:7.1f} "
            f"{100 * s['gflops'] / matmul if matmul else 0:4.0f} {result['peak_rss_mb']:7.0f} "
            f"{fmt(rss_vs, '8.3f')} {'-' if retr is None else retr:>4} "
            f"{len(result['per_update']):>3}"
        )


def flops_note(model, dim, check):
    """The FLOP-count line of one (model, DIM): analytic forward counts vs the profiler."""
    pg, pc = check["profiler_generator"], check["profiler_critic"]
    return (
        f"{model} DIM {dim}: forward FLOPs/sample (Conv2D+Dense 2*MACs) "
        f"generator {check['forward_generator'] / 1e6:.2f}M [tf.profiler "
        f"Conv2D+MatMul {pg[1] / 1e6:.2f}M, all ops {pg[0] / 1e6:.2f}M], critic "
        f"{check['forward_critic'] / 1e6:.2f}M [profiler {pc[1] / 1e6:.2f}M, "
        f"all ops {pc[0] / 1e6:.2f}M]; per generator update "
        f"{check['flops_per_update'] / 1e9:.1f} GFLOP"
    )


def row_note(spec, result, n_critic):
    """The checks one row reports (graph, traces, replicas, frozen critic), or None."""
    model, dim = spec["model"], spec["dim"]
    extra = []
    if "host_sync_ops" in result:
        extra.append(f"host-sync ops in the train_step graph: "
                     f"{', '.join(result['host_sync_ops']) or 'none'}")
        extra.append(f"train_step traces in epoch 1: "
                     f"{result['traces_first_epoch']}, after: "
                     f"{result['retraces_after_first_epoch']}")
        extra.append(f"jit_compile resolved to {result['jit_resolved']}")
    if result.get("replicas", 1) > 1:
        critic_bytes, generator_bytes = result["gradient_bytes"]
        per_update = n_critic * critic_bytes + generator_bytes
        extra.append(
            f"{result['replicas']} replicas all-reduce {per_update / 1e6:.1f} MB "
            f"of gradients per generator update ({n_critic} x critic "
            f"{critic_bytes / 1e6:.2f} MB + generator "
            f"{generator_bytes / 1e6:.2f} MB)")
    if "critic_frozen_verified" in result:
        extra.append("critic weights unchanged by the generator's "
                     f"train_on_batch: {result['critic_frozen_verified']}")
    if spec.get("nets", "dcgan") != "dcgan" and "moving_stats_moved" in result:
        extra.append("generator's BatchNormalization moving statistics updated: "
                     f"{result['moving_stats_moved']}")
    if not extra:
        return None
    return (f"{model} DIM {dim} {spec['backend']} {spec['variant']} "
            f"jit={spec['jit']} "
            f"spe={spec['spe']}: " + "; ".join(extra))


def steady_cpu(result):
    """CPU seconds of the child per timed update (warm-up blocks dropped), or None when
    its blocks hold more than one update."""
    if result.get("updates_per_block", 1) != 1 or not result.get("busy_cpu"):
        return None
    return result["busy_cpu"][-len(result["per_update"]):]


def resnet_lines(rows, n_critic):
    """fit's time per generator update over the reference's (same jit), ResNet rows only."""
    lines = []
    for row in rows:
        spec, result = row["spec"], row["result"]
        if spec.get("nets", "dcgan") != "resnet" or spec["variant"] != "fit" \
                or not summarize(result, n_critic):
            continue
        for other in rows:
            o = other["spec"]
            if (o.get("nets"), o["model"], o["dim"], o["jit"], o.get("backend")) != (
                    "resnet", spec["model"], spec["dim"], spec["jit"], spec.get("backend")) \
                    or o["variant"] != "reference" or not summarize(other["result"], n_critic):
                continue
            slower = speed_ratio(result, other["result"])  # median of t_fit / t_ref
            verdict = "within" if slower <= RESNET_TARGET else "NOT within"
            cpu_fit, cpu_ref = steady_cpu(result), steady_cpu(other["result"])
            cpu = ""
            if cpu_fit and cpu_ref and len(cpu_fit) == len(cpu_ref):
                cpu = (f"; CPU seconds (all threads) per update: fit "
                       f"{statistics.median(cpu_fit):.2f}, reference "
                       f"{statistics.median(cpu_ref):.2f}, paired median "
                       f"{statistics.median(a / b for a, b in zip(cpu_fit, cpu_ref)):.3f}x")
            lines.append(
                f"{spec['model']} DIM {spec['dim']} resnet jit={spec['jit']} spe={spec['spe']}: "
                f"fit takes {slower:.3f}x the hand-written reference's time per generator "
                f"update (median of paired rounds; {verdict} the {RESNET_TARGET:.2f}x "
                f"target){cpu}")
    return lines


def print_report(rows, notes, n_critic):
    """Everything after the runs: the table, its legend, the notes, the like-for-like lines."""
    if rows:
        print()
        print_table(rows, n_critic)
        print()
        print(LEGEND)
    for note in notes:
        print("  " + note)
    for row in rows:  # like-for-like: fit vs the diagnostic references on the same nets
        spec, result = row["spec"], row["result"]
        if not spec["variant"].startswith("fit") or not summarize(result, n_critic) \
                or spec.get("backend", "tensorflow") != "tensorflow":
            continue
        parts = []
        for other in rows:
            o = other["spec"]
            if (o["model"], o["dim"], o["jit"]) == (spec["model"], spec["dim"], spec["jit"]) \
                    and o["variant"] in DIAGNOSTICS and summarize(other["result"], n_critic):
                parts.append(f"{speed_ratio(other['result'], result):.3f}x {o['variant']}")
        if parts:
            print(f"  {spec['model']} DIM {spec['dim']} {spec['variant']} jit={spec['jit']} "
                  f"spe={spec['spe']} is " + ", ".join(parts))
    for line in resnet_lines(rows, n_critic):
        print("  " + line)


def print_data(data, best_img_s):
    """The data path's line, and how far it outruns the fastest training row."""
    print()
    if "error" in data or "skipped" in data:
        print(f"data path: {data.get('error') or data.get('skipped')}")
        return
    print(
        f"data path: keras_wgan.data.load_dataset(60000x28x28 uint8 array -> 32x32, "
        f"batch {BATCH}, shuffled): {data['images_per_s']:.0f} images/s (setup "
        f"{data['setup_s']:.1f} s; batches {data['shape']} {data['dtype']} in "
        f"[{data['range'][0]:.2f}, {data['range'][1]:.2f}]; RSS "
        f"{data['peak_rss_mb']:.0f} MB)"
    )
    for (model, dim), img_s in sorted(best_img_s.items()):
        ratio = data["images_per_s"] / img_s
        print(f"  vs the fastest training row, {model} DIM {dim}: {img_s:.1f} "
              f"images/s -> {ratio:.0f}x ({'>=' if ratio >= 20 else '<'} 20x)")
    if not best_img_s:
        print("  (no training rows in this run to compare with; the fastest DIM 32 "
              "row measured on 2 CPU cores consumed ~1,100 real images/s, so 20x "
              "is ~22,000 images/s)")
