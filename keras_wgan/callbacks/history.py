"""Every logged metric of a run on disk: CSV rows per epoch and per batch, and a loss plot."""

import csv
import math
import os
from array import array

import keras
import numpy as np

from keras_wgan.callbacks.position import EpochSteps
from keras_wgan.checks import check_directory, check_positive_int
from keras_wgan.files import atomic_write


def scalar_or_none(value):
    """The log value as a Python float, or None when it is not a scalar number."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(array) if array.size == 1 else None


class MeanIncrements:
    """The mean of what each ``keras.metrics.Mean`` metric took in since the last read.

    Keras logs running means over the epoch at each batch; this recovers what the
    batches since the previous :meth:`read` contributed, from the metric's total and
    count (exact up to float32 rounding); read after every batch, it gives each
    batch's own value. Shared by :class:`LossHistory` (per-batch CSV rows) and
    :class:`keras_wgan.callbacks.tensorboard.GANTensorBoard` (per-step scalars).
    """

    def __init__(self, model):
        self.model = model
        self.trackers = {
            metric.name: metric
            for metric in model.metrics
            if isinstance(metric, keras.metrics.Mean)
        }
        self._previous = {}

    def reset(self, baseline=None):
        """At an epoch start (Keras resets the metrics); ``baseline``: the
        ``{name: (total, count)}`` a resumed epoch's metrics start from."""
        self._previous = {name: tuple(tc) for name, tc in (baseline or {}).items()}

    def read(self, logs, names=None):
        """``{name: value}`` for the logged scalars (all, or ``names``): a Mean metric's
        mean since the last read (left out when it took in nothing), others as logged."""
        values = {}
        if self.trackers and hasattr(self.model, "jax_state_sync"):
            # JAX keeps the state outside the variables during an epoch; write it back
            # (no copies: the variables take the state's arrays) before reading them.
            self.model.jax_state_sync()
        for name, logged in logs.items():
            if names is not None and name not in names:
                continue
            tracker = self.trackers.get(name)
            if tracker is None:
                value = scalar_or_none(logged)
                if value is not None:
                    values[name] = value
                continue
            total = float(keras.ops.convert_to_numpy(tracker.total))
            count = float(keras.ops.convert_to_numpy(tracker.count))
            previous_total, previous_count = self._previous.get(name, (0.0, 0.0))
            self._previous[name] = (total, count)
            if count > previous_count:
                values[name] = (total - previous_total) / (count - previous_count)
        return values


def _keep_all(row):
    return True


class _CsvLog:
    """An append-only CSV file whose unwritten rows are the only ones held in memory.

    Rows are dicts; a missing value is an empty cell. Appending is the normal path;
    the file is rewritten (streamed into a temporary file, then ``os.replace``) only
    when new columns appear or :meth:`load` drops rows, so memory stays small even
    for a million batch rows. Not ``keras.callbacks.CSVLogger(append=True)``: it fixes
    its columns at the first row (a column appearing later is left out), writes epoch
    rows only, and on resume cannot drop the rows a killed run logged after its checkpoint.
    """

    def __init__(self, path, key_columns):
        self.path = path
        self.key_columns = tuple(key_columns)
        self.columns = list(self.key_columns)
        self.loaded = False
        self._pending = []
        self._header = None  # the header of the file on disk; None: no usable file
        self._keep = None

    def load(self, keep, visit):
        """Adopt the existing file: rows with ``keep(row)`` false and unparsable lines
        (a killed append) are dropped, ``visit(row)`` sees each kept row."""
        self.columns, self._pending, self._header = list(self.key_columns), [], None
        self._keep, self.loaded = keep, True
        header = self._read_header()
        if header is None:
            self._keep = _keep_all
            return
        missing = [c for c in self.key_columns if c not in header]
        if missing:
            raise ValueError(
                f"{self.path!r} exists but is not a LossHistory CSV: it has no "
                f"{missing} column(s). Move it away or use another directory."
            )
        self._header = header
        self.columns += [c for c in header if c not in self.columns]
        clean = header == self.columns
        for row in self._stored_rows():
            if row is None or not keep(row):
                clean = False
            else:
                visit(row)
        if not clean:
            self._rewrite()
        # The file now holds kept rows only; a later rewrite (new columns) keeps them all,
        # the rows this run appended included.
        self._keep = _keep_all

    def add(self, row):
        self.columns += [c for c in row if c not in self.columns]
        self._pending.append(row)

    def flush(self):
        """Write the pending rows: appended, or a rewrite when the columns changed."""
        if not self.loaded:
            return
        if self._header is not None and self._header == self.columns:
            if self._pending:
                with open(self.path, "a", newline="") as f:
                    csv.writer(f, lineterminator="\n").writerows(map(self._line, self._pending))
            self._pending = []
        else:
            self._rewrite()

    def _read_header(self):
        if not os.path.isfile(self.path):
            return None
        with open(self.path, newline="") as f:
            return next(csv.reader(f), None) or None

    def _stored_rows(self):
        """Parsed rows of the file on disk, None for a line that does not parse."""
        with open(self.path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None) or []
            for line in reader:
                yield self._parse(header, line)

    def _parse(self, header, line):
        if len(line) != len(header):
            return None
        row = {}
        try:
            for column, text in zip(header, line, strict=True):
                if column in self.key_columns:
                    row[column] = int(text)
                elif text != "":
                    row[column] = float(text)
        except ValueError:
            return None
        return row

    def _line(self, row):
        return ["" if row.get(c) is None else repr(row[c]) for c in self.columns]

    def _rewrite(self):
        stored = ()
        if self._header is not None and os.path.isfile(self.path):
            stored = (r for r in self._stored_rows() if r is not None and self._keep(r))

        def write(f):
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(self.columns)
            writer.writerows(map(self._line, stored))
            writer.writerows(map(self._line, self._pending))

        atomic_write(self.path, write)
        self._header, self._pending = list(self.columns), []


