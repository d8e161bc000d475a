"""``keras-wgan nearest`` and ``evaluation.memorisation``: is the generator copying?"""

import os

import numpy as np
import pytest
from PIL import Image
from scipy.spatial.distance import cdist

from keras_wgan import cli
from keras_wgan.evaluation.memorisation import memorisation_ratio, nearest_neighbours
from keras_wgan.images import to_uint8

from testing.tiny import tiny_image_gan


def test_nearest_neighbours_match_a_brute_force_search():
    rng = np.random.default_rng(0)
    queries, references = rng.normal(size=(300, 5)), rng.normal(size=(50, 5))
    indices, distances = nearest_neighbours(queries, references, k=3)
    full = cdist(queries, references)  # computed another way: scipy's pairwise distances
    expected = np.argsort(full, axis=1)[:, :3]
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_allclose(distances, np.take_along_axis(full, expected, axis=1),
                               rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="`k` must be in 1..50"):
        nearest_neighbours(queries, references, k=51)


def test_copies_score_near_zero_and_new_draws_near_one():
    rng = np.random.default_rng(1)
    train, heldout = rng.normal(size=(400, 8)), rng.normal(size=(200, 8))
    copies = memorisation_ratio(train[:100] + 1e-6, train, heldout)
    assert copies.ratio < 0.01
    np.testing.assert_array_equal(copies.indices[:, 0], np.arange(100))
    fresh = memorisation_ratio(rng.normal(size=(200, 8)), train, heldout)
    assert 0.8 < fresh.ratio < 1.25


def _folder_of_samples(root, gan, seeds):
    """The model's own samples as a labelled image folder (two classes, alternating)."""
    images = to_uint8(gan.generate(seeds=seeds))[..., 0]
    for i, (seed, image) in enumerate(zip(seeds, images)):
        folder = os.path.join(root, "a" if i % 2 else "b")
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(image).save(os.path.join(folder, f"seed{seed:06d}.png"))
    return str(root)


def test_nearest_tells_a_model_that_returns_its_training_images(tmp_path, capsys):
    gan = tiny_image_gan(ema_decay=None)
    gan.compile()
    model = str(tmp_path / "gan.keras")
    gan.save(model)
    cache = str(tmp_path / "cache")
    copied = _folder_of_samples(tmp_path / "copied", gan, list(range(100)))
    out = str(tmp_path / "nearest.png")
    assert cli.main(["nearest", model, "--dataset", copied, "--n", "100", "--rows", "4",
                     "--out", out, "--cache-dir", cache]) == 0
    printed = capsys.readouterr().out
    ratio = float(printed.split("ratio ")[1].split()[0])
    # 4 of 5 samples are training images; the 5th of each is held out (the folder's test
    # split), so it is as far as held-out images are.
    assert ratio < 0.4, printed
    with Image.open(out) as picture:  # 4 rows of a sample and its 3 neighbours
        assert picture.size == (4 * 16 + 3 * 2, 4 * 16 + 3 * 2)
    other = _folder_of_samples(tmp_path / "other", gan, list(range(1000, 1100)))
    assert cli.main(["nearest", model, "--dataset", other, "--n", "100", "--out", out,
                     "--cache-dir", cache]) == 0
    printed = capsys.readouterr().out
    ratio = float(printed.split("ratio ")[1].split()[0])
    assert 0.6 < ratio < 1.6, printed  # new samples: as far as held-out real ones
