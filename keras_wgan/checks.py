"""Argument checks: one helper per kind of value, one message style for every refusal.

Every error reads "`<name>` must be <expected>, got <value!r>." (plus a hint where one
helps), with the argument named as the caller wrote it, so an error says what to fix.
Integers may be Python or numpy integers and come back as a Python ``int`` (configs stay
JSON-serialisable); ``bool`` is refused although it is an ``int`` subclass, because
``batch_size=True`` is always a mistake. Numbers come back as a Python ``float``.
"""

import os

import numpy as np

__all__ = [
    "check_bool",
    "check_choice",
    "check_directory",
    "check_image_shape",
    "check_int",
    "check_int_in_range",
    "check_non_empty_str",
    "check_non_negative_int",
    "check_non_negative_number",
    "check_path",
    "check_positive_int",
    "check_positive_number",
    "command_line_type",
    "is_int",
    "refuse",
]


def is_int(value):
    """Whether ``value`` is a Python or numpy integer (``bool`` is not)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value):
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
    )


def refuse(name, expected, value, hint=None):
    """Raise the ValueError of this module's style, for checks of one caller's own."""
    message = f"must be {expected}, got {value!r}."
    if name is not None:  # None: the caller names the value (argparse names the flag)
        message = f"`{name}` {message}"
    raise ValueError(f"{message} {hint}" if hint else message)


def _int_expectation(minimum, maximum):
    if maximum is None:
        if minimum is None:
            return "an integer"
        if minimum == 1:
            return "a positive integer"
        if minimum == 0:
            return "a non-negative integer"
        return f"an integer >= {minimum}"
    if minimum is None:
        return f"an integer <= {maximum}"
    return f"an integer in [{minimum}, {maximum}]"


def check_int(name, value, minimum=None, maximum=None, allow_none=False, hint=None):
    """``value`` as an ``int`` within ``[minimum, maximum]`` (None: that side is open)."""
    if value is None and allow_none:
        return None
    if (
        not is_int(value)
        or (minimum is not None and value < minimum)
        or (maximum is not None and value > maximum)
    ):
        expected = _int_expectation(minimum, maximum) + (" or None" if allow_none else "")
        refuse(name, expected, value, hint)
    return int(value)


def check_positive_int(name, value, allow_none=False, hint=None):
    """``value`` as an ``int`` >= 1 (None passes through when ``allow_none``)."""
    return check_int(name, value, minimum=1, allow_none=allow_none, hint=hint)


def check_non_negative_int(name, value, allow_none=False, hint=None):
    """``value`` as an ``int`` >= 0 (None passes through when ``allow_none``)."""
    return check_int(name, value, minimum=0, allow_none=allow_none, hint=hint)


def check_int_in_range(name, value, low, high, allow_none=False, hint=None):
    """``value`` as an ``int`` with ``low <= value <= high``."""
    return check_int(name, value, minimum=low, maximum=high, allow_none=allow_none, hint=hint)


def check_positive_number(name, value, hint=None):
    """``value`` (int or float, not bool, not NaN) as a ``float`` > 0."""
    if not _is_number(value) or not value > 0:
        refuse(name, "a number > 0", value, hint)
    return float(value)


def check_non_negative_number(name, value, hint=None):
    """``value`` (int or float, not bool, not NaN) as a ``float`` >= 0."""
    if not _is_number(value) or not value >= 0:
        refuse(name, "a number >= 0", value, hint)
    return float(value)


def check_bool(name, value):
    """``value`` as a ``bool``; only True and False (numpy's too) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        refuse(name, "True or False", value)
    return bool(value)


def _same(value, choice):
    if value is choice:
        return True
    if isinstance(value, (bool, np.bool_)) != isinstance(choice, (bool, np.bool_)):
        return False  # True == 1, but `channels=True` is not `channels=1`
    if is_int(value) and is_int(choice):
        return value == choice  # numpy and Python integers alike
    # Same kind only: 3.0 is not the choice 3, but numpy's str is a str.
    if not (isinstance(value, type(choice)) or isinstance(choice, type(value))):
        return False
    return bool(value == choice)


def check_choice(name, value, choices, hint=None):
    """``value`` when it is one of ``choices`` (compared by kind, then by ``==``)."""
    try:
        found = any(_same(value, choice) for choice in choices)
    except (TypeError, ValueError):  # e.g. an array, whose == gives no single answer
        found = False
    if not found:
        refuse(name, f"one of {list(choices)}", value, hint)
    return value


def check_image_shape(name, value, hint=None):
    """``value`` as a ``(height, width, channels)`` tuple of Python ints, each >= 1."""
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 3
        or not all(is_int(d) and d > 0 for d in value)
    ):
        refuse(name, "(height, width, channels) with positive integers", value, hint)
    return tuple(int(d) for d in value)


def check_non_empty_str(name, value, hint=None):
    """``value`` when it is a string with at least one character."""
    if not isinstance(value, str) or not value:
        refuse(name, "a non-empty string", value, hint)
    return value


def check_path(name, value, allow_none=False, hint=None):
    """``value`` as a ``str`` path (``str`` or ``os.PathLike``; None when ``allow_none``)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, (str, os.PathLike)):
        refuse(name, "a path or None" if allow_none else "a path", value, hint)
    return os.fspath(value)


def command_line_type(check, parse=int, **check_kwargs):
    """An ``argparse`` ``type`` made of a check: ``parse`` the text, then ``check`` it.

    argparse names the flag (``argument --epochs: must be a positive integer, got 0.``),
    so command-line errors read as the library's own.
    """
    import argparse

    def convert(text):
        try:
            value = parse(text)
        except ValueError:
            value = text  # refused by the check, shown as typed
        try:
            return check(None, value, **check_kwargs)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = check.__name__.replace("check_", "")  # argparse's "invalid <name> value"
    return convert


def check_directory(name, value):
    """``value`` as a ``str`` path that is a directory or does not exist yet (to be created)."""
    path = check_path(name, value)
    if os.path.exists(path) and not os.path.isdir(path):
        raise NotADirectoryError(f"`{name}` {path!r} exists and is not a directory.")
    return path
