"""keras_wgan.checks: what each helper accepts, what it returns, and the exact refusal text."""

import os
import pathlib
import re

import numpy as np
import pytest

from keras_wgan import checks


def refused(call, message):
    """Assert ``call()`` raises ValueError with exactly ``message``."""
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message
    return info.value


def test_is_int_takes_python_and_numpy_integers_but_not_bools_or_floats():
    for value in (0, -3, 7, np.int8(2), np.int64(-1), np.uint16(9)):
        assert checks.is_int(value), value
    for value in (True, False, np.bool_(True), 1.0, np.float32(2), "3", None, [1]):
        assert not checks.is_int(value), value


def test_check_positive_int_returns_python_ints():
    for value in (1, 5, np.int32(5), np.uint8(200), np.int64(2**40)):
        got = checks.check_positive_int("steps", value)
        assert type(got) is int and got == int(value)
    assert checks.check_positive_int("limit", None, allow_none=True) is None


@pytest.mark.parametrize("value", [0, -1, np.int64(0), 2.0, 2.5, True, np.bool_(True), "3", None])
def test_check_positive_int_refusals_name_the_argument(value):
    refused(lambda: checks.check_positive_int("batch_size", value),
            f"`batch_size` must be a positive integer, got {value!r}.")


def test_allow_none_and_hint_are_in_the_message():
    refused(lambda: checks.check_positive_int("limit", -2, allow_none=True),
            "`limit` must be a positive integer or None, got -2.")
    refused(lambda: checks.check_positive_int("n", 0, hint="Ask for at least one sample."),
            "`n` must be a positive integer, got 0. Ask for at least one sample.")


def test_check_non_negative_int():
    assert checks.check_non_negative_int("seed", 0) == 0
    assert type(checks.check_non_negative_int("seed", np.int16(4))) is int
    assert checks.check_non_negative_int("seed", None, allow_none=True) is None
    for value in (-1, 1.0, False):
        refused(lambda: checks.check_non_negative_int("seed", value),
                f"`seed` must be a non-negative integer, got {value!r}.")
    refused(lambda: checks.check_non_negative_int("seed", None),
            "`seed` must be a non-negative integer, got None.")


def test_check_int_in_range_and_open_ends():
    assert [checks.check_int_in_range("k", v, 2, 4) for v in (2, 3, np.int8(4))] == [2, 3, 4]
    for value in (1, 5, 3.0):
        refused(lambda: checks.check_int_in_range("k", value, 2, 4),
                f"`k` must be an integer in [2, 4], got {value!r}.")
    assert checks.check_int("num_classes", None, minimum=2, allow_none=True) is None
    refused(lambda: checks.check_int("num_classes", 1, minimum=2, allow_none=True),
            "`num_classes` must be an integer >= 2 or None, got 1.")
    refused(lambda: checks.check_int("offset", 9, maximum=8),
            "`offset` must be an integer <= 8, got 9.")
    assert checks.check_int("offset", -100) == -100
    refused(lambda: checks.check_int("offset", "x"), "`offset` must be an integer, got 'x'.")


def test_numbers():
    for value, expected in ((1, 1.0), (0.5, 0.5), (np.float32(0.25), 0.25), (np.int64(3), 3.0)):
        got = checks.check_positive_number("clip_value", value)
        assert type(got) is float and got == expected
    assert checks.check_non_negative_number("gp_weight", 0) == 0.0
    assert type(checks.check_non_negative_number("gp_weight", np.float64(10))) is float
    for value in (0, 0.0, -1e-9, float("nan"), True, "1", None):
        refused(lambda: checks.check_positive_number("clip_value", value),
                f"`clip_value` must be a number > 0, got {value!r}.")
    for value in (-0.5, float("nan"), False, [1.0]):
        refused(lambda: checks.check_non_negative_number("gp_weight", value),
                f"`gp_weight` must be a number >= 0, got {value!r}.")


def test_check_bool():
    assert checks.check_bool("shuffle", True) is True
    assert checks.check_bool("shuffle", np.bool_(False)) is False
    for value in (1, 0, "yes", None):
        refused(lambda: checks.check_bool("shuffle", value),
                f"`shuffle` must be True or False, got {value!r}.")


