"""The distribution ships every subpackage of keras_wgan (wheels, not only editable installs)."""

import pathlib
import tomllib

import setuptools

ROOT = pathlib.Path(__file__).resolve().parent.parent


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
