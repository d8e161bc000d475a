"""Training callbacks: sample grids, a loss history on disk, and an atomic checkpoint.

All three write files while a (possibly long) run is going, so every file that is
rewritten as a whole goes through a temporary file in the same directory and
``os.replace``: a kill at any moment leaves either the previous or the new version,
never a truncated one. Append-only CSVs are appended to and flushed instead.

- :class:`SampleGrid`: a PNG grid of samples from *fixed* noise every N epochs, so
  grids of different epochs show the same latent points and can be compared.
- :class:`LossHistory`: every logged metric, per epoch and per batch, as CSV files in
  a directory (appended to when a run resumes) plus a plot of the losses.
- :class:`AtomicModelCheckpoint`: the whole model (optimizer state included) saved
  after every epoch, plus a small JSON state file that records how many epochs it
  holds; :func:`checkpoint_epochs` reads that back to resume with ``initial_epoch``.
"""

import csv
import json
import math
import os
from array import array

import keras
import numpy as np

from keras_wgan.checks import check_directory, check_non_negative_int, check_positive_int
from keras_wgan.files import (
    atomic_write,
    remove_interrupted_writes,
    replaced_atomically,
    write_json,
)
from keras_wgan.images import tile_images, write_png

# ---------------------------------------------------------------- file helpers


