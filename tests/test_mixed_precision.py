"""Mixed precision: float16 / bfloat16 compute, float32 variables, scores, norms and losses.

Under ``mixed_float16`` both optimizers get a LossScaleOptimizer (float16 gradients
underflow without loss scaling); ``mixed_bfloat16`` needs none. The critic's scores,
the penalty's gradient norms and every loss are float32. One step's losses match the
float32 step within the precision of the compute dtype (float16: 11-bit significand,
bfloat16: 8-bit).
"""

import keras
import numpy as np
import pytest
from testing import (
    image_dataset,
    point_dataset,
    run_precision_test,
    tiny_image_gan,
    tiny_mlp_gan,
)

from keras_wgan import WGAN, WGANGP

pytestmark = pytest.mark.all_backends

# Tolerances relative to float32 (values are O(1)): a few roundings of the compute dtype.
TOLERANCE = {"mixed_float16": 2e-2, "mixed_bfloat16": 8e-2}


def one_step(policy, cls=WGANGP, build=tiny_mlp_gan, data=point_dataset, save_path=None):
    """One step (n_critic 1) under ``policy``, through the shared precision checks."""
    if policy == "float32":
        gan = build(cls, n_critic=1, ema_decay=0.9)
        gan.compile()
        history = gan.fit(data(1), epochs=1, verbose=0).history
        return gan, {name: values[0] for name, values in history.items()}
    return run_precision_test(build, policy, data(1), save_path=save_path, cls=cls,
                              n_critic=1, ema_decay=0.9)


@pytest.fixture(scope="module")
def steps(tmp_path_factory):
    """``steps(policy, cls)``: :func:`one_step` on the MLPs, run once per module.

    The float32 reference serves both mixed policies; the mixed_float16 WGAN-GP step
    also runs the saving checks (the last test here asserts on that file's survival).
    """
    done = {}

    def step(policy, cls=WGANGP):
        if (policy, cls) not in done:
            save_path = None
            if (policy, cls) == ("mixed_float16", WGANGP):
                save_path = tmp_path_factory.mktemp("mixed_float16") / "gan.keras"
            done[policy, cls] = one_step(policy, cls, save_path=save_path)
        return done[policy, cls]

    return step


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("cls", [WGAN, WGANGP])
def test_one_step_matches_float32_with_float32_losses_and_variables(steps, policy, cls):
    _, expected = steps("float32", cls)
    gan, logs = steps(policy, cls)
    compute = policy.split("_")[1]
    assert keras.backend.standardize_dtype(gan.generator.compute_dtype) == compute
    assert keras.backend.standardize_dtype(gan.critic.compute_dtype) == compute
    assert int(gan.critic_optimizer.iterations) == int(gan.generator_optimizer.iterations) == 1
    assert sorted(logs) == sorted(expected)
    for name, value in logs.items():
        np.testing.assert_allclose(value, expected[name], rtol=TOLERANCE[policy],
                                   atol=TOLERANCE[policy], err_msg=name)
    if cls is WGAN:  # clipping acts on the float32 variables
        assert max(float(np.abs(w).max()) for w in gan.critic.get_weights()) <= 0.01 + 1e-7


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_penalty_and_scores_are_float32_on_the_image_nets(policy):
    if policy == "mixed_float16" and keras.backend.backend() == "torch":
        # PyTorch's CPU float16 convolution has no weight gradient: a clear refusal.
        with pytest.raises(ValueError, match="torch.*float16.*mixed_bfloat16"):
            one_step(policy, build=tiny_image_gan, data=image_dataset)
        return
    gan, logs = one_step(policy, build=tiny_image_gan, data=image_dataset)
    assert logs["gradient_penalty"] > 0
    real = keras.ops.convert_to_tensor(np.zeros((2, 16, 16, 1), "float32"))
    assert keras.backend.standardize_dtype(gan._scores_only(real, False).dtype) == "float32"


def test_the_policy_and_the_loss_scaling_survive_saving(steps):
    # run_precision_test saves, loads in a float32 process policy and checks the
    # policy on every layer, the LossScaleOptimizers, the counts and the samples (the
    # fixture's mixed_float16 WGAN-GP step passes it a save_path).
    gan, _ = steps("mixed_float16", WGANGP)
    assert int(gan.generator_optimizer.iterations) == 1
    assert keras.mixed_precision.global_policy().name == "float32"
