"""What every subcommand shares: the user-error type, argument types, files, loading a model."""

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