def _scalar(value):
    """The log value as a Python float, or None when it is not a scalar number."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(array) if array.size == 1 else None


# ------------------------------------------------------------------ SampleGrid


class SampleGrid(keras.callbacks.Callback):
    """Write a grid of samples from fixed noise every ``every_n_epochs`` epochs.

    The noise, shape ``(num_samples, model.latent_dim)``, is drawn once from ``seed``
    (numpy's generator, so it does not depend on or disturb Keras' random state) when
    training first begins and then reused, also across further ``fit`` calls, so each
    grid shows the same latent points. Files are named with 1-based epoch numbers
    (``epoch_001.png`` after the first epoch), which continue correctly on a resumed
    ``fit(initial_epoch=...)``. Samples come from ``model.generate_from_noise``, i.e.
    from the weight-averaged generator when the model has ``ema_decay``.

    For a class-conditional model the grid has one row per class: the same
    ``columns`` noise vectors (default ``num_samples // num_classes``, at least 1)
    drawn for every class, so rows differ only by the label and columns only by
    the noise.

    Args:
        directory: folder for the PNGs (created).
        num_samples: images per grid.
        every_n_epochs: write after epochs N, 2N, ...
        seed: seed of the fixed noise (None: different noise each run).
        columns: images per row; default a near-square grid.
        log_dir: when given, also log each grid to TensorBoard there: the pixels of
            the PNG, as ``tf.summary.image`` "samples" at step = the 1-based epoch
            number (the step of ``GANTensorBoard``'s epoch scalars). Use a folder of its
            own (e.g. ``logs/samples`` beside ``GANTensorBoard("logs")``): TensorBoard
            follows one event file per folder. Needs the ``tensorboard`` package
            (``pip install "keras-wgan[tensorboard]"``).
        filename_format: ``str.format`` pattern with an ``epoch`` field.
    """

    def __init__(
        self,
        directory,
        num_samples=64,
        every_n_epochs=1,
        seed=0,
        columns=None,
        log_dir=None,
        filename_format="epoch_{epoch:03d}.png",
    ):
        super().__init__()
        self.directory = check_directory("directory", directory)
        self.num_samples = check_positive_int("num_samples", num_samples)
        self.every_n_epochs = check_positive_int("every_n_epochs", every_n_epochs)
        self.seed = check_non_negative_int("seed", seed, allow_none=True)
        if columns is not None:
            check_positive_int("columns", columns)
        self.columns = columns
        if log_dir is not None:
            from keras_wgan.tensorboard import require_tensorboard  # it imports this module

            require_tensorboard("SampleGrid(log_dir=...), which logs the grids with "
                                "tf.summary.image,")
        self.log_dir = None if log_dir is None else os.fspath(log_dir)
        try:
            filename_format.format(epoch=1)
        except (AttributeError, KeyError, IndexError, ValueError) as error:
            raise ValueError(
                "`filename_format` must be a str.format pattern with one `epoch` field, "
                f"e.g. 'epoch_{{epoch:03d}}.png'; got {filename_format!r} ({error})."
            ) from None
        self.filename_format = filename_format
        self.noise = None
        self.labels = None
        self._grid_columns = columns
        self.last_path = None
        self._writer = None

    def on_train_begin(self, logs=None):
        model = self.model
        if not hasattr(model, "generate_from_noise") or not hasattr(model, "latent_dim"):
            raise TypeError(
                "SampleGrid needs a keras_wgan model (one with `latent_dim` and "
                f"`generate_from_noise`), got {type(model).__name__}."
            )
        if self.noise is None or self.noise.shape[1] != model.latent_dim:
            self.noise, self.labels, self._grid_columns = self._grid_inputs(model)
        os.makedirs(self.directory, exist_ok=True)

    def _grid_inputs(self, model):
        """Fixed noise (and labels: one row per class) for every grid of this callback."""
        rng = np.random.default_rng(self.seed)
        num_classes = getattr(model, "num_classes", None)
        if num_classes is None:
            noise = rng.standard_normal((self.num_samples, model.latent_dim))
            return noise.astype(np.float32), None, self.columns
        per_class = self.columns or max(1, self.num_samples // num_classes)
        row = rng.standard_normal((per_class, model.latent_dim)).astype(np.float32)
        labels = np.repeat(np.arange(num_classes), per_class).astype(np.int32)
        return np.tile(row, (num_classes, 1)), labels, per_class

    def on_epoch_end(self, epoch, logs=None):
        number = epoch + 1
        if number % self.every_n_epochs == 0:
            self.write(number)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def write(self, epoch_number):
        """Write the grid for ``epoch_number`` (1-based) now; returns its path."""
        images = self.model.generate_from_noise(self.noise, labels=self.labels)
        grid = tile_images(images, columns=self._grid_columns)
        path = os.path.join(self.directory, self.filename_format.format(epoch=epoch_number))
        write_png(grid, path)
        self.last_path = path
        if self.log_dir is not None:
            self._log_image(grid, epoch_number)
        return path

    def _log_image(self, grid, step):
        import tensorflow as tf

        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        image = grid[np.newaxis, ..., np.newaxis] if grid.ndim == 2 else grid[np.newaxis]
        with self._writer.as_default():
            tf.summary.image("samples", image, step=step)
        self._writer.flush()


# ------------------------------------------------------------- metric increments


class MeanIncrements:
    """The mean of what each ``keras.metrics.Mean`` metric took in since the last read.

    Keras logs running means over the epoch at each batch; this recovers what the
    batches since the previous :meth:`read` contributed, from the metric's total and
    count (exact up to float32 rounding); read after every batch, it gives each
    batch's own value. Shared by :class:`LossHistory` (per-batch CSV rows) and
    :class:`keras_wgan.tensorboard.GANTensorBoard` (per-step scalars).
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
                value = _scalar(logged)
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


# ----------------------------------------------------------------- LossHistory


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
        row = {"epoch": epoch + 1}
        for name, value in (logs or {}).items():
            value = _scalar(value)
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


# ---------------------------------------------------------------- checkpoints


def checkpoint_state_path(path):
    """The JSON state file beside the model file ``path``: ``x.keras`` -> ``x.state.json``."""
    path = os.fspath(path)
    return os.path.splitext(path)[0] + ".state.json"


class AtomicModelCheckpoint(keras.callbacks.Callback):
    """Save the whole model to ``path`` after every ``every_n_epochs`` epochs, atomically.

    The model (weights, optimizer state, config) is written whole or not at all
    (:func:`keras_wgan.files.replaced_atomically`), so a kill never leaves a broken
    ``.keras`` file. Alongside, ``checkpoint_state_path(path)`` records the number of
    epochs the saved model has completed; :func:`checkpoint_epochs` reads it back
    for ``fit(initial_epoch=...)``.

    The state is written *before* the replace and also keeps the entry of the model
    file it is about to replace, each entry tagged with the optimizer's step count;
    so after a kill between the two writes the count is still resolved to the epoch
    the model file really holds.
    """

    def __init__(self, path, every_n_epochs=1):
        super().__init__()
        path = os.fspath(path)
        if not path.endswith(".keras"):
            raise ValueError(f"`path` must end with '.keras' (a Keras model file), got {path!r}.")
        if os.path.isdir(path):
            raise IsADirectoryError(f"`path` {path!r} is a directory, not a model file.")
        self.path = path
        self.state_path = checkpoint_state_path(path)
        self.every_n_epochs = check_positive_int("every_n_epochs", every_n_epochs)
        self._last_epoch = None
        self._saved_epoch = None
        self._on_disk = None  # the state entry of the model file now at `path`

    def on_train_begin(self, logs=None):
        remove_interrupted_writes(self.path)  # a killed save's temporary file
        # A model resumed from `path` has the file's step count: find the file's entry.
        self._on_disk = _matching_entry(_read_state(self.state_path), _iterations(self.model))

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch + 1
        if self._last_epoch % self.every_n_epochs == 0:
            self.save(self._last_epoch)

    def on_train_end(self, logs=None):
        if self._last_epoch is not None and self._saved_epoch != self._last_epoch:
            self.save(self._last_epoch)

    def save(self, epochs_done):
        """Save the model as having completed ``epochs_done`` epochs."""
        entry = {"epochs": int(epochs_done), "optimizer_iterations": _iterations(self.model)}
        with replaced_atomically(self.path) as tmp:
            self.model.save(tmp, overwrite=True)
            write_json(self.state_path, {**entry, "previous": self._on_disk})
        self._on_disk = entry
        self._saved_epoch = int(epochs_done)


def _iterations(model):
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    return int(keras.ops.convert_to_numpy(optimizer.iterations))


def _read_state(state_path):
    try:
        with open(state_path) as f:
            state = json.load(f)
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and "epochs" in state else None


def _matching_entry(state, iterations):
    """The entry of ``state`` (itself or its previous one) made at ``iterations`` steps."""
    for entry in (state, (state or {}).get("previous")):
        if isinstance(entry, dict) and entry.get("optimizer_iterations") == iterations:
            return {"epochs": int(entry["epochs"]), "optimizer_iterations": iterations}
    return None


def checkpoint_epochs(path, model=None):
    """Epochs completed by the model saved at ``path`` by :class:`AtomicModelCheckpoint`.

    Pass the loaded ``model`` (compiled, so its optimizer state is restored) to pick,
    by its optimizer step count, the state entry that matches the file. Raises
    FileNotFoundError when there is no readable state file and ValueError when no
    entry matches the model.
    """
    state_path = checkpoint_state_path(path)
    state = _read_state(state_path)
    if state is None:
        raise FileNotFoundError(
            f"No readable checkpoint state {state_path!r} next to {os.fspath(path)!r}: "
            "the epoch count cannot be recovered."
        )
    iterations = None if model is None else _iterations(model)
    if iterations is None:
        return int(state["epochs"])
    entry = _matching_entry(state, iterations)
    if entry is None:
        raise ValueError(
            f"The model in {os.fspath(path)!r} has made {iterations} optimizer steps, which "
            f"matches no entry of {state_path!r}: the state file belongs to another model."
        )
    return entry["epochs"]


# -------------------------------------------------------------- QualityMetrics


class QualityMetrics(keras.callbacks.Callback):
    """Score generated samples every ``every_n_epochs`` epochs and add them to the logs.

    ``yardstick`` is a :class:`keras_wgan.evaluation.DomainYardstick` (e.g.
    ``DomainYardstick.for_dataset("fashion_mnist", (32, 32, 1))``). The figures go into
    the epoch logs as ``quality_fd``, ``quality_kd``, ``quality_is`` and
    ``quality_modes`` (plus ``quality_fd_floor`` etc. for real images, so a number is
    never shown without its scale), where ``History``, :class:`LossHistory` and
    TensorBoard see them: list this callback *before* those that read the logs. Samples
    come from fixed noise (``seed``) through ``model.generate``, so weight averaging is
    used when it is on. For a class-conditional model the samples are an equal mix of
    the classes, and ``quality_class_accuracy`` (the share of samples generated for
    class k that the yardstick's classifier assigns to k, averaged over classes) is
    logged beside ``quality_class_accuracy_real``, the classifier's accuracy on the
    real test images (its ceiling).
    """

    FIGURES = {"fd": "fd", "kd": "kd", "is": "is", "modes": "modes_covered"}

    def __init__(self, yardstick, every_n_epochs=5, num_samples=2000, seed=0,
                 prefix="quality_", include_floor=True):
        super().__init__()
        if not hasattr(yardstick, "score") or not hasattr(yardstick, "floor"):
            raise TypeError(
                "`yardstick` must be a keras_wgan.evaluation.DomainYardstick (with score() and "
                f"floor()), got {type(yardstick).__name__}."
            )
        self.yardstick = yardstick
        self.every_n_epochs = check_positive_int("every_n_epochs", every_n_epochs)
        self.num_samples = check_positive_int("num_samples", num_samples)
        self.seed = seed
        self.prefix = prefix
        self.include_floor = include_floor

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or (epoch + 1) % self.every_n_epochs:
            return
        num_classes = getattr(self.model, "num_classes", None)
        labels = None
        if num_classes is not None:
            labels = np.arange(self.num_samples) % num_classes
        images = self.model.generate(self.num_samples, seed=self.seed, labels=labels)
        figures = self.yardstick.score(images, seed=self.seed)
        for short, key in self.FIGURES.items():
            logs[f"{self.prefix}{short}"] = float(figures[key])
        if labels is not None:
            accuracy = self.yardstick.class_accuracy(images, labels)
            logs[f"{self.prefix}class_accuracy"] = accuracy["mean"]
            logs[f"{self.prefix}class_accuracy_real"] = self.yardstick.class_accuracy_real()["mean"]
        if self.include_floor:
            floor = self.yardstick.floor(self.num_samples, seed=self.seed)
            for short, key in self.FIGURES.items():
                logs[f"{self.prefix}{short}_floor"] = float(floor[key])