def test_check_choice_compares_kinds_as_well_as_values():
    assert checks.check_choice("on_error", "skip", ("raise", "skip")) == "skip"
    assert checks.check_choice("on_error", np.str_("raise"), ("raise", "skip")) == "raise"
    assert checks.check_choice("normalization", None, (None, "batch")) is None
    assert checks.check_choice("channels", np.int64(3), (1, 3, 4)) == 3
    for value in ("ignore", True, 3.0, np.zeros(2)):
        refused(lambda: checks.check_choice("channels", value, (1, 3, 4)),
                f"`channels` must be one of [1, 3, 4], got {value!r}.")
    refused(lambda: checks.check_choice("name", "moons", ("8gaussians", "swissroll"),
                                        hint="See keras_wgan.toy.TOY_DATASETS."),
            "`name` must be one of ['8gaussians', 'swissroll'], got 'moons'. "
            "See keras_wgan.toy.TOY_DATASETS.")


def test_check_non_empty_str_and_path():
    assert checks.check_non_empty_str("split", "train") == "train"
    for value in ("", None, 3):
        refused(lambda: checks.check_non_empty_str("split", value),
                f"`split` must be a non-empty string, got {value!r}.")
    assert checks.check_path("data_dir", pathlib.Path("a") / "b") == os.path.join("a", "b")
    assert checks.check_path("data_dir", None, allow_none=True) is None
    refused(lambda: checks.check_path("data_dir", 3, allow_none=True),
            "`data_dir` must be a path or None, got 3.")
    refused(lambda: checks.check_path("out", None), "`out` must be a path, got None.")


def test_the_package_speaks_in_this_style():
    """The callers use these helpers: their errors are the same sentences."""
    from keras_wgan.architectures import build_mlp_critic
    from keras_wgan.data import load_dataset
    from keras_wgan.toy import sample_toy

    images = np.zeros((4, 4, 4), np.uint8)
    cases = [
        (lambda: load_dataset(images, batch_size=np.float32(2)),
         f"`batch_size` must be a positive integer, got {np.float32(2)!r}."),
        (lambda: load_dataset(images, on_error="ignore"),
         "`on_error` must be one of ['raise', 'skip'], got 'ignore'."),
        (lambda: build_mlp_critic(2, depth=True), "`depth` must be a positive integer, got True."),
        (lambda: sample_toy("8gaussians", -5), "`n` must be a positive integer, got -5."),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=re.escape(message)):
            call()


def test_command_line_types_speak_the_same_sentences_without_the_name():
    import argparse

    parser = argparse.ArgumentParser(prog="p", exit_on_error=False)
    parser.add_argument("--epochs", type=checks.command_line_type(checks.check_positive_int))
    parser.add_argument("--rate", type=checks.command_line_type(checks.check_positive_number,
                                                                parse=float))
    args = parser.parse_args(["--epochs", "3", "--rate", "0.5"])
    assert (args.epochs, args.rate) == (3, 0.5) and type(args.epochs) is int
    for argv, message in [
        (["--epochs", "0"], "argument --epochs: must be a positive integer, got 0."),
        (["--epochs", "two"], "argument --epochs: must be a positive integer, got 'two'."),
        (["--rate", "-1"], "argument --rate: must be a number > 0, got -1.0."),
    ]:
        with pytest.raises(argparse.ArgumentError) as error:
            parser.parse_args(argv)
        assert str(error.value) == message
    refused(lambda: checks.refuse("size", "a multiple of 8", 12, hint="(see the docs)"),
            "`size` must be a multiple of 8, got 12. (see the docs)")


def test_check_directory_accepts_a_folder_or_a_new_path_only(tmp_path):
    assert checks.check_directory("out", tmp_path) == str(tmp_path)
    assert checks.check_directory("out", tmp_path / "new") == str(tmp_path / "new")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError) as info:
        checks.check_directory("out", tmp_path / "file")
    assert str(info.value) == f"`out` {str(tmp_path / 'file')!r} exists and is not a directory."
    refused(lambda: checks.check_directory("out", 3), "`out` must be a path, got 3.")
