"""``keras-wgan nearest`` and ``evaluation.memorisation``: is the generator copying?"""

import os

import numpy as np
import pytest
from PIL import Image
from scipy.spatial.distance import cdist

from keras_wgan import cli
from keras_wgan.evaluation.memorisation import (
    COPY_PERCENTILE,
    leave_one_out_distances,
    memorisation_ratio,
    nearest_neighbours,
)
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


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One yardstick cache for the ``nearest`` tests. Their folders are all called
    ``data``, so each folder kind's classifier (the labelled one, the rotations one) is
    trained once, by the first ``nearest`` on such a folder, and loaded by the others,
    as a user's cache serves a second folder of the same name. (The two kinds have
    different cache names: neither test depends on the other having run.)"""
    return str(tmp_path_factory.mktemp("cache"))


def test_nearest_tells_a_model_that_returns_its_training_images(cache, tmp_path, capsys):
    gan = tiny_image_gan(ema_decay=None)
    gan.compile()
    model = str(tmp_path / "gan.keras")
    gan.save(model)
    copied = _folder_of_samples(tmp_path / "copied" / "data", gan, list(range(100)))
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
    other = _folder_of_samples(tmp_path / "other" / "data", gan, list(range(1000, 1100)))
    assert cli.main(["nearest", model, "--dataset", other, "--n", "100", "--out", out,
                     "--cache-dir", cache]) == 0
    printed = capsys.readouterr().out
    ratio = float(printed.split("ratio ")[1].split()[0])
    assert 0.6 < ratio < 1.6, printed  # new samples: as far as held-out real ones


@pytest.mark.parametrize("share", [0.0, 0.2, 0.5, 1.0])
def test_the_copy_share_finds_partial_copying_that_the_mean_ratio_hides(share):
    """A training set holding a chosen share of the model's own samples: the share of
    samples below the 5th percentile of held-out distances is that share (plus 5% of
    the rest, by chance), and the flagged samples are exactly the copies."""
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(400, 8))
    copies = int(share * len(samples))
    train = np.concatenate([samples[:copies], rng.normal(size=(1000 - copies, 8))])
    heldout = rng.normal(size=(400, 8))
    report = memorisation_ratio(samples, train, heldout)
    chance = COPY_PERCENTILE / 100
    assert report.copy_share == pytest.approx(share + (1 - share) * chance, abs=0.04)
    assert set(range(copies)) <= set(report.copied.tolist())
    assert report.threshold == pytest.approx(
        np.percentile(cdist(heldout, train).min(axis=1), COPY_PERCENTILE), rel=1e-9)
    if share == 0.5:
        assert report.ratio > 0.45  # the mean reads "no sign" where half are copies


def test_leave_one_out_distances_match_a_brute_force_search():
    rng = np.random.default_rng(4)
    features = rng.normal(size=(60, 5))
    features[7] = features[3]  # an exact duplicate: its nearest other row is at 0
    full = cdist(features, features)
    np.fill_diagonal(full, np.inf)
    np.testing.assert_allclose(leave_one_out_distances(features), full.min(axis=1),
                               atol=1e-7)
    assert leave_one_out_distances(features)[3] < 1e-7


def _share_folder(root, gan, share, measured=50, total=100):
    """A plain folder (no train/test sub-folders) of ``total`` images: the model's own
    samples for the first ``share`` of the seeds nearest measures, then others."""
    copies = int(round(share * measured))
    seeds = list(range(copies)) + list(range(5000, 5000 + total - copies))
    return _folder_of_samples(root, gan, seeds)


def test_nearest_reports_the_share_of_copies_names_them_and_shows_them_first(cache,
                                                                             tmp_path,
                                                                             capsys):
    gan = tiny_image_gan(ema_decay=None)
    gan.compile()
    model = str(tmp_path / "gan.keras")
    gan.save(model)
    for share in (0.0, 0.2, 0.5, 1.0):
        # Plain folders: one rotations classifier, trained on the first, for all four.
        data = _share_folder(tmp_path / f"share{int(share * 100)}" / "data", gan, share)
        out = str(tmp_path / f"nearest{int(share * 100)}.png")
        assert cli.main(["nearest", model, "--dataset", data, "--n", "50", "--rows", "4",
                         "--out", out, "--cache-dir", cache]) == 0
        printed = capsys.readouterr().out
        found = float(printed.split("samples, share ")[1].split()[0])
        assert found == pytest.approx(share, abs=0.12), printed
        assert "against all 100 images of the folder" in printed
        assert "each of those 100 images against the other 99" in printed
        copies = int(round(share * 50))
        if copies:
            named = printed.split("(seeds): ")[1].split("\n")[0]
            listed = [int(x) for x in named.split(" and ")[0].split(", ")]
            # Nearest first: the copies (seeds below `copies`) lead the list.
            assert len(listed) == min(20, len(listed)) and \
                all(seed < copies for seed in listed[:min(copies, 20)]), named
            if copies <= 20:
                assert set(range(copies)) <= set(listed), named
            # The first row of the picture is the nearest flagged sample.
            first = int(named.split(",")[0])
            with Image.open(out) as picture:
                tile = np.asarray(picture)[:16, :16]
            expected = to_uint8(gan.generate(seeds=[first]))[0, ..., 0]
            np.testing.assert_array_equal(tile if tile.ndim == 2 else tile[..., 0], expected)
        verdict = printed.split("verdict: ")[1]
        assert verdict.startswith("copying" if share >= 0.2 else "no sign of copying")
