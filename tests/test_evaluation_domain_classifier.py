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
    assert feats.shape == (10, domain_classifier.FEATURE_DIM)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)


def test_each_feature_block_has_unit_mean_variance_on_the_training_images(stripes, trained):
    """Version 2's features: the dense layer and the convolutions' channel means, each
    block scaled so that its mean variance over the training images is 1 (checked
    against the unscaled layers' outputs, averaged with numpy), and the scales kept in
    the saved file."""
    import keras

    (x, _), _ = stripes
    clf, cache = trained
    model = clf.model
    raw = keras.Model(model.inputs, [model.get_layer("dense_features").output] + [
        keras.ops.mean(model.get_layer(f"conv{i}").output, axis=(1, 2)) for i in (1, 2, 3)])
    blocks = [np.asarray(b, np.float64) for b in raw.predict(x, verbose=0)]
    features = clf.features(x)
    start = 0
    for block in blocks:
        width = block.shape[1]
        part = features[:, start:start + width]
        assert np.mean(np.var(part, axis=0)) == pytest.approx(1.0, rel=1e-3)
        scale = np.sqrt(np.mean(np.var(block, axis=0)))
        np.testing.assert_allclose(part, block / scale, rtol=1e-3, atol=1e-4)
        start += width
    assert start == domain_classifier.FEATURE_DIM
    loaded = domain_classifier.DomainClassifier.load(
        domain_classifier.classifier_cache_path("stripes", cache))
    np.testing.assert_allclose(loaded.features(x[:16]), features[:16], rtol=1e-4, atol=1e-5)


def test_each_block_weighs_in_proportion_to_its_width(stripes, trained):
    """The share of the features' total variance (what a distance sums over) that each
    block carries on the training images: its width over 240, as the docstring says
    (dense 53%, conv1 7%), not a quarter each."""
    (x, _), _ = stripes
    clf, _ = trained
    variances = np.var(clf.features(x), axis=0)
    shares, start = [], 0
    for width in (domain_classifier.CLASSIFIER_FEATURE_DIM, *domain_classifier.CONV_FILTERS):
        shares.append(variances[start:start + width].sum() / variances.sum())
        start += width
    expected = list(domain_classifier.FEATURE_BLOCK_SHARES.values())
    np.testing.assert_allclose(shares, expected, rtol=2e-3)
    np.testing.assert_allclose(expected, [128 / 240, 16 / 240, 32 / 240, 64 / 240])
    assert list(domain_classifier.FEATURE_BLOCK_SHARES) == list(domain_classifier.FEATURE_BLOCKS)


def test_a_small_set_trains_for_enough_steps_and_a_large_one_for_three_epochs():
    schedule = domain_classifier.training_schedule
    assert schedule(60_000) == (3, 128)  # Fashion-MNIST: 1,407 steps
    epochs, batch = schedule(470)  # the oxygen icons' training split
    assert batch == 32 and epochs * -(-470 // 32) >= domain_classifier.CLASSIFIER_MIN_STEPS
    assert schedule(10) == (domain_classifier.CLASSIFIER_MAX_EPOCHS, 32)  # capped


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
