"""A training run's folder as an object: its files, its settings and the rules for continuing it.

Everything ``keras-wgan train`` knows about ``--out`` lives here, each rule once:

- **files**: ``config.json`` (the run's settings, the package version, the backend),
  ``model.keras`` (the whole training state, saved by ``checkpoints``), the sample grids
  under ``samples/``, ``skipped_files.txt`` (the unreadable images left out), and
  ``previous-N/`` folders of runs started over;
- **settings**: a new run takes the defaults changed by the flags given; ``--resume``
  takes the recorded settings and may change only what does not shape the saved
  model; ``--restart`` takes the recorded settings changed by the flags;
- **rules**: a non-empty folder is never overwritten (``--resume`` or ``--restart``,
  nothing deleted); the model's settings cannot change on ``--resume``; inside an
  epoch the data stream cannot change either; ``--epochs`` is the total target;
- **one writer**: ``train`` holds an advisory lock on ``train.lock`` while it writes
  (:meth:`RunDirectory.writer`, :mod:`.lock`); a second ``train`` on the folder is refused at once,
  naming the holder. Readers (``sample``, ``evaluate``) need no lock: every file is
  replaced atomically (``keras_wgan.files``).

Every refusal is a :class:`CliError` that names the flag and a command that works.
"""

import contextlib
import os

from keras_wgan.cli.common import (
    PROG,
    CliError,
    default_backend,
    flag,
    load_gan,
    read_json,
    write_json,
    write_text,
)
from keras_wgan.cli.training.lock import LOCK_FILE, LockFile
from keras_wgan.cli.training.settings import (
    FIXED_BY_THE_RUN,
    MODEL_SETTINGS,
    OLD_RUN_VALUES,
    STREAM_SETTINGS,
    TRAIN_DEFAULTS,
    check,
    shown,
    with_ema_off_as_none,
)

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
SAMPLES_DIR = "samples"
SKIPPED_FILE = "skipped_files.txt"
BEST_FILE = "best.keras"  # --keep-best: the model of the epoch with the lowest fd

def _dataset_name(dataset):
    name = os.path.basename(os.path.normpath(str(dataset)))
    return os.path.splitext(name)[0] or "data"


