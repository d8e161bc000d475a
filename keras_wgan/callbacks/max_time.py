"""A wall-clock limit on training, as PyTorch Lightning's ``max_time`` and a SLURM job's.

At the limit the run stops as safely as Ctrl-C: :class:`MaxTime` asks the run's
stopper (a :class:`keras_wgan.checkpoints.TrainingCheckpoint`, or the CLI's agreement
between processes) to save after the current step and end ``fit``; nothing is cut off
mid-step and the checkpoint resumes exactly. The clock starts at the first
``on_train_begin`` it sees and is not reset by a second ``fit`` (``fit_resumable``
fits the rest of a resumed epoch, then the other epochs): the limit is per process
run, the way a job's time limit is.
"""

import time

import keras

# The reason the stopper records (``TrainingCheckpoint.stopped_by``): the CLI tells a
# time-limit stop from a signal by it.
REASON_PREFIX = "max-time"


class MaxTime(keras.callbacks.Callback):
    """Stop training cleanly once ``seconds`` of wall-clock time have passed.

    Args:
        seconds: the limit, a number > 0 (wall-clock seconds since training began in
            this process).
        stopper: what carries the stop out: an object with ``request_stop(reason)``
            and ``stop_requested``, such as the run's
            :class:`~keras_wgan.checkpoints.TrainingCheckpoint` (it then saves after
            the current step). None: set ``model.stop_training`` (no save).
        clock: a function returning seconds (``time.monotonic``); tests pass their own.

    Raises:
        ValueError: if ``seconds`` is not a number > 0.

    Example:

    ```python
    checkpoint = keras_wgan.checkpoints.TrainingCheckpoint("run/model.keras")
    keras_wgan.checkpoints.fit_resumable(
        gan, make_dataset, epochs=100, steps_per_epoch=500, checkpoint=checkpoint,
        callbacks=[MaxTime(30 * 60, stopper=checkpoint)])
    ```
    """

    def __init__(self, seconds, stopper=None, clock=time.monotonic):
        super().__init__()
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                or not seconds > 0:
            raise ValueError(f"`seconds` must be a number > 0, got {seconds!r}.")
        self.seconds = float(seconds)
        self.stopper = stopper
        self._clock = clock
        self._started = None
        self.reached = False  # whether this callback stopped the run

    @property
    def reason(self):
        return f"{REASON_PREFIX} {format_duration(self.seconds)}"

    def elapsed(self):
        """Seconds since training began in this process (0 before it began)."""
        return 0.0 if self._started is None else self._clock() - self._started

    def on_train_begin(self, logs=None):
        if self._started is None:
            self._started = self._clock()

    def on_train_batch_end(self, batch, logs=None):
        if self.reached or self.elapsed() < self.seconds:
            return
        self.reached = True
        if self.stopper is None:
            self.model.stop_training = True
        elif not self.stopper.stop_requested:
            self.stopper.request_stop(self.reason)


def format_duration(seconds):
    """``1h30m``, ``45s``, ``0.5s``: the shortest spelling (whole seconds where whole)."""
    whole = int(seconds)
    parts = []
    for unit, size in (("h", 3600), ("m", 60)):
        count, whole = divmod(whole, size)
        if count:
            parts.append(f"{count}{unit}")
    rest = whole + (seconds - int(seconds))
    if rest or not parts:
        parts.append(f"{round(rest, 3):g}s")
    return "".join(parts)


def parse_duration(text):
    """Seconds of a duration: ``30m``, ``2h``, ``1h30m``, ``90s``, ``1.5h``, ``45`` (seconds);
    Lightning's ``DD:HH:MM:SS`` too. ValueError names the forms."""
    text = str(text).strip().lower()
    try:
        if ":" in text:
            fields = [float(part) for part in text.split(":")]
            if not 1 < len(fields) <= 4:
                raise ValueError
            seconds = 0.0
            for value, size in zip(reversed(fields), (1, 60, 3600, 86400)):
                seconds += value * size
        else:
            seconds, number = 0.0, ""
            sizes = {"d": 86400, "h": 3600, "m": 60, "s": 1}
            for char in text:
                if char in sizes:
                    if not number:
                        raise ValueError
                    seconds += float(number) * sizes[char]
                    number = ""
                else:
                    number += char
            if number:
                seconds += float(number)
    except ValueError:
        seconds = None
    if seconds is None or not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(
            f"a duration > 0 like 30m, 2h, 1h30m, 90s or 00:12:00:00 "
            f"(days:hours:minutes:seconds), got {text!r}")
    return seconds
