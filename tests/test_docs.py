"""The docs are code (issue #34): the site builds with ``--strict``, every Python block of
the README and the docs pages runs, and every ``keras-wgan`` command line shown parses.

The pages are written at real sizes (``epochs=20``, ``dim=64``, Fashion-MNIST). The
harness runs them small, the same way for every page, so the text needs no hidden setup:

- **one namespace per page**, its blocks in order, as a reader runs them, in a scratch
  folder holding what the pages name: ``runs/x/model.keras`` (a trained model, with
  ``samples/epoch_NNN.png``), ``runs/cond/model.keras`` (a conditional one, 10 classes),
  ``pictures/`` (a few colour PNGs); ``gan`` is preset to ``runs/x``'s model for pages
  that say "gan: a trained model";
- **shrunk** (``SHRINK``): ``epochs=``/``steps_per_epoch=`` keywords become 1/2, the
  builders of ``keras_wgan.architectures`` build at ``dim=4``, ``load_dataset`` gets a
  few random images of the asked shape (labels 0-9 with ``labels=True``) instead of the
  named source, and ``keras_wgan.cli.main(["train", ...])`` trains one short epoch;
- a block that cannot run on one CPU under TensorFlow (a GPU, JAX, several machines) is
  preceded by ``<!-- docs-test: skip (why) -->``, and its page says so in words.

A harness of our own rather than pytest-markdown-docs: that plugin runs each block (or a
whole file) as written, so the docs would either train Fashion-MNIST for real or carry
setup code a reader does not need; it does not parse shell lines; and a plugin adds a
package and collection rules to every test run. Here, 150 lines of ours do all three.
"""

import argparse
import contextlib
import inspect
import io
import pathlib
import re
import shlex

import numpy as np
import pytest
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
FENCE = re.compile(r"^(?:<!-- docs-test: (?P<mark>[^\n]*?) -->\n)?```(?P<lang>\w*)\n(?P<code>.*?)^```",
                   re.M | re.S)
SHRINK = [(re.compile(r"\bepochs=\d+"), "epochs=1"),
          (re.compile(r"\bsteps_per_epoch=\d+"), "steps_per_epoch=2")]
TINY_DIM = 4
TINY_TRAIN = {"--epochs": "1", "--steps-per-epoch": "2", "--batch-size": "4"}

pytestmark = pytest.mark.docs


def _rel(page):
    return str(page.relative_to(ROOT))


def _blocks(page, langs):
    """(line, mark, code) of each fenced block of ``page`` in one of ``langs``."""
    text = page.read_text()
    return [(text[:m.start()].count("\n") + 1, m["mark"], m["code"])
            for m in FENCE.finditer(text) if m["lang"] in langs]


# -- the site -------------------------------------------------------------------------

def test_the_site_builds_strict_with_every_command_flag_and_public_name(tmp_path):
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    from keras_wgan.cli import build_parser

    config = load_config(str(ROOT / "mkdocs.yml"), site_dir=str(tmp_path / "site"))
    build(config)  # --strict is in mkdocs.yml: any warning raises mkdocs' Abort
    cli_page = (tmp_path / "site" / "reference" / "cli" / "index.html").read_text()
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert len(commands.choices) >= 8
    for name, sub in commands.choices.items():
        assert f"keras-wgan {name}" in cli_page, name
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            for flag in action.option_strings:
                assert f"<code>{flag}" in cli_page, (name, flag)
    _reference_is_complete(tmp_path / "site")


REFERENCE = {  # module -> its API reference page (keras_wgan's names live under models)
    "keras_wgan": "models", "keras_wgan.models": "models", "keras_wgan.callbacks": "callbacks",
    "keras_wgan.data": "data", "keras_wgan.evaluation": "evaluation",
    "keras_wgan.generation": "generation", "keras_wgan.architectures": "architectures",
    "keras_wgan.checkpoints": "checkpoints", "keras_wgan.presets": "presets",
}


def _reference_is_complete(site):
    """Every public name of each module has an entry (an id ending in .NAME) on its page."""
    import importlib
    import types

    for module_name, page in REFERENCE.items():
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or [
            name for name, value in vars(module).items()
            if not name.startswith("_") and not isinstance(value, types.ModuleType)
            and getattr(value, "__module__", module_name) == module_name]
        html = (site / "reference" / page / "index.html").read_text()
        ids = {found.rsplit(".", 1)[-1] for found in re.findall(r'id="([\w.]+)"', html)}
        missing = sorted(set(names) - ids - {"__version__"})
        assert not missing, f"{module_name}: no entry on reference/{page}.md for {missing}"