class LossHistory(keras.callbacks.Callback):
    """Record every logged metric per epoch and per batch in a run directory.

    Writes, in ``directory``:

    - ``history.csv``: one row per epoch, columns ``epoch`` (1-based, as in the
      progress bar) and every scalar in the epoch logs. The values are the ones
      ``History.history`` holds. Written at every epoch end.
    - ``history_batches.csv``: one row per training batch, columns ``epoch``, ``step``
      (global, 1-based) and the metrics. Keras logs *running means over the epoch*
      at each batch; this file holds what each batch itself contributed, recovered
      from the metric's total/count (exact up to float32 rounding), so a value is
      missing where a metric was not updated, e.g. ``generator_loss`` on the steps
      without a generator update. Metrics that are not a ``keras.metrics.Mean`` are
      written as logged. Appended every ``flush_every`` batches and at epoch end.
    - ``losses.png`` (``plot=True``): critic loss, generator loss, Wasserstein
      estimate and gradient penalty (those present; otherwise every metric) against
      the step: the per-batch values and their trailing moving average over
      ``smoothing`` values. Redrawn at each epoch end and at the end of training.

    Resuming: existing files are appended to. Rows of the epoch being started and of
    later ones (left by a run killed after logging but before its checkpoint) are
    dropped first, so a resumed ``fit(initial_epoch=k)`` continues at epoch ``k + 1``
    without duplicates; a fresh fit (``initial_epoch=0``) into the same directory
    therefore starts the files over. When new metric columns appear, the file is
    rewritten with the merged header, older rows keeping empty cells.

    Args:
        directory: the run directory (made when missing).
        plot: whether to draw ``losses.png``.
        flush_every: append the batch rows every this many batches.
        smoothing: the moving average's window in the plot, in batches.

    Raises:
        ValueError: ``plot`` is not a bool, or a count is not a positive int.

    Example:

    ```python
    gan.fit(dataset, epochs=10, callbacks=[LossHistory("runs/x")])
    # runs/x/history.csv, runs/x/history_batches.csv, runs/x/losses.png
    ```
    """

    EPOCH_FILE = "history.csv"
    BATCH_FILE = "history_batches.csv"
    PLOT_FILE = "losses.png"
    PLOT_METRICS = {
        "critic_loss": "critic loss",
        "generator_loss": "generator loss",
        "wasserstein": "Wasserstein estimate",
        "gradient_penalty": "gradient penalty",
    }
    MAX_PLOT_POINTS = 20_000

    def __init__(self, directory, plot=True, flush_every=100, smoothing=50):
        super().__init__()
        self.directory = check_directory("directory", directory)
        if not isinstance(plot, bool):
            raise ValueError(f"`plot` must be True or False, got {plot!r}.")
        self.plot = plot
        self.flush_every = check_positive_int("flush_every", flush_every)
        self.smoothing = check_positive_int("smoothing", smoothing)
        self.epochs = _CsvLog(os.path.join(self.directory, self.EPOCH_FILE), ("epoch",))
        self.batches = _CsvLog(os.path.join(self.directory, self.BATCH_FILE), ("epoch", "step"))
        self._increments = None
        self._series = {}  # metric -> (steps, values) of the batch rows, for the plot
        self._last_step = 0
        self._epoch_number = None
        self._epoch_start_step = 0
        self._unflushed = 0
        self._plotted = True
        self._resume = None
        self._steps = EpochSteps()

    def on_resume(self, state):
        """Told by ``checkpoints.fit_resumable`` the position a run continues from: rows
        after its ``global_step`` are dropped, and a mid-epoch position's metric totals
        are the baseline of the per-batch values."""
        self._resume = state if state.global_step is not None else None

    @property
    def epoch_path(self):
        return self.epochs.path

    @property
    def batch_path(self):
        return self.batches.path

    @property
    def plot_path(self):
        return os.path.join(self.directory, self.PLOT_FILE)

    # ------------------------------------------------------------ callbacks
    def on_train_begin(self, logs=None):
        check_directory("directory", self.directory)
        os.makedirs(self.directory, exist_ok=True)
        self._increments = MeanIncrements(self.model)
        self.epochs.loaded = self.batches.loaded = False

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_number = epoch + 1
        self._steps.begin()
        resume, self._resume = self._resume, None
        if not self.batches.loaded:  # the first epoch of this fit: adopt the files
            self._series, self._last_step = {}, 0

            def keep(row, first=self._epoch_number):
                return row["epoch"] < first

            def keep_batch(row, last=resume and resume.global_step):
                return row["step"] <= last if resume else keep(row)

            self.epochs.load(keep, visit=lambda row: None)
            self.batches.load(keep_batch, visit=self._remember)
        self._epoch_start_step = self._last_step
        # Keras resets the metrics at each epoch start; a resumed epoch continues at its
        # step, with the epoch's totals restored.
        self._increments.reset(resume.metrics if resume else None)
        if resume:
            self._epoch_start_step = resume.global_step

    def on_train_batch_end(self, batch, logs=None):
        self._steps.step(batch)
        row = {"epoch": self._epoch_number, "step": self._epoch_start_step + batch + 1}
        row.update(self._increments.read(logs or {}))
        self.batches.add(row)
        self._remember(row)
        self._plotted = False
        self._unflushed += 1
        if self._unflushed >= self.flush_every:
            self.batches.flush()
            self._unflushed = 0

    def on_epoch_end(self, epoch, logs=None):
        if self._steps.completed(self.params):  # a stopped epoch has its batch rows only
            row = {"epoch": epoch + 1}
            for name, value in (logs or {}).items():
                value = scalar_or_none(value)
                if value is not None:
                    row[name] = value
            self.epochs.add(row)
        self.batches.flush()
        self._unflushed = 0
        self.epochs.flush()
        self._plotted = False
        if self.plot:
            self.write_plot()

    def on_train_end(self, logs=None):
        self.batches.flush()
        self._unflushed = 0
        self.epochs.flush()
        if self.plot and not self._plotted and self.batches.loaded:
            self.write_plot()

    def _remember(self, row):
        self._last_step = max(self._last_step, row["step"])
        for name, value in row.items():
            if name not in self.batches.key_columns and math.isfinite(value):
                steps, values = self._series.setdefault(name, (array("d"), array("d")))
                steps.append(row["step"])
                values.append(value)

    # ----------------------------------------------------------------- plot
    def write_plot(self):
        """Draw the loss curves into ``losses.png`` (atomically); returns the path.

        Uses ``matplotlib.figure.Figure`` with the Agg canvas directly, so the user's
        pyplot backend and open figures are left alone.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        names = [n for n in self.PLOT_METRICS if n in self._series] or list(self._series)
        columns = 1 if len(names) <= 1 else 2
        rows = max(1, math.ceil(len(names) / columns))
        figure = Figure(figsize=(5.5 * columns, 3.2 * rows), dpi=100)
        FigureCanvasAgg(figure)
        axes = figure.subplots(rows, columns, squeeze=False).ravel()
        for axis, name in zip(axes, names, strict=False):
            steps, values = (np.asarray(a) for a in self._series[name])
            smooth = _moving_average(values, self.smoothing)
            stride = max(1, len(values) // self.MAX_PLOT_POINTS)
            axis.plot(steps[::stride], values[::stride], lw=0.6, alpha=0.4, color="C0",
                      label="per batch")
            axis.plot(steps[::stride], smooth[::stride], lw=1.5, color="C1",
                      label=f"moving average of {min(self.smoothing, len(values))}")
            axis.legend(loc="best", fontsize="small")
            axis.set_title(self.PLOT_METRICS.get(name, name))
            axis.set_xlabel("step")
            axis.grid(True, alpha=0.3)
        for axis in axes[len(names):]:
            axis.set_visible(False)
        if not names:
            axes[0].set_visible(True)
            axes[0].set_title("no metrics logged yet")
        figure.tight_layout()
        atomic_write(self.plot_path, lambda f: figure.savefig(f, format="png"), binary=True)
        self._plotted = True
        return self.plot_path


def _moving_average(values, window):
    """Trailing mean over ``window`` points (fewer at the start), same length as input."""
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (cumulative[ends] - cumulative[starts]) / (ends - starts)
