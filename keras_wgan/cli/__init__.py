"""The ``keras-wgan`` command line: ``train``, ``sample``, ``evaluate`` and ``demo``.

It only wires the library together (``data.load_dataset`` -> ``architectures`` ->
``WGAN``/``WGANGP`` ``compile``/``fit`` with the ``callbacks``); it holds no training
logic. Keras and TensorFlow are imported inside the subcommand functions only (the
package's ``__init__`` does not import them either), so ``--help``, ``--version`` and
argument errors answer at once, without any framework's start-up lines; the commands
import TensorFlow through :mod:`keras_wgan.cli.startup`, which keeps its start-up lines
off the terminal.

Each subcommand is one module (``train``, ``sample``, ``evaluate``, ``demo``) whose
``add_parser(subparsers)`` registers its flags and sets ``func`` to its ``run_<name>(args)``;
:data:`SUBCOMMANDS` lists the adders and ``common`` holds what they share. ``run_*`` functions return an exit code and raise :class:`CliError` for a
user mistake, which :func:`main` turns into a one-line message and exit code 2.

Backends: every subcommand runs on the Keras backend named by ``KERAS_BACKEND``
(tensorflow, jax or torch; Keras' default otherwise) or by ``--backend``, which runs the
command again in a child process with ``KERAS_BACKEND`` set (Keras fixes its backend
when it is first imported). ``config.json`` records the backend of the latest run; a
run saved on one backend can be continued (``--resume``) or sampled on another.
"""

import argparse
import os
import signal
import sys

from keras_wgan.cli import demo, evaluate, sample, train
from keras_wgan.cli.common import PROG, CliError, default_backend
from keras_wgan.cli.startup import quiet_framework_startup

BACKENDS = ("tensorflow", "jax", "torch")


SUBCOMMANDS = [train.add_parser, sample.add_parser, evaluate.add_parser, demo.add_parser]


def build_parser():
    from keras_wgan import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Wasserstein GANs (weight clipping and gradient penalty) with Keras 3.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_backend_flag(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    for subparser in subparsers.choices.values():  # also after the subcommand
        _add_backend_flag(subparser)
    return parser


def _add_backend_flag(parser):
    parser.add_argument(
        "--backend", choices=BACKENDS, default=argparse.SUPPRESS,
        help="Keras backend to run on; default: KERAS_BACKEND, else Keras' default",
    )


def _run_on_backend(backend, argv):
    """Run this command line again in a child process whose Keras uses ``backend``."""
    import subprocess

    argv = list(sys.argv[1:] if argv is None else argv)
    env = {**os.environ, "KERAS_BACKEND": backend}
    child = subprocess.Popen([sys.executable, "-m", "keras_wgan", *argv], env=env)
    # A SIGTERM to this process reaches the child too, which saves and exits (Ctrl-C
    # reaches both already: the terminal signals the whole process group).
    signal.signal(signal.SIGTERM, lambda number, frame: child.send_signal(number))
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:  # the child got the same Ctrl-C: let it save and exit
            continue


def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 2 usage error, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: --help/--version (0) or a usage error (2)
        return exit_.code if isinstance(exit_.code, int) else 2
    backend = getattr(args, "backend", None)
    if backend is not None and backend != (os.environ.get("KERAS_BACKEND") or default_backend()):
        return _run_on_backend(backend, argv)
    quiet_framework_startup()
    try:
        return args.func(args)
    except CliError as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return 2
