"""Two processes against one: what `train --distribute multi-process` costs per generator update.

    python benchmarks/multi_process.py [--dims 32 128] [--updates 3] [--warmup 1]

For each --dim it runs, one after the other, on JAX:

- **1 process**: the original experiment's WGAN-GP nets (the ``original_experiment``
  preset at 32x32x1, n_critic 5, global batch 64) under ``fit``, one device;
- **2 processes**: the same under ``keras.distribution.DataParallel`` over two local
  processes joined by JAX's runtime (gloo collectives on the CPU), each feeding 32 rows
  of every global batch, with the CLI's per-step stop agreement
  (``cli/training/runtime.StepAgreement``'s broadcast of three integers) in each step;

and prints seconds per generator update (the median over --updates, after --warmup
updates) side by side. In the 2-process run each process also times, after training,
the collectives alone: all-reduces of float32 buffers the sizes of the gradients one
generator update all-reduces (n_critic critic gradients and one generator gradient),
and the stop agreement's broadcast; the bytes are the gradients' (a ring all-reduce
sends and receives 2(N-1)/N of them per process).

Both processes share this machine's cores, so the 2-process row measures what splitting
the batch and all-reducing costs, not a speed-up; the README turns the collective's
figures into an estimate for 8 machines.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

PRESET = "original_experiment"
IMAGE_SHAPE = (32, 32, 1)
BATCH = 64


def worker(args):
    """One process of a run: train, time each generator update, time the collectives."""
    import jax

    if args.processes > 1:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(f"127.0.0.1:{args.port}", num_processes=args.processes,
                                   process_id=args.process_id)
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_wgan import WGANGP

    keras.utils.set_random_seed(0)
    if args.processes > 1:
        keras.distribution.set_distribution(keras.distribution.DataParallel())
    gan = WGANGP.from_preset(PRESET, image_shape=IMAGE_SHAPE, dim=args.dim)
    n_critic = gan.n_critic
    images = np.random.default_rng(0).uniform(-1, 1, (BATCH * 4,) + IMAGE_SHAPE)
    data = tf.data.Dataset.from_tensor_slices(images.astype("float32")).batch(
        BATCH, drop_remainder=True).repeat()
    times = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if args.processes > 1:  # the CLI's stop agreement, every step
                from jax.experimental import multihost_utils

                multihost_utils.broadcast_one_to_all(np.zeros(3, np.int32))
            if (batch + 1) % n_critic == 0:
                float(logs["generator_loss"])  # the update's results are in
                times.append(time.perf_counter())

    start = time.perf_counter()
    updates = args.warmup + args.updates
    gan.fit(data, steps_per_epoch=n_critic * updates, epochs=1, verbose=0,
            callbacks=[Clock()], shuffle=False)
    per_update = [b - a for a, b in zip([start] + times[:-1], times)][args.warmup:]
    report = {"seconds_per_update": statistics.median(per_update),
              "all": per_update,
              "critic_params": int(sum(np.prod(v.shape) for v in
                                       gan.critic.trainable_variables)),
              "generator_params": int(sum(np.prod(v.shape) for v in
                                          gan.generator.trainable_variables))}
    if args.processes > 1:
        report.update(time_collectives(report, n_critic, args.processes))
    if args.process_id == 0:
        with open(args.report, "w") as f:
            json.dump(report, f)


def time_collectives(report, n_critic, processes, repeats=5):
    """All-reduces of the gradients' sizes and the agreement's broadcast, timed alone."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.experimental import multihost_utils
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(jax.devices()), ("p",))
    shard, whole = NamedSharding(mesh, PartitionSpec("p")), NamedSharding(mesh, PartitionSpec())
    total = jax.jit(lambda x: jnp.sum(x, axis=0), out_shardings=whole)

    def all_reduce(size):
        local = np.ones((1, size), np.float32)
        values = jax.make_array_from_process_local_data(shard, local, (processes, size))
        total(values).block_until_ready()  # compiled, warm
        took = []
        for _ in range(repeats):
            begin = time.perf_counter()
            total(values).block_until_ready()
            took.append(time.perf_counter() - begin)
        return statistics.median(took)

    critic, generator = report["critic_params"], report["generator_params"]
    seconds = n_critic * all_reduce(critic) + all_reduce(generator)
    broadcast = []
    for _ in range(repeats + 1):
        begin = time.perf_counter()
        multihost_utils.broadcast_one_to_all(np.zeros(3, np.int32))
        broadcast.append(time.perf_counter() - begin)
    return {"collective_seconds_per_update": seconds,
            "gradient_bytes_per_update": 4 * (n_critic * critic + generator),
            "agreement_seconds_per_step": statistics.median(broadcast[1:]),
            "n_critic": n_critic}


def run(dim, processes, args, directory):
    report = os.path.join(directory, f"report_{dim}_{processes}.json")
    from keras_wgan.cli.training.launch import free_port_pair

    port = free_port_pair()
    env = {**os.environ, "KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": "3"}
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", "--dim", str(dim), "--processes",
             str(processes), "--process-id", str(i), "--port", str(port), "--report", report,
             "--updates", str(args.updates), "--warmup", str(args.warmup)],
            env=env, stdout=subprocess.DEVNULL if i else None, stderr=subprocess.STDOUT)
        for i in range(processes)
    ]
    for child in children:
        if child.wait(timeout=3600) != 0:
            raise SystemExit(f"dim {dim}, {processes} processes: a worker failed")
    with open(report) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--updates", type=int, default=3, help="timed generator updates")
    parser.add_argument("--warmup", type=int, default=1, help="untimed first updates")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dim", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--process-id", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    print(f"JAX, {PRESET} WGAN-GP nets at {IMAGE_SHAPE}, global batch {BATCH}; seconds per "
          f"generator update (median of {args.updates} after {args.warmup} warm-up)",
          flush=True)
    header = ("| DIM | 1 process | 2 processes | 2 vs 1 | all-reduce per update (alone) | "
              "gradient bytes per update | stop agreement per step |")
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for dim in args.dims:
            one = run(dim, 1, args, directory)
            two = run(dim, 2, args, directory)
            rows.append(
                f"| {dim} | {one['seconds_per_update']:.3f} | {two['seconds_per_update']:.3f} "
                f"| {one['seconds_per_update'] / two['seconds_per_update']:.2f}x | "
                f"{two['collective_seconds_per_update'] * 1e3:.1f} ms | "
                f"{two['gradient_bytes_per_update'] / 1e6:.1f} MB | "
                f"{two['agreement_seconds_per_step'] * 1e3:.2f} ms |")
            print(rows[-1], flush=True)
    print("\n" + header + "\n| --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
