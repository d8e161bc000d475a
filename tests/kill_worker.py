"""Run ``keras-wgan train`` in this process and interrupt it at a chosen point.

Used by test_recovery.py: ``python kill_worker.py HOW AT -- TRAIN ARGS``. HOW is

* ``SIGKILL`` / ``SIGINT`` / ``SIGTERM``: send that signal to this process right after
  the callbacks of global step AT (SIGKILL: dead at once, like an OOM kill or power cut);
* ``SIGKILL-IN-SAVE``: SIGKILL during the AT-th checkpoint write, after the new file and
  model.state.json are written but before the new file replaces model.keras.

The kill points are exact, so the tests need no timing.
"""

import os
import signal
import sys

from keras_wgan import checkpoints, cli, files

how, at = sys.argv[1], int(sys.argv[2])
argv = sys.argv[sys.argv.index("--") + 1:]

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
else:
    number = getattr(signal, how)
    batch_end = checkpoints.TrainingCheckpoint.on_train_batch_end

    def on_train_batch_end(self, batch, logs=None):
        batch_end(self, batch, logs)
        if self._global_step == at:
            os.kill(os.getpid(), number)

    checkpoints.TrainingCheckpoint.on_train_batch_end = on_train_batch_end

from graph_settings import apply_test_graph_settings  # noqa: E402

apply_test_graph_settings()  # as the pytest process that resumes this run
sys.exit(cli.main(argv))
