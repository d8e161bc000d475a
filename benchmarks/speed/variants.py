"""The timed variants (train-step implementations) and the other child-side jobs.

Every job runs in a child process (``speed.lockstep``) and returns a JSON-able dict.

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
  fit-bf16, fit-2replicas  scale-out rows: ``fit`` under the mixed_bfloat16 policy, and
                 ``fit`` on two replicas (MirroredStrategy over two logical CPU devices,
                 the same global batch).

With ``--nets resnet`` (WGAN-GP only) the rows are ``reference`` and ``fit`` on the
WGAN-GP paper's CIFAR-10 ResNets at 32x32x3 (``keras_wgan.presets`` "cifar10_resnet",
see ``speed.settings.NETS``): the same maths on other nets. The ResNet generator has
BatchNormalization: the reference calls it with ``training=True`` both for the critic's
fakes and in the generator update, as ``fit`` does (``WassersteinGAN._sample_fakes`` and
``_generator_update``), so each generator update moves its moving statistics n_critic +
1 times in both rows (Keras 3's BatchNormalization assigns them inside ``call``, in the
traced step too; both rows report whether they moved). The reference scores real and
fake in two critic calls, ``fit`` in one call on both (the critic has no batch-coupled
layer, so the maths is the same).

Other jobs: ``matmul`` (the fp32 matmul rate, in the same rotation), ``flops`` (the
FLOP count's profiler cross-check, ``speed.flops``) and ``data`` (the data path's
images/s). The JAX and PyTorch references are in ``speed.other_backends``.
"""

import contextlib
import math
import time

from speed.flops import flops_per_update, profiler_forward_flops
from speed.lockstep import peak_rss_mb
from speed.settings import (
    BATCH, FIT_NETS, IMAGE_SHAPE, LATENT, NETS, SCALE_OUT, image_shape, nets_of,
)


def resolve_jit(jit):
    """Keras' "auto" rule: XLA on when a GPU is visible, off on CPU-only machines."""
    import tensorflow as tf

    if jit == "auto":
        return bool(tf.config.list_physical_devices("GPU"))
    return jit == "on"


def model_class(model):
    import keras_wgan

    return keras_wgan.WGANGP if model == "wgan-gp" else keras_wgan.WGAN


def build_nets(model, dim, nets="dcgan"):
    """The nets of a family (``speed.settings.NETS``) at ``dim``, as its recipe builds them.

    "dcgan": the original experiment's nets (the PRESET recipe; stock Keras layers);
    "resnet": the WGAN-GP paper's CIFAR-10 ResNets on 32x32x3.
    """
    from keras_wgan import presets

    recipe = NETS[nets]
    return presets.build_nets(recipe["preset"], model_class(model), dim=dim, latent_dim=LATENT,
                              image_shape=recipe["image_shape"], **recipe["overrides"])


def original_optimizers(model, nets="dcgan"):
    """The recipe's optimizers, [critic's, generator's]: for "dcgan" the original
    experiment's (the papers'), for "resnet" Adam(2e-4, 0, 0.9) at a constant rate."""
    from keras_wgan import presets

    recipe = NETS[nets]
    pair = presets.make_optimizers(recipe["preset"], model_class(model), **recipe["overrides"])
    return [pair["critic_optimizer"], pair["generator_optimizer"]]


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


