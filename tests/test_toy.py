"""keras_wgan.toy: mode statistics on hand-made points, a tiny training run, the panel PNG."""

import re

import numpy as np
import pytest
from PIL import Image

from keras_wgan import data, toy

TINY = {"steps": 4, "width": 16, "depth": 1, "batch_size": 32, "n_critic": 2}


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_exact_centres_cover_every_mode(name):
    centers, _ = data.toy_centers(name)
    samples = np.repeat(centers, 10, axis=0)
    stats = toy.mode_statistics(samples, name)
    assert stats == {
        "modes_covered": len(centers),
        "num_modes": len(centers),
        "high_quality": 1.0,
    }


def test_all_samples_at_one_centre_is_one_mode():
    centers, _ = data.toy_centers("25gaussians")
    stats = toy.mode_statistics(np.repeat(centers[3:4], 500, axis=0), "25gaussians")
    assert stats["modes_covered"] == 1
    assert stats["num_modes"] == 25
    assert stats["high_quality"] == 1.0


def test_points_far_away_are_not_high_quality():
    stats = toy.mode_statistics(np.full((100, 2), 10.0), "8gaussians")
    assert stats["high_quality"] == 0.0
    assert stats["modes_covered"] == 0


def test_thresholds_three_stds_and_a_fifth_of_the_fair_share():
    centers, std = data.toy_centers("8gaussians")
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
    stats = toy.mode_statistics(data.sample_toy("8gaussians", 4000, seed=1), "8gaussians")
    assert stats["modes_covered"] == 8
    assert 0.97 < stats["high_quality"] <= 1.0  # 1 - exp(-4.5) = 0.989 in theory


def test_swissroll_distances():
    real = data.sample_toy("swissroll", 2000, seed=1)
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