class RunDirectory:
    """The folder ``--out`` of a ``keras-wgan train`` run.

    Build it with :meth:`for_flags`, which also resolves the run's settings from the
    flags given and the folder's own ``config.json``.
    """

    def __init__(self, path):
        self.path = os.fspath(path)

    # ----------------------------------------------------------------- files
    @property
    def model_path(self):
        return os.path.join(self.path, MODEL_FILE)

    @property
    def config_path(self):
        return os.path.join(self.path, CONFIG_FILE)

    @property
    def samples_dir(self):
        return os.path.join(self.path, SAMPLES_DIR)

    @property
    def best_path(self):
        return os.path.join(self.path, BEST_FILE)

    @property
    def skipped_path(self):
        return os.path.join(self.path, SKIPPED_FILE)

    def has_checkpoint(self):
        return os.path.isfile(self.model_path)

    def recorded_settings(self):
        """The settings in ``config.json`` (``ema_decay`` off as None), or None."""
        saved = read_json(self.config_path)
        return None if saved is None else with_ema_off_as_none(saved)

    @property
    def lock_path(self):
        return os.path.join(self.path, LOCK_FILE)

    def is_empty(self):
        """No run's files (a lock file left by a killed run is not one)."""
        return not (os.path.isdir(self.path)
                    and [n for n in os.listdir(self.path) if n != LOCK_FILE])

    # -------------------------------------------------------------- settings
    @classmethod
    def for_flags(cls, given, out=None, resume=False, restart=False):
        """``(run_directory, settings)`` for the flags ``given`` (``{setting: value}``, only
        the flags on the command line) and ``--out`` / ``--resume`` / ``--restart``:
        :meth:`at` then :meth:`settings_for` (``train`` takes the lock between the two)."""
        run = cls.at(given, out, resume)
        return run, run.settings_for(given, resume, restart)

    @classmethod
    def at(cls, given, out=None, resume=False):
        """The run directory ``--out`` names (by default ``runs/MODEL-DATASET``)."""
        if resume and out is None:
            raise CliError("--resume needs --out, the run directory to continue: "
                           f"{PROG} train --resume --out runs/NAME")
        if out is None:
            out = os.path.join("runs", f"{given.get('model', TRAIN_DEFAULTS['model'])}-"
                               f"{_dataset_name(given.get('dataset', TRAIN_DEFAULTS['dataset']))}")
        run = cls(out)
        if os.path.exists(run.path) and not os.path.isdir(run.path):
            raise CliError(f"--out {run.path!r} exists and is not a directory: choose another, "
                           f"e.g. {PROG} train --out {run.path}-run")
        return run

    def settings_for(self, given, resume=False, restart=False):
        """The run's settings for the flags ``given``.

        A new run: the defaults changed by ``given``, in a folder that must be empty
        (``--restart`` empties it first, keeping the recorded settings as the base).
        ``--resume``: the recorded settings, of which the model's cannot change.
        """
        given = with_ema_off_as_none(dict(given))
        settings = self._settings_to_resume(given) if resume else self._settings_to_start(
            given, restart)
        settings.update(given)
        settings["out"] = self.path
        check(settings)
        return settings

    def _settings_to_resume(self, given):
        saved = self.recorded_settings()
        if saved is None and not self.has_checkpoint():
            raise CliError(
                f"--resume: {self.path!r} holds no run to continue (no {CONFIG_FILE}, no "
                f"{MODEL_FILE}); start one with: {PROG} train --out {self.path}"
            )
        # A run recorded before a setting existed was built with its old value.
        saved = {**OLD_RUN_VALUES, **saved} if saved else {}
        for key in MODEL_SETTINGS:
            if key in given and key in saved and given[key] != saved[key]:
                raise CliError(
                    f"{flag(key)} {shown(key, given[key])} differs from the run's "
                    f"{shown(key, saved[key])}: --resume continues the saved model, whose "
                    f"settings cannot change; drop {flag(key)} (or start over: {PROG} train "
                    f"--restart --out {self.path} ...)."
                )
        return {**TRAIN_DEFAULTS, **{k: v for k, v in saved.items() if k in TRAIN_DEFAULTS}}

    def _settings_to_start(self, given, restart):
        if not self.is_empty() and not restart:
            raise CliError(
                f"--out {self.path!r} already exists and is not empty: continue that run with "
                f"`{PROG} train --resume --out {self.path}`, start it over with `--restart` "
                "(its files move into previous-N/), or choose another --out (nothing is "
                "overwritten)."
            )
        settings = dict(TRAIN_DEFAULTS)
        if restart:  # the recorded settings, changed by the flags given
            saved = self.recorded_settings() or {}
            settings.update({k: v for k, v in saved.items()
                             if k in TRAIN_DEFAULTS and k not in FIXED_BY_THE_RUN})
        return settings

    # ------------------------------------------------------------- resuming
    def load_checkpoint(self):
        """``(model, state)`` of the saved checkpoint, or a CliError naming what is wrong."""
        from keras_wgan.checkpoints import checkpoint_position

        gan = load_gan(self.model_path)
        try:
            return gan, checkpoint_position(self.model_path, gan)
        except (OSError, ValueError) as error:
            raise CliError(f"--resume: {error}") from None

    def check_can_continue(self, settings, state, backend=None):
        """Refuse an ``--epochs`` target already reached, and a changed data stream while
        the checkpoint is inside an epoch (the epoch must finish on the same data)."""
        if settings["epochs"] <= state.epoch:
            raise CliError(
                f"--epochs {settings['epochs']} is the total target and the run has already "
                f"done {state.epoch} epochs: pass a larger --epochs to continue, e.g. "
                f"{self.resume_command(state.epoch + 10, backend)}"
            )
        if not state.step:
            return
        saved = self.recorded_settings() or {}
        for key in STREAM_SETTINGS:
            if key in saved and settings[key] != saved[key]:
                raise CliError(
                    f"{flag(key)} {settings[key]} differs from the run's {saved[key]}, but "
                    f"its checkpoint is {state.describe()}: the epoch must finish on the same "
                    f"data. Drop {flag(key)}: {self.resume_command(settings['epochs'], backend)}"
                )

    def check_model_fits(self, gan, image_shape, epochs, backend=None):
        """Refuse data whose images are not the saved model's."""
        if tuple(gan.sample_shape) != tuple(image_shape):
            raise CliError(
                f"the dataset's images have shape {tuple(image_shape)} but the saved model "
                f"makes {tuple(gan.sample_shape)}: --resume needs the run's dataset and "
                f"--image-size; drop those flags: {self.resume_command(epochs, backend)}"
            )

    def resume_command(self, epochs, backend=None):
        """The command that continues this run to ``epochs`` on ``backend`` (named only when
        a bare command would run on another one)."""
        backend_flag = "" if backend in (None, default_backend()) else f" --backend {backend}"
        return f"{PROG} train --resume --out {self.path} --epochs {epochs}{backend_flag}"

    def position(self):
        """What the checkpoint holds, in words."""
        from keras_wgan.checkpoints import read_state

        try:
            state = read_state(self.model_path)
        except (OSError, ValueError):
            return "no readable checkpoint"
        return "an older checkpoint" if state is None else state.describe()

    # --------------------------------------------------------------- writing
    def prepare(self, restart=False):
        """Create the folder; with ``restart``, first move the old run into ``previous-N/``."""
        if restart:
            self._move_aside()
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as error:
            raise CliError(f"cannot create --out {self.path!r}: "
                           f"{error.strerror or error}.") from None

    def record(self, settings, **facts):
        """Write ``config.json``: the settings and ``facts`` (version, backend, ...)."""
        write_json(self.config_path, {**settings, **facts})

    def record_skipped(self, skipped):
        """List the ``(path, reason)`` of the image files left out, one per line."""
        write_text(self.skipped_path, "".join(f"{path}\t{reason}\n" for path, reason in skipped))

    def _move_aside(self):
        names = [n for n in sorted(os.listdir(self.path))
                 if not n.startswith("previous-") and n != LOCK_FILE] \
            if os.path.isdir(self.path) else []
        if not names:
            return
        number = 1
        while os.path.exists(os.path.join(self.path, f"previous-{number}")):
            number += 1
        target = os.path.join(self.path, f"previous-{number}")
        try:
            os.makedirs(target)
            for name in names:
                os.replace(os.path.join(self.path, name), os.path.join(target, name))
        except OSError as error:
            raise CliError(f"--restart: cannot move the old files into {target}: "
                           f"{error}") from None
        print(f"--restart: the previous run's files are in {target}", flush=True)

    # ------------------------------------------------------------ one writer
    @contextlib.contextmanager
    def writer(self):
        """Hold the folder's lock for the block: the one ``train`` that writes it.

        An advisory ``fcntl.flock`` on ``train.lock``, which records the holder (host,
        PID, start time, command). The kernel drops the lock when its process ends, so a
        killed run leaves none behind (its file may stay; it no longer binds). Another
        ``train`` on the folder gets a :class:`CliError` at once, naming the holder. A
        folder created only to hold the lock is removed again if the run wrote nothing.
        Where the file system cannot lock, a warning says so and the run goes on.
        """
        created = self._create_folders()
        handle = LockFile(self.lock_path)
        try:
            handle.acquire(self.path)
            yield self
        finally:
            handle.release()
            for folder in created:  # innermost first; only while still empty
                with contextlib.suppress(OSError):
                    os.rmdir(folder)

    def _create_folders(self):
        """Create ``--out`` (and missing parents); the folders created, innermost first."""
        created, folder = [], os.path.abspath(self.path)
        while folder and not os.path.exists(folder):
            created.append(folder)
            parent = os.path.dirname(folder)
            folder = parent if parent != folder else ""
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as error:
            raise CliError(f"cannot create --out {self.path!r}: "
                           f"{error.strerror or error}.") from None
        return created
