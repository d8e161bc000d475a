"""What `train` leaves to the data (cli/choices.py): folder facts from file headers, and
the nets, image size and augmentation chosen from them. No training here; the CLI runs
on colour folders are in test_colour.py."""

import numpy as np
import pytest
from PIL import Image

from keras_wgan.cli import choices


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


UNSET = {"arch": None, "image_size": None, "augment": None}


@pytest.mark.parametrize("facts, expected", [
    (None, {"arch": "dcgan", "image_size": 32, "augment": "off"}),  # TFDS, IDX, arrays
    (choices.FolderFacts(500, (64, 64), True),
     {"arch": "resnet", "image_size": 64, "augment": "color,translation,cutout"}),
    (choices.FolderFacts(500, (128, 128), False),  # large grayscale: stages follow the size
     {"arch": "resnet", "image_size": 128, "augment": "translation,cutout"}),
    (choices.FolderFacts(20_000, (60, 70), True),  # rounded down to a ResNet size
     {"arch": "resnet", "image_size": 56, "augment": "off"}),
    (choices.FolderFacts(100, (30, 30), False), {"arch": "dcgan", "image_size": 24,
                                                 "augment": "translation,cutout"}),
    (choices.FolderFacts(100, (5, 5), True), {"arch": "resnet", "image_size": 8,
                                              "augment": "color,translation,cutout"}),
])
def test_the_choices_follow_the_data(facts, expected):
    chosen, reasons = choices.choose(UNSET, facts)
    assert chosen == expected
    assert set(reasons) == set(expected) and all(reasons.values())
    for key, value in expected.items():  # a setting given on the command line is kept
        given = {**UNSET, key: value}
        assert key not in choices.choose(given, facts)[0]


def test_sizes_each_net_accepts():
    assert choices.image_sizes("dcgan", 40) == [8, 16, 24, 32, 40]
    assert choices.image_sizes("resnet", 40) == [8, 10, 12, 14, 16, 20, 24, 28, 32, 40]
    assert choices.fits("resnet", 28) and not choices.fits("dcgan", 28)
    assert choices.fits("dcgan", 128) and choices.fits("resnet", 128)
    assert not choices.fits("resnet", 36)
