"""Tests for the keras_wgan.evaluation package: its exports, and the deprecated old name."""

import importlib
import subprocess
import sys
import warnings

import pytest

import keras_wgan.evaluation as evaluation
from keras_wgan.evaluation import distances, domain_classifier, inception, yardstick


def test_package_exports_every_public_name_of_its_metric_families():
    expected = set()
    for module in (distances, inception, domain_classifier, yardstick):
        expected |= set(module.__all__)
        for name in module.__all__:
            assert getattr(evaluation, name) is getattr(module, name), name
    assert set(evaluation.__all__) == expected


def test_old_import_path_still_works_and_names_the_new_one():
    metrics = importlib.import_module("keras_wgan.metrics")
    with pytest.warns(DeprecationWarning,
                      match=r"from keras_wgan\.evaluation import DomainYardstick"):
        from keras_wgan.metrics import DomainYardstick
    assert DomainYardstick is evaluation.DomainYardstick
    with pytest.warns(DeprecationWarning, match="keras_wgan.evaluation"):
        assert metrics.frechet_distance is distances.frechet_distance
    assert metrics.__all__ == evaluation.__all__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            metrics.no_such_name  # noqa: B018


@pytest.mark.processes
def test_deprecation_is_shown_to_a_plain_script_by_default():
    # Python shows DeprecationWarning by default only when it is attributed to __main__:
    # the warning must point at the user's import line, not at the shim.
    script = "from keras_wgan.metrics import fid\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "DeprecationWarning: keras_wgan.metrics is deprecated" in result.stderr
    assert "<string>:1" in result.stderr
