"""Fine-tuning a trained model on 100 images of one class against training from scratch
on the same 100, at equal CPU time (the same number of steps of the same nets, CPU
seconds printed to show it).

The small set is 100 test images of one Fashion-MNIST class (the source model never saw
the test split); the other test images of that class are the held-out reference. Both
runs go through the CLI (``keras-wgan train``, fine-tuning with ``--init-from``, and
``--freeze-critic`` when given). Scored in the Fashion-MNIST yardstick's features: fd
against the held-out images of the class (lower is better) and the copying ratio of
``keras-wgan nearest`` (mean nearest-training distance of samples over that of the
held-out images; well below 1 means copies of the 100).

    python benchmarks/finetune_vs_scratch.py runs/readme-wgan-gp/model.keras \\
        --data-dir /usr/share/datasets/fashion-mnist --label 7 --steps 300
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile

import numpy as np


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="a model.keras of a Fashion-MNIST run (DIM as trained)")
    parser.add_argument("--data-dir", required=True, help="Fashion-MNIST's IDX files")
    parser.add_argument("--label", type=int, default=7, help="the class; default 7 (sneaker)")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--freeze-critic", type=int, default=0)
    parser.add_argument("--samples", type=int, default=900)
    args = parser.parse_args(argv)

    import json

    import keras
    from PIL import Image

    import keras_wgan  # noqa: F401 - registers the classes for loading
    from keras_wgan.data import load_labelled_arrays
    from keras_wgan.evaluation import DomainYardstick, frechet_distance
    from keras_wgan.evaluation.memorisation import memorisation_ratio

    source = keras.models.load_model(args.source, compile=False)
    shape = tuple(source.sample_shape)
    test, labels = load_labelled_arrays("fashion_mnist", "test", image_size=shape[0],
                                        data_dir=args.data_dir, channels=shape[2])
    ours = test[labels == args.label]
    small, heldout = ours[:args.count], ours[args.count:]
    yardstick = DomainYardstick.for_dataset("fashion_mnist", shape, data_dir=args.data_dir)
    features = yardstick.classifier.features
    small_f, heldout_f = features(small), features(heldout)
    config = json.load(open(os.path.join(os.path.dirname(args.source), "config.json")))
    work = tempfile.mkdtemp(prefix="finetune-")
    folder = os.path.join(work, "small")
    os.makedirs(folder)
    for i, image in enumerate(small):
        pixels = np.rint((image[..., 0] + 1) * 127.5).astype(np.uint8)
        Image.fromarray(pixels).save(os.path.join(folder, f"{i:03d}.png"))
    per_epoch = max(1, args.count // args.batch_size)
    epochs = -(-args.steps // per_epoch)
    common = ["--dataset", folder, "--batch-size", str(args.batch_size),
              "--steps-per-epoch", str(per_epoch), "--epochs", str(epochs),
              "--num-samples", "16", "--verbose", "0", "--checkpoint-every", "10m"]
    runs = {
        "scratch": ["--dim", str(config["dim"]), "--latent-dim", str(config["latent_dim"]),
                    "--image-size", str(shape[0])],
        "fine-tuned": ["--init-from", args.source, "--freeze-critic",
                       str(args.freeze_critic)],
    }
    print(f"class {args.label}: {len(small)} images to train on, {len(heldout)} held out; "
          f"{epochs * per_epoch} steps of {args.batch_size} each run")
    print(f"{'run':<12}{'CPU s':>8}{'fd':>9}{'copy ratio':>12}")
    for name, flags in runs.items():
        out = os.path.join(work, name)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-m", "keras_wgan", "train", *common, *flags,
                        "--out", out], check=True, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        gan = keras.models.load_model(os.path.join(out, "model.keras"), compile=False)
        generated = features(gan.generate(seeds=range(args.samples)))
        fd = frechet_distance(generated, heldout_f)
        ratio = memorisation_ratio(generated, small_f, heldout_f).ratio
        print(f"{name:<12}{cpu:>8.0f}{fd:>9.3f}{ratio:>12.3f}", flush=True)
    floor = frechet_distance(small_f, heldout_f)
    print(f"{'the 100 real':<12}{'':>8}{floor:>9.3f}{'':>12}  (the small set itself vs the "
          "held-out: the floor at this size)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
