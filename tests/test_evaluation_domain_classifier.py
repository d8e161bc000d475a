"""Tests for keras_wgan.evaluation.domain_classifier: training, the on-disk cache, its path.

A two-class stripes set (horizontal vs vertical) that a small CNN learns in two
epochs, so the cached classifier's accuracy is a real check, in a few seconds of CPU.
"""

import os

import numpy as np
import pytest
from testing import stripe_images

from keras_wgan.evaluation import domain_classifier


@pytest.fixture(scope="module")
def stripes():
    rng = np.random.default_rng(12)
    train = stripe_images(256, rng)
    test = stripe_images(128, rng)
    return train, test


@pytest.fixture(scope="module")
def trained(stripes, tmp_path_factory):
    (x, y), _ = stripes
    cache = tmp_path_factory.mktemp("cache")
    clf = domain_classifier.load_or_train_classifier(
        "stripes", x, y, cache_dir=cache, epochs=2, batch_size=32, seed=0
    )
    return clf, cache


def test_classifier_trains_and_caches(stripes, trained):
    (_, _), (xt, yt) = stripes
    clf, cache = trained
    path = domain_classifier.classifier_cache_path("stripes", cache)
    assert path.exists() and path.suffix == ".keras"
    assert f"v{domain_classifier.YARDSTICK_VERSION}" in path.name
    assert clf.num_classes == 2 and clf.image_shape == (32, 32, 1)
    assert clf.accuracy(xt, yt) > 0.9
    feats, probs = clf.features_and_probabilities(xt[:10])
    assert feats.shape == (10, domain_classifier.CLASSIFIER_FEATURE_DIM)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)


def test_classifier_second_call_loads_without_training(stripes, trained, monkeypatch):
    (x, y), (xt, _) = stripes
    clf, cache = trained
    path = domain_classifier.classifier_cache_path("stripes", cache)
    mtime = os.stat(path).st_mtime_ns

    def no_training(*args, **kwargs):
        raise AssertionError("classifier was retrained instead of loaded")

    monkeypatch.setattr(domain_classifier, "_train_classifier", no_training)
    again = domain_classifier.load_or_train_classifier("stripes", x, y, cache_dir=cache)
    assert os.stat(path).st_mtime_ns == mtime
    np.testing.assert_allclose(again.features(xt[:8]), clf.features(xt[:8]), atol=1e-5)
    # Data is optional once cached; a shape mismatch is an error.
    domain_classifier.load_or_train_classifier("stripes", cache_dir=cache)
    with pytest.raises(ValueError, match="expects images of shape"):
        domain_classifier.load_or_train_classifier(
            "stripes", np.zeros((2, 28, 28, 1)), cache_dir=cache
        )
    with pytest.raises(ValueError, match="no cached classifier"):
        domain_classifier.load_or_train_classifier("other", cache_dir=cache)


def test_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(domain_classifier.CACHE_ENV_VAR, str(tmp_path))
    assert domain_classifier.default_cache_dir() == tmp_path
    assert domain_classifier.classifier_cache_path("fashion_mnist").parent == tmp_path
    with pytest.raises(ValueError, match="name"):
        domain_classifier.classifier_cache_path("../escape")


def test_cache_file_is_replaced_whole_or_not_at_all(trained, tmp_path, monkeypatch):
    clf, cache = trained
    path = tmp_path / "stripes-classifier.keras"
    clf.save(path)
    saved = path.read_bytes()
    reloaded = domain_classifier.DomainClassifier.load(path)
    probe = np.zeros((2, 32, 32, 1), np.float32)
    np.testing.assert_allclose(reloaded.features(probe), clf.features(probe), atol=1e-6)

    def half_written(filepath, *args, **kwargs):  # a save killed halfway
        with open(filepath, "wb") as f:
            f.write(saved[:100])
        raise OSError("disk full")

    monkeypatch.setattr(clf.model, "save", half_written)
    with pytest.raises(OSError, match="disk full"):
        clf.save(path)
    assert path.read_bytes() == saved
    assert os.listdir(tmp_path) == [path.name]
