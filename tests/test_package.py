"""The package as users meet it: what a wheel ships, what `import keras_wgan` costs and registers."""

import json
import re
import pathlib
import subprocess
import sys
import tomllib

import numpy as np
import pytest
import setuptools

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEAVY = ("keras", "tensorflow", "jax", "torch")


def test_every_subpackage_is_in_the_distribution():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    find = config["tool"]["setuptools"]["packages"]["find"]
    shipped = set(setuptools.find_packages(where=str(ROOT), include=find["include"]))
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "keras_wgan").rglob("__init__.py")
    }
    assert "keras_wgan.models" in on_disk
    assert shipped == on_disk


def _python(script, *args):
    return subprocess.run([sys.executable, "-c", script, *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.mark.parametrize("argv, code, stream, text", [
    (["--help"], 0, "out", "usage: keras-wgan"),
    (["train", "--help"], 0, "out", "--checkpoint-every"),
    (["train", "--epochs", "0"], 2, "err", "argument --epochs: must be a positive integer, got 0."),
    (["sample"], 2, "err", "the following arguments are required: MODEL.keras"),
])
def test_help_and_argument_errors_load_no_framework_and_print_nothing_else(argv, code, stream, text):
    script = (
        "import contextlib, io, json, sys\n"
        "from keras_wgan.cli import main\n"
        "out, err = io.StringIO(), io.StringIO()\n"
        "with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):\n"
        "    code = main(json.loads(sys.argv[1]))\n"
        "print(json.dumps({'code': code, 'out': out.getvalue(), 'err': err.getvalue(),\n"
        "                  'loaded': [m for m in %r if m in sys.modules]}))\n" % (HEAVY,)
    )
    result = _python(script, json.dumps(argv))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr == ""  # no framework start-up lines
    report = json.loads(result.stdout)
    assert report["loaded"] == []
    assert report["code"] == code
    assert text in report[stream]
    assert report["err" if stream == "out" else "out"] == ""


@pytest.mark.processes
@pytest.mark.parametrize("imports", ["import keras_wgan\nimport keras",
                                     "import keras\nimport keras_wgan"])
def test_import_keras_wgan_is_enough_to_load_a_saved_model(tmp_path, imports):
    """Either import order registers the classes a .keras file names (WGANGP and 0.1's layers)."""
    import keras

    from keras_wgan import WGANGP
    from keras_wgan.architectures import build_critic, build_generator

    keras.utils.set_random_seed(0)
    gan = WGANGP(build_generator(4, (8, 8, 1), 2), build_critic((8, 8, 1), 2), latent_dim=4)
    gan.compile()
    noise = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    gan.save(tmp_path / "gan.keras")
    np.save(tmp_path / "noise.npy", noise)
    script = imports + (
        "\nimport sys, numpy as np\n"
        "gan = keras.models.load_model(sys.argv[1])\n"
        "np.save(sys.argv[3], gan.generate_from_noise(np.load(sys.argv[2])))\n"
        "print(type(gan).__name__, keras.saving.get_registered_object('keras_wgan>LeakyReLU'))\n"
    )
    result = _python(script, tmp_path / "gan.keras", tmp_path / "noise.npy", tmp_path / "out.npy")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[0] == "WGANGP"
    assert "keras_wgan.legacy_layers.LeakyReLU" in result.stdout
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), gan.generate_from_noise(noise),
                               atol=1e-6)


def _architecture_notes_layers():
    """The top-level units of keras_wgan in the order the architecture notes' tree lists them."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    tree = text[text.index("\nkeras_wgan/\n"):]
    tree = tree[:tree.index("```")]
    names = re.findall(r"^  ([a-z_]+)(?:\.py|/)\s", tree, re.M)
    return [name for name in names if name != "__init__"]


def _imports_of(unit):
    """keras_wgan units that ``unit``'s files import, at module level or inside functions."""
    path = ROOT / "keras_wgan" / unit
    found = set()
    for source in ([path.with_suffix(".py")] if not path.is_dir() else path.rglob("*.py")):
        text = source.read_text()
        for module, names in re.findall(r"^\s*from keras_wgan((?:\.\w+)*) import ([^\n]+)",
                                        text, re.M):
            if module:
                found.add(module.split(".")[1])
            else:
                found.update(n.split(" as ")[0].strip(" ()") for n in names.split(",")
                             if n.strip(" ()"))
        found.update(re.findall(r"^\s*import keras_wgan\.(\w+)", text, re.M))
    public = {"WGAN", "WGANGP", "WassersteinGAN"}
    return {"models" if name in public else name for name in found} - {unit, "__version__"}


def test_every_module_imports_only_what_the_architecture_notes_list_below_it():
    layers = _architecture_notes_layers()
    on_disk = {p.stem for p in (ROOT / "keras_wgan").glob("*.py")} | {
        p.name for p in (ROOT / "keras_wgan").iterdir() if (p / "__init__.py").exists()}
    assert sorted(layers) == sorted(on_disk - {"__init__", "__main__"})
    # The architecture notes name these two upward (and lazy) imports as their exceptions.
    allowed = {("models", "presets"), ("data", "toy")}
    upward = sorted(
        (unit, target)
        for unit in layers
        for target in _imports_of(unit)
        if target in layers and layers.index(target) < layers.index(unit)
    )
    assert [pair for pair in upward if pair not in allowed] == []
    assert set(upward) == allowed  # and both are still there (else the notes say too much)


def test_every_module_says_its_one_idea_in_its_first_line():
    for source in sorted((ROOT / "keras_wgan").rglob("*.py")):
        text = source.read_text()
        assert text.startswith('"""'), source
        first = text[3:].split("\n", 1)[0].removesuffix('"""')
        assert first.endswith(".") and len(first) > 20, (source, first)
