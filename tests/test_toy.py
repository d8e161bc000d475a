"""keras_wgan.toy: the toy sets, mode statistics on hand-made points, a tiny run, the panel PNG."""

import re

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_wgan import toy

TINY = {"steps": 4, "width": 16, "depth": 1, "batch_size": 32, "n_critic": 2}


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_exact_centres_cover_every_mode(name):
    centers, _ = toy.toy_centers(name)
    samples = np.repeat(centers, 10, axis=0)
    stats = toy.mode_statistics(samples, name)
    assert stats == {
        "modes_covered": len(centers),
        "num_modes": len(centers),
        "high_quality": 1.0,
    }


def test_all_samples_at_one_centre_is_one_mode():
    centers, _ = toy.toy_centers("25gaussians")
    stats = toy.mode_statistics(np.repeat(centers[3:4], 500, axis=0), "25gaussians")
    assert stats["modes_covered"] == 1
    assert stats["num_modes"] == 25
    assert stats["high_quality"] == 1.0


def test_points_far_away_are_not_high_quality():
    stats = toy.mode_statistics(np.full((100, 2), 10.0), "8gaussians")
    assert stats["high_quality"] == 0.0
    assert stats["modes_covered"] == 0


def test_thresholds_three_stds_and_a_fifth_of_the_fair_share():
    centers, std = toy.toy_centers("8gaussians")
    direction = centers[0] / np.linalg.norm(centers[0])  # radially outward, away from others
    inside, outside = centers[0] + 2.9 * std * direction, centers[0] + 3.1 * std * direction
    stats = toy.mode_statistics(np.stack([inside, outside]), "8gaussians")
    assert stats["high_quality"] == 0.5
    # 100 samples, fair share 12.5: a mode needs 2.5 high-quality samples to count.
    samples = np.concatenate([np.repeat(centers[:1], 97, axis=0), np.repeat(centers[1:2], 3, 0)])
    assert toy.mode_statistics(samples, "8gaussians")["modes_covered"] == 2
    samples = np.concatenate([np.repeat(centers[:1], 98, axis=0), np.repeat(centers[1:2], 2, 0)])
    assert toy.mode_statistics(samples, "8gaussians")["modes_covered"] == 1


def test_real_data_scores_like_real_data():
    stats = toy.mode_statistics(toy.sample_toy("8gaussians", 4000, seed=1), "8gaussians")
    assert stats["modes_covered"] == 8
    assert 0.97 < stats["high_quality"] <= 1.0  # 1 - exp(-4.5) = 0.989 in theory


def test_swissroll_distances():
    real = toy.sample_toy("swissroll", 2000, seed=1)
    stats = toy.mode_statistics(real, "swissroll", reference_size=2000)
    assert set(stats) == {"gen_to_real", "real_to_gen", "real_baseline"}
    assert stats["gen_to_real"] == pytest.approx(stats["real_baseline"], rel=0.25)
    collapsed = toy.mode_statistics(np.zeros((2000, 2)), "swissroll", reference_size=2000)
    assert collapsed["real_to_gen"] > 10 * stats["real_to_gen"]


@pytest.mark.parametrize(
    "samples, message",
    [(np.zeros((5, 3)), "shape"), (np.zeros((0, 2)), "shape"), (np.full((2, 2), np.nan), "NaN")],
)
def test_mode_statistics_rejects_bad_samples(samples, message):
    with pytest.raises(ValueError, match=message):
        toy.mode_statistics(samples, "8gaussians")


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="`name`"):
        toy.mode_statistics(np.zeros((2, 2)), "moons")
    with pytest.raises(ValueError, match="`model`"):
        toy.train_toy("8gaussians", model="gan")
    with pytest.raises(ValueError, match="`steps`"):
        toy.train_toy("8gaussians", steps=0)
    with pytest.raises(ValueError, match="`sets`"):
        toy.run_toy_suite(sets=())
    with pytest.raises(ValueError, match="`learning_rate`"):
        toy.train_toy("8gaussians", learning_rate=0)


