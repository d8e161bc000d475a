"""Sample grids from fixed noise during training, so grids of different epochs compare."""

import os

import keras
import numpy as np

from keras_wgan.callbacks.position import EpochSteps
from keras_wgan.checks import check_directory, check_non_negative_int, check_positive_int
from keras_wgan.images import tile_images, write_png


class SampleGrid(keras.callbacks.Callback):
    """Write a grid of samples from fixed noise every ``every_n_epochs`` epochs.

    The noise, shape ``(num_samples, model.latent_dim)``, is drawn once from ``seed``
    (numpy's generator, so it does not depend on or disturb Keras' random state) when
    training first begins and then reused, also across further ``fit`` calls, so each
    grid shows the same latent points. Files are named with 1-based epoch numbers
    (``epoch_001.png`` after the first epoch), which continue correctly on a resumed
    ``fit(initial_epoch=...)``; an epoch that stops early (Ctrl-C) writes no grid, so a
    file's name always means its epoch was completed. Samples come from ``model.generate_from_noise``, i.e.
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
            from keras_wgan.callbacks.tensorboard import require_tensorboard

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
        self._steps = EpochSteps()

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

    def on_epoch_begin(self, epoch, logs=None):
        self._steps.begin()

    def on_train_batch_end(self, batch, logs=None):
        self._steps.step(batch)

    def on_epoch_end(self, epoch, logs=None):
        number = epoch + 1
        if number % self.every_n_epochs == 0 and self._steps.completed(self.params):
            self.write(number)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def write(self, epoch_number):
        """Write the grid for ``epoch_number`` (1-based) now; returns its path."""
        return self._write(self.filename_format.format(epoch=epoch_number), epoch_number)

    def write_file(self, filename):
        """Write the grid now as ``filename`` in the directory, e.g. where a run stopped
        inside an epoch, under a name no epoch's grid takes; returns its path. It is not
        logged to TensorBoard (whose image steps are epochs)."""
        if self.noise is None:  # before training: the fixed noise of this model
            self.noise, self.labels, self._grid_columns = self._grid_inputs(self.model)
        return self._write(filename, None)

    def _write(self, filename, epoch_number):
        images = self.model.generate_from_noise(self.noise, labels=self.labels)
        grid = tile_images(images, columns=self._grid_columns)
        path = os.path.join(self.directory, filename)
        write_png(grid, path)
        self.last_path = path
        if self.log_dir is not None and epoch_number is not None:
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
