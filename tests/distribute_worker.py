"""Subprocess half of tests/test_distribute.py: one device vs two replicas, same global batches.

    KERAS_BACKEND=tensorflow python distribute_worker.py OUT_DIR   (MirroredStrategy over
                                                                    2 logical CPU devices)
    KERAS_BACKEND=jax XLA_FLAGS=--xla_force_host_platform_device_count=2 \\
        python distribute_worker.py OUT_DIR                         (keras.distribution
                                                                    DataParallel)

Writes OUT_DIR/report_<backend>.json with each run's weights, counts and losses.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
OUT = Path(sys.argv[1])


def points(num_batches, batch_size=8, seed=0):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    data = rng.normal(size=(num_batches * batch_size, 2)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(data).batch(batch_size)


def images(num_batches, batch_size=4):
    import tensorflow as tf

    rng = np.random.default_rng(1)
    data = rng.uniform(-1, 1, (num_batches * batch_size, 16, 16, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(data).batch(batch_size)


def value(variable):
    """A variable's value as numpy (a tf.distribute variable has no __array__)."""
    import keras

    return keras.ops.convert_to_numpy(keras.ops.convert_to_tensor(variable))


def count(variable):
    return int(value(variable))


def run(scope):
    """Train a WGAN-GP (toy MLPs) and a WGAN (batch-norm critic), save, reload, resume."""
    import keras
    from testing import tiny_image_gan, tiny_mlp_gan

    from keras_wgan import WGAN, WGANGP

    report = {}
    with scope():
        gan = tiny_mlp_gan(WGANGP, n_critic=2, ema_decay=0.9, seed=0)
        # SGD: Adam divides by the gradient's running scale, so the float reordering of
        # a sharded reduction, in a gradient that is ~0, becomes a full-size step.
        gan.compile(critic_optimizer=keras.optimizers.SGD(0.05),
                    generator_optimizer=keras.optimizers.SGD(0.05))
        history = gan.fit(points(8), epochs=2, verbose=0)  # 16 critic, 8 generator updates
    report["wgangp"] = {
        "weights": [np.asarray(w).tolist() for w in gan.generator.get_weights()
                    + gan.critic.get_weights() + gan.ema_generator.get_weights()],
        "counts": [count(gan.critic_optimizer.iterations), count(gan.generator_optimizer.iterations),
                   count(gan.pending_critic_updates)],
        "history": {k: [float(x) for x in v] for k, v in history.history.items()},
    }
    path = OUT / f"{keras.backend.backend()}_{scope.__name__}.keras"
    gan.save(path)
    with scope():
        wgan = tiny_image_gan(WGAN, normalization="batch", n_critic=2, seed=0)
        wgan.compile()
        wgan.fit(images(4), epochs=1, verbose=0)
    clipped = max(float(np.abs(value(w)).max()) for w in wgan.critic.trainable_weights)
    report["wgan"] = {
        "counts": [count(wgan.critic_optimizer.iterations), count(wgan.generator_optimizer.iterations)],
        "max_abs_critic_weight": clipped,
        "finite": bool(all(np.isfinite(np.asarray(w)).all() for w in wgan.get_weights())),
    }
    report["saved"] = str(path)
    # Augmentation draws the rows of the global batch too (a user policy on points: the
    # built-in image policies draw through the same `uniform`).
    with scope():
        augmented = tiny_mlp_gan(WGANGP, n_critic=2, ema_decay=None, seed=0, augment=jitter)
        augmented.compile(critic_optimizer=keras.optimizers.SGD(0.05),
                          generator_optimizer=keras.optimizers.SGD(0.05))
        history = augmented.fit(points(4), epochs=1, verbose=0)
    report["augmented"] = {
        "weights": [np.asarray(w).tolist() for w in augmented.get_weights()],
        "history": {k: [float(x) for x in v] for k, v in history.history.items()},
    }
    return report