def _slug(heading):
    """The anchor mkdocs' toc extension gives a heading."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower().replace("`", ""))
    return re.sub(r"[-\s]+", "-", text).strip("-")


def test_every_link_of_the_readme_reaches_a_file_and_heading():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(((?!https?:)[^)#\s]+)(?:#([^)\s]+))?\)", readme)
    assert len(links) > 20
    for target, anchor in links:
        path = ROOT / target
        assert path.exists(), target
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(), re.M)
            assert anchor in {_slug(h) for h in headings}, (target, anchor)


def test_every_example_the_docs_name_exists():
    examples = {path.name for path in (ROOT / "examples").glob("*.py")}
    for page in PAGES:
        for name in re.findall(r"examples/([a-z0-9_]+\.py)", page.read_text()):
            assert name in examples, f"{_rel(page)} names examples/{name}"
    table = (ROOT / "docs" / "examples.md").read_text()
    for name in re.findall(r"`([a-z0-9_]+\.py)`", table):
        assert name in examples, f"docs/examples.md names {name}"


def test_the_readme_is_a_front_door():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


# -- the command lines ----------------------------------------------------------------

def _command_lines():
    """Every ``keras-wgan ...`` (or ``python -m keras_wgan ...``) line of a shell block,
    continuation lines joined, as (page:line, argv after the program)."""
    found = []
    for page in PAGES:
        for line_no, _, code in _blocks(page, {"bash", "sh", "shell", "console"}):
            for offset, line in enumerate(code.replace("\\\n", " ").split("\n")):
                words = shlex.split(line, comments=True)
                for i, word in enumerate(words):
                    if word == "keras-wgan":
                        found.append((f"{_rel(page)}:{line_no + 1 + offset}", words[i + 1:]))
                        break
                    if word == "-m" and words[i + 1:i + 2] == ["keras_wgan"]:
                        found.append((f"{_rel(page)}:{line_no + 1 + offset}", words[i + 2:]))
                        break
        # In the text: `keras-wgan COMMAND ARG...` spans (a bare `keras-wgan generate` names
        # a command, it is not a line), with N standing for a number; "..." marks a pattern.
        text = page.read_text()
        for span in re.finditer(r"`keras-wgan ([^`]+)`", text):
            words = shlex.split(span[1])
            if len(words) >= 2 and "..." not in words and "COMMAND" not in words:
                found.append((f"{_rel(page)}:{text[:span.start()].count(chr(10)) + 1}",
                              ["1" if word == "N" else word for word in words]))
    return found


def test_every_command_line_shown_parses_against_the_real_parser():
    from keras_wgan.cli import build_parser

    lines = _command_lines()
    assert len(lines) > 40
    commands = set()
    for where, argv in lines:
        errors = io.StringIO()
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            try:
                args = build_parser().parse_args(argv)
            except SystemExit as stop:
                if argv[-1:] == ["--help"] and stop.code == 0:
                    continue
                pytest.fail(f"{where}: keras-wgan {shlex.join(argv)}\n{errors.getvalue()}")
        commands.add(args.command)
    assert {"train", "sample", "generate", "interpolate", "timelapse", "evaluate",
            "nearest", "demo"} <= commands


# -- the Python blocks ----------------------------------------------------------------

def _python_pages():
    """The pages with a Python block to run (not only blocks marked to skip)."""
    return [page for page in PAGES if any(not mark for _, mark, _ in _blocks(page, {"python"}))]


def test_every_block_left_out_says_why_here_and_on_its_page():
    marked = 0
    for page in PAGES:
        text = page.read_text()
        for line, mark, _ in _blocks(page, {"python", "bash"}):
            if mark:
                marked += 1
                assert re.fullmatch(r"skip \(.+\)", mark), f"{_rel(page)}:{line}: {mark}"
                before = "\n".join(text.splitlines()[max(0, line - 8):line - 1])
                assert "docs test" in before, f"{_rel(page)}:{line}: the page must say so"
    assert marked >= 2


@pytest.fixture(scope="module", autouse=True)
def eager_steps():
    """tf.function bodies run eagerly here: tracing costs more than the pages' few tiny
    steps (1.5 against 2.2 CPU s for three); graph mode is what the other tests check."""
    import keras

    if keras.backend.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """The folder the pages' blocks run in: the runs and pictures they name."""
    import keras

    from keras_wgan import WGANGP
    from keras_wgan.architectures import build_critic, build_generator
    from keras_wgan.callbacks import SampleGrid

    folder = tmp_path_factory.mktemp("docs")
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, 32, 32, 1)).astype("float32")
    gan = WGANGP(build_generator(latent_dim=8, dim=TINY_DIM),
                 build_critic(dim=TINY_DIM), latent_dim=8, n_critic=2, seed=0)
    gan.compile()
    gan.fit(images, batch_size=4, epochs=2, verbose=0,
            callbacks=[SampleGrid(str(folder / "runs/x/samples"))])  # the pages' grid size
    gan.save(str(folder / "runs/x/model.keras"))
    conditional = WGANGP(
        build_generator(latent_dim=8, dim=TINY_DIM, num_classes=10),
        build_critic(dim=TINY_DIM, num_classes=10), latent_dim=8, n_critic=2, seed=0)
    conditional.compile()
    conditional.fit(images, np.arange(8) % 10, batch_size=4, epochs=1, verbose=0)
    (folder / "runs/cond").mkdir()
    conditional.save(str(folder / "runs/cond/model.keras"))
    (folder / "pictures").mkdir()
    for i in range(8):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(
            folder / "pictures" / f"{i}.png")
    return folder, keras.models.load_model(str(folder / "runs/x/model.keras"))


