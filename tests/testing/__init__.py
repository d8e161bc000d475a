"""Shared test helpers: tiny models and data, and the checks every model test runs.

Imported as ``from testing import ...``: pytest puts ``tests/`` on ``sys.path`` (the
folder has no ``__init__.py``; "prepend" import mode), and the worker scripts that tests
start as subprocesses live in ``tests/`` too, so Python puts it first on their path.
``conftest.py`` keeps only fixtures and pytest hooks.
"""

from testing.gan_test_case import (
    assert_weights_equal,
    plain,
    run_model_saving_test,
    run_precision_test,
    run_serialization_test,
)
from testing.gradients import weight_gradients
from testing.tiny import (
    IMAGE_SHAPE,
    CrashAt,
    LATENT_DIM,
    image_dataset,
    point_dataset,
    stripe_images,
    tiny_image_gan,
    tiny_mlp_gan,
)

__all__ = [
    "CrashAt",
    "IMAGE_SHAPE",
    "LATENT_DIM",
    "assert_weights_equal",
    "image_dataset",
    "plain",
    "point_dataset",
    "run_model_saving_test",
    "run_precision_test",
    "run_serialization_test",
    "stripe_images",
    "tiny_image_gan",
    "tiny_mlp_gan",
    "weight_gradients",
]
