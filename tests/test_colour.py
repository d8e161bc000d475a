"""Colour image folders end to end: the yardstick's split and classifier for a folder with
or without classes, and `keras-wgan train` / `evaluate` on a tiny RGBA folder with the
ResNets and augmentation that the data chooses, at 32 and 64 px, resumed."""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from keras_wgan import cli, data
from keras_wgan.data import load_labelled_arrays
from keras_wgan.data.folders import TEST_EVERY
from keras_wgan.evaluation import DomainYardstick, rotations


def picture(rng, size, hue):
    """An upright little scene: sky on top, ground below, a coloured square in between,
    on a transparent margin (RGBA), so turns and colours are both visible."""
    pixels = np.zeros((size, size, 4), np.uint8)
    third = size // 3
    pixels[:third, :, :3] = (90, 150, 255)  # sky
    pixels[-third:, :, :3] = (60, 160, 40)  # ground
    pixels[..., 3] = 255
    pixels[:, : size // 8, 3] = 0  # a transparent margin: composited onto white
    x = int(rng.integers(size // 8, size - third))
    pixels[third: 2 * third, x: x + third, :3] = hue
    return pixels


def write_folder(root, n, size, classes=None, seed=0):
    rng = np.random.default_rng(seed)
    hues = [(230, 30, 30), (240, 200, 20), (150, 40, 200)]
    for i in range(n):
        k = i % len(classes) if classes else int(rng.integers(len(hues)))
        folder = root / classes[k] if classes else root
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(picture(rng, size, hues[k]), "RGBA").save(folder / f"{i:03d}.png")
    return root


def test_a_folder_holds_out_every_fifth_image_as_its_test_split(tmp_path):
    root = write_folder(tmp_path / "labelled", 20, 8, classes=["red", "yellow"])
    train_x, train_y = load_labelled_arrays(str(root), "train", image_size=8)
    test_x, test_y = load_labelled_arrays(str(root), "test", image_size=8)
    assert train_x.shape == (16, 8, 8, 3) and test_x.shape == (4, 8, 8, 3)
    # Sorted files red/000, red/002, ..., yellow/001, ...: every TEST_EVERY-th is held out.
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*.png"))
    held = [f for i, f in enumerate(files) if i % TEST_EVERY == TEST_EVERY - 1]
    expected = np.stack([np.asarray(Image.open(root / f).convert("RGBA")) for f in held])
    alpha = expected[..., 3:] / 255.0
    np.testing.assert_allclose(test_x, (expected[..., :3] * alpha + 255 * (1 - alpha)) / 127.5 - 1,
                               atol=1e-5)
    assert test_y.tolist() == [0 if f.startswith("red") else 1 for f in held]
    unlabelled = write_folder(tmp_path / "loose", 10, 8)
    images, labels = load_labelled_arrays(str(unlabelled), "train", image_size=8)
    assert images.shape == (8, 8, 8, 3) and labels is None


def test_rotations_are_the_quarter_turns():
    images = np.random.default_rng(0).uniform(-1, 1, (2, 5, 5, 3)).astype("float32")
    turned, labels = rotations(images)
    assert turned.shape == (8, 5, 5, 3) and labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    np.testing.assert_array_equal(turned[:2], images)
    # A quarter turn counter-clockwise, written out: row r of the turn is column W-1-r.
    np.testing.assert_array_equal(turned[2], images[0].transpose(1, 0, 2)[::-1])
    np.testing.assert_array_equal(turned[4], images[0][::-1, ::-1])
    with pytest.raises(ValueError, match="square images"):
        rotations(images[:, :4])


def test_the_yardstick_of_a_folder_without_classes_learns_turns(tmp_path):
    root = write_folder(tmp_path / "pictures", 40, 16)
    cache = str(tmp_path / "cache")
    stick = DomainYardstick.for_dataset(str(root), (16, 16, 3), cache_dir=cache)
    assert not stick.labelled and stick.classifier.num_classes == 4
    assert DomainYardstick.cache_path(str(root), (16, 16, 3), cache).name.startswith(
        "pictures-16x16x3-rotations")
    test_x, _ = load_labelled_arrays(str(root), "test", image_size=16)
    turned, turns = rotations(test_x)
    assert stick.classifier.accuracy(turned, turns) > 0.9  # the turn is learnt, on held-out
    noise = np.random.default_rng(1).uniform(-1, 1, (8, 16, 16, 3)).astype("float32")
    assert stick.floor(8)["fd"] < stick.score(noise)["fd"]


@pytest.mark.long
def test_an_rgba_folder_trains_with_resnets_at_32_and_64_px_and_resumes(tmp_path, capsys,
                                                                         monkeypatch):
    from keras_wgan.cli.training import devices

    monkeypatch.setattr(devices, "device_kind", lambda: "gpu")  # a GPU's rule: the ResNets
    common = ["--batch-size", "4", "--dim", "4", "--latent-dim", "8", "--n-critic", "2",
              "--steps-per-epoch", "2", "--num-samples", "4", "--verbose", "0"]
    for size in (32, 64):
        root = write_folder(tmp_path / f"icons{size}", 12, size, seed=size)
        out = str(tmp_path / f"run{size}")
        assert cli.main(["train", "--dataset", str(root), "--epochs", "1", "--out", out,
                         "--augment", "translation,cutout", *common]) == 0
        printed = capsys.readouterr().out
        assert (f"--arch resnet, --image-size {size}, recipe fashion_mnist_32_v1 (rule "
                "gpu-pictures: GPU") in printed
        with open(os.path.join(out, "config.json")) as f:
            config = json.load(f)
        assert (config["arch"], config["image_size"], config["augment"]) == \
            ("resnet", size, "translation,cutout")
        epochs = 1
        if size == 32:  # resumed once (the 64 px run's resume is the same code, 4x the cost)
            assert cli.main(["train", "--resume", "--out", out, "--epochs", "2",
                             "--verbose", "0"]) == 0
            epochs = 2
        gan = keras.models.load_model(os.path.join(out, "model.keras"))
        assert gan.sample_shape == (size, size, 3)
        assert gan.augment == "translation,cutout"
        assert int(gan.generator_optimizer.iterations) == epochs  # 2 steps, n_critic 2
        assert gan.generator.name == "resnet_generator"
    capsys.readouterr()
    # The 32 px folder has no classes: evaluate scores it with the rotation yardstick.
    assert cli.main(["evaluate", os.path.join(str(tmp_path / "run32"), "model.keras"),
                     "--dataset", str(tmp_path / "icons32"), "--n", "4",
                     "--cache-dir", str(tmp_path / "cache")]) == 0
    printed = capsys.readouterr().out
    assert "n/a" in printed and "no class sub-folders" in printed


OXYGEN = "/usr/share/icons/oxygen/base/64x64"


@pytest.mark.skipif(not os.path.isdir(os.path.join(OXYGEN, "places")),
                    reason="Debian package oxygen-icon-theme not installed "
                           "(apt-get install oxygen-icon-theme)")
def test_debian_oxygen_icons_are_a_labelled_colour_folder_of_64_px(tmp_path):
    """The colour benchmark's real pictures: RGBA icons in context folders."""
    from keras_wgan.cli.training import choices
    from keras_wgan.data.folders import folder_is_labelled

    facts = choices.folder_facts(OXYGEN)
    assert facts.colour and facts.size == (64, 64) and facts.count > 500
    unset = {"arch": None, "dim": None, "image_size": None, "augment": None}
    chosen, rule = choices.choose(unset, facts, "cpu")  # the docs table's winner
    assert chosen == {"arch": "dcgan", "dim": 32, "image_size": 64, "augment": "off",
                      "recipe": "small_colour_64"}
    assert "fd 64 vs 281" in rule.why
    chosen, _ = choices.choose(unset, facts, "gpu")
    assert chosen == {"arch": "resnet", "dim": 64, "image_size": 64,
                      "augment": choices.COLOUR_POLICY, "recipe": "fashion_mnist_32_v1"}
    assert folder_is_labelled(OXYGEN)
    places = tmp_path / "places"
    places.mkdir()
    for name in sorted(os.listdir(os.path.join(OXYGEN, "places")))[:5]:
        with Image.open(os.path.join(OXYGEN, "places", name)) as icon:
            assert icon.mode == "RGBA"
            icon.save(places / name)
    ds = next(iter(data.load_dataset(places, image_size=64, batch_size=5,
                                     shuffle=False))).numpy()
    assert ds.shape == (5, 64, 64, 3) and ds.min() >= -1 and ds.max() <= 1
    assert (ds[:, 0, 0] == 1).all()  # the transparent corner of every icon: white


def test_fd_between_two_folders_is_the_array_fd_of_the_same_images(tmp_path, capsys):
    """``evaluate --real DIR --fake DIR``: the fake folder's PNGs, read back, scored by
    the real folder's yardstick, give the figures of the same images as an array."""
    from keras_wgan.evaluation import compare_folders
    from keras_wgan.images import to_uint8, write_png

    real = write_folder(tmp_path / "real", 40, 16, classes=["red", "yellow"])
    fake = tmp_path / "fake"
    rng = np.random.default_rng(3)
    images = rng.uniform(-1, 1, (12, 16, 16, 3)).astype("float32")
    for i, image in enumerate(to_uint8(images)):
        write_png(image, str(fake / "sub" / f"seed{i:06d}.png"))
    cache = str(tmp_path / "cache")
    figures = compare_folders(str(real), str(fake), cache_dir=cache)
    stick = DomainYardstick.for_dataset(str(real), (16, 16, 3), cache_dir=cache)
    on_disk = to_uint8(images).astype("float32") / 127.5 - 1  # what the PNGs hold
    expected = stick.score(on_disk)
    assert figures["fd"] == pytest.approx(expected["fd"], rel=1e-5, abs=1e-6)
    assert figures["kd"] == pytest.approx(expected["kd"], rel=1e-5, abs=1e-7)
    assert (figures["num_fake"], figures["num_real"], figures["fd_reliable"]) == (12, 8, False)
    assert figures["floor"]["fd"] < figures["fd"]  # noise is farther than real pictures
    code = cli.main(["evaluate", "--real", str(real), "--fake", str(fake), "--cache-dir",
                     cache])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert f"12 images in {fake} vs 8 held-out images of {real}, at 16x16x3" in out
    assert "warning: fewer than 2,048 images on a side" in err
    assert cli.main(["evaluate", "--fake", str(tmp_path / "none")]) == 2
    assert cli.main(["evaluate", "--features", "inception", "--real", str(real)]) == 2
