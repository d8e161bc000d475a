"""The settings `train` leaves to the data and the device: nets, width, image size, augmentation.

``--arch``, ``--dim``, ``--image-size`` and ``--augment`` default to the data they train
on and to the machine. An image folder is looked at once (file headers only, no
decoding): how many images, their size, colour or grayscale. Everything else (TFDS
names, IDX files, arrays) keeps the reference task's choices: the DCGAN nets at 32x32,
no augmentation. The device is whether Keras' backend sees a GPU.

The rules (:data:`RULES`), each citing the measurement it follows:

- **CPU, a folder of pictures** (colour, or larger than 32x32): the DCGAN nets at
  ``dim=32``, no augmentation. Docs "Colour pictures at equal CPU time"
  (``benchmarks/colour_quality.py``, yardstick version 2), rows "DCGAN, plain" against
  "ResNet, DiffAugment": fd 64.3 vs 281.0 on the 470 icons, 130.4 vs 264.5 on their 10%
  at 6 CPU minutes; plain DCGAN also beat DCGAN with DiffAugment (64.3 vs 161.0, 130.4
  vs 164.1) and plain ResNet (272.5, 235.4).
- **GPU, a folder of pictures**: the WGAN-GP paper's ResNets, DiffAugment's
  ``color,translation,cutout`` below :data:`SMALL_DATASET` images: the papers' choice,
  kept until ``benchmarks/gpu_check.sh`` measures otherwise on a GPU.
- **A grayscale folder up to 32x32**: the DCGAN nets (the reference task's); no
  augmentation on a CPU (the rows above), ``translation,cutout`` below
  :data:`SMALL_DATASET` images on a GPU (colour changes nothing in grayscale).
- **Not a folder** (the reference task): the DCGAN nets, 32x32, ``dim=32``, no
  augmentation, and the recipe search's winning recipe (preset ``fashion_mnist_32``:
  docs "Recipe search at equal CPU time", ``benchmarks/recipe_search.py``).

Each rule also names the recipe (:mod:`keras_wgan.presets`) whose model settings the run
takes (critic steps, optimizers, the penalty or the clip value): the one measured on that
kind of data. Only the reference task was searched; its WGAN-GP winner was then
re-measured on the colour table's DCGAN cells, where it won all four (fd 37.4 against
80.9 on the whole icon set at 5 CPU minutes, docs "Recipe search at equal CPU time"), so
``small_colour_64`` (rule ``cpu-pictures``) trains WGAN-GP with it. The other folder
rules keep the recipe their tables measured (``fashion_mnist_32_v1``: ``n_critic=5``,
the classes' ``compile()`` optimizers) until a measurement on them says otherwise.
``--n-critic`` left out takes the recipe's (with ``--paper-optimizers``, the papers' 5).

The image size is a folder's most common size rounded down to one the nets accept
(their registry entry, :mod:`keras_wgan.architectures`); the width is the rule's, else
the family's default. What was chosen, and by which rule, is printed when training
starts and recorded in ``config.json``, so ``--resume`` continues with the same choices.
"""

import collections
import os
from dataclasses import dataclass

from keras_wgan.cli.common import PROG, CliError, flag
from keras_wgan.cli.training import devices
from keras_wgan.cli.training.settings import CHOSEN_BY_DATA, OFF

# Below this many images augmentation is on by default on a GPU (DiffAugment's gains are
# largest at a few thousand images and vanish towards the full CIFAR-10's 50,000).
SMALL_DATASET = 10_000
COLOUR_POLICY = "color,translation,cutout"
GRAYSCALE_POLICY = "translation,cutout"
DEVICES = ("cpu", "gpu")
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


def model_augment(setting):
    """The model's ``augment`` for an ``--augment`` setting: None for ``off``."""
    return None if setting in (None, OFF) else setting


@dataclass(frozen=True)
class Rule:
    """One measured rule: for a ``device`` and a kind of ``data``, the nets, their width
    (None: the family's default), whether small sets get augmentation, the recipe
    (a :mod:`keras_wgan.presets` name) of the model's settings, and why."""

    name: str
    device: str
    data: str
    arch: str
    dim: object
    augment_small_sets: bool
    recipe: str
    why: str


RULES = (
    Rule("cpu-pictures", "cpu", "pictures", "dcgan", 32, False, "small_colour_64",
         "CPU only: DCGAN nets at dim 32, no augmentation: they led fd 64 vs 281 "
         "(ResNet with DiffAugment) at 6 CPU minutes, docs table \"Colour pictures at "
         "equal CPU time\""),
    Rule("gpu-pictures", "gpu", "pictures", "resnet", None, True, "fashion_mnist_32_v1",
         "GPU: the WGAN-GP paper's ResNets, DiffAugment below "
         f"{SMALL_DATASET:,} images: the papers' choice, not yet measured on a GPU here "
         "(benchmarks/gpu_check.sh)"),
    Rule("cpu-grayscale", "cpu", "grayscale", "dcgan", None, False, "fashion_mnist_32_v1",
         "CPU only: the reference task's DCGAN nets, no augmentation (it slowed learning "
         "at equal CPU time, docs \"Colour pictures at equal CPU time\")"),
    Rule("gpu-grayscale", "gpu", "grayscale", "dcgan", None, True, "fashion_mnist_32_v1",
         "GPU: the reference task's DCGAN nets, DiffAugment below "
         f"{SMALL_DATASET:,} images (DiffAugment's paper; not yet measured on a GPU here, "
         "benchmarks/gpu_check.sh)"),
    # dim 32 and the recipe fashion_mnist_32: the recipe search's winners on the
    # reference task (every dim-32 cell led dim 64 at equal CPU time), docs "Recipe
    # search at equal CPU time".
    Rule("reference", "any", "reference", "dcgan", 32, False, "fashion_mnist_32",
         "the reference task's nets and size at dim 32, no augmentation, the recipe "
         "search's winning recipe (docs \"Recipe search at equal CPU time\")"),
)


