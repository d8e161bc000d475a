"""After training: images by seed, truncation, walks and timelapses (``keras_wgan.generation``,
``WassersteinGAN.generate(seeds=...)``, ``keras-wgan generate | interpolate | timelapse``).

The promise checked on every backend: an image depends only on its seed (and label), not
on the batch, the batch size or the other seeds, exactly on one backend and machine
(the noise is NumPy's, per seed, and every batch runs through one compiled function).
"""

import os

import numpy as np
import pytest
from PIL import Image

from keras_wgan import cli, generation
from keras_wgan.images import save_image_grid, to_uint8

from testing.tiny import LATENT_DIM, tiny_image_gan


# ------------------------------------------------------------- noise by seed
def test_seeds_parse_ranges_and_lists_in_order_each_once():
    assert generation.parse_seeds("0-3") == [0, 1, 2, 3]
    assert generation.parse_seeds("3,17, 42,3") == [3, 17, 42]
    assert generation.parse_seeds("5-6,0-1") == [5, 6, 0, 1]
    for bad in ("", "a", "4-2", "1-", "-3"):
        with pytest.raises(ValueError, match="e.g. 0-99"):
            generation.parse_seeds(bad)


def test_a_seed_has_the_same_noise_whatever_comes_with_it():
    alone = generation.seed_noise([42], 16)
    among = generation.seed_noise([7, 42, 9], 16)
    # Exact: the same NumPy generator, seeded the same, draws the same floats.
    np.testing.assert_array_equal(among[1], alone[0])
    np.testing.assert_array_equal(
        alone[0], np.random.default_rng(42).standard_normal(16).astype(np.float32))
    assert not np.array_equal(among[0], among[2])


@pytest.mark.parametrize("t", [0.25, 0.5, 1.0, 2.0])
def test_truncation_keeps_every_component_within_t_and_draws_only_the_ones_beyond(t):
    free = generation.seed_noise(range(200), 32)
    cut = generation.seed_noise(range(200), 32, truncation=t)
    assert np.abs(cut).max() <= t
    inside = np.abs(free) <= t
    np.testing.assert_array_equal(cut[inside], free[inside])  # those are kept as drawn
    # What is redrawn is a standard normal cut at t: its spread matches that law.
    assert cut.std() == pytest.approx(_truncated_normal_std(t), rel=0.05)
    with pytest.raises(ValueError, match="`truncation` must be a positive number"):
        generation.seed_noise([0], 4, truncation=0)


def _truncated_normal_std(t):
    """The standard deviation of N(0, 1) cut to [-t, t], computed another way: by the
    density's moments on a fine grid."""
    x = np.linspace(-t, t, 200001)
    density = np.exp(-x * x / 2)
    return float(np.sqrt((x * x * density).sum() / density.sum()))


