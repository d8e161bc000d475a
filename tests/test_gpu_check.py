"""``benchmarks/gpu_check.sh --smoke``: the GPU check's every step on a CPU at tiny sizes.

The script is prepared for the one call a lent GPU machine allows (at most 8 minutes), so
its paths must be known to work before that call: every step (devices, TensorFlow fp32
and mixed_bfloat16, JAX and PyTorch fit, the CIFAR-10 ResNet recipe, `generate` speed,
the icon cells) runs here and prints its figures beside the CPU baselines it replaces.
"""

import os
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
    # Each figure is printed beside the CPU baseline it replaces, with its source.
    for figure in ("mixed_bfloat16", "jax", "torch", "cifar10_resnet", "generate"):
        assert figure in printed.lower(), figure
