"""The settings `train` leaves to the data: the nets, the image size and the augmentation.

``--arch``, ``--image-size`` and ``--augment`` default to the data they train on. An
image folder is looked at once (file headers only, no decoding): how many images, their
size, colour or grayscale. Everything else (TFDS names, IDX files, arrays) keeps the
reference task's choices: the DCGAN nets at 32x32, no augmentation.

The rules (measured in ``benchmarks/colour_quality.py``, README "Colour images"):

- **nets**: the WGAN-GP paper's ResNets for a folder of colour images or of images
  larger than 32x32 (their stages follow the size; the DCGAN nets have three stages at
  any size), the original experiment's DCGAN nets otherwise;
- **image size**: a folder's most common image size, rounded down to one the nets
  accept (DCGAN: a multiple of 8; ResNet: 4 to 7 times a power of two);
- **augmentation**: DiffAugment's ``color,translation,cutout`` (``translation,cutout``
  for grayscale, where colour changes nothing) for a folder of fewer than
  :data:`SMALL_DATASET` images, where a critic would otherwise memorise the set; off
  for larger sets.

What was chosen is printed when training starts and recorded in ``config.json``, so
``--resume`` continues with the same choices.
"""

import collections
import os
from dataclasses import dataclass

ARCHS = ("dcgan", "resnet")
# Below this many images augmentation is on by default (DiffAugment's gains are largest
# at a few thousand images and vanish towards the full CIFAR-10's 50,000).
SMALL_DATASET = 10_000
COLOUR_POLICY = "color,translation,cutout"
GRAYSCALE_POLICY = "translation,cutout"
OFF = "off"
# What a run recorded before these settings existed was built with.
LEGACY = {"arch": "dcgan", "augment": OFF, "image_size": 32, "precision": "float32"}
REFERENCE_IMAGE_SIZE = 32  # Fashion-MNIST at 32x32, the reference task
DCGAN_MAX_SIZE = 32  # the DCGAN nets' three stages: made for 32x32


@dataclass(frozen=True)
class FolderFacts:
    """What a folder of images holds: the image count, the most common (height, width),
    and whether any image is in colour."""

    count: int
    size: tuple
    colour: bool


def folder_facts(directory):
    """:class:`FolderFacts` of an image folder (searched recursively), from the file
    headers; None when ``directory`` is not a folder or holds no readable image."""
    from PIL import Image

    from keras_wgan.data import IMAGE_EXTENSIONS

    if not os.path.isdir(str(directory)):
        return None
    sizes, colour, count = collections.Counter(), False, 0
    for root, dirs, names in os.walk(str(directory)):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            if name.startswith(".") or not name.lower().endswith(IMAGE_EXTENSIONS):
                continue
            try:
                with Image.open(os.path.join(root, name)) as image:
                    width, height = image.size
                    mode = image.mode
            except OSError:  # the loader names unreadable files (or skips them)
                continue
            count += 1
            sizes[(height, width)] += 1
            colour = colour or mode not in ("1", "L", "LA", "I", "I;16", "F")
    if not count:
        return None
    return FolderFacts(count, sizes.most_common(1)[0][0], colour)


def image_sizes(arch, limit=256):
    """The square image sizes up to ``limit`` that the ``arch`` nets accept."""
    if arch == "resnet":
        from keras_wgan.architectures import resnet

        return resnet.valid_sizes(limit)
    return list(range(8, limit + 1, 8))


def fits(arch, size):
    return size in image_sizes(arch, max(size, 8))


def choose(settings, facts):
    """``(choices, reasons)``: values for the settings left to the data (None in
    ``settings``: arch, image_size, augment) and a few words on why, for each."""
    choices, reasons = {}, {}
    if settings.get("arch") is None:
        if facts is None:
            choices["arch"], reasons["arch"] = "dcgan", "the reference task's nets"
        elif facts.colour or min(facts.size) > DCGAN_MAX_SIZE:
            choices["arch"] = "resnet"
            reasons["arch"] = "colour images" if facts.colour else \
                f"images larger than {DCGAN_MAX_SIZE}x{DCGAN_MAX_SIZE}"
        else:
            choices["arch"] = "dcgan"
            reasons["arch"] = f"grayscale images up to {DCGAN_MAX_SIZE}x{DCGAN_MAX_SIZE}"
    arch = choices.get("arch", settings.get("arch"))
    if settings.get("image_size") is None:
        if facts is None:
            choices["image_size"] = REFERENCE_IMAGE_SIZE
            reasons["image_size"] = "the reference task's size"
        else:
            native = min(facts.size)
            fitting = [s for s in image_sizes(arch, max(native, 8)) if s <= max(native, 8)]
            choices["image_size"] = fitting[-1]
            reasons["image_size"] = f"the folder's images are {facts.size[0]}x{facts.size[1]}"
    if settings.get("augment") is None:
        if facts is not None and facts.count < SMALL_DATASET:
            choices["augment"] = COLOUR_POLICY if facts.colour else GRAYSCALE_POLICY
            reasons["augment"] = f"{facts.count:,} images, fewer than {SMALL_DATASET:,}"
        else:
            choices["augment"] = OFF
            reasons["augment"] = "a large dataset" if facts is not None else \
                "the reference task"
    return choices, reasons
