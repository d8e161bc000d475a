"""What every subcommand shares: the user-error type, argument types and shared flags.

Also files, loading a model and checking its path, and a conditional model's class
lookup."""

import json
import os

from keras_wgan import checks, files

PROG = "keras-wgan"
MODELS = ("wgan", "wgan-gp")


class CliError(Exception):
    """A user error: reported as one line on stderr with exit code 2, no traceback."""


positive_int = checks.command_line_type(checks.check_positive_int)


non_negative_int = checks.command_line_type(checks.check_non_negative_int)


def default_backend():
    """The backend a command run without ``--backend`` or ``KERAS_BACKEND`` gets:
    Keras' config file's choice, else TensorFlow (Keras' own default)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as f:
            return str(json.load(f).get("backend", "tensorflow"))
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read {path}: {error}") from None


def load_gan(model_path, compile=True):
    import zipfile

    import keras

    from keras_wgan import WassersteinGAN

    if not zipfile.is_zipfile(model_path):
        raise CliError(
            f"{model_path!r} is not a valid .keras file (truncated or corrupt?): it is not "
            "a zip archive."
        )
    try:
        model = keras.models.load_model(model_path, compile=compile)
    except Exception as error:  # noqa: BLE001 - any load failure is a bad model file
        lines = str(error).strip().splitlines()
        reason = lines[0] if lines else type(error).__name__
        raise CliError(f"cannot load the model {model_path!r}: {reason}") from None
    if not isinstance(model, WassersteinGAN):
        raise CliError(
            f"{model_path!r} holds a {type(model).__name__}, not a keras_wgan WGAN/WGANGP."
        )
    return model


def write_json(path, obj):
    _as_cli_error(files.write_json, path, obj)


def write_text(path, text):
    _as_cli_error(files.write_text, path, text)


def _as_cli_error(write, path, content):
    """A file the user asked for that cannot be written is their mistake: one line."""
    try:
        write(path, content)
    except OSError as error:
        raise CliError(f"cannot write {path}: {error.strerror or error}.") from None


def flag(setting):
    """The command-line flag of a setting: ``batch_size`` -> ``--batch-size``."""
    return "--" + setting.replace("_", "-")


# ---------------------------------------------------------------- shared flags


def add_label_flag(parser, what):
    """``--label``: a conditional model's class, by index or name; ``what`` ends the help."""
    parser.add_argument("--label", default=None, help=f"conditional models: {what}")


def add_truncation_flag(parser, help=None):
    """``--truncation T``, the truncation trick, with the same help wherever it is."""
    parser.add_argument(
        "--truncation", type=truncation_flag, default=None, metavar="T",
        help=help or ("truncation trick: noise components beyond T drawn again (below 1: "
                      "more typical, less varied images); default off"))


def add_seeds_flag(parser, help):
    """``--seeds``: ranges and lists of noise seeds (see :func:`seeds_flag`)."""
    parser.add_argument("--seeds", type=seeds_flag, default=None, metavar="SEEDS", help=help)


def seeds_flag(text):
    """``--seeds``: ranges and lists, e.g. ``0-9999`` or ``3,17,42``."""
    import argparse

    from keras_wgan.generation import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def truncation_flag(text):
    """``--truncation T``: a number of at least ``generation.MIN_TRUNCATION``."""
    import argparse

    from keras_wgan.generation import MIN_TRUNCATION, check_truncation

    try:
        return check_truncation(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number of at least {MIN_TRUNCATION}, e.g. 0.7 (components of the "
            f"noise beyond it are drawn again until they fall within it), got {text!r}"
        ) from None


# ------------------------------------------------------------------ models


def check_model_path(path):
    """Refuse a model path that is missing or not a file, in one line."""
    if not os.path.exists(path):
        raise CliError(f"model file {path!r} does not exist.")
    if not os.path.isfile(path):
        raise CliError(f"{path!r} is not a file (expected a .keras model file).")


def class_of(gan, label, model_path, example):
    """The class index of ``label`` (an index or a name) in a conditional ``gan``; the
    refusal lists its classes and ends with ``example``, a command whose ``{label}`` is
    filled with a class that works."""
    from keras_wgan.conditioning import class_index

    names = gan.class_names or [str(k) for k in range(gan.num_classes)]
    try:
        return class_index(label, gan.class_names, gan.num_classes)
    except ValueError:
        classes = ", ".join(f"{i} {name!r}" for i, name in enumerate(names))
        raise CliError(
            f"--label {label} is not a class of {model_path!r}, whose classes are "
            f"{classes}; pass a name or an index, e.g. "
            f"{example.format(label=_as_argument(names[-1]))}"
        ) from None


def _as_argument(name):
    """A class name as a shell word (quoted when it has spaces or shell characters)."""
    import shlex

    return shlex.quote(name)
