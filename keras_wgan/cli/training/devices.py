"""Device probing: how many GPUs this machine's backend sees, and the data-parallel scope.

What the data-and-device choices (:mod:`.choices`) follow and what ``--distribute
auto`` decides on. Before JAX's multi-process runtime starts, JAX cannot be asked
(starting its backend would keep the runtime from starting), so
:func:`gpu_visible_before_jax_starts` looks for a device node and a plugin instead.
"""

from keras_wgan.cli.common import CliError


def distribution_scope(choice):
    """One process's ``--distribute`` (auto, none, mirrored): a context in which models
    are built and trained data-parallel over this machine's devices, and its replica
    count."""
    import contextlib

    import keras

    backend = keras.backend.backend()
    if choice == "auto":
        gpus = gpu_count(backend)
        choice = "mirrored" if gpus > 1 else "none"
    if choice == "none":
        return contextlib.nullcontext(), 1
    if backend == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()
        return strategy.scope(), strategy.num_replicas_in_sync
    if backend == "jax":
        distribution = keras.distribution.DataParallel()
        return distribution.scope(), len(distribution.device_mesh.devices.flatten())
    raise CliError(
        f"--distribute {choice}: data-parallel training is not available on the {backend} "
        "backend here; use --backend tensorflow or --backend jax, or --distribute none."
    )


def gpu_visible_before_jax_starts():
    """Whether JAX will see a GPU, without starting its backend: an NVIDIA device node
    here and a JAX CUDA plugin installed."""
    import glob
    import importlib.util

    plugins = ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_plugins.xla_cuda12")
    try:
        plugin = any(importlib.util.find_spec(name) is not None for name in plugins)
    except ModuleNotFoundError:
        plugin = False
    return plugin and bool(glob.glob("/dev/nvidia[0-9]*"))


def gpu_count(backend):
    """How many GPUs Keras' backend sees here."""
    if backend == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return sum(device.platform == "gpu" for device in jax.devices())
    import torch

    return torch.cuda.device_count()


def device_kind(runtime_started=True):
    """"gpu" when Keras' backend sees a GPU, else "cpu": what the data-chosen settings
    follow. Before JAX's multi-process runtime starts, asking JAX would
    start its backend (and the runtime could not), so then: a GPU device node and a JAX
    GPU plugin installed."""
    import keras

    backend = keras.backend.backend()
    if not runtime_started and backend == "jax":
        return "gpu" if gpu_visible_before_jax_starts() else "cpu"
    return "gpu" if gpu_count(backend) else "cpu"
