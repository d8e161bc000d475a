"""``benchmarks/gpu_check.sh --smoke``: the GPU check's every step on a CPU at tiny sizes.

The script is prepared for the one call a lent GPU machine allows (at most 8 minutes), so
its paths must be known to work before that call: every step (devices, TensorFlow fp32
and mixed_bfloat16, JAX and PyTorch fit, the CIFAR-10 ResNet recipe, `generate` speed,
the icon cells) runs here and prints its figures beside the CPU baselines it replaces.
"""

import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.long
def test_gpu_check_smoke_runs_every_step_and_prints_the_summary(tmp_path):
    out = tmp_path / "gpu_check"
    done = subprocess.run(["bash", os.path.join(ROOT, "benchmarks", "gpu_check.sh"),
                           "--smoke", "--out", str(out)],
                          capture_output=True, text=True, timeout=900)
    printed = done.stdout + done.stderr
    assert done.returncode == 0, printed[-4000:]
    assert "gpu_check.sh: all steps ok" in printed
    steps = dict(line.split("\t")[:2] for line in
                 (out / "steps.tsv").read_text().splitlines())
    icons = os.path.isdir("/usr/share/icons/oxygen/base/64x64")
    expected = {"devices", "tf", "others", "cifar", "generate", "colour"}
    assert set(steps) == expected, steps
    assert all(word == "ok" for name, word in steps.items()
               if name != "colour" or icons), steps
    # Each figure has its row in the summary, beside the CPU baseline it replaces and its
    # source: "<figure> <unit> <this run> <CPU baseline> [n]".
    rows = ["TF fit fp32, WGAN-GP DIM", "TF fit mixed_bfloat16, WGAN-GP DIM",
            "JAX fit, WGAN-GP DIM", "PyTorch fit, WGAN-GP DIM", "cifar10_resnet recipe",
            "keras-wgan generate, ResNet 64x64x3", "keras-wgan generate, DCGAN 32x32x1"]
    if icons:
        rows += ["icons fd, DCGAN plain, full set", "icons fd, ResNet+DiffAugment, full set"]
    lines = printed.splitlines()
    for row in rows:
        found = [line for line in lines if line.startswith(row)]
        assert found, row
        assert re.search(r"\s[0-9.]+(\s\(\d+\))?\s{2,}\S.*\[\d\]$", found[-1]), found[-1]
