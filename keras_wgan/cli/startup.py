"""TensorFlow's start-up lines kept off the terminal, so a command's first line is its own.

Importing TensorFlow prints about seven lines to stderr before anything else happens
(absl's "All log messages before absl::InitializeLog() ...", oneDNN's notice, "Could not
find cuda drivers", the CPU-instruction notice, a failed ``cuInit`` on a CPU-only
machine). ``TF_CPP_MIN_LOG_LEVEL`` hides TensorFlow's later info and warning lines but
not these, which are written before its logging starts. So, unless the user set
``TF_CPP_MIN_LOG_LEVEL`` (then they see everything), the command line:

1. sets ``TF_CPP_MIN_LOG_LEVEL=2`` (errors still show) before any framework import;
2. imports Keras (and its backend) and TensorFlow, and lists TensorFlow's devices
   (where ``cuInit`` runs), with stderr's file descriptor read through a filter that drops only the known start-up lines and passes
   every other line on, so a real error is never hidden.

``--backend`` children inherit the setting and do the same.
"""

import contextlib
import os
import re
import sys
import tempfile

LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
# Set in the environment when this module (not the user) chose the log level, so a
# --backend child still filters its own start-up.
_OURS = "KERAS_WGAN_QUIET_STARTUP"

# The start-up lines, by what they say (the prefixes carry timestamps and thread ids).
NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|oneDNN custom operations are on"
    r"|Could not find cuda drivers on your machine"
    r"|This TensorFlow binary is optimized to use available CPU instructions"
    r"|^To enable the following instructions: .* rebuild TensorFlow"
    r"|failed call to cuInit"
    r"|Unable to register cu(DNN|FFT|BLAS) factory"
    r"|computation placer already registered"
    r"|TF-TRT Warning: Could not find TensorRT"
)


def quiet_framework_startup():
    """Steps 1 and 2 above; does nothing when the user set ``TF_CPP_MIN_LOG_LEVEL``."""
    if LOG_LEVEL_VARIABLE in os.environ and _OURS not in os.environ:
        return
    os.environ[LOG_LEVEL_VARIABLE] = os.environ.get(LOG_LEVEL_VARIABLE, "2")
    os.environ[_OURS] = "1"
    with filtered_stderr():
        # Keras first: it loads its backend (PyTorch's CUDA build segfaults when its
        # triton loads after TensorFlow), then TensorFlow for tf.data.
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()


@contextlib.contextmanager
def filtered_stderr(noise=NOISE):
    """Within the block, lines written to file descriptor 2 (by C++ code too) that match
    ``noise`` are dropped; the others are written to stderr when the block ends."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines()
                    if line.strip() and not noise.search(line)]
            if kept:
                print("\n".join(kept), file=sys.stderr, flush=True)
