"""Training-speed benchmark: keras_wgan's ``fit`` vs the original loop vs a hand-written loop.

Why: the library replaced the original experiment's hand-rolled training loop with
``keras.Model.fit``; this script checks, on that experiment's exact networks and
optimizers (the ``original_experiment`` preset), that ``fit`` is much faster than the
original loop, no slower than a single hand-written ``tf.function`` doing the same maths,
close to the machine's matmul rate, free of retracing and host syncs, and not heavier in
memory. It also checks that ``keras_wgan.data.load_dataset`` feeds
images far faster than training consumes them.

Every variant runs in its own subprocess (so peak RSS is per variant), all of one
(model, DIM) at once but in lockstep: the parent lets one child compute one generator
update at a time, round-robin (see ``Lockstep``). A background load that comes and goes
thus hits every variant alike, and the ratios between rows of one run stay meaningful on
a shared machine. An fp32 matmul loop takes part in the same rotation, so the FLOP rates
are compared with a matmul rate measured under the same conditions.

Variants (``--variants``; ``--ablations`` adds the ``fit-*`` ablation rows):
  original       the original experiment's loop: per critic step ``generator.predict``
                 on fresh noise and an eager GradientTape critic update (WGAN: then
                 clipping every critic weight with get_weights/np.clip/set_weights,
                 layer by layer); the generator trained through a compiled
                 generator+frozen-critic model with ``train_on_batch``. Stock Keras
                 layers.
  reference      hand-written: the whole iteration (n_critic critic updates on fresh
                 batches + one generator update) in one ``tf.function``, plain
                 ``optimizer.apply``, no Keras training machinery. Stock Keras layers.
  fit            ``WGAN.fit`` / ``WGANGP.fit`` as a user calls it, with the original
                 experiment's recipe (no weight average, the papers' optimizers), on the nets
                 ``keras_wgan.architectures`` builds as they are.
  fit-stock      ablation: ``fit`` with stock Keras layers (like original and reference).
  fit-split      ablation: ``fit`` with real and fake critic passes in two calls.
  fit-fastlrelu  ablation: ``fit-stock`` with the run-time fast path on the critic's
                 LeakyReLUs (``keras_wgan.backend.tensorflow``: no double backward
                 through the mask).
  fit-fastconv   ablation: ``fit-stock`` with the fast path on the generator's narrow
                 output Conv2D (its 1-channel output conv).
  fit-fast       ablation: both replacements.
  reference-steps  diagnostic: the reference maths in one tf.function per critic update
                 and one per generator update (no cross-update graph), as fit runs it.
  reference-fast diagnostic: the reference on the nets with both fast paths
                 (like-for-like with fit-fast).

FLOP count (per generator update, "useful" maths only; documented so it can be checked):
  F_G, F_C = forward FLOPs per sample of generator / critic, counted per layer as
  2 * MACs of each Conv2D (H_out*W_out*C_out*k_h*k_w*C_in) and Dense (in*out); bias,
  normalisation, activations and upsampling are not counted (elementwise, memory-bound).
  A backward pass (input + weight gradients) counts 2x its forward.
  Critic step:   F_G*B              fakes (generator forward, no backward)
               + 3*F_C*2B           critic forward + backward on real and fake
               + 4*F_C*B            WGAN-GP only: the penalty = forward (1) + input-gradient
                                    backward (1) + the double backward of that
                                    input-gradient pass (2); the forward pass' own second
                                    derivative through the activation masks is zero and
                                    not counted.
  Generator step: 3*F_G*B + 2*F_C*B (critic forward + input-gradient backward only).
  Per generator update: n_critic * critic step + generator step.
  The forward counts are cross-checked against ``tf.compat.v1.profiler`` float ops of a
  concrete function (which also counts bias adds, normalisation arithmetic, etc.).

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
  python3 benchmarks/train_speed.py --data-only
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

RESULT_TAG = "@@RESULT@@"
# Every variant times the nets and optimizers of this keras_wgan.presets recipe (at
# --dim and these shapes, the recipe's own).
PRESET = "original_experiment"
BATCH = 64
LATENT = 128
IMAGE_SHAPE = (32, 32, 1)
DEFAULT_VARIANTS = ("original", "reference", "fit")
DIAGNOSTICS = ("reference-steps", "reference-fast")
ABLATIONS = ("fit-stock", "fit-split", "fit-fastlrelu", "fit-fastconv", "fit-fast")
# Which layers each fit variant forces (None: as keras_wgan.architectures builds them).
FIT_NETS = {
    "fit": {},
    "fit-split": {},
    "fit-stock": {"fast_lrelu": False, "fast_conv": False},
    "fit-fastlrelu": {"fast_lrelu": True, "fast_conv": False},
    "fit-fastconv": {"fast_lrelu": False, "fast_conv": True},
    "fit-fast": {"fast_lrelu": True, "fast_conv": True},
    "fit-bf16": {},
    "fit-2replicas": {},
}
# Scale-out rows (TensorFlow): fit under the mixed_bfloat16 policy, and fit on two
# replicas (MirroredStrategy over two logical CPU devices, the same global batch).
SCALE_OUT = ("fit-bf16", "fit-2replicas")
ALL_VARIANTS = DEFAULT_VARIANTS + ABLATIONS + DIAGNOSTICS + SCALE_OUT
BACKENDS = ("tensorflow", "jax", "torch")
# Rows measured under the non-TensorFlow backends.
OTHER_BACKEND_VARIANTS = ("reference", "fit")


def default_steps(dim):
    """Timed generator updates: ~20 at DIM 32, fewer as cost grows ~dim^2."""
    return max(3, round(20 * (32 / dim) ** 2))


# --------------------------------------------------------------------------- child side
def _quiet_tf(backend="tensorflow"):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["KERAS_BACKEND"] = backend


def peak_rss_mb():
    """Peak resident memory of this process (ru_maxrss is KiB on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def resolve_jit(jit):
    """Keras' "auto" rule: XLA on when a GPU is visible, off on CPU-only machines."""
    import tensorflow as tf

    if jit == "auto":
        return bool(tf.config.list_physical_devices("GPU"))
    return jit == "on"


def model_class(model):
    import keras_wgan

    return keras_wgan.WGANGP if model == "wgan-gp" else keras_wgan.WGAN


def build_nets(model, dim):
    """The original experiment's nets (the PRESET recipe; stock Keras layers)."""
    from keras_wgan import presets

    return presets.build_nets(PRESET, model_class(model), dim=dim, latent_dim=LATENT,
                              image_shape=IMAGE_SHAPE)


def set_fast_paths(generator, critic, fast_lrelu=None, fast_conv=None):
    """Force TensorFlow's run-time fast paths on (True) or off (False); None leaves them.

    fast_lrelu: the critic's LeakyReLUs (cheap double backward); fast_conv: the
    generator's narrow output Conv2D. The GAN installs both when it is built. (The
    critic has no narrow convolution and the generator no LeakyReLU.)
    """
    from keras_wgan.backend import tensorflow as tf_backend

    if fast_lrelu is not None:
        tf_backend.remove_fast_paths(critic)
        if fast_lrelu:
            tf_backend.install_fast_paths(critic, narrow_conv=False)
    if fast_conv is not None:
        tf_backend.remove_fast_paths(generator)
        if fast_conv:
            tf_backend.install_fast_paths(generator, leaky_relu=False)


def layer_macs(model):
    """Per-sample multiply-accumulates of Conv2D and Dense layers of a functional model."""
    import keras

    macs = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            k_h, k_w, c_in, _ = layer.kernel.shape
            macs += h * w * c_out * k_h * k_w * c_in
        elif isinstance(layer, keras.layers.Dense):
            c_in, c_out = layer.kernel.shape
            macs += c_in * c_out
    return macs


def flops_per_update(model, generator, critic, n_critic, batch):
    """FLOPs of one generator update (n_critic critic steps + 1 generator step); see module doc."""
    f_g = 2 * layer_macs(generator)
    f_c = 2 * layer_macs(critic)
    critic_step = f_g * batch + 3 * f_c * 2 * batch
    if model == "wgan-gp":
        critic_step += 4 * f_c * batch
    generator_step = 3 * f_g * batch + 2 * f_c * batch
    return n_critic * critic_step + generator_step, f_g, f_c


def profiler_forward_flops(model_net, input_shape):
    """Float ops of one forward pass per tf.compat.v1.profiler: (all ops, Conv2D+MatMul only)."""
    import tensorflow as tf

    concrete = tf.function(lambda x: model_net(x, training=False)).get_concrete_function(
        tf.TensorSpec((1,) + tuple(input_shape), tf.float32)
    )
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    opts = builder(builder.float_operation()).with_empty_output().build()
    info = tf.compat.v1.profiler.profile(graph=concrete.graph, cmd="op", options=opts)
    matmul_like = sum(
        child.total_float_ops
        for child in info.children
        if child.name in ("Conv2D", "MatMul", "_FusedConv2D", "_MklConv2D")
    )
    return info.total_float_ops, matmul_like


def make_dataset(batch, n_images=4096, seed=0, extra_batch=None):
    """Random images in [-1, 1] held in memory: repeat, batch, (batch again), prefetch."""
    import numpy as np
    import tensorflow as tf

    images = np.random.default_rng(seed).uniform(-1, 1, (n_images,) + IMAGE_SHAPE)
    ds = tf.data.Dataset.from_tensor_slices(images.astype("float32")).repeat()
    ds = ds.batch(batch, drop_remainder=True)
    if extra_batch:
        ds = ds.batch(extra_batch, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def original_optimizers(model):
    """The original experiment's (the papers') optimizers: [critic's, generator's]."""
    from keras_wgan import presets

    pair = presets.make_optimizers(PRESET, model_class(model))
    return [pair["critic_optimizer"], pair["generator_optimizer"]]


class Lockstep:
    """Child side of the parent's round-robin: run one block of updates per "GO" line.

    All variants of a (model, DIM) run at once, each in its own process, but only one
    computes at a time: the parent hands a "GO" to each in turn and waits for its "DONE".
    Consecutive updates of every variant are thus interleaved in time, so a background
    load that comes and goes hits all variants alike, and ratios stay meaningful on a
    shared machine. The time of a block is measured in the child, from "GO" to "DONE".
    """

    def __init__(self, warmup):
        self.warmup = warmup
        self.blocks = []  # (seconds, generator updates in the block)
        self._go = None
        self._go_cpu = None
        self.peak_rss_mb = None
        self.busy_cpu = []  # CPU seconds of this process during each block
        self.idle_cpu = 0.0  # CPU seconds while waiting for GO (should be ~0)

    def ready(self):
        print("READY", flush=True)

    def wait_go(self):
        idle_cpu = time.process_time()
        line = sys.stdin.readline()
        if line.strip() != "GO":
            raise SystemExit(f"parent said {line!r}, not GO")
        self._go = time.perf_counter()
        self._go_cpu = time.process_time()
        if self.blocks:  # CPU this process used while another variant was timed
            self.idle_cpu += self._go_cpu - idle_cpu

    def done(self, updates=1, remaining=0):
        """End a block; ``remaining`` blocks follow. After the last, wait for FINISH so
        this child's post-processing never overlaps another variant's timed block."""
        seconds = time.perf_counter() - self._go
        self.busy_cpu.append(time.process_time() - self._go_cpu)
        self.blocks.append((seconds, updates))
        print(f"DONE {seconds:.6f} {updates} {remaining}", flush=True)
        if remaining == 0:
            self.peak_rss_mb = peak_rss_mb()
            line = sys.stdin.readline()
            if line.strip() != "FINISH":
                raise SystemExit(f"parent said {line!r}, not FINISH")

    def run(self, total, update):
        """Time ``update()`` (one generator update, finished before it returns) ``total``
        times, one block per GO; returns its last result."""
        self.ready()
        for i in range(total):
            self.wait_go()
            result = update()
            self.done(1, total - 1 - i)
        return result

    def results(self):
        """Per-update steady-state times (warm-up blocks dropped) and the first block's time."""
        steady, seen = [], 0
        for seconds, updates in self.blocks:
            if seen >= self.warmup:
                steady.append(seconds / updates)
            seen += updates
        return {
            "per_update": steady,
            "first_update_s": self.blocks[0][0] / self.blocks[0][1],
            "peak_rss_mb": self.peak_rss_mb,
            "busy_cpu": self.busy_cpu,
            "idle_cpu": self.idle_cpu,
        }


def run_fit(spec, lockstep):
    """``WGAN(GP).fit`` as a user calls it; a callback ends a block every generator update."""
    import keras
    import tensorflow as tf

    from keras_wgan import presets

    import contextlib

    model, dim, n_critic = spec["model"], spec["dim"], spec["n_critic"]
    backend = spec.get("backend", "tensorflow")
    scope = contextlib.nullcontext
    if spec["variant"] == "fit-bf16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    elif spec["variant"] == "fit-2replicas":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        scope = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope
    with scope():
        # The original experiment's recipe, like for like with the hand-written loops:
        # no weight averaging and the papers' optimizers (the library defaults add one
        # weight-sized average per generator update).
        gan = model_class(model).from_preset(
            PRESET, dim=dim, latent_dim=LATENT, image_shape=IMAGE_SHAPE, n_critic=n_critic,
            seed=0, compile=False,
        )
        generator, critic = gan.generator, gan.critic
        if backend == "tensorflow":
            set_fast_paths(generator, critic, **FIT_NETS[spec["variant"]])
        if spec["variant"] == "fit-split":
            gan._critic_batch_coupled = True  # forces separate real/fake critic calls
        jit = {"auto": "auto", "on": True, "off": False}[spec["jit"]]
        spe = spec["spe"]
        gan.compile(jit_compile=jit, steps_per_execution=spe,
                    **presets.make_optimizers(PRESET, type(gan)))

    traces = []  # one entry per Python trace of train_step, tagged with its epoch
    epoch_now = [0]
    plain_train_step = gan.train_step

    def counted_train_step(*args):  # (data) on TF/torch, (state, data) on JAX
        traces.append(epoch_now[0])
        return plain_train_step(*args)

    gan.train_step = counted_train_step

    # One epoch = the smallest run of whole executions that ends on whole generator
    # updates; a block (GO..DONE) is one epoch.
    steps_per_epoch = n_critic * spe // math.gcd(n_critic, spe)
    updates_per_epoch = steps_per_epoch // n_critic
    epochs = math.ceil((spec["warmup"] + spec["steps"]) / updates_per_epoch)

    class Blocks(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            epoch_now[0] = epoch

        def on_train_batch_end(self, batch, logs=None):
            if batch + 1 == steps_per_epoch:
                remaining = epochs - 1 - epoch_now[0]
                lockstep.done(updates_per_epoch, remaining)
                if remaining:
                    lockstep.wait_go()

    ds = make_dataset(BATCH)
    lockstep.ready()
    lockstep.wait_go()
    with scope():
        gan.fit(ds, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=0,
                callbacks=[Blocks()])
    first_epoch_traces = sum(1 for e in traces if e == 0)
    return {
        **lockstep.results(),
        "updates_per_block": updates_per_epoch,
        "traces_first_epoch": first_epoch_traces,
        "retraces_after_first_epoch": len(traces) - first_epoch_traces,
        **({"host_sync_ops": host_sync_ops(plain_train_step)}
           if backend == "tensorflow" and spec["variant"] not in SCALE_OUT else {}),
        "replicas": gan.distribute_strategy.num_replicas_in_sync
        if backend == "tensorflow" else 1,
        # Gradient bytes all-reduced per update (float32 gradients of every parameter).
        "gradient_bytes": [4 * critic.count_params(), 4 * generator.count_params()],
        "jit_resolved": bool(gan.jit_compile),
        "flops": flops_per_update(model, generator, critic, n_critic, BATCH)[0],
        "counters": [int(keras.ops.convert_to_numpy(keras.ops.convert_to_tensor(v)))
                     for v in (gan.critic_optimizer.iterations,
                               gan.generator_optimizer.iterations)],
        "tf_threads": [tf.config.threading.get_intra_op_parallelism_threads(),
                       tf.config.threading.get_inter_op_parallelism_threads()],
    }


HOST_SYNC_OP_TYPES = {"PyFunc", "PyFuncStateless", "EagerPyFunc", "_Send", "_Recv"}


def host_sync_ops(train_step):
    """Op types in train_step's graph (and nested cond/while functions) that call the host."""
    import tensorflow as tf

    concrete = tf.function(train_step).get_concrete_function(
        tf.TensorSpec((BATCH,) + IMAGE_SHAPE, tf.float32)
    )
    graph_def = concrete.graph.as_graph_def()
    types = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        types.update(node.op for node in function.node_def)
    return sorted(types & HOST_SYNC_OP_TYPES)


def run_reference(spec, lockstep):
    """One tf.function per generator update: n_critic critic updates + 1 generator update."""
    import numpy as np
    import tensorflow as tf

    backend = spec.get("backend", "tensorflow")
    if backend != "tensorflow":
        return {"jax": run_reference_jax, "torch": run_reference_torch}[backend](spec, lockstep)
    model, dim, n_critic = spec["model"], spec["dim"], spec["n_critic"]
    fast = spec["variant"] == "reference-fast"
    generator, critic = build_nets(model, dim)
    set_fast_paths(generator, critic, fast_lrelu=fast, fast_conv=fast)
    critic_opt, gen_opt = original_optimizers(model)
    c_vars, g_vars = critic.trainable_variables, generator.trainable_variables
    critic_opt.build(c_vars)
    gen_opt.build(g_vars)
    gp = model == "wgan-gp"

    def critic_update(real):
        fake = generator(tf.random.normal((BATCH, LATENT)), training=True)
        with tf.GradientTape() as tape:
            real_scores = critic(real, training=True)
            fake_scores = critic(fake, training=True)
            loss = tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores)
            if gp:
                alpha = tf.random.uniform((BATCH, 1, 1, 1))
                mixed = alpha * real + (1.0 - alpha) * fake
                with tf.GradientTape() as inner:
                    inner.watch(mixed)
                    mixed_scores = critic(mixed, training=True)
                grads = inner.gradient(mixed_scores, mixed)
                norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
                loss += 10.0 * tf.reduce_mean(tf.square(norms - 1.0))
        critic_opt.apply(tape.gradient(loss, c_vars), c_vars)
        if not gp:
            for variable in c_vars:
                variable.assign(tf.clip_by_value(variable, -0.01, 0.01))
        return loss

    def generator_update():
        with tf.GradientTape() as tape:
            fake = generator(tf.random.normal((BATCH, LATENT)), training=True)
            gen_loss = -tf.reduce_mean(critic(fake, training=True))
        gen_opt.apply(tape.gradient(gen_loss, g_vars), g_vars)
        return gen_loss

    jit = resolve_jit(spec["jit"])
    if spec["variant"] == "reference-steps":
        # Diagnostic: the same maths, one tf.function per update (as fit runs it).
        critic_fn = tf.function(critic_update, jit_compile=jit)
        generator_fn = tf.function(generator_update, jit_compile=jit)

        def iteration(reals):
            for i in range(n_critic):
                critic_loss = critic_fn(reals[i])
            return critic_loss, generator_fn()

        iteration.experimental_get_tracing_count = (
            lambda: critic_fn.experimental_get_tracing_count()
            + generator_fn.experimental_get_tracing_count() - 1
        )
    else:

        @tf.function(jit_compile=jit)
        def iteration(reals):
            for i in range(n_critic):
                critic_loss = critic_update(reals[i])
            return critic_loss, generator_update()

    iterator = iter(make_dataset(BATCH, extra_batch=n_critic))

    def update():
        losses = iteration(next(iterator))
        float(losses[0])  # completes the step
        return losses

    losses = lockstep.run(spec["warmup"] + spec["steps"], update)
    return {
        **lockstep.results(),
        "retraces_after_first_epoch": iteration.experimental_get_tracing_count() - 1,
        "jit_resolved": resolve_jit(spec["jit"]),
        "flops": flops_per_update(model, generator, critic, n_critic, BATCH)[0],
        "finite": bool(np.isfinite(float(losses[1]))),
    }


def run_reference_jax(spec, lockstep):
    """Hand-written JAX: n_critic critic updates + 1 generator update in one ``jax.jit``.

    The same maths as the TensorFlow reference, through Keras' stateless API
    (``stateless_call`` for the nets, ``stateless_apply`` for the optimizers) and
    ``jax.grad`` (nested for the penalty); the whole state is donated to each call.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    model, dim, n_critic = spec["model"], spec["dim"], spec["n_critic"]
    generator, critic = build_nets(model, dim)
    critic_opt, gen_opt = original_optimizers(model)
    critic_opt.build(critic.trainable_variables)
    gen_opt.build(generator.trainable_variables)
    gp = model == "wgan-gp"

    def values(variables):
        return [v.value for v in variables]

    def critic_loss(c_train, c_state, g_train, g_state, real, key):
        noise_key, alpha_key = jax.random.split(key)
        z = jax.random.normal(noise_key, (BATCH, LATENT))
        fake, g_state = generator.stateless_call(g_train, g_state, z, training=True)
        fake = jax.lax.stop_gradient(fake)
        if gp:  # one critic call for real and fake (no batch-coupled layers)
            scores, c_state = critic.stateless_call(
                c_train, c_state, jnp.concatenate([real, fake]), training=True)
            real_scores, fake_scores = scores[:BATCH], scores[BATCH:]
        else:  # batch norm: separate calls, as fit makes them
            real_scores, c_state = critic.stateless_call(c_train, c_state, real, training=True)
            fake_scores, c_state = critic.stateless_call(c_train, c_state, fake, training=True)
        loss = jnp.mean(fake_scores) - jnp.mean(real_scores)
        if gp:
            alpha = jax.random.uniform(alpha_key, (BATCH, 1, 1, 1))
            mixed = alpha * real + (1.0 - alpha) * fake

            def score_sum(x):
                return jnp.sum(critic.stateless_call(c_train, c_state, x, training=True)[0])

            grads = jax.grad(score_sum)(mixed)
            norms = jnp.sqrt(jnp.sum(jnp.square(grads), axis=(1, 2, 3)) + 1e-12)
            loss = loss + 10.0 * jnp.mean(jnp.square(norms - 1.0))
        return loss, (c_state, g_state)

    def generator_loss(g_train, g_state, c_train, c_state, key):
        z = jax.random.normal(key, (BATCH, LATENT))
        fake, g_state = generator.stateless_call(g_train, g_state, z, training=True)
        scores, c_state = critic.stateless_call(c_train, c_state, fake, training=True)
        return -jnp.mean(scores), (g_state, c_state)

    def iteration(state, reals, key):
        c_train, c_state, c_opt, g_train, g_state, g_opt = state
        keys = jax.random.split(key, n_critic + 1)
        for i in range(n_critic):
            (loss, (c_state, g_state)), grads = jax.value_and_grad(critic_loss, has_aux=True)(
                c_train, c_state, g_train, g_state, reals[i], keys[i])
            c_train, c_opt = critic_opt.stateless_apply(c_opt, grads, c_train)
            if not gp:
                c_train = [jnp.clip(v, -0.01, 0.01) for v in c_train]
        (gen_loss, (g_state, c_state)), grads = jax.value_and_grad(
            generator_loss, has_aux=True)(g_train, g_state, c_train, c_state, keys[-1])
        g_train, g_opt = gen_opt.stateless_apply(g_opt, grads, g_train)
        return (c_train, c_state, c_opt, g_train, g_state, g_opt), (loss, gen_loss)

    step = jax.jit(iteration, donate_argnums=0)
    state = (values(critic.trainable_variables), values(critic.non_trainable_variables),
             values(critic_opt.variables), values(generator.trainable_variables),
             values(generator.non_trainable_variables), values(gen_opt.variables))
    iterator = make_dataset(BATCH, extra_batch=n_critic).as_numpy_iterator()
    carry = {"state": state, "key": jax.random.PRNGKey(0)}

    def update():
        carry["key"], subkey = jax.random.split(carry["key"])
        carry["state"], losses = step(carry["state"], next(iterator), subkey)
        float(losses[0])  # completes the step
        return losses

    losses = lockstep.run(spec["warmup"] + spec["steps"], update)
    return {
        **lockstep.results(),
        "retraces_after_first_epoch": step._cache_size() - 1,
        "jit_resolved": True,
        "flops": flops_per_update(model, generator, critic, n_critic, BATCH)[0],
        "finite": bool(np.isfinite(float(losses[1]))),
    }


def run_reference_torch(spec, lockstep):
    """Hand-written PyTorch: the same maths eagerly, ``torch.autograd`` for every gradient."""
    import numpy as np
    import torch

    model, dim, n_critic = spec["model"], spec["dim"], spec["n_critic"]
    generator, critic = build_nets(model, dim)
    critic_opt, gen_opt = original_optimizers(model)
    c_vars, g_vars = critic.trainable_variables, generator.trainable_variables
    critic_opt.build(c_vars)
    gen_opt.build(g_vars)
    gp = model == "wgan-gp"

    def critic_update(real):
        with torch.no_grad():
            fake = generator(torch.randn(BATCH, LATENT), training=True)
        if gp:
            scores = critic(torch.cat([real, fake]), training=True)
            real_scores, fake_scores = scores[:BATCH], scores[BATCH:]
        else:
            real_scores = critic(real, training=True)
            fake_scores = critic(fake, training=True)
        loss = fake_scores.mean() - real_scores.mean()
        if gp:
            alpha = torch.rand(BATCH, 1, 1, 1)
            mixed = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
            (grads,) = torch.autograd.grad(critic(mixed, training=True).sum(), mixed,
                                           create_graph=True)
            norms = torch.sqrt(grads.square().sum(dim=(1, 2, 3)) + 1e-12)
            loss = loss + 10.0 * (norms - 1.0).square().mean()
        grads = torch.autograd.grad(loss, [v.value for v in c_vars])
        with torch.no_grad():
            critic_opt.apply(grads, c_vars)
            if not gp:
                for variable in c_vars:
                    variable.value.clamp_(-0.01, 0.01)
        return loss.detach()

    def generator_update():
        fake = generator(torch.randn(BATCH, LATENT), training=True)
        loss = -critic(fake, training=True).mean()
        grads = torch.autograd.grad(loss, [v.value for v in g_vars])
        with torch.no_grad():
            gen_opt.apply(grads, g_vars)
        return loss.detach()

    iterator = make_dataset(BATCH, extra_batch=n_critic).as_numpy_iterator()
    torch.manual_seed(0)

    def update():
        reals = torch.from_numpy(next(iterator))
        for k in range(n_critic):
            critic_loss = critic_update(reals[k])
        gen_loss = generator_update()
        float(critic_loss)
        return gen_loss

    gen_loss = lockstep.run(spec["warmup"] + spec["steps"], update)
    return {
        **lockstep.results(),
        "jit_resolved": False,
        "flops": flops_per_update(model, generator, critic, n_critic, BATCH)[0],
        "finite": bool(np.isfinite(float(gen_loss))),
    }


def run_original(spec, lockstep):
    """The original experiment's training loop, rebuilt faithfully (eager critic,
    predict, train_on_batch)."""
    import keras
    import numpy as np
    import tensorflow as tf
    from keras import ops

    model, dim, n_critic = spec["model"], spec["dim"], spec["n_critic"]
    generator, critic = build_nets(model, dim)
    critic_opt, gen_opt = original_optimizers(model)
    gp = model == "wgan-gp"

    noise_in = keras.Input((LATENT,))
    combined = keras.Model(noise_in, critic(generator(noise_in)))

    def wasserstein_generator_loss(y_true, y_pred):
        return -ops.mean(y_pred, axis=-1)

    combined.compile(optimizer=gen_opt, loss=wasserstein_generator_loss)
    dummy = np.zeros((BATCH, 1), "float32")
    rng = np.random.default_rng(0)

    def critic_update(real):
        z = rng.standard_normal((BATCH, LATENT)).astype("float32")
        fake = generator.predict(z, verbose=0)
        with tf.GradientTape() as tape:
            real_scores = critic(real, training=True)
            fake_scores = critic(fake, training=True)
            loss = tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores)
            if gp:
                alpha = tf.random.uniform((BATCH, 1, 1, 1))
                mixed = alpha * real + (1.0 - alpha) * fake
                with tf.GradientTape() as inner:
                    inner.watch(mixed)
                    mixed_scores = critic(mixed, training=True)
                grads = inner.gradient(mixed_scores, mixed)
                norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
                loss += 10.0 * tf.reduce_mean(tf.square(norms - 1.0))
        variables = critic.trainable_variables
        critic_opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        if not gp:  # the original clips every critic weight (BN statistics included)
            for layer in critic.layers:
                weights = layer.get_weights()
                if weights:
                    layer.set_weights([np.clip(w, -0.01, 0.01) for w in weights])
        return loss

    frozen_verified = None

    def generator_update():
        nonlocal frozen_verified
        z = rng.standard_normal((BATCH, LATENT)).astype("float32")
        # Keras 3 reads `trainable` when the step runs (and BatchNormalization with
        # trainable=False runs in inference mode): freeze the critic around the combined
        # model's step so only the generator is trained, then unfreeze it for its own
        # eager update. Checked once below: the critic's weights are unchanged.
        critic.trainable = False
        before = critic.get_weights() if frozen_verified is None else None
        loss = combined.train_on_batch(z, dummy)
        if before is not None:
            after = critic.get_weights()
            frozen_verified = all(np.array_equal(a, b) for a, b in zip(before, after))
        critic.trainable = True
        return loss

    iterator = iter(make_dataset(BATCH))
    def update():
        for _ in range(n_critic):
            critic_loss = critic_update(next(iterator))
        gen_loss = generator_update()
        float(critic_loss)
        return gen_loss

    gen_loss = lockstep.run(spec["warmup"] + spec["steps"], update)
    return {
        **lockstep.results(),
        "critic_frozen_verified": frozen_verified,
        "flops": flops_per_update(model, generator, critic, n_critic, BATCH)[0],
        "finite": bool(np.isfinite(float(gen_loss))),
    }


def run_matmul(spec, lockstep):
    """fp32 2048x2048 matmul rate: one chain of matmuls per block, interleaved with training."""
    import tensorflow as tf

    n, chain = 2048, 8
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n)) / n**0.5

    @tf.function
    def chained(x):
        for _ in range(chain):
            x = tf.matmul(x, b)
        return tf.reduce_sum(x)

    float(chained(a))
    lockstep.run(spec["warmup"] + spec["steps"], lambda: float(chained(a)))
    return {**lockstep.results(), "flops": 2 * n**3 * chain}


def run_flops(spec, lockstep):
    """Analytic per-layer forward FLOPs vs tf.compat.v1.profiler float ops."""
    model, dim, n_critic = spec["model"], spec["dim"], spec["n_critic"]
    generator, critic = build_nets(model, dim)
    total, f_g, f_c = flops_per_update(model, generator, critic, n_critic, BATCH)
    return {
        "flops_per_update": total,
        "forward_generator": f_g,
        "forward_critic": f_c,
        "profiler_generator": profiler_forward_flops(generator, (LATENT,)),
        "profiler_critic": profiler_forward_flops(critic, IMAGE_SHAPE),
    }


def run_data(spec, lockstep):
    """keras_wgan.data.load_dataset images/s: 60000x28x28 uint8 array resized to 32."""
    import numpy as np

    try:
        from keras_wgan.data import load_dataset
    except ImportError as error:
        return {"skipped": f"keras_wgan.data.load_dataset unavailable: {error}"}
    images = np.random.default_rng(0).integers(0, 256, (60000, 28, 28), dtype=np.uint8)
    start = time.perf_counter()
    ds = load_dataset(images, image_size=32, batch_size=BATCH, seed=0).repeat()
    iterator = iter(ds)
    for _ in range(20):  # warm-up: pipeline start, first shuffle buffer fill
        batch = next(iterator)
    setup_s = time.perf_counter() - start
    n_batches = spec.get("batches", 600)
    start = time.perf_counter()
    for _ in range(n_batches):
        batch = next(iterator)
    elapsed = time.perf_counter() - start
    return {
        "images_per_s": n_batches * BATCH / elapsed,
        "setup_s": setup_s,
        "shape": list(batch.shape),
        "dtype": batch.dtype.name,
        "range": [float(np.min(batch)), float(np.max(batch))],
        "peak_rss_mb": peak_rss_mb(),
    }


JOBS = {
    "original": run_original,
    "reference": run_reference,
    "reference-steps": run_reference,
    "reference-fast": run_reference,
    "fit": run_fit,
    **{variant: run_fit for variant in FIT_NETS},
    "matmul": run_matmul,
    "flops": run_flops,
    "data": run_data,
}


def child_main(spec_json):
    spec = json.loads(spec_json)
    _quiet_tf(spec.get("backend", "tensorflow"))
    result = JOBS[spec["variant"]](spec, Lockstep(spec.get("warmup", 0)))
    print(RESULT_TAG + json.dumps(result), flush=True)


# -------------------------------------------------------------------------- parent side
class Child:
    """One variant's process, driven line by line over its stdin/stdout."""

    def __init__(self, spec, log_dir):
        self.spec = spec
        self.result = None
        self.error = None
        self.wall_start = time.perf_counter()
        name = "-".join(str(spec.get(k, "")) for k in ("model", "dim", "backend", "variant", "jit",
                                                        "spe"))
        self.stderr_path = os.path.join(log_dir, f"{name}.stderr")
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                   KERAS_BACKEND=spec.get("backend", "tensorflow"), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(self.stderr_path, "w"), text=True, env=env,
        )

    def send(self, word):
        try:
            self.proc.stdin.write(word + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass

    def expect(self, *tags):
        """Read stdout up to a line starting with one of ``tags``; record result/errors."""
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line.startswith(RESULT_TAG):
                self.result = json.loads(line[len(RESULT_TAG):])
                self.result["wall_s"] = time.perf_counter() - self.wall_start
                return RESULT_TAG, None
            for tag in tags:
                if line.startswith(tag):
                    return tag, line[len(tag):].split()
        self.proc.wait()
        with open(self.stderr_path) as handle:
            tail = handle.read().strip().splitlines()
        self.error = f"rc {self.proc.returncode}: {tail[-1] if tail else 'no output'}"
        return None, None


def run_single(spec, log_dir):
    """A job without lockstep (FLOP check, data path): start it and wait for its result."""
    child = Child(spec, log_dir)
    child.expect()
    child.proc.wait()
    return child.result if child.result is not None else {"error": child.error}


def run_lockstep(specs, log_dir, progress):
    """Run the variants round-robin, one block at a time (see Lockstep); return results."""
    children = [Child(spec, log_dir) for spec in specs]
    active = [c for c in children if c.expect("READY")[0] == "READY"]
    while active:
        for child in list(active):
            child.send("GO")
            tag, fields = child.expect("DONE")
            if tag != "DONE":
                active.remove(child)
                continue
            if int(fields[2]) == 0:
                active.remove(child)
                child.send("FINISH")  # post-processing runs while nobody is timed
                child.expect()
                child.proc.wait()
                progress(child)
    for child in children:
        if child.result is None and child.error is None:
            child.expect()
        if child.proc.poll() is None:
            child.proc.kill()
        if child.result is None:
            progress(child)
    return [(c.spec, c.result if c.result is not None else {"error": c.error})
            for c in children]


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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("wgan", "wgan-gp", "both"), default="both")
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
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def training_jobs(args, model):
    """The (backend, variant, jit, spe) rows to run for one model."""
    variants = list(args.variants or DEFAULT_VARIANTS)
    if args.ablations:
        variants += [v for v in ABLATIONS if v not in variants]
    jits = ("off", "on") if args.jit_compile == "both" else (args.jit_compile,)
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
          f"n_critic {n_critic}, images {IMAGE_SHAPE}; children's stderr in {log_dir}",
          flush=True)

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
            base = {"model": model, "dim": dim, "n_critic": n_critic,
                    "steps": steps, "warmup": args.warmup}
            if not args.no_flops_check:
                check = run_single(dict(base, variant="flops"), log_dir)
                if "error" not in check:
                    pg, pc = check["profiler_generator"], check["profiler_critic"]
                    notes.append(
                        f"{model} DIM {dim}: forward FLOPs/sample (Conv2D+Dense 2*MACs) "
                        f"generator {check['forward_generator'] / 1e6:.2f}M [tf.profiler "
                        f"Conv2D+MatMul {pg[1] / 1e6:.2f}M, all ops {pg[0] / 1e6:.2f}M], critic "
                        f"{check['forward_critic'] / 1e6:.2f}M [profiler {pc[1] / 1e6:.2f}M, "
                        f"all ops {pc[0] / 1e6:.2f}M]; per generator update "
                        f"{check['flops_per_update'] / 1e9:.1f} GFLOP"
                    )
                    print("# " + notes[-1], flush=True)
            specs = [dict(base, variant="matmul", jit="-", spe="-")]
            specs += [dict(base, backend=b, variant=v, jit=j, spe=e)
                      for b, v, j, e in training_jobs(args, model)]
            results = run_lockstep(specs, log_dir, progress)
            matmul_result = results[0][1]
            matmul = (statistics.median(matmul_result["flops"] / t / 1e9
                                        for t in matmul_result["per_update"])
                      if "error" not in matmul_result else 0.0)
            notes.append(f"{model} DIM {dim}: fp32 matmul 2048x2048, median of {steps} runs "
                         f"interleaved with the training rows: {matmul:.1f} GFLOP/s")
            for spec, result in results[1:]:
                rows.append({"spec": spec, "result": result, "matmul": matmul})
                s = summarize(result, n_critic)
                if s:
                    key = (model, dim)
                    best_img_s[key] = max(best_img_s.get(key, 0.0), s["img_s"])
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
                    if extra:
                        notes.append(f"{model} DIM {dim} {spec['backend']} {spec['variant']} "
                                     f"jit={spec['jit']} "
                                     f"spe={spec['spe']}: " + "; ".join(extra))

    if rows:
        print()
        print_table(rows, n_critic)
        print()
        print("s/G-upd: median seconds per generator update (n_critic critic updates + 1 "
              "generator update), steady state, variants interleaved update by update; min: "
              "fastest update; IQR: interquartile range / median; trace s: first update "
              "minus the median; crit img/s: real images the critic consumes per second; "
              "x orig / x ref: times faster than the original loop (TensorFlow) / the "
              "hand-written reference (same backend and jit), median of the per-round paired ratios; %mm: useful GFLOP/s as % "
              "of the interleaved matmul rate; RSS: peak resident memory; retr: traces "
              "after the first epoch; n: timed updates.")
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
    if args.json:
        with open(args.json, "w") as handle:
            json.dump([{"spec": r["spec"], "result": r["result"], "matmul_gflops": r["matmul"]}
                       for r in rows], handle, indent=1)

    if args.data or args.data_only:
        data = run_single({"variant": "data"}, log_dir)
        print()
        if "error" in data or "skipped" in data:
            print(f"data path: {data.get('error') or data.get('skipped')}")
        else:
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
    print(f"\n# total wall time {time.perf_counter() - wall_start:.0f} s")


if __name__ == "__main__":
    main()