def make_dataset(batch, n_images=4096, seed=0, extra_batch=None, shape=IMAGE_SHAPE):
    """Random images in [-1, 1] held in memory: repeat, batch, (batch again), prefetch."""
    import numpy as np
    import tensorflow as tf

    images = np.random.default_rng(seed).uniform(-1, 1, (n_images,) + tuple(shape))
    ds = tf.data.Dataset.from_tensor_slices(images.astype("float32")).repeat()
    ds = ds.batch(batch, drop_remainder=True)
    if extra_batch:
        ds = ds.batch(extra_batch, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


class MovingStats:
    """Whether a net's non-trainable variables (BatchNormalization's moving statistics)
    moved between ``__init__`` and ``moved()``; None when it has none."""

    def __init__(self, network):
        self.variables = list(network.non_trainable_variables)
        self.before = [self._read(v) for v in self.variables]

    @staticmethod
    def _read(variable):  # through a tensor: a tf.distribute variable has no __array__
        import keras

        return keras.ops.convert_to_numpy(keras.ops.convert_to_tensor(variable))

    def moved(self):
        import numpy as np

        if not self.variables:
            return None
        return all(not np.array_equal(self._read(v), b)
                   for v, b in zip(self.variables, self.before))


def run_fit(spec, lockstep):
    """``WGAN(GP).fit`` as a user calls it; a callback ends a block every generator update."""
    import keras
    import tensorflow as tf

    from keras_wgan import presets

    model, dim, n_critic = spec["model"], spec["dim"], spec["n_critic"]
    backend = spec.get("backend", "tensorflow")
    nets = nets_of(spec)
    recipe = NETS[nets]
    shape = recipe["image_shape"]
    scope = contextlib.nullcontext
    if spec["variant"] == "fit-bf16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    elif spec["variant"] == "fit-2replicas":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        scope = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope
    with scope():
        # The recipe, like for like with the hand-written loops: no weight averaging and
        # the recipe's optimizers (DCGAN: the papers'; ResNet: Adam(2e-4, 0, 0.9) at a
        # constant rate). The library defaults add one weight-sized average per
        # generator update.
        gan = model_class(model).from_preset(
            recipe["preset"], dim=dim, latent_dim=LATENT, image_shape=shape,
            n_critic=n_critic, seed=0, compile=False, **recipe["overrides"],
        )
        if nets == "resnet":  # the recipe the reference mirrors
            assert gan.ema_decay is None and gan.gp_weight == 10.0, \
                (gan.ema_decay, gan.gp_weight)
        generator, critic = gan.generator, gan.critic
        if backend == "tensorflow":
            set_fast_paths(generator, critic, **FIT_NETS[spec["variant"]])
        if spec["variant"] == "fit-split":
            gan._critic_batch_coupled = True  # forces separate real/fake critic calls
        jit = {"auto": "auto", "on": True, "off": False}[spec["jit"]]
        spe = spec["spe"]
        gan.compile(jit_compile=jit, steps_per_execution=spe,
                    **presets.make_optimizers(recipe["preset"], type(gan),
                                              **recipe["overrides"]))
    moving = MovingStats(generator)

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

    ds = make_dataset(BATCH, shape=shape)
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
        **({"host_sync_ops": host_sync_ops(plain_train_step, shape)}
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
        "moving_stats_moved": moving.moved(),
    }


HOST_SYNC_OP_TYPES = {"PyFunc", "PyFuncStateless", "EagerPyFunc", "_Send", "_Recv"}


def host_sync_ops(train_step, shape=IMAGE_SHAPE):
    """Op types in train_step's graph (and nested cond/while functions) that call the host."""
    import tensorflow as tf

    concrete = tf.function(train_step).get_concrete_function(
        tf.TensorSpec((BATCH,) + tuple(shape), tf.float32)
    )
    graph_def = concrete.graph.as_graph_def()
    types = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        types.update(node.op for node in function.node_def)
    return sorted(types & HOST_SYNC_OP_TYPES)


def critic_loss(critic, real, fake, gp):
    """The critic's loss as the original experiment writes it, stock TensorFlow: mean
    D(fake) - mean D(real), plus (WGAN-GP) 10 x the penalty at random interpolates.
    Called inside the caller's GradientTape."""
    import tensorflow as tf

    real_scores = critic(real, training=True)
    loss = tf.reduce_mean(critic(fake, training=True)) - tf.reduce_mean(real_scores)
    if gp:
        alpha = tf.random.uniform((BATCH, 1, 1, 1))
        mixed = alpha * real + (1.0 - alpha) * fake
        with tf.GradientTape() as inner:
            inner.watch(mixed)
            mixed_scores = critic(mixed, training=True)
        grads = inner.gradient(mixed_scores, mixed)
        norms = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]) + 1e-12)
        loss += 10.0 * tf.reduce_mean(tf.square(norms - 1.0))
    return loss


def run_reference(spec, lockstep):
    """One tf.function per generator update: n_critic critic updates + 1 generator update."""
    import numpy as np
    import tensorflow as tf

    backend = spec.get("backend", "tensorflow")
    if backend != "tensorflow":
        from speed import other_backends

        return {"jax": other_backends.run_reference_jax,
                "torch": other_backends.run_reference_torch}[backend](spec, lockstep)
    model, dim, n_critic = spec["model"], spec["dim"], spec["n_critic"]
    nets = nets_of(spec)
    fast = spec["variant"] == "reference-fast"
    generator, critic = build_nets(model, dim, nets)
    set_fast_paths(generator, critic, fast_lrelu=fast, fast_conv=fast)
    critic_opt, gen_opt = original_optimizers(model, nets)
    c_vars, g_vars = critic.trainable_variables, generator.trainable_variables
    critic_opt.build(c_vars)
    gen_opt.build(g_vars)
    gp = model == "wgan-gp"
    moving = MovingStats(generator)

    # The generator runs with training=True everywhere, as in fit: its BatchNormalization
    # layers normalise with the batch's moments and assign their moving statistics.
    def critic_update(real):
        fake = generator(tf.random.normal((BATCH, LATENT)), training=True)
        with tf.GradientTape() as tape:
            loss = critic_loss(critic, real, fake, gp)
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

    iterator = iter(make_dataset(BATCH, extra_batch=n_critic, shape=image_shape(nets)))

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
        "moving_stats_moved": moving.moved(),
    }


def run_original(spec, lockstep):
    """The original experiment's training loop, rebuilt faithfully (eager critic,
    predict, train_on_batch). DCGAN nets only."""
    import keras
    import numpy as np
    import tensorflow as tf
    from keras import ops

    if nets_of(spec) != "dcgan":
        raise SystemExit("the original loop is the DCGAN experiment's; --nets dcgan only")
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
            loss = critic_loss(critic, real, fake, gp)
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
    """fp32 NxN matmul rate (N = spec["matmul_size"], 2048 unless a smoke run asks for less):
    one chain of matmuls per block, interleaved with training."""
    import tensorflow as tf

    n, chain = spec.get("matmul_size", 2048), 8
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
    nets = nets_of(spec)
    generator, critic = build_nets(model, dim, nets)
    total, f_g, f_c = flops_per_update(model, generator, critic, n_critic, BATCH)
    return {
        "flops_per_update": total,
        "forward_generator": f_g,
        "forward_critic": f_c,
        "profiler_generator": profiler_forward_flops(generator, (LATENT,)),
        "profiler_critic": profiler_forward_flops(critic, image_shape(nets)),
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