def test_learning_rate_changes_only_the_rate_of_the_paper_optimizers():
    gan = toy.train_toy("8gaussians", "wgan-gp", learning_rate=3e-3, verbose=0, **TINY)
    for optimizer in (gan.critic_optimizer, gan.generator_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(3e-3)
        assert (optimizer.beta_1, optimizer.beta_2) == (0.5, 0.9)
    # Without a rate, the toys keep the reference code's settings, not the library's.
    gan = toy.train_toy("8gaussians", "wgan", verbose=0, **TINY)
    assert gan.ema_generator is None
    for optimizer in (gan.critic_optimizer, gan.generator_optimizer):
        assert float(optimizer.learning_rate) == pytest.approx(5e-5)


@pytest.fixture(scope="module")
def tiny_results():
    return toy.run_toy_suite(
        sets=("8gaussians", "swissroll"), models=toy.MODELS, n_samples=200, verbose=0, **TINY
    )


def test_tiny_train_toy_samples_points():
    gan = toy.train_toy("25gaussians", "wgan-gp", verbose=0, ema_decay=0.9, **TINY)
    assert gan.generate(7).shape == (7, 2)
    assert int(gan.generator_optimizer.iterations) == TINY["steps"]
    assert int(gan.critic_optimizer.iterations) == TINY["steps"] * TINY["n_critic"]
    assert gan.gp_weight == toy.REFERENCE_GP_WEIGHT


def test_suite_results(tiny_results):
    assert [(r.name, r.model) for r in tiny_results] == [
        ("8gaussians", "wgan"), ("8gaussians", "wgan-gp"),
        ("swissroll", "wgan"), ("swissroll", "wgan-gp"),
    ]
    for result in tiny_results:
        assert result.samples.shape == (200, 2)
        assert result.seconds > 0
        # The figures are those of the returned samples, and the text shows them.
        assert result.stats == toy.mode_statistics(result.samples, result.name)
        text = toy.format_statistics(result.stats)
        if result.name == "8gaussians":
            found = re.fullmatch(r"(\d+)/(\d+) modes, ([\d.]+)% high-quality", text)
            assert found, text
            assert (int(found[1]), int(found[2])) == (result.stats["modes_covered"], 8)
            assert float(found[3]) == pytest.approx(100 * result.stats["high_quality"], abs=0.05)
        else:
            found = re.fullmatch(
                r"NN dist gen->real ([\d.]+), real->gen ([\d.]+) \(real ([\d.]+)\)", text
            )
            assert found, text
            for value, key in zip(found.groups(), ("gen_to_real", "real_to_gen",
                                                    "real_baseline")):
                assert float(value) == pytest.approx(result.stats[key], abs=5e-4), key


def test_plot_critic_panel_writes_png_of_expected_size(tiny_results, tmp_path):
    path = tmp_path / "panel.png"
    assert toy.plot_critic_panel(tiny_results, path, panel_size=2.0, dpi=50) == path
    with Image.open(path) as image:
        image.load()
        assert image.format == "PNG"
        assert image.size == (2 * 100, 2 * 100)  # 2 sets x 2 models, 100 px panels


def test_plot_critic_panel_accepts_a_mapping_of_models(tiny_results, tmp_path):
    gan = tiny_results[1].gan
    path = toy.plot_critic_panel({("8gaussians", "wgan-gp"): gan}, tmp_path / "one.png", dpi=20)
    with Image.open(path) as image:
        assert image.size == (80, 80)
    with pytest.raises(ValueError, match="`results`"):
        toy.plot_critic_panel([], tmp_path / "none.png")


def test_run_demo_writes_its_file(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert toy.run_demo(out, sets=("8gaussians",), models=("wgan-gp",), **TINY) == out
    printed = capsys.readouterr().out
    assert "[1/1] 8gaussians" in printed and "modes" in printed
    with Image.open(out) as image:
        assert image.size == (400, 400)


# --------------------------------------------------------------------------
# The toy sets themselves (the reference code's definitions)
# --------------------------------------------------------------------------


def test_toy_centers_definitions():
    c8, s8 = toy.toy_centers("8gaussians")
    assert c8.shape == (8, 2)
    np.testing.assert_allclose(np.hypot(c8[:, 0], c8[:, 1]), 2 / 1.414, rtol=1e-12)
    angles = np.sort(np.degrees(np.arctan2(c8[:, 1], c8[:, 0])) % 360)
    np.testing.assert_allclose(angles, np.arange(8) * 45.0, atol=1e-9)
    assert s8 == pytest.approx(0.02 / 1.414)

    c25, s25 = toy.toy_centers("25gaussians")
    expected = {(2 * i / 2.828, 2 * j / 2.828) for i in range(-2, 3) for j in range(-2, 3)}
    assert c25.shape == (25, 2)
    got = {tuple(p) for p in c25}
    assert len(got) == 25
    for p in expected:
        assert min(np.hypot(*(np.array(p) - c25).T)) < 1e-12
    assert s25 == pytest.approx(0.05 / 2.828)
    with pytest.raises(ValueError, match="no discrete centres"):
        toy.toy_centers("swissroll")


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_toy_gaussian_samples_match_definition(name):
    centers, std = toy.toy_centers(name)
    x = toy.sample_toy(name, 25000, seed=0)
    assert x.shape == (25000, 2) and x.dtype == np.float32
    d = np.linalg.norm(x[:, None, :] - centers[None], axis=-1)
    nearest = d.argmin(1)
    assert d.min(1).max() < 6 * std * np.sqrt(2)  # every point is near a centre
    counts = np.bincount(nearest, minlength=len(centers))
    expected = len(x) / len(centers)
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))  # uniform over modes
    for k, c in enumerate(centers):
        pts = x[nearest == k]
        np.testing.assert_allclose(pts.mean(0), c, atol=5 * std / np.sqrt(len(pts)))
        np.testing.assert_allclose(pts.std(0), std, rtol=0.1)


