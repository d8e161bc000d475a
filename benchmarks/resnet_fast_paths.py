"""TensorFlow's run-time fast paths on the WGAN-GP paper's ResNets: do they still pay?

Why: ``keras_wgan.backend.tensorflow`` routed a generator's narrow output ``Conv2D``
(1-4 filters) to ``narrow_conv2d``, measured on the DCGAN nets' 5x5 output conv to one
channel. The ResNet generator ends in a 3x3 conv to 3 channels; this script checks
whether the route pays there, and whether the LeakyReLU path's idea pays for the
ResNet critic's ReLUs in a whole WGAN-GP step. Each figure is printed beside its
baseline from the same run, the variants taking turns so that a load that comes and
goes hits them alike; figures are medians.

    python benchmarks/resnet_fast_paths.py                  # conv rows + the fit rows
    python benchmarks/resnet_fast_paths.py --nets dcgan --skip-conv

Rows:
  conv            the generator's output conv alone, (batch, 32, 32, dim) -> 3 channels,
                  3x3 "same": ``tf.nn.conv2d`` vs ``narrow_conv2d``, forward and
                  forward + both gradients, in ``tf.function``. (The library now routes
                  only 1-channel outputs there; this row is why.)
  fit             ``WGANGP.fit`` steps (n_critic 5, one generator update per 5 steps) on
                  32x32x3 nets (``--nets resnet``: the ResNets; ``dcgan``: the original
                  experiment's nets): ``library``, as the model installs its fast
                  paths; ``stock``, none; and two candidates for the ResNet critic's
                  ReLUs, which like the DCGAN critic's LeakyReLUs send TensorFlow's
                  all-zero second derivative back through the critic in the penalty's
                  double backward: ``relu: custom gradient`` (the LeakyReLU path's
                  treatment) and ``relu: x * mask`` (the mask outside the gradient).
                  Neither is in the library: see the README ("The ResNets on
                  TensorFlow"). Each variant runs in its own process; the wall and the
                  CPU seconds (all threads) are both printed, as a load on a shared
                  machine can double a wall time.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def median_times(functions, repeats):
    """{name: median seconds}: each function once per round, ``repeats`` rounds."""
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def conv_rows(batch, dim, repeats):
    import tensorflow as tf

    from keras_wgan.backend.tensorflow import narrow_conv2d

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(batch, 32, 32, dim)).astype("float32"))
    w = tf.Variable(rng.normal(size=(3, 3, dim, 3)).astype("float32") * 0.05)

    def stock(inputs, kernel):
        return tf.nn.conv2d(inputs, kernel, 1, "SAME")

    def forward(op):
        return tf.function(lambda: op(x, w))

    def backward(op):
        @tf.function
        def step():
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = op(x, w)
                loss = tf.reduce_sum(y * y)
            return tape.gradient(loss, [x, w])

        return step

    np.testing.assert_allclose(stock(x, w).numpy(), narrow_conv2d(x, w).numpy(),
                               rtol=1e-4, atol=1e-3)
    functions = {"stock forward": forward(stock), "narrow forward": forward(narrow_conv2d),
                 "stock fwd+bwd": backward(stock), "narrow fwd+bwd": backward(narrow_conv2d)}
    for fn in functions.values():
        fn()  # trace
    result = median_times(functions, repeats)
    print(f"conv 3x3 ({batch}, 32, 32, {dim}) -> 3, median of {repeats} (ms):")
    for kind in ("forward", "fwd+bwd"):
        s, n = result[f"stock {kind}"] * 1e3, result[f"narrow {kind}"] * 1e3
        print(f"  {kind:8s} stock {s:8.2f}  narrow {n:8.2f}  narrow/stock {n / s:5.2f}")


VARIANTS = ("library", "relu: custom gradient", "relu: x * mask", "stock")


def relu_custom_gradient(inputs):
    """ReLU whose gradient treats the mask as a constant, as the library's LeakyReLU path."""
    import tensorflow as tf

    @tf.custom_gradient
    def relu(features):
        def grad(upstream):
            return tf.raw_ops.ReluGrad(gradients=upstream, features=tf.stop_gradient(features))

        return tf.nn.relu(features), grad

    return relu(tf.convert_to_tensor(inputs))


def relu_times_mask(inputs):
    """ReLU as ``x * mask`` with the mask outside the gradient: same values and derivative."""
    import tensorflow as tf

    inputs = tf.convert_to_tensor(inputs)
    return inputs * tf.stop_gradient(tf.cast(inputs > 0, inputs.dtype))


def fit_child(nets, variant, batch, dim, steps):
    """One variant in this process: warm up, then print the seconds of ``steps`` fit steps."""
    import keras
    import tensorflow as tf

    from keras_wgan import WGANGP
    from keras_wgan.backend.tensorflow import remove_fast_paths

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (batch * steps, 32, 32, 3)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices(images).batch(batch).cache()
    keras.utils.set_random_seed(0)
    gan = WGANGP.from_preset("original_experiment", nets=nets, image_shape=(32, 32, 3),
                             dim=dim, seed=0)
    if variant == "stock":
        for net in (gan.generator, gan.critic):
            remove_fast_paths(net)
    candidate = {"relu: custom gradient": relu_custom_gradient,
                 "relu: x * mask": relu_times_mask}.get(variant)
    if candidate is not None:  # on the critic, whose double backward it concerns
        for layer in gan.critic._flatten_layers(include_self=False):
            if isinstance(layer, keras.layers.ReLU):
                layer.call = candidate
    gan.fit(data, epochs=1, verbose=0)  # trace and warm up
    start = time.perf_counter(), time.process_time()
    gan.fit(data, epochs=1, verbose=0)
    print("SECONDS", time.perf_counter() - start[0], time.process_time() - start[1])


def fit_rows(nets, batch, dim, steps, repeats):
    """Each variant in its own process (no state shared), the variants taking turns."""
    import subprocess
    import sys

    wall = {variant: [] for variant in VARIANTS}
    cpu = {variant: [] for variant in VARIANTS}
    for _ in range(repeats):
        for variant in VARIANTS:
            out = subprocess.run(
                [sys.executable, __file__, "--child", variant, "--nets", nets, "--batch",
                 str(batch), "--dim", str(dim), "--steps", str(steps)],
                capture_output=True, text=True, check=True).stdout
            seconds = out.split("SECONDS")[-1].split()
            wall[variant].append(float(seconds[0]))
            cpu[variant].append(float(seconds[1]))
    print(f"WGANGP.fit on 32x32x3 {nets} nets, dim {dim}, batch {batch}: {steps} steps per "
          f"process, median of {repeats} processes, per step (CPU seconds are all threads' "
          "time, the figure that a load on a shared machine disturbs least):")
    base_wall, base_cpu = statistics.median(wall["stock"]), statistics.median(cpu["stock"])
    for name in VARIANTS:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"  {name:22s} wall {w / steps:7.4f} s ({w / base_wall:5.3f} of stock)   "
              f"CPU {c / steps:7.4f} s ({c / base_cpu:5.3f} of stock)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10, help="fit steps per repetition")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--nets", choices=["resnet", "dcgan"], default="resnet")
    parser.add_argument("--skip-fit", action="store_true")
    parser.add_argument("--skip-conv", action="store_true")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return fit_child(args.nets, args.child, args.batch, args.dim, args.steps)
    import tensorflow as tf

    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs")
    if not args.skip_conv:
        conv_rows(args.batch, args.dim, args.repeats * 4)
    if not args.skip_fit:
        fit_rows(args.nets, args.batch, args.dim, args.steps, args.repeats)


if __name__ == "__main__":
    main()
