"""The PyTorch layout path for one-channel convolutions against Keras' own layout, side by side.

``keras_wgan.backend.torch.single_channel_conv2d`` gives PyTorch the kernel of a
convolution to one channel in its default layout (Keras gives it channels-last, which
PyTorch's ``slow_conv2d`` bfloat16 kernel cannot differentiate). This times the
penalty's double backward of a 5x5 "same" convolution of (64, 32, 32, 64) to one
channel (a DIM-32 grayscale generator's image layer seen by the critic's penalty), in
float32 and bfloat16, with oneDNN on and off (off: the slow kernels a CPU without
oneDNN's bfloat16 path uses), interleaving the two layouts so load hits both alike.

    KERAS_BACKEND=torch python benchmarks/torch_layout.py [--repeats 5]
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "torch")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per cell")
    args = parser.parse_args()

    import keras
    import torch

    from keras_wgan.backend import torch as torch_backend

    if keras.backend.backend() != "torch":
        raise SystemExit("run with KERAS_BACKEND=torch")
    x0 = torch.randn(64, 32, 32, 64)
    w0 = torch.randn(5, 5, 64, 1)
    layouts = {
        "keras": lambda x, k: keras.ops.conv(x, k, padding="same"),
        "layout path": lambda x, k: torch_backend.single_channel_conv2d(x, k),
    }

    def step(conv, dtype):
        x = x0.to(dtype).requires_grad_(True)
        w = w0.clone().requires_grad_(True)
        y = conv(x, w.to(dtype))
        (gx,) = torch.autograd.grad(y.float().square().sum(), [x], create_graph=True)
        torch.autograd.grad(gx.float().square().sum(), [w])

    print(f"{'oneDNN':<8}{'dtype':<10}" + "".join(f"{name:>16}" for name in layouts)
          + "   (ms, best of rounds)")
    for onednn in (True, False):
        for dtype in (torch.float32, torch.bfloat16):
            best = {name: float("inf") for name in layouts}
            with torch.backends.mkldnn.flags(enabled=onednn):
                for _ in range(args.repeats):
                    for name, conv in layouts.items():
                        try:
                            start = time.perf_counter()
                            step(conv, dtype)
                            best[name] = min(best[name], time.perf_counter() - start)
                        except RuntimeError as error:
                            best[name] = str(error).split(":")[0]
            cells = "".join(
                f"{value * 1000:>16.1f}" if isinstance(value, float) else f"{value:>16}"
                for value in best.values()
            )
            print(f"{'on' if onednn else 'off':<8}{str(dtype).split('.')[1]:<10}{cells}")


if __name__ == "__main__":
    main()
