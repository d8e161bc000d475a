"""Images per second of ``keras-wgan generate`` against the limit: a bare generator loop.

For each net (the DCGAN recipe at 32x32x1, DIM 32; the ResNets at 64x64x3, DIM 64), a
saved model is generated into a fresh folder by the command's own path
(``cli.generate``: seeds -> noise -> one compiled generator function -> PNG files
written by a thread) and, alternately in the same process, by the limit: a bare
``generator.predict_on_batch`` loop over the same batches that writes nothing. Printed:
the median images/s of each over the rounds and their ratio (the target is >= 0.8): for
the whole command (loading the file and compiling the generator included, once per
command) and for its writing loop on the loaded model (``cli.generate._write_folder``:
the steady state of a long run). Also checked: the PNG of a seed is the same whatever
the batch size.

    KERAS_BACKEND=tensorflow python benchmarks/generate_speed.py --images 2048 --rounds 3
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np

NETS = {  # name: (preset, overrides)
    "dcgan-32px-dim32": ("fashion_mnist_32", {"dim": 32}),
    "resnet-64px-dim64": ("cifar10_resnet", {"image_shape": (64, 64, 3), "dim": 64}),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", nargs="+", choices=sorted(NETS), default=sorted(NETS))
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import keras

    from keras_wgan import WGANGP, cli, generation
    from keras_wgan.cli.generate import _write_folder as write_folder

    print(f"backend {keras.backend.backend()}, {os.cpu_count()} CPUs, {args.images} "
          f"images per round, batch {args.batch_size}, {args.rounds} rounds")
    print(f"{'net':<20} {'bare loop':>10} {'command':>8} {'ratio':>6} {'loop':>8} "
          f"{'ratio':>6}   (images/s)")
    for name in args.nets:
        preset, overrides = NETS[name]
        gan = WGANGP.from_preset(preset, **overrides)
        with tempfile.TemporaryDirectory() as folder:
            model = os.path.join(folder, "gan.keras")
            gan.save(model)
            gan = keras.models.load_model(model)
            net = gan.sampling_generator
            noise = generation.seed_noise(range(args.images), gan.latent_dim)

            def bare():
                for i in range(0, args.images, args.batch_size):
                    net.predict_on_batch(noise[i:i + args.batch_size])

            def command(round_):
                out = os.path.join(folder, f"round{round_}")
                code = cli.main(["generate", model, "--out", out, "--n", str(args.images),
                                 "--batch-size", str(args.batch_size)])
                assert code == 0
                return out

            def loop(round_):
                settings = argparse.Namespace(batch_size=args.batch_size, truncation=None)
                written = write_folder(gan, settings, os.path.join(folder, f"loop{round_}"),
                                       list(range(args.images)), None, None)
                assert written == args.images

            bare()  # all compiled before timing
            command("warm")
            loop("warm")
            times = {"bare": [], "command": [], "loop": []}
            for round_ in range(args.rounds):
                started = time.perf_counter()
                bare()
                times["bare"].append(time.perf_counter() - started)
                started = time.perf_counter()
                out = command(round_)
                times["command"].append(time.perf_counter() - started)
                started = time.perf_counter()
                loop(round_)
                times["loop"].append(time.perf_counter() - started)
            rate = {k: args.images / statistics.median(v) for k, v in times.items()}
            same = _same_whatever_the_batch(model, out, folder)
            print(f"{name:<20} {rate['bare']:>10.0f} {rate['command']:>8.0f} "
                  f"{rate['command'] / rate['bare']:>6.2f} {rate['loop']:>8.0f} "
                  f"{rate['loop'] / rate['bare']:>6.2f}   (seed images identical at "
                  f"batch 7: {same})", flush=True)
    return 0


def _same_whatever_the_batch(model, out, folder):
    from PIL import Image

    from keras_wgan import cli

    other = os.path.join(folder, "batch7")
    assert cli.main(["generate", model, "--out", other, "--seeds", "0-20",
                     "--batch-size", "7"]) == 0
    for name in sorted(os.listdir(other)):
        a = np.asarray(Image.open(os.path.join(other, name)))
        b = np.asarray(Image.open(os.path.join(out, name)))
        if not np.array_equal(a, b):
            return False
    return True


if __name__ == "__main__":
    sys.exit(main())
