"""Several devices: one model trained data-parallel with ``keras.distribution``.

What it shows: on JAX, ``keras.distribution.DataParallel`` over every device (several
GPUs, or TPU cores); on TensorFlow, ``tf.distribute.MirroredStrategy`` (Keras' own
distribution API is JAX's there). The batch given to ``fit`` is the *global* batch: each
replica takes its share and draws the noise and penalty weights of its own rows, so two
replicas train what one device trains on the same batches (tested to 1e-5,
``tests/test_distribute.py``). The model is built and compiled inside the scope; the
file it saves loads on one device. ``--smoke`` splits the CPU into two devices (JAX:
``--xla_force_host_platform_device_count``; TensorFlow: two logical CPUs), set before
the framework starts, which is why this script imports Keras after reading its flags.

Full size (a machine with several GPUs; Fashion-MNIST, 32x32)::

    KERAS_BACKEND=jax python examples/several_devices.py --epochs 20 --out runs/devices

Time on 2 cores: several devices are the point of this script, not 2 cores. On one CPU
device an epoch of Fashion-MNIST at dim 32, batch 64 takes about 1.5 minutes (an
estimate from the README's 94 ms per critic step with these nets). From the command
line: ``keras-wgan train --distribute mirrored``.

Smoke test (seconds: two CPU devices, tiny sizes, made-up images)::

    KERAS_BACKEND=jax python examples/several_devices.py --smoke

Writes into ``--out``: samples/epoch_NNN.png and model.keras.
"""

import argparse
import os
import tempfile


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="fashion_mnist",
                        help="any source load_dataset takes; default fashion_mnist")
    parser.add_argument("--data-dir", default=None, help="folder with the IDX files")
    parser.add_argument("--out", default="runs/devices", help="output folder")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--batch-per-replica", type=int, default=64,
                        help="the global batch is this times the replica count")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true",
                        help="seconds: two CPU devices, 16 px, dim 4, one short epoch, "
                             "made-up images unless --data is given, --out in a temp folder "
                             "unless given")
    args = parser.parse_args()
    if args.smoke:
        args.epochs, args.batch_per_replica, args.dim = 1, 4, 4
        if args.out == parser.get_default("out"):
            args.out = tempfile.mkdtemp(prefix="devices-")
    return args


def two_cpu_devices():
    """Split the CPU into two devices, before JAX or TensorFlow starts."""
    # Tiny nets: XLA's optimisation passes would cost more time than they save.
    os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_force_host_platform_device_count=2").strip()
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


def distribution_scope():
    """(the scope to build, compile and fit in, the replica count) for this backend."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        distribution = keras.distribution.DataParallel(
            devices=keras.distribution.list_devices())  # every device
        keras.distribution.set_distribution(distribution)
        return distribution.scope(), len(distribution.device_mesh.devices.flatten())
    if backend == "tensorflow":
        import tensorflow as tf

        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
            d.name for d in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices)
        return strategy.scope(), strategy.num_replicas_in_sync
    raise SystemExit(f"data-parallel training runs on JAX or TensorFlow here, not {backend}: "
                     "set KERAS_BACKEND=jax")


def main():
    args = parse_args()
    if args.smoke:
        two_cpu_devices()
    import keras
    import numpy as np

    from keras_wgan import WGANGP
    from keras_wgan.callbacks import AtomicModelCheckpoint, SampleGrid
    from keras_wgan.data import load_dataset

    keras.utils.set_random_seed(args.seed)
    scope, replicas = distribution_scope()
    global_batch = args.batch_per_replica * replicas
    print(f"{keras.backend.backend()}: {replicas} replicas, global batch {global_batch}")

    size = 16 if args.smoke else 32
    source = args.data
    if args.smoke and source == "fashion_mnist":  # 40 made-up images instead
        source = np.random.default_rng(args.seed).integers(0, 256, (40, 28, 28),
                                                           dtype=np.uint8)
    dataset = load_dataset(source, image_size=size, channels=1, batch_size=global_batch,
                           seed=args.seed, data_dir=args.data_dir)
    path = os.path.join(args.out, "model.keras")
    with scope:  # the variables live on every replica
        gan = WGANGP.from_preset("fashion_mnist_32", image_shape=(size, size, 1),
                                 dim=args.dim, latent_dim=8 if args.smoke else 128,
                                 seed=args.seed)
        gan.fit(dataset, epochs=args.epochs, shuffle=False, callbacks=[
            SampleGrid(os.path.join(args.out, "samples"), num_samples=16, seed=args.seed),
            AtomicModelCheckpoint(path),
        ], verbose=2 if args.smoke else "auto")
    print(f"Done: {path} ({gan.critic_optimizer.iterations.numpy()} critic updates on "
          f"{replicas} replicas); it loads on one device with keras.models.load_model.")


if __name__ == "__main__":
    main()
