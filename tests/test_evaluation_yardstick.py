"""Tests for keras_wgan.evaluation.yardstick: figures of real, identical and constant images.

A classifier trained on a two-class stripes set (horizontal vs vertical) scores the
test split against itself (Frechet distance 0), real training images (both classes
covered) and a constant image (one class, Inception score 1).
"""

import numpy as np
import pytest
from testing import stripe_images

from keras_wgan.evaluation import yardstick
from keras_wgan.evaluation.domain_classifier import DomainClassifier


@pytest.fixture(scope="module")
def stripes():
    rng = np.random.default_rng(12)
    return stripe_images(256, rng), stripe_images(128, rng)


@pytest.fixture(scope="module")
def trained(stripes):
    (x, y), _ = stripes
    clf = DomainClassifier.build((32, 32, 1), 2, seed=0)
    clf.fit(x, y, epochs=2, batch_size=32, seed=0)
    return clf


def test_evaluate_images(stripes, trained):
    (x, _), (xt, _) = stripes
    clf = trained
    kwargs = dict(kid_num_subsets=10, kid_subset_size=64)
    itself = yardstick.evaluate_images(xt, clf, xt, **kwargs)
    real = yardstick.evaluate_images(x[:128], clf, xt, **kwargs)
    const = yardstick.evaluate_images(np.zeros((64, 32, 32, 1)), clf, xt, **kwargs)
    expected_keys = {"fd", "kd", "kd_std", "is", "class_histogram",
                     "modes_covered", "num_classes", "num_images"}
    for result in (itself, real, const):
        assert set(result) == expected_keys
        assert sum(result["class_histogram"]) == pytest.approx(1.0)
        assert 1.0 - 1e-9 <= result["is"] <= 2.0 + 1e-9
    assert abs(itself["fd"]) < 1e-6
    assert real["modes_covered"] == 2 and real["is"] > 1.5
    assert const["modes_covered"] == 1 and const["is"] == pytest.approx(1.0)
    assert const["fd"] > 10 * real["fd"] > 0
    assert const["kd"] > 10 * abs(real["kd"])
    # Precomputed reference features give identical figures.
    ref = clf.features(xt)
    assert yardstick.evaluate_images(x[:128], clf, reference_features=ref, **kwargs) == real
    with pytest.raises(ValueError, match="exactly one"):
        yardstick.evaluate_images(xt, clf)
    with pytest.raises(ValueError, match="per-image shape"):
        yardstick.evaluate_images(np.zeros((4, 28, 28, 1)), clf, xt)


def test_real_floor_scores_a_seeded_draw_of_real_images(stripes, trained):
    (x, _), (xt, _) = stripes
    clf = trained
    kwargs = dict(kid_num_subsets=5, kid_subset_size=50)
    floor = yardstick.real_floor(clf, x, xt, num_images=100, seed=3, **kwargs)
    assert floor["num_images"] == 100 and floor["modes_covered"] == 2
    # The same figures as scoring that draw (100 of 256, without replacement) directly.
    drawn = np.sort(np.random.default_rng(3).choice(len(x), 100, replace=False))
    assert floor == yardstick.evaluate_images(x[drawn], clf, xt, seed=3, **kwargs)
    with pytest.raises(ValueError, match="num_images"):
        yardstick.real_floor(clf, x, xt, num_images=10**6)
