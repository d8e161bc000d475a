"""The WGAN-GP paper's CIFAR-10 experiment, ready to run: its ResNets, its optimizers and
linear decay (preset ``cifar10_resnet``), 100,000 generator updates, scored with the
Inception score and FID on the real Inception weights.

    python benchmarks/cifar10_resnet.py --out runs/cifar10_resnet            # the paper's run
    python benchmarks/cifar10_resnet.py --out runs/cifar10_resnet            # again: resumes
    python benchmarks/cifar10_resnet.py --smoke                              # a CPU minute
    python benchmarks/cifar10_resnet.py --smoke                              # resumes it

- **Data**: CIFAR-10 through TFDS (``--data-dir`` for a local TFDS folder). When TFDS
  cannot reach it, the run stops and says so; ``--smoke`` then trains on random images of
  CIFAR-10's shape and says so.
- **Checkpoints**: ``OUT/model.keras`` every ``--checkpoint-minutes`` and at the end, with
  the position in the data (``keras_wgan.checkpoints``); running the same command again
  continues from it, exactly; Ctrl-C saves first.
- **Scores**: every ``--eval-every`` generator updates and at the end, the Inception
  score and FID of ``--n-eval`` samples (the paper: 50,000) against the training images,
  with Keras' ImageNet InceptionV3 (``keras.applications``; not the TF1 graph the paper
  used, so compare with other runs of this script, not with the paper's 7.86 exactly).
  When the weights cannot be fetched the scores are skipped with a message saying so.
- **Time**: the measured seconds per generator update (n_critic critic updates and one
  generator update), the projected time of all updates on this machine, and on one
  modern GPU: the floating-point operations of one generator update, counted from the
  nets' layers, divided by ``--gpu-tflops`` x ``--gpu-utilisation`` (defaults: 100 TFLOP/s,
  a modern data-centre GPU's dense TF32 tensor-core class, at 30%, a conservative
  utilisation for batch-64 convolutions of this width; the FLOPs are printed so you can
  redo the division for your card).
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads
UPDATES = 100_000  # the paper's generator updates (ITERS in gan_cifar_resnet.py)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="runs/cifar10_resnet")
    p.add_argument("--generator-updates", type=int, default=UPDATES)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--data-dir", default=None, help="TFDS data folder")
    p.add_argument("--eval-every", type=int, default=10_000, help="generator updates")
    p.add_argument("--n-eval", type=int, default=50_000, help="samples scored")
    p.add_argument("--checkpoint-minutes", type=float, default=10.0)
    p.add_argument("--gpu-tflops", type=float, default=100.0,
                   help="the GPU's dense tensor-core rate for the run's precision")
    p.add_argument("--gpu-utilisation", type=float, default=0.3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--random-data", action="store_true",
                   help="train on random images of CIFAR-10's shape (to time the recipe "
                        "where CIFAR-10 is not reachable; says nothing about quality)")
    p.add_argument("--smoke", action="store_true",
                   help="a CPU minute: 2 generator updates a measurement, small sizes")
    return p.parse_args(argv)


def layer_flops(model):
    """Multiply-adds x 2 of one sample's forward pass through the Conv2D and Dense layers
    (the rest, batch norm, activations, pooling, is a few percent at these widths)."""
    import keras

    total = 0
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            c_in = layer.input.shape[-1]
            total += 2 * h * w * c_out * kh * kw * c_in
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return total


def update_flops(gan, batch):
    """One generator update of WGAN-GP: n_critic critic updates (generator forward for the
    fakes; critic forward and backward on real, fake and interpolates; the penalty's
    double backward, about twice a backward) and one generator update (both nets forward
    and backward). A backward pass counts as twice its forward."""
    g, c = layer_flops(gan.generator), layer_flops(gan.critic)
    critic_step = g + 3 * c * 3 + 2 * (2 * c)
    generator_step = 3 * (g + c)
    return batch * (gan.n_critic * critic_step + generator_step)


def load_data(args):
    """An endless batched dataset of CIFAR-10 training images, and a word on its source."""
    from keras_wgan import data

    def load():
        return data.load_dataset("cifar10", image_size=32, batch_size=args.batch_size,
                                 seed=args.seed, data_dir=args.data_dir).repeat()

    if not args.random_data:
        try:
            load().take(1).get_single_element()
            return load, "CIFAR-10 (TFDS)"
        except Exception as error:  # TFDS says unreachable in many ways
            if not args.smoke:
                sys.exit(f"CIFAR-10 is not reachable through TFDS ({str(error)[:300]}); "
                         "pass --data-dir with a prepared TFDS folder, --random-data to "
                         "time the recipe without it, or try --smoke")
    import numpy as np

    print("Training on random images of CIFAR-10's shape (CIFAR-10 not reachable, or "
          "--random-data): the times hold, the scores mean nothing.", flush=True)
    noise = np.random.default_rng(args.seed).uniform(-1, 1, (256, 32, 32, 3)).astype("float32")

    def load_noise():
        return data.load_dataset(noise, image_size=None, batch_size=args.batch_size,
                                 seed=args.seed).repeat()

    return load_noise, "random images of CIFAR-10's shape (not CIFAR-10)"


def inception_scores(gan, real_batches, n, seed):
    """(IS, FID) with Keras' ImageNet InceptionV3, or None when its weights are unreachable."""
    import keras
    import numpy as np

    from keras_wgan.evaluation import frechet_distance, inception_score

    try:
        net = keras.applications.InceptionV3(weights="imagenet", include_top=True)
    except Exception as error:
        print(f"Inception weights unreachable ({str(error)[:200]}): IS and FID skipped; the "
              "run goes on.", flush=True)
        return None
    both = keras.Model(net.input, [net.get_layer("avg_pool").output, net.output])

    def features(images):
        pools, probs = [], []
        for start in range(0, len(images), 50):
            chunk = keras.ops.image.resize(images[start: start + 50], (299, 299))
            pool, prob = both.predict_on_batch(chunk)
            pools.append(np.asarray(pool))
            probs.append(np.asarray(prob))
        return np.concatenate(pools), np.concatenate(probs)

    fake_pool, fake_probs = features(gan.generate(n, seed=seed))
    real = np.concatenate([b.numpy() for b in real_batches.take(-(-n // 64))])[:n]
    real_pool, _ = features(real)
    return inception_score(fake_probs), frechet_distance(fake_pool, real_pool)


def main(argv=None):
    args = parse_args(argv)
    if args.smoke:
        args.generator_updates, args.dim, args.batch_size = 4, 16, 16
        args.eval_every, args.n_eval = 2, 100
        args.out = args.out if args.out != "runs/cifar10_resnet" else "runs/cifar10_smoke"
    import keras

    from keras_wgan import WGANGP
    from keras_wgan.checkpoints import (
        TrainingCheckpoint,
        fit_resumable,
        load_checkpoint,
        stop_on_signals,
    )

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "model.keras")
    make_dataset, source = load_data(args)
    if os.path.isfile(path):
        gan, state = load_checkpoint(path)
        print(f"Resuming {path}: {state.describe()}", flush=True)
    else:
        keras.utils.set_random_seed(args.seed)
        gan, state = WGANGP.from_preset("cifar10_resnet", dim=args.dim, seed=args.seed), None
    steps = gan.n_critic * args.eval_every  # an epoch: eval_every generator updates
    epochs = -(-args.generator_updates // args.eval_every)
    if args.smoke and state is not None:  # a smoke run on an earlier one: two epochs more
        epochs = state.epoch + 2
    if state is not None and state.epoch >= epochs:
        print(f"{path} has done its {args.generator_updates:,} generator updates; pass a "
              "larger --generator-updates to continue it.")
        return 0
    flops = update_flops(gan, args.batch_size)
    checkpoint = TrainingCheckpoint(path, every_n_minutes=args.checkpoint_minutes)
    scores = []

    class Report(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.updates = time.perf_counter(), int(gan.generator_optimizer.iterations)

        def on_epoch_end(self, epoch, logs=None):
            done = int(gan.generator_optimizer.iterations)
            seconds = (time.perf_counter() - self.start) / max(done - self.updates, 1)
            figures = inception_scores(gan, make_dataset(), args.n_eval, args.seed)
            row = {"generator_updates": done, "seconds_per_update": round(seconds, 3),
                   "inception_score": figures and figures[0], "fid": figures and figures[1]}
            scores.append(row)
            with open(os.path.join(args.out, "scores.json"), "w") as f:
                json.dump({"data": source, "rows": scores}, f, indent=1)
            total_here = seconds * args.generator_updates / 3600
            gpu = UPDATES * flops / (args.gpu_tflops * 1e12 * args.gpu_utilisation) / 3600
            print(f"{done} generator updates: {seconds:.2f} s each here ({total_here:.3g} h "
                  f"for {args.generator_updates:,}); {flops / 1e9:.1f} GFLOP each, so "
                  f"{UPDATES:,} take ~{gpu:.2g} h on a {args.gpu_tflops:.0f}-TFLOP/s GPU at "
                  f"{args.gpu_utilisation:.0%}; IS {row['inception_score']}, "
                  f"FID {row['fid']} ({source})", flush=True)

    with stop_on_signals(checkpoint):
        fit_resumable(gan, make_dataset, epochs=epochs, steps_per_epoch=steps,
                      checkpoint=checkpoint, state=state, callbacks=[Report()],
                      verbose=0 if args.smoke else 1)
    print(f"Saved {path}; run the same command again to continue.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