def _tiny(build):
    """``build`` at ``dim=TINY_DIM``, however the page passed dim (keyword or position)."""
    signature = inspect.signature(build)

    def tiny(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.arguments["dim"] = TINY_DIM
        return build(*bound.args, **bound.kwargs)
    return tiny


def _tiny_dataset(load_dataset):
    def tiny(source, image_size=32, batch_size=64, *args, labels=False, **kwargs):
        channels = kwargs.pop("channels", None) or 1
        kwargs.pop("data_dir", None)
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (16, 28, 28, channels), dtype=np.uint8)
        if labels is True:
            labels = np.arange(16) % 10
        return load_dataset(images, image_size, min(batch_size, 4), *args, labels=labels,
                            **kwargs)
    return tiny


def _tiny_cli(main):
    def tiny(argv=None):
        argv = list(argv)
        if argv[:1] == ["train"]:
            for flag, value in TINY_TRAIN.items():
                if flag not in argv:
                    argv += [flag, value]
        return main(argv)
    return tiny


@pytest.mark.parametrize("page", _python_pages(), ids=_rel)
def test_every_python_block_of_the_page_runs(page, scratch, monkeypatch):
    from keras_wgan import architectures, cli, data

    folder, trained = scratch
    monkeypatch.chdir(folder)
    for name in ("build_generator", "build_critic", "build_resnet_generator",
                 "build_resnet_critic", "build_mlp_generator", "build_mlp_critic"):
        monkeypatch.setattr(architectures, name, _tiny(getattr(architectures, name)))
    monkeypatch.setattr(data, "load_dataset", _tiny_dataset(data.load_dataset))
    monkeypatch.setattr(cli, "main", _tiny_cli(cli.main))
    families = set(architectures.names())
    namespace = {"__name__": "__docs__", "gan": trained}
    ran = 0
    try:
        for line, mark, code in _blocks(page, {"python"}):
            if mark:  # checked by test_every_block_left_out_says_why_here_and_on_its_page
                continue
            for pattern, small in SHRINK:
                code = pattern.sub(small, code)
            try:
                exec(compile(code, f"{_rel(page)}:{line}", "exec"), namespace)
            except Exception as error:
                raise AssertionError(f"the block at {_rel(page)}:{line} failed") from error
            ran += 1
    finally:
        for name in set(architectures.names()) - families:  # a page's own family
            architectures.unregister(name)
    assert ran


def test_a_new_process_needs_import_keras_wgan_before_load_model(scratch):
    """The warning of Getting started, README and Saving: without the package's
    registration Keras cannot load the file, even with the module already imported."""
    import keras

    folder, _ = scratch
    registered = keras.saving.get_custom_objects()
    ours = {key: value for key, value in registered.items() if key.startswith("keras_wgan>")}
    for key in ours:
        del registered[key]
    try:
        with pytest.raises(TypeError, match="Could not locate class 'WGANGP'"):
            keras.models.load_model(str(folder / "runs/x/model.keras"))
    finally:
        registered.update(ours)
    assert type(keras.models.load_model(str(folder / "runs/x/model.keras"))).__name__ == "WGANGP"