def rule_for(facts, device):
    """The :class:`Rule` for a folder's ``facts`` (None: not a folder) on ``device``."""
    if device not in DEVICES:
        raise ValueError(f"`device` must be one of {DEVICES}, got {device!r}.")
    if facts is None:
        data = "reference"
    elif facts.colour or min(facts.size) > DCGAN_MAX_SIZE:
        data = "pictures"
    else:
        data = "grayscale"
    return next(rule for rule in RULES if rule.data == data and rule.device in (device, "any"))


def choose(settings, facts, device="cpu"):
    """``(choices, rule)``: values for the settings left to the data and the device (None
    in ``settings``: arch, dim, image_size, augment, recipe), and the :class:`Rule` that
    gave them."""
    from keras_wgan import architectures

    rule = rule_for(facts, device)
    choices = {}
    if settings.get("arch") is None:
        choices["arch"] = rule.arch
    arch = choices.get("arch", settings.get("arch"))
    family = architectures.get(arch)
    if settings.get("dim") is None:
        choices["dim"] = rule.dim if rule.dim is not None and arch == rule.arch \
            else family.default_width
    if settings.get("image_size") is None:
        if facts is None:
            choices["image_size"] = REFERENCE_IMAGE_SIZE
        else:
            fitting = family.sizes(max(min(facts.size), 8))  # rounded down to a size it takes
            choices["image_size"] = fitting[-1] if fitting else family.sizes(256)[0]
    if settings.get("augment") is None:
        small = facts is not None and facts.count < SMALL_DATASET
        choices["augment"] = (COLOUR_POLICY if facts.colour else GRAYSCALE_POLICY) \
            if rule.augment_small_sets and small else OFF
    if settings.get("recipe") is None:
        choices["recipe"] = rule.recipe
    return choices, rule


def critic_steps(settings):
    """``--n-critic`` left out: the recipe's for the model (WGAN-GP 1 and WGAN 5 on the
    reference task), the papers' 5 with ``--paper-optimizers``."""
    from keras_wgan import WGAN, WGANGP, presets

    cls = WGAN if settings["model"] == "wgan" else WGANGP
    if settings.get("paper_optimizers"):
        return presets.paper_algorithm(cls)["n_critic"]
    return presets.get_preset(settings["recipe"], cls)["n_critic"]


def fill_in(settings, device=None):
    """Fill in (and say, with the rule that chose them) the settings left to the data and
    ``device`` (None: this process's): --arch, --dim, --image-size, --augment, the
    recipe, and then --n-critic (the recipe's)."""
    left = [key for key in CHOSEN_BY_DATA if settings.get(key) is None]
    if left:
        facts = folder_facts(settings["dataset"])
        chosen, rule = choose(settings, facts, device or devices.device_kind())
        settings.update(chosen)
        said = ", ".join(f"{'recipe' if key == 'recipe' else flag(key)} {chosen[key]}"
                         for key in chosen)
        seen = "" if facts is None else (
            f"; {facts.count:,} {'colour' if facts.colour else 'grayscale'} images of "
            f"{facts.size[0]}x{facts.size[1]}")
        print(f"From the data and the device: {said} (rule {rule.name}: {rule.why}{seen}).",
              flush=True)
    if settings.get("n_critic") is None:
        settings["n_critic"] = critic_steps(settings)
    family = family_of(settings["arch"])
    size = settings["image_size"]
    if not family.accepts(size, size):
        raise CliError(f"--image-size {size} does not fit --arch {family.name}, whose sizes "
                       f"are {family.sizes_text()}; e.g. --image-size "
                       f"{family.size_below(size)}")


def family_of(name):
    """The registered image family ``--arch name``; the refusal lists them."""
    from keras_wgan import architectures

    if name not in architectures.names("images"):
        raise CliError(f"--arch {name}: no family of image nets by that name; registered: "
                       f"{', '.join(architectures.names('images'))} (see them with: {PROG} "
                       "train --arch list)")
    return architectures.get(name)


def list_families():
    """``train --arch list``: the registered image families, their sizes and widths."""
    from keras_wgan import architectures

    print(f"{'family':<12}{'default --dim':>14}  sizes (square, up to 128)")
    for name in architectures.names("images"):
        family = architectures.get(name)
        print(f"{name:<12}{family.default_width:>14}  "
              f"{', '.join(map(str, family.sizes(128)))}")
        print(f"{'':<28}{family.suits}")
    return 0
