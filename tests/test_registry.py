"""The registry of net families drives the library and the CLI (keras_wgan.architectures):
a family of one's own, from Python or an installed package's entry point, trains from the
command line with --arch, saves and resumes; the data-and-device rule is named when
training starts."""

import json
import os
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from keras_wgan import architectures, cli
from keras_wgan.cli.training import devices

TINY = "tiny_test_family"


def tiny_generator(latent_dim, image_shape, dim, num_classes=None):
    """Dense -> Reshape -> one 3x3 conv: a generator of any even size."""
    height, width, channels = image_shape
    noise = keras.Input((latent_dim,), name="noise")
    x = keras.layers.Dense(height // 2 * width // 2 * dim, activation="relu")(noise)
    x = keras.layers.Reshape((height // 2, width // 2, dim))(x)
    x = keras.layers.UpSampling2D(2)(x)
    x = keras.layers.Conv2D(channels, 3, padding="same", activation="tanh")(x)
    return keras.Model(noise, x, name="tiny_generator")


def tiny_critic(image_shape, dim):
    images = keras.Input(image_shape, name="images")
    x = keras.layers.Conv2D(dim, 3, strides=2, padding="same")(images)
    x = keras.layers.LeakyReLU(0.2)(keras.layers.Flatten()(x))
    return keras.Model(images, keras.layers.Dense(1)(x), name="tiny_critic")


def tiny_family(name=TINY):
    return architectures.Architecture(
        name, tiny_generator, tiny_critic, fits=lambda h, w: h % 2 == 0 and w % 2 == 0,
        sizes_rule="even sides", default_width=3, suits="tests")


@pytest.fixture
def registered():
    family = architectures.register(tiny_family())
    yield family
    architectures.unregister(TINY)


def write_pictures(folder, n=8, size=8):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(
            folder / f"{i}.png")
    return folder


COMMON = ["--batch-size", "4", "--latent-dim", "4", "--n-critic", "2", "--steps-per-epoch",
          "2", "--num-samples", "4", "--verbose", "0"]


def test_a_family_registered_from_python_trains_saves_and_resumes_from_the_cli(
        registered, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(devices, "device_kind", lambda: "cpu")
    data, out = write_pictures(tmp_path / "pictures"), str(tmp_path / "run")
    assert cli.main(["train", "--arch", "list"]) == 0
    listed = capsys.readouterr().out
    assert TINY in listed and "dcgan" in listed and "resnet" in listed
    assert cli.main(["train", "--dataset", str(data), "--arch", TINY, "--epochs", "1",
                     "--out", out, *COMMON]) == 0
    printed = capsys.readouterr().out
    # The family's own default width (3), not the CPU rule's DCGAN width.
    assert f"--dim 3, --image-size 8, --augment off, recipe small_colour_64 (rule cpu-pictures" \
        in printed
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    assert (config["arch"], config["dim"], config["image_size"]) == (TINY, 3, 8)
    gan = keras.models.load_model(os.path.join(out, "model.keras"))
    assert gan.generator.name == "tiny_generator" and gan.sample_shape == (8, 8, 3)
    assert cli.main(["train", "--resume", "--out", out, "--epochs", "2", "--verbose",
                     "0"]) == 0
    resumed = keras.models.load_model(os.path.join(out, "model.keras"))
    assert int(resumed.generator_optimizer.iterations) == 2  # 2 epochs x 2 steps / n_critic 2
    assert cli.main(["sample", os.path.join(out, "model.keras"), "--n", "4", "--out",
                     str(tmp_path / "grid.png")]) == 0
    # A size the family does not take is refused, naming its sizes and one that fits.
    assert cli.main(["train", "--dataset", str(data), "--arch", TINY, "--image-size", "7",
                     "--out", str(tmp_path / "odd"), *COMMON]) == 2
    assert "--image-size 7 does not fit --arch tiny_test_family, whose sizes are 2, 4, 6" \
        in capsys.readouterr().err


def test_an_unknown_family_is_refused_with_the_registered_ones(tmp_path, capsys):
    assert cli.main(["train", "--arch", "nope", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "--arch nope: no family of image nets by that name; registered: dcgan, resnet" in err
    assert "train --arch list" in err and not os.path.exists(tmp_path / "x")
    with pytest.raises(ValueError, match="registered already"):
        architectures.register(architectures.Architecture(
            "dcgan", tiny_generator, tiny_critic, fits=lambda h, w: True))
    with pytest.raises(ValueError, match="`name` must be lower-case"):
        tiny_family("Bad Name")


def test_a_builder_that_cannot_condition_is_refused_by_name(registered):
    from keras_wgan import WGANGP

    with pytest.raises(ValueError, match="critic builder takes no `num_classes`, so it cannot build"):
        WGANGP.from_preset("fashion_mnist_32", nets=TINY, image_shape=(8, 8, 1), dim=2,
                           num_classes=3)
    gan = WGANGP.from_preset("fashion_mnist_32", nets=TINY, image_shape=(8, 8, 1), dim=2)
    assert gan.critic.name == "tiny_critic"


PLUGIN = """
import keras
from keras_wgan.architectures import Architecture


def gen(latent_dim, image_shape, dim):
    height, width, channels = image_shape
    noise = keras.Input((latent_dim,))
    x = keras.layers.Dense(height * width * channels, activation="tanh")(noise)
    return keras.Model(noise, keras.layers.Reshape(image_shape)(x), name="plugged_generator")


def crit(image_shape, dim):
    images = keras.Input(image_shape)
    x = keras.layers.Dense(dim, activation="relu")(keras.layers.Flatten()(images))
    return keras.Model(images, keras.layers.Dense(1)(x), name="plugged_critic")


def family():
    return Architecture("plugged", "my_nets:gen", "my_nets:crit", fits=lambda h, w: h % 2 == 0,
                        default_width=5, suits="from an entry point")
"""


def installed_plugin(root):
    """A package ``my_nets`` with the metadata of an installed distribution whose entry
    point in the ``keras_wgan.architectures`` group names its family ``plugged``."""
    (root / "my_nets").mkdir(parents=True)
    (root / "my_nets" / "__init__.py").write_text(PLUGIN)
    info = root / "my_nets-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-nets\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{architectures.ENTRY_POINT_GROUP}]\nplugged = my_nets:family\n")
    return root


def test_an_installed_package_registers_its_family_through_an_entry_point(tmp_path,
                                                                          monkeypatch):
    """A package on the path whose metadata names an entry point in the
    ``keras_wgan.architectures`` group: its family is registered when the registry is read."""
    monkeypatch.syspath_prepend(str(installed_plugin(tmp_path / "site")))
    try:
        architectures.reload_plugins()
        assert "plugged" in architectures.names("images")
        family = architectures.get("plugged")
        assert (family.default_width, family.suits) == (5, "from an entry point")
    finally:
        architectures.unregister("plugged")
        sys.modules.pop("my_nets", None)
    assert "plugged" not in architectures.names()


@pytest.mark.processes
def test_the_shell_command_lists_and_trains_an_installed_family(tmp_path):
    """As a user types it: the installed ``keras-wgan`` script, ``--backend torch`` (the
    environment naming another backend), a family that only an installed package's entry
    point registers: listed by ``--arch list``, trained with ``--arch plugged``."""
    import shutil
    import subprocess

    script = shutil.which("keras-wgan")
    program = [script] if script else [sys.executable, "-m", "keras_wgan"]
    env = {**os.environ, "KERAS_BACKEND": "tensorflow",
           "PYTHONPATH": os.pathsep.join(filter(None, [
               str(installed_plugin(tmp_path / "site")), os.environ.get("PYTHONPATH")]))}
    listed = subprocess.run(program + ["--backend", "torch", "train", "--arch", "list"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "plugged" in listed.stdout and "from an entry point" in listed.stdout
    data, out = write_pictures(tmp_path / "pictures"), str(tmp_path / "run")
    trained = subprocess.run(
        program + ["--backend", "torch", "train", "--dataset", str(data), "--arch", "plugged",
                   "--epochs", "1", "--out", out, *COMMON],
        env=env, capture_output=True, text=True, timeout=300)
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    assert (config["arch"], config["dim"], config["image_size"]) == ("plugged", 5, 8)
    assert "--dim 5, --image-size 8" in trained.stdout


def test_on_a_cpu_a_colour_folder_gets_the_cpu_winner_and_the_start_line_says_why(
        tmp_path, capsys, monkeypatch):
    """What a user on a laptop gets for `train --dataset ICONS`: the README table's CPU
    winner (DCGAN at dim 32, no augmentation), with the rule and its figures printed."""
    monkeypatch.setattr(devices, "device_kind", lambda: "cpu")  # the same on a GPU runner
    data, out = write_pictures(tmp_path / "icons", size=16), str(tmp_path / "run")
    assert cli.main(["train", "--dataset", str(data), "--epochs", "1", "--out", out,
                     *COMMON]) == 0
    printed = capsys.readouterr().out
    assert ("From the data and the device: --arch dcgan, --dim 32, --image-size 16, "
            "--augment off, recipe small_colour_64 (rule cpu-pictures: CPU only: DCGAN nets "
            "at dim 32, no augmentation: they led fd 64 vs 281") in printed
    assert "8 colour images of 16x16" in printed
    with open(os.path.join(out, "config.json")) as f:
        config = json.load(f)
    assert (config["arch"], config["dim"], config["augment"]) == ("dcgan", 32, "off")
