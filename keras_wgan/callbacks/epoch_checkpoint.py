"""The whole model saved at epoch ends, atomically, with how many epochs the file holds."""

import json
import os

import keras

from keras_wgan.checks import check_positive_int
from keras_wgan.files import remove_interrupted_writes, replaced_atomically, write_json


def checkpoint_state_path(path):
    """The JSON state file beside a model file.

    Args:
        path: the model file, e.g. ``runs/x/model.keras``.

    Returns:
        The state file's path, e.g. ``runs/x/model.state.json``.
    """
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

    Args:
        path: the ``.keras`` file to write.
        every_n_epochs: save after every this many epochs.

    Raises:
        ValueError: ``path`` does not end with ``.keras``, or ``every_n_epochs`` is not
            a positive int.
        IsADirectoryError: ``path`` is a folder.

    Example:

    ```python
    path = "runs/x/model.keras"
    initial_epoch = checkpoint_epochs(path, gan) if os.path.exists(path) else 0
    gan.fit(dataset, epochs=20, initial_epoch=initial_epoch,
            callbacks=[AtomicModelCheckpoint(path)])
    ```
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
        self._on_disk = _matching_entry(_read_state(self.state_path),
                                        optimizer_iterations(self.model))

    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch + 1
        if self._last_epoch % self.every_n_epochs == 0:
            self.save(self._last_epoch)

    def on_train_end(self, logs=None):
        if self._last_epoch is not None and self._saved_epoch != self._last_epoch:
            self.save(self._last_epoch)

    def save(self, epochs_done):
        """Save the model as having completed ``epochs_done`` epochs."""
        self.write_model(int(epochs_done), lambda tmp: self.model.save(tmp, overwrite=True))

    def write_model(self, epochs_done, write, **facts):
        """Replace ``path`` with the file ``write(tmp)`` writes, keeping the state file's
        protocol: the entry (``epochs_done``, the optimizer's step count, ``facts``) is
        written before the replace, with the entry of the file being replaced."""
        entry = {"epochs": int(epochs_done),
                 "optimizer_iterations": optimizer_iterations(self.model), **facts}
        with replaced_atomically(self.path) as tmp:
            write(tmp)
            write_json(self.state_path, {**entry, "previous": self._on_disk})
        self._on_disk = entry
        self._saved_epoch = int(epochs_done)


def optimizer_iterations(model):
    """The steps ``model``'s optimizer has made (None without one): what ties a state
    entry to the model file it describes."""
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

    Args:
        path: the model file.
        model: the model loaded from it (compiled, so its optimizer state is
            restored), to pick by its optimizer step count the state entry that
            matches the file; None: the count the state file records.

    Returns:
        The number of epochs completed, for ``fit(initial_epoch=...)``.

    Raises:
        FileNotFoundError: there is no readable state file.
        ValueError: no entry matches the model.
    """
    state_path = checkpoint_state_path(path)
    state = _read_state(state_path)
    if state is None:
        raise FileNotFoundError(
            f"No readable checkpoint state {state_path!r} next to {os.fspath(path)!r}: "
            "the epoch count cannot be recovered."
        )
    iterations = None if model is None else optimizer_iterations(model)
    if iterations is None:
        return int(state["epochs"])
    entry = _matching_entry(state, iterations)
    if entry is None:
        raise ValueError(
            f"The model in {os.fspath(path)!r} has made {iterations} optimizer steps, which "
            f"matches no entry of {state_path!r}: the state file belongs to another model."
        )
    return entry["epochs"]
