"""The ``keras-wgan`` command line: eight commands, one module each.

Its commands: ``train``, ``sample``, ``generate``, ``interpolate``, ``timelapse``,
``evaluate``, ``nearest`` and ``demo``.

It only wires the library together (``data.load_dataset`` -> ``architectures`` ->
``WGAN``/``WGANGP`` ``compile``/``fit`` with the ``callbacks``); it holds no training
logic. Keras and TensorFlow are imported inside the subcommand functions only (the
package's ``__init__`` does not import them either), so ``--help``, ``--version`` and
argument errors answer at once, without any framework's start-up lines; the commands
import TensorFlow through :mod:`keras_wgan.cli.startup`, which keeps its start-up lines
off the terminal.

Each subcommand is one module (``train``, ``sample``, ``generate``, ``interpolate``,
``timelapse``, ``evaluate``, ``nearest``, ``demo``) whose ``add_parser(subparsers)``
registers its flags and sets ``func`` to its ``run_<name>(args)``; :data:`SUBCOMMANDS`
lists the adders, ``common`` holds what they share (the error type, shared flags,
loading a model) and ``startup`` keeps TensorFlow's start-up lines off the terminal.
``train`` is the command line of a run whose machinery lives in the ``training``
package beside it (the run directory, the choices, the loop, the process team).
``run_*`` functions return an exit code and raise :class:`CliError` for a user
mistake, which :func:`main` turns into a one-line message and exit code 2.

Backends: every subcommand runs on the Keras backend named by ``KERAS_BACKEND``
(tensorflow, jax or torch; Keras' default otherwise) or by ``--backend``. Keras fixes its
backend when it is first imported, and the command line imports it only after parsing,
so ``--backend`` just sets ``KERAS_BACKEND`` in this process: the process the user
started is the one that trains, and every signal sent to its PID reaches the training
(see :func:`take_backend` for the two cases where Keras was loaded already).
``config.json`` records the backend of the latest run; a run saved on one backend can be
continued (``--resume``) or sampled on another.
"""

import argparse
import os
import signal
import sys

from keras_wgan.cli import (
    demo,
    evaluate,
    generate,
    interpolate,
    nearest,
    sample,
    timelapse,
    train,
)
from keras_wgan.cli.common import PROG, CliError, default_backend
from keras_wgan.cli.startup import quiet_framework_startup

BACKENDS = ("tensorflow", "jax", "torch")


SUBCOMMANDS = [train.add_parser, sample.add_parser, generate.add_parser,
               interpolate.add_parser, timelapse.add_parser, evaluate.add_parser,
               nearest.add_parser, demo.add_parser]


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


def current_backend():
    """The backend this process runs on: Keras' own, once it is loaded."""
    keras = sys.modules.get("keras")
    if keras is not None and hasattr(keras, "backend"):
        return keras.backend.backend()
    return os.environ.get("KERAS_BACKEND") or default_backend()


def take_backend(backend, argv=None):
    """Make this command run on ``backend``; returns an exit code when a child ran it.

    - Keras not loaded yet (the ``keras-wgan`` program, ``python -m keras_wgan``): set
      ``KERAS_BACKEND`` here and go on, in this very process.
    - Keras loaded and this is the program itself (``argv`` None: something imported
      Keras at start-up): replace the process image (``execve``), keeping the PID.
    - Keras loaded and ``main([...])`` called from Python: the caller's process cannot be
      replaced, so a child runs the command, bound to this process's life: the kernel
      kills it when this process dies (``PR_SET_PDEATHSIG``), and SIGTERM / SIGHUP are
      passed on to it (Ctrl-C reaches both from the terminal).
    """
    env = {**os.environ, "KERAS_BACKEND": backend}
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = backend
        return None
    command = [sys.executable, "-m", "keras_wgan",
               *(sys.argv[1:] if argv is None else argv)]
    if argv is None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, command, env)
    return _run_bound_child(command, env)


def _run_bound_child(command, env):
    import subprocess

    child = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent(os.getpid()))
    forwarded = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                 if hasattr(signal, name)]
    previous = {number: signal.getsignal(number) for number in forwarded}
    for number in forwarded:  # the child saves after its current step and exits
        signal.signal(number, lambda number, frame: child.send_signal(number))
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:  # the child got the same Ctrl-C: let it save and exit
                continue
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _die_with_parent(parent):
    """A ``preexec_fn``: the child gets SIGKILL when ``parent`` dies (Linux), and ends at
    once if the parent died before that was set. Elsewhere: nothing (no such call)."""
    def bind():
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:
            os._exit(1)
    return bind if sys.platform.startswith("linux") else None


def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 2 usage error, 130 interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse: --help/--version (0) or a usage error (2)
        return exit_.code if isinstance(exit_.code, int) else 2
    backend = getattr(args, "backend", None)
    if backend is not None and backend != current_backend():
        code = take_backend(backend, argv)
        if code is not None:  # a child ran the command (see take_backend)
            return code
    quiet_framework_startup()
    try:
        return args.func(args)
    except CliError as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return 2
