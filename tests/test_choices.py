"""What `train` leaves to the data (cli/training/choices.py): folder facts from file headers, and
the nets, image size and augmentation chosen from them. No training here; the CLI runs
on colour folders are in test_colour.py."""

import numpy as np
import pytest
from PIL import Image

from keras_wgan.cli.training import choices


def write_images(folder, n, size, mode, rng):
    folder.mkdir(parents=True, exist_ok=True)
    bands = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    for i in range(n):
        pixels = rng.integers(0, 256, (size[0], size[1], bands), dtype=np.uint8)
        Image.fromarray(pixels.squeeze(-1) if bands == 1 else pixels, mode).save(
            folder / f"{i}.png")


def test_folder_facts_count_size_and_colour_from_headers(tmp_path):
    rng = np.random.default_rng(0)
    write_images(tmp_path / "a", 3, (64, 64), "RGBA", rng)
    write_images(tmp_path / "b" / "nested", 2, (48, 40), "L", rng)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "broken.png").write_bytes(b"not a png")  # left to the loader to name
    facts = choices.folder_facts(tmp_path)
    assert facts == choices.FolderFacts(count=5, size=(64, 64), colour=True)
    assert choices.folder_facts(tmp_path / "b") == choices.FolderFacts(2, (48, 40), False)
    assert choices.folder_facts("fashion_mnist") is None  # not a folder
    (tmp_path / "empty").mkdir()
    assert choices.folder_facts(tmp_path / "empty") is None


UNSET = {"arch": None, "dim": None, "image_size": None, "augment": None, "recipe": None}
PICTURES = choices.FolderFacts(500, (64, 64), True)


@pytest.mark.parametrize("facts, device, expected, rule", [
    # TFDS, IDX, arrays: the recipe search's width (fashion_mnist_32, the family's default).
    (None, "cpu", {"arch": "dcgan", "dim": 32, "image_size": 32, "augment": "off"},
     "reference"),
    (None, "gpu", {"arch": "dcgan", "dim": 32, "image_size": 32, "augment": "off"},
     "reference"),
    # Colour pictures: the CPU winner of the README table, the papers' choice on a GPU.
    (PICTURES, "cpu", {"arch": "dcgan", "dim": 32, "image_size": 64, "augment": "off"},
     "cpu-pictures"),
    (PICTURES, "gpu", {"arch": "resnet", "dim": 64, "image_size": 64,
                       "augment": "color,translation,cutout"}, "gpu-pictures"),
    # Large grayscale pictures count as pictures: stages follow the size on a GPU.
    (choices.FolderFacts(500, (128, 128), False), "gpu",
     {"arch": "resnet", "dim": 64, "image_size": 128, "augment": "translation,cutout"},
     "gpu-pictures"),
    (choices.FolderFacts(500, (128, 128), False), "cpu",
     {"arch": "dcgan", "dim": 32, "image_size": 128, "augment": "off"}, "cpu-pictures"),
    # A large set: no augmentation on either; rounded down to a size the nets take.
    (choices.FolderFacts(20_000, (60, 70), True), "gpu",
     {"arch": "resnet", "dim": 64, "image_size": 56, "augment": "off"}, "gpu-pictures"),
    (choices.FolderFacts(20_000, (60, 70), True), "cpu",
     {"arch": "dcgan", "dim": 32, "image_size": 56, "augment": "off"}, "cpu-pictures"),
    (choices.FolderFacts(100, (30, 30), False), "cpu",
     {"arch": "dcgan", "dim": 64, "image_size": 24, "augment": "off"}, "cpu-grayscale"),
    (choices.FolderFacts(100, (30, 30), False), "gpu",
     {"arch": "dcgan", "dim": 64, "image_size": 24, "augment": "translation,cutout"},
     "gpu-grayscale"),
    (choices.FolderFacts(100, (5, 5), True), "gpu", {
        "arch": "resnet", "dim": 64, "image_size": 8, "augment": "color,translation,cutout"},
     "gpu-pictures"),
])
def test_the_choices_follow_the_data_and_the_device(facts, device, expected, rule):
    chosen, picked = choices.choose(UNSET, facts, device)
    # The recipe of the model's settings: the searched one on the reference task only;
    # folders keep the recipe their tables measured.
    assert chosen.pop("recipe") == ("fashion_mnist_32" if rule == "reference" else
                                    "small_colour_64" if rule == "cpu-pictures" else
                                    "fashion_mnist_32_v1")
    assert chosen == expected
    assert picked.name == rule and picked.why
    for key, value in expected.items():  # a setting given on the command line is kept
        given = {**UNSET, key: value}
        assert key not in choices.choose(given, facts, device)[0]
    # --arch given against the rule's: the family's own width, not the rule's.
    other = "resnet" if expected["arch"] == "dcgan" else "dcgan"
    assert choices.choose({**UNSET, "arch": other}, facts, device)[0]["dim"] == 64


def test_each_rule_cites_its_measurement_and_the_cpu_rows_agree_with_the_results_page():
    """choices.py and the colour table of the docs' results say the same: the rows each CPU
    rule cites are in the table, with those figures."""
    import pathlib
    import re

    results = (pathlib.Path(__file__).parents[1] / "docs" / "results" / "quality.md").read_text()
    table = results[results.index("## Colour pictures at equal CPU time"):]

    def fd(row):
        return re.search(r"\| " + re.escape(row) + r" \|[^|]*\|[^|]*\| \**([0-9.]+)", table)[1]

    assert (fd("DCGAN, plain, full"), fd("ResNet, DiffAugment, full")) == ("64.3", "281.0")
    assert (fd("DCGAN, plain, 10%"), fd("ResNet, DiffAugment, 10%")) == ("130.4", "264.5")
    # The winner leads every other row of its set.
    for subset in ("full", "10%"):
        rows = [f"DCGAN, DiffAugment, {subset}", f"ResNet, plain, {subset}",
                f"ResNet, DiffAugment, {subset}"]
        assert all(float(fd(f"DCGAN, plain, {subset}")) < float(fd(row)) for row in rows)
    cpu = choices.rule_for(PICTURES, "cpu")
    assert "fd 64 vs 281" in cpu.why and "Colour pictures at equal CPU time" in cpu.why
    for rule in choices.RULES:  # each cites its measurement (or says it is unmeasured)
        assert any(word in rule.why for word in ("README", "docs", "gpu_check"))
    with pytest.raises(ValueError, match="`device` must be one of"):
        choices.rule_for(None, "tpu")


def test_sizes_each_family_accepts_from_the_registry():
    from keras_wgan import architectures

    dcgan, resnet = architectures.get("dcgan"), architectures.get("resnet")
    assert dcgan.sizes(40) == [8, 16, 24, 32, 40]
    assert resnet.sizes(40) == [8, 10, 12, 14, 16, 20, 24, 28, 32, 40]
    assert resnet.accepts(28, 28) and not dcgan.accepts(28, 28)
    assert dcgan.accepts(128, 128) and resnet.accepts(128, 128)
    assert not resnet.accepts(36, 36) and resnet.accepts(32, 64)
    assert dcgan.size_below(30) == 24 and resnet.size_below(36) == 32