def test_toy_swissroll():
    x = toy.sample_toy("swissroll", 20000, seed=1)
    assert x.shape == (20000, 2) and x.dtype == np.float32
    noise = 0.25 / 7.5
    r = np.hypot(x[:, 0], x[:, 1])
    t_min, t_max = 1.5 * np.pi / 7.5, 4.5 * np.pi / 7.5
    assert r.min() > t_min - 6 * noise and r.max() < t_max + 6 * noise
    assert r.min() < t_min + 0.05 and r.max() > t_max - 0.05  # the whole roll is covered
    assert np.abs(x).max() < t_max + 6 * noise
    # The noise-free curve: at t = 3 pi the point is (t cos t, t sin t) = (-3 pi, 0).
    near = x[np.hypot(x[:, 0] + 3 * np.pi / 7.5, x[:, 1]) < 0.1]
    assert len(near) > 10


def test_toy_reproducible_and_dataset():
    a = toy.sample_toy("25gaussians", 100, seed=3)
    np.testing.assert_array_equal(a, toy.sample_toy("25gaussians", 100, seed=3))
    assert not np.array_equal(a, toy.sample_toy("25gaussians", 100, seed=4))
    ds = toy.toy_dataset("8gaussians", batch_size=64, seed=5)
    assert ds.element_spec.shape == (64, 2) and ds.element_spec.dtype == tf.float32
    got = [b.numpy() for b in ds.take(3)]
    np.testing.assert_array_equal(got[0], toy.sample_toy("8gaussians", 64, seed=5))
    assert not np.array_equal(got[0], got[1])  # the stream goes on
    again = [b.numpy() for b in toy.toy_dataset("8gaussians", batch_size=64, seed=5).take(3)]
    for g, h in zip(got, again):
        np.testing.assert_array_equal(g, h)


def test_toy_unknown_name_and_args():
    for fn in (lambda: toy.sample_toy("moons", 10), lambda: toy.toy_dataset("moons"),
               lambda: toy.toy_centers("moons")):
        with pytest.raises(ValueError, match=r"`name` must be one of \['8gaussians', "
                           r"'25gaussians', 'swissroll'\], got 'moons'\."):
            fn()
    with pytest.raises(ValueError, match="`n` must be a positive integer, got 0."):
        toy.sample_toy("8gaussians", 0)
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer, got -1."):
        toy.toy_dataset("8gaussians", batch_size=-1)
    with pytest.raises(ValueError, match="`seed` must be a non-negative integer or None, got -1."):
        toy.sample_toy("8gaussians", 3, seed=-1)


def test_toy_sets_are_still_importable_from_data():
    """The API overview (docs/reference/index.md) lists toy_dataset under keras_wgan.data: the same objects."""
    from keras_wgan import data
    from keras_wgan.data import toy_dataset

    assert toy_dataset is toy.toy_dataset
    for name in ("TOY_DATASETS", "sample_toy", "toy_centers", "toy_dataset"):
        assert getattr(data, name) is getattr(toy, name)
        assert name in data.__all__ and name in dir(data)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        data.nope  # noqa: B018
