"""Run ``keras-wgan train`` in processes of their own, each interrupted at a chosen point.

Used by test_recovery.py::

    python kill_worker.py HOW AT OUT [HOW AT OUT ...] -- TRAIN ARGS

Each ``HOW AT OUT`` is one run: ``TRAIN ARGS --out OUT`` in a process of its own, its
stderr in ``OUT.stderr``. HOW is

* ``SIGKILL`` / ``SIGINT`` / ``SIGTERM``: send that signal to that process right after
  the callbacks of global step AT (SIGKILL: dead at once, like an OOM kill or power cut);
* ``SIGKILL-IN-SAVE``: SIGKILL during the AT-th checkpoint write, after the new file and
  model.state.json are written but before the new file replaces model.keras.

This process imports keras_wgan (and TensorFlow) once, then forks one child per run,
all at once: each child is a process of its own that trains and is killed (this one
only waits), and the runs pay one import instead of one each. Before the fork no
TensorFlow runtime has started (importing it starts none). The last line printed is
``{OUT: exit status}`` as JSON, as ``subprocess`` reports it (``-9``: SIGKILL).

The kill points are exact, so the tests need no timing.
"""

import json
import os
import signal
import sys
import traceback

from graph_settings import apply_test_graph_settings

from keras_wgan import checkpoints, cli, files


def interrupt(how, at):
    """Make this process interrupt itself at the point HOW AT (see the docstring)."""
    if how == "SIGKILL-IN-SAVE":
        class _Os:
            calls = 0

            def __getattr__(self, name):
                return getattr(os, name)

            def replace(self, source, target):  # counts the model file's replaces only
                _Os.calls += str(target).endswith(".keras")
                if _Os.calls == at:
                    os.kill(os.getpid(), signal.SIGKILL)
                return os.replace(source, target)

        files.os = _Os()
        return
    number = getattr(signal, how)
    batch_end = checkpoints.TrainingCheckpoint.on_train_batch_end

    def on_train_batch_end(self, batch, logs=None):
        batch_end(self, batch, logs)
        if self._global_step == at:
            os.kill(os.getpid(), number)

    checkpoints.TrainingCheckpoint.on_train_batch_end = on_train_batch_end


def child(how, at, out, argv):
    """The forked run: never returns (``os._exit`` with the command's exit status)."""
    code = 1
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        err = os.open(out + ".stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(null, 1)
        os.dup2(err, 2)
        interrupt(how, int(at))
        apply_test_graph_settings()  # as the pytest process that resumes this run
        code = cli.main([*argv, "--out", out])
    except BaseException:  # noqa: BLE001 - reported in OUT.stderr, exit status 1
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main():
    split = sys.argv.index("--")
    runs, argv = sys.argv[1:split], sys.argv[split + 1:]
    assert runs and len(runs) % 3 == 0, "HOW AT OUT triples before --"
    sys.stdout.flush()
    sys.stderr.flush()
    children = {}
    for i in range(0, len(runs), 3):
        how, at, out = runs[i:i + 3]
        pid = os.fork()
        if pid == 0:
            child(how, at, out, argv)
        children[pid] = out
    codes = {}
    while children:
        pid, status = os.wait()
        if pid in children:
            codes[children.pop(pid)] = os.waitstatus_to_exitcode(status)
    print(json.dumps(codes), flush=True)


if __name__ == "__main__":
    main()
