"""Start Python programs as forks of one process that has already imported the frameworks.

Used through tests/testing/forked.py. Starting ``python -m keras_wgan ...`` costs 4 to 9
CPU s before the program's first line (TensorFlow's import alone is 4.2 to 4.6 CPU s on 2
cores); a test that starts ten runs pays it ten times. This server, started once per
backend and pytest process, imports Keras, TensorFlow and keras_wgan, then forks one
child per request. Each child is a process of its own with its own PID, working folder,
environment, argv and output file, runs the program as ``python -m MODULE`` or ``python
SCRIPT`` would (``__name__ == "__main__"``, ``sys.argv``, ``sys.path[0]``), and ends as
such a process ends: atexit handlers and threads are joined, an uncaught exception exits
with status 1, an uncaught KeyboardInterrupt dies of SIGINT.

Before a fork no framework runtime has started (importing starts none: the server checks
that JAX has no backend). Only what a process fixes at import must agree between server
and child: ``KERAS_BACKEND`` and the ``JAX_*`` settings; a child asking for others is
refused. Tests about fresh interpreters (import order, ``--backend``, a file loading
without keras_wgan imported, process lifetimes) start real processes instead.

Protocol: one JSON object per line. In: ``{"argv": [...], "cwd": DIR, "env": {...},
"log": FILE, "module": NAME}`` or ``"script": PATH`` instead of module. Out: ``{"pid":
N}`` or ``{"error": TEXT}`` for each request, and ``{"ended": N, "returncode": R}`` (as
``subprocess`` reports it: ``-9`` for SIGKILL) when a child ends.
"""

import json
import os
import runpy
import select
import signal
import sys
import traceback

# Fixed when the frameworks are imported, so a child cannot change them.
IMPORT_TIME = ("KERAS_BACKEND",)
IMPORT_TIME_PREFIXES = ("JAX_",)


def fixed_at_import(env):
    return {k: v for k, v in env.items()
            if k in IMPORT_TIME or k.startswith(IMPORT_TIME_PREFIXES)}


def import_frameworks():
    from graph_settings import apply_test_graph_settings, set_test_environment

    set_test_environment()
    import keras
    import tensorflow  # noqa: F401 - the data pipelines' framework on every backend

    import keras_wgan  # noqa: F401
    import keras_wgan.cli  # noqa: F401
    import keras_wgan.data  # noqa: F401

    apply_test_graph_settings()
    if keras.backend.backend() == "jax":
        from jax._src import xla_bridge

        assert not xla_bridge._backends, "a JAX backend started before the fork"
    if keras.backend.backend() == "torch":
        import torch  # noqa: F401


def run_child(request):
    """The forked child: run the program; its exit status (SystemExit ends the process)."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(devnull)
    os.close(log)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    signal.signal(signal.SIGINT, signal.default_int_handler)
    target = request.get("script")
    sys.argv = [target or request["module"], *request["argv"]]
    sys.path[0] = os.path.dirname(os.path.abspath(target)) if target else os.getcwd()
    try:
        if target:
            runpy.run_path(target, run_name="__main__")
        else:
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as stop:
        code = stop.code
    except KeyboardInterrupt:
        traceback.print_exc()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        code = 130
    except BaseException:  # noqa: BLE001 - as Python reports an uncaught exception
        traceback.print_exc()
        code = 1
    raise SystemExit(code)


def reap(children):
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        say({"ended": pid, "returncode": os.waitstatus_to_exitcode(status)})


def say(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def requests():
    """The request lines on stdin, None while none has come for 50 ms (unbuffered: a line
    read ahead into a buffer would wait there unseen by select)."""
    pending = b""
    while True:
        if b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            yield json.loads(line)
        elif select.select([0], [], [], 0.05)[0]:
            chunk = os.read(0, 65536)
            if not chunk:
                return
            pending += chunk
        else:
            yield None


def serve():
    """Answer requests until stdin closes; in a child, return its exit status."""
    mine = fixed_at_import(os.environ)
    children = set()
    for request in requests():
        reap(children)
        if request is None:
            continue
        theirs = fixed_at_import(request["env"])
        if theirs != mine:
            say({"error": f"the child's import-time settings {theirs} differ from the "
                          f"server's {mine}: start a real process for it"})
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            return run_child(request)
        children.add(pid)
        say({"pid": pid})
    return 0


if __name__ == "__main__":
    import_frameworks()
    say({"ready": os.getpid()})
    raise SystemExit(serve())