def resnet_run(scope):
    """The WGAN-GP paper's conditional ResNets on two replicas: counts, finite, loadable.

    Their generator's batch norm normalises each replica's share with that share's
    statistics (as the reference code's two-GPU runs did), so the weights are not one
    device's; the critic has no batch-coupled layer.
    """
    import keras
    import tensorflow as tf

    from keras_wgan import WGANGP
    from keras_wgan.architectures import build_resnet_critic, build_resnet_generator

    rng = np.random.default_rng(2)
    data = tf.data.Dataset.from_tensor_slices(
        (rng.uniform(-1, 1, (16, 8, 8, 3)).astype("float32"), np.arange(16) % 3)).batch(4)
    with scope():
        keras.utils.set_random_seed(0)
        gan = WGANGP(build_resnet_generator(8, (8, 8, 3), 4, num_classes=3),
                     build_resnet_critic((8, 8, 3), 4, num_classes=3, auxiliary_classifier=True),
                     n_critic=2, seed=0)
        gan.compile()
        history = gan.fit(data, epochs=1, verbose=0).history
    path = OUT / f"{keras.backend.backend()}_resnet.keras"
    gan.save(path)
    loaded = keras.models.load_model(path)  # on one device
    noise = rng.normal(size=(3, 8)).astype("float32")
    labels = np.array([0, 1, 2])
    return {
        "counts": [count(gan.critic_optimizer.iterations),
                   count(gan.generator_optimizer.iterations)],
        "finite": bool(all(np.isfinite(v[0]) for v in history.values())
                       and all(np.isfinite(value(w)).all() for w in gan.weights)),
        "loaded_same_images": bool(np.allclose(
            loaded.generate_from_noise(noise, labels=labels),
            gan.generate_from_noise(noise, labels=labels), atol=1e-5)),
    }


def jitter(samples, uniform):
    """An augmentation policy for points: a uniform shift of up to 0.25 per coordinate."""
    import keras

    return samples + keras.ops.cast(0.5 * uniform((2,)) - 0.25, samples.dtype)


def two_replica_scope(backend):
    """(a context that trains on two replicas, the replica count) for this backend."""
    import keras

    if backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        return strategy.scope, strategy.num_replicas_in_sync
    import jax

    distribution = keras.distribution.DataParallel(devices=jax.devices())
    return distribution.scope, len(jax.devices())


def main():
    from graph_settings import apply_test_graph_settings

    apply_test_graph_settings()  # as in the pytest process that compares with us
    import contextlib

    import keras

    import keras_wgan  # noqa: F401  (registers the classes load_model reads)

    backend = keras.backend.backend()
    scope, replicas = two_replica_scope(backend)

    def one_device():
        return contextlib.nullcontext()

    def two_replicas():
        return scope()

    reports = {"replicas": replicas, "one_device": run(one_device),
               "two_replicas": run(two_replicas)}
    if backend == "tensorflow":  # tf.distribute (JAX's DataParallel runs the same step)
        reports["resnet_two_replicas"] = resnet_run(two_replicas)
    # A file saved by the two-replica run loads on one device, and the reverse resumes.
    loaded = keras.models.load_model(reports["two_replicas"]["saved"])
    reports["loaded_on_one_device_counts"] = [count(loaded.critic_optimizer.iterations),
                                              count(loaded.generator_optimizer.iterations)]
    with scope():
        loaded = keras.models.load_model(reports["one_device"]["saved"])
        loaded.fit(points(4, seed=3), epochs=1, verbose=0)
    reports["resumed_on_two_replicas_counts"] = [count(loaded.critic_optimizer.iterations),
                                                 count(loaded.generator_optimizer.iterations)]
    # Mixed float16 with loss scaling on both optimizers, on two replicas.
    from testing import tiny_mlp_gan

    from keras_wgan import WGANGP

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        with scope():
            gan = tiny_mlp_gan(WGANGP, n_critic=2, seed=0)
            gan.compile()
            history = gan.fit(points(4), epochs=1, verbose=0).history
    finally:
        keras.mixed_precision.set_global_policy("float32")
    reports["mixed_float16"] = {
        "optimizers": [type(gan.critic_optimizer).__name__,
                       type(gan.generator_optimizer).__name__],
        "counts": [count(gan.critic_optimizer.iterations),
                   count(gan.generator_optimizer.iterations)],
        "finite": bool(all(np.isfinite(v[0]) for v in history.values())),
    }
    (OUT / f"report_{backend}.json").write_text(json.dumps(reports))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