def test_slerp_keeps_the_norm_of_equal_norm_points_and_a_walk_loops():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(64), rng.standard_normal(64)
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    path = generation.slerp(a, b, np.linspace(0, 1, 11))
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(a), rtol=1e-5)
    np.testing.assert_allclose(path[0], a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(path[-1], b, rtol=1e-5, atol=1e-6)
    points = np.stack([a, b, -a])
    frames = generation.walk(points, 5)
    assert frames.shape == (15, 64)
    np.testing.assert_allclose(frames[::5], points, rtol=1e-5, atol=1e-6)


def _check_every_frame(frames, a, b):
    """Each frame finite, of a norm between the two ends' (slerp keeps it typical), and
    consecutive frames a similar step apart (no frames collapsed onto one point)."""
    assert np.all(np.isfinite(frames))
    norms = np.linalg.norm(frames, axis=1)
    low, high = sorted((np.linalg.norm(a), np.linalg.norm(b)))
    assert np.all(norms >= low * (1 - 1e-5)) and np.all(norms <= high * (1 + 1e-5))
    steps = np.linalg.norm(np.diff(frames, axis=0), axis=1)
    assert steps.min() > 0.5 * steps.max() > 0


@pytest.mark.parametrize("nudge", [0.0, 1e-9])
def test_slerp_between_opposite_points_turns_through_an_orthogonal_direction(nudge):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(16)
    b = -a + nudge * rng.standard_normal(16)
    fractions = np.linspace(0, 1, 21)
    path = generation.slerp(a, b, fractions)
    _check_every_frame(path, a, b)
    np.testing.assert_allclose(path[0], a, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(path[-1], b, rtol=1e-5, atol=1e-6)
    # Half a great circle: frame f is at angle f * pi from a, and orthogonal to it midway.
    unit = a / np.linalg.norm(a)
    angles = np.arccos(np.clip(path @ unit / np.linalg.norm(path, axis=1), -1, 1))
    np.testing.assert_allclose(angles, fractions * np.pi, atol=1e-5)
    # The same path every time (a walk must loop the same way).
    np.testing.assert_array_equal(path, generation.slerp(a, b, fractions))


def test_slerp_between_opposite_points_of_different_norms_and_in_one_dimension():
    a = np.array([3.0, 0.0, 4.0, 0.0])
    path = generation.slerp(a, -2 * a, np.linspace(0, 1, 9))
    _check_every_frame(path, a, -2 * a)
    np.testing.assert_allclose(np.linalg.norm(path[4]), 7.5, rtol=1e-6)  # mean of 5 and 10
    assert abs(path[4] @ a) < 1e-5
    line = generation.slerp(np.array([2.0]), np.array([-2.0]), np.linspace(0, 1, 5))
    np.testing.assert_allclose(line[:, 0], [2, 1, 0, -1, -2], atol=1e-6)


def test_a_walk_through_opposite_points_has_no_collapsed_frame():
    rng = np.random.default_rng(2)
    a = rng.standard_normal(32)
    points = np.stack([a, -a])  # both segments are half circles
    frames = generation.walk(points, 12)
    assert frames.shape == (24, 32)
    _check_every_frame(np.concatenate([frames, frames[:1]]), a, a)
    np.testing.assert_allclose(frames[::12], points, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("t", [1e-9, 0.01, generation.MIN_TRUNCATION * 0.99])
def test_truncation_below_the_bound_is_refused_by_name(t):
    with pytest.raises(ValueError, match=r"at least MIN_TRUNCATION=0\.05"):
        generation.seed_noise([0], 4, truncation=t)
    with pytest.raises(ValueError, match="MIN_TRUNCATION"):
        generation.truncate(np.ones(3), t, np.random.default_rng(0))
    cut = generation.seed_noise(range(4), 64, truncation=generation.MIN_TRUNCATION)
    assert np.abs(cut).max() <= generation.MIN_TRUNCATION


# ------------------------------------------------------------------ the model
@pytest.mark.all_backends
def test_an_image_depends_only_on_its_seed_not_on_the_batch():
    gan = tiny_image_gan(ema_decay=None)
    every = gan.generate(seeds=range(10), batch_size=4)
    assert every.shape == (10, 16, 16, 1)
    # Exact on one backend: the same noise through the same compiled function.
    np.testing.assert_array_equal(gan.generate(seeds=[5], batch_size=1)[0], every[5])
    np.testing.assert_array_equal(gan.generate(seeds=range(3, 8), batch_size=256), every[3:8])
    np.testing.assert_array_equal(gan.generate(seeds=[9, 0], batch_size=3), every[[9, 0]])
    np.testing.assert_array_equal(gan.generate(seeds=range(40), batch_size=17)[:10], every)
    # The same images as generate_from_noise on the seeds' noise.
    np.testing.assert_allclose(
        every, gan.generate_from_noise(generation.seed_noise(range(10), LATENT_DIM)),
        atol=1e-6)
    with pytest.raises(ValueError, match="`n` \\(3\\) must be None or len\\(seeds\\) \\(10\\)"):
        gan.generate(3, seeds=range(10))


@pytest.mark.all_backends
def test_truncation_in_generate_cuts_the_noise_that_reaches_the_generator():
    gan = tiny_image_gan(ema_decay=None)
    cut = gan.generate(seeds=range(4), truncation=0.5)
    np.testing.assert_allclose(
        cut, gan.generate_from_noise(generation.seed_noise(range(4), LATENT_DIM, 0.5)),
        atol=1e-6)
    # With one seed for the batch: reproducible, and not the untruncated images.
    again = gan.generate(4, seed=3, truncation=0.5)
    np.testing.assert_array_equal(again, gan.generate(4, seed=3, truncation=0.5))
    assert not np.allclose(again, gan.generate(4, seed=3))


# ---------------------------------------------------------------- the commands
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "gan.keras"
    gan = tiny_image_gan(ema_decay=None)
    gan.compile()
    gan.save(path)
    return str(path), gan


def pixels(path):
    with Image.open(path) as image:
        return np.asarray(image)


def test_generate_writes_a_file_per_seed_the_same_whatever_n_batch_or_range(saved,
                                                                             tmp_path):
    model, gan = saved
    first, second = str(tmp_path / "a"), str(tmp_path / "b")
    assert cli.main(["generate", model, "--out", first, "--n", "6", "--batch-size", "4"]) == 0
    assert sorted(os.listdir(first)) == [f"seed{s:06d}.png" for s in range(6)]
    assert cli.main(["generate", model, "--out", second, "--seeds", "4-5,2",
                     "--batch-size", "1"]) == 0
    for seed in (2, 4, 5):  # exact: the same image, whatever came with it
        name = f"seed{seed:06d}.png"
        np.testing.assert_array_equal(pixels(os.path.join(second, name)),
                                      pixels(os.path.join(first, name)))
    expected = to_uint8(gan.generate(seeds=[4]))[0, ..., 0]
    np.testing.assert_array_equal(pixels(os.path.join(first, "seed000004.png")), expected)


def test_a_second_run_keeps_the_files_there_and_writes_the_rest(saved, tmp_path, capsys):
    model, _ = saved
    out = str(tmp_path / "images")
    assert cli.main(["generate", model, "--out", out, "--seeds", "0-7"]) == 0
    kept = os.path.join(out, "seed000003.png")
    before = os.stat(kept).st_mtime_ns
    reference = pixels(os.path.join(out, "seed000005.png"))
    for seed in (5, 6):  # as if interrupted before these were written
        os.remove(os.path.join(out, f"seed{seed:06d}.png"))
    # ... and a kill in the middle of this one's bytes (no end chunk), and a power cut
    # that left this one empty: both written again.
    with open(os.path.join(out, "seed000007.png"), "r+b") as f:
        f.truncate(os.path.getsize(f.name) - 5)
    open(os.path.join(out, "seed000001.png"), "wb").close()
    assert generation.missing_seeds(out, range(8)) == [1, 5, 6, 7]
    capsys.readouterr()
    assert cli.main(["generate", model, "--out", out, "--seeds", "0-7"]) == 0
    assert "Wrote 4 images into" in capsys.readouterr().out  # and 4 kept
    assert generation.missing_seeds(out, range(8)) == []
    assert os.stat(kept).st_mtime_ns == before  # untouched
    np.testing.assert_array_equal(pixels(os.path.join(out, "seed000005.png")), reference)
    assert len(os.listdir(out)) == 8


def test_generate_npz_holds_the_images_and_their_seeds(saved, tmp_path):
    model, gan = saved
    out = str(tmp_path / "images.npz")
    assert cli.main(["generate", model, "--out", out, "--seeds", "3,1", "--format",
                     "npz", "--truncation", "0.7"]) == 0
    with np.load(out) as data:
        np.testing.assert_array_equal(data["seeds"], [3, 1])
        np.testing.assert_array_equal(
            data["images"], to_uint8(gan.generate(seeds=[3, 1], truncation=0.7)))
    assert cli.main(["generate", model, "--out", str(tmp_path / "x"), "--format",
                     "npz"]) == 2


def test_interpolate_writes_a_looping_walk_of_seeds_times_steps_frames(saved, tmp_path):
    model, gan = saved
    out, frames = str(tmp_path / "walk.gif"), str(tmp_path / "frames")
    assert cli.main(["interpolate", model, "--seeds", "3,17,42", "--steps", "4",
                     "--out", out, "--frames", frames]) == 0
    with Image.open(out) as animation:
        assert (animation.n_frames, animation.size) == (12, (16, 16))
        assert animation.info.get("loop") == 0
    assert len(os.listdir(frames)) == 12
    # Frame 0, 4 and 8 are the seeds' own images (a walk passes through its points).
    for frame, seed in ((0, 3), (4, 17), (8, 42)):
        np.testing.assert_allclose(
            pixels(os.path.join(frames, f"frame_{frame:04d}.png")).astype(int),
            to_uint8(gan.generate(seeds=[seed]))[0, ..., 0].astype(int), atol=1)
    assert cli.main(["interpolate", model, "--seeds", "3", "--out", out]) == 2


def test_timelapse_has_a_frame_per_epoch_grid_with_the_epoch_on_it(tmp_path):
    run = tmp_path / "run"
    rng = np.random.default_rng(0)
    grids = [rng.uniform(-1, 1, (4, 16, 16, 1)) for _ in range(3)]
    for epoch, images in zip((1, 2, 10), grids):
        save_image_grid(images, str(run / "samples" / f"epoch_{epoch:03d}.png"))
    out = str(tmp_path / "progress.gif")
    assert cli.main(["timelapse", str(run), "--out", out]) == 0
    with Image.open(out) as animation:
        assert animation.n_frames == 3
        for index, epoch in enumerate((1, 2, 10)):
            animation.seek(index)
            frame = np.asarray(animation.convert("L"))
            grid = pixels(str(run / "samples" / f"epoch_{epoch:03d}.png"))
            assert frame.shape == grid.shape
            # Below the label band the frame is the grid itself.
            np.testing.assert_array_equal(frame[16:], grid[16:])
            assert not np.array_equal(frame[:12], grid[:12])  # the epoch is written
    assert cli.main(["timelapse", str(tmp_path / "empty"), "--out", out]) == 2


def test_a_conditional_model_gets_a_folder_per_class_and_label_picks_one(tmp_path):
    import keras

    from keras_wgan import WGANGP
    from keras_wgan.architectures import build_critic, build_generator

    from testing.tiny import IMAGE_SHAPE

    keras.utils.set_random_seed(0)
    gan = WGANGP(build_generator(LATENT_DIM, IMAGE_SHAPE, 4, num_classes=3),
                 build_critic(IMAGE_SHAPE, 4, num_classes=3), ema_decay=None,
                 class_names=["shirt", "bag", "boot"])
    gan.compile()
    model = str(tmp_path / "gan.keras")
    gan.save(model)
    out = str(tmp_path / "out")
    assert cli.main(["generate", model, "--out", out, "--seeds", "0-2"]) == 0
    assert sorted(os.listdir(out)) == ["bag", "boot", "shirt"]
    # The same seed in another class: the same noise, another label.
    expected = to_uint8(gan.generate(seeds=[1, 1], labels=[2, 0]))[..., 0]
    np.testing.assert_array_equal(pixels(os.path.join(out, "boot", "seed000001.png")),
                                  expected[0])
    np.testing.assert_array_equal(pixels(os.path.join(out, "shirt", "seed000001.png")),
                                  expected[1])
    only = str(tmp_path / "only")
    assert cli.main(["generate", model, "--out", only, "--n", "2", "--label", "bag"]) == 0
    assert os.listdir(only) == ["bag"]
    assert cli.main(["generate", model, "--out", only, "--label", "hat"]) == 2


def test_a_class_walk_mixes_every_class_embedding_and_passes_through_each_class(tmp_path):
    import keras

    from keras_wgan import WGANGP
    from keras_wgan.architectures import build_resnet_critic, build_resnet_generator

    from testing.tiny import IMAGE_SHAPE

    keras.utils.set_random_seed(0)
    # The ResNet generator: a joined class embedding and class-conditional batch norms.
    gan = WGANGP(build_resnet_generator(LATENT_DIM, IMAGE_SHAPE, 4, num_classes=3),
                 build_resnet_critic(IMAGE_SHAPE, 4, num_classes=3), ema_decay=None,
                 class_names=["shirt", "bag", "boot"])
    tables = [layer for layer in gan.generator.layers
              if isinstance(layer, keras.layers.Embedding)]
    assert len(tables) > 1
    rng = np.random.default_rng(0)
    for table in tables:  # classes that differ (a fresh CBN has equal gains for all)
        table.set_weights([rng.normal(size=table.get_weights()[0].shape).astype("float32")])
    gan.compile()
    model = str(tmp_path / "gan.keras")
    gan.save(model)
    frames = str(tmp_path / "frames")
    assert cli.main(["interpolate", model, "--labels", "boot,shirt", "--seeds", "5",
                     "--steps", "4", "--out", str(tmp_path / "walk.gif"),
                     "--frames", frames]) == 0
    assert len(os.listdir(frames)) == 8
    walked = generation.class_walk_images(gan, 5, [2, 0], 4)
    # Frames 0 and 4 are the classes' own images at the seed's noise.
    for frame, label in ((0, 2), (4, 0)):
        np.testing.assert_allclose(walked[frame], gan.generate(seeds=[5], labels=[label])[0],
                                   atol=1e-5)
        np.testing.assert_allclose(
            pixels(os.path.join(frames, f"frame_{frame:04d}.png")).astype(int),
            to_uint8(walked[frame : frame + 1])[0, ..., 0].astype(int), atol=1)
    # Frame 1 (a quarter of the way from boot to shirt) against a reference made another
    # way: the model's own tables with boot's row overwritten by the mixed rows.
    saved_tables = [table.get_weights()[0] for table in tables]
    for table, weights in zip(tables, saved_tables):
        mixed = weights.copy()
        mixed[2] = 0.75 * weights[2] + 0.25 * weights[0]
        table.set_weights([mixed])
    reference = gan.generate(seeds=[5], labels=[2])[0]
    for table, weights in zip(tables, saved_tables):
        table.set_weights([weights])
    np.testing.assert_allclose(walked[1], reference, atol=1e-5)
    assert np.abs(walked[1] - walked[0]).max() > 1e-2  # it moved
    # The model itself is untouched by the walk.
    np.testing.assert_allclose(walked[0], gan.generate(seeds=[5], labels=[2])[0], atol=1e-5)
    # Refusals: --label with --labels, several seeds, an unknown class.
    base = ["interpolate", model, "--out", str(tmp_path / "x.gif")]
    assert cli.main(base + ["--labels", "boot,shirt", "--label", "bag"]) == 2
    assert cli.main(base + ["--labels", "boot,shirt", "--seeds", "1,2"]) == 2
    assert cli.main(base + ["--labels", "boot,hat"]) == 2
