"""A run's settings, listed once: every other module of ``train`` reads them from here.

A run's settings are the flags that shape it (``config.json`` records them, ``--resume``
reads them back). This module holds their defaults (:data:`TRAIN_DEFAULTS`, which
is the list of settings), the groups the rules refer to (what the saved model fixes,
what makes the data stream, what the nets are, what the data and device choose), the
values a run recorded before a setting existed was built with, the launch flags that
are *not* settings, and :func:`check`, the rules between settings that apply to every
run (one process or several).
"""

from keras_wgan import presets
from keras_wgan.cli.common import CliError

# "No augmentation" as text (the --augment flag, config.json, start lines); a model's
# ``augment`` is None then; choices.model_augment is where the two meet.
OFF = "off"

# The recipe `train` builds (keras_wgan.presets), changed by the flags; its settings are
# the flags' defaults.
TRAIN_PRESET = "fashion_mnist_32"
_RECIPE = presets.get_preset(TRAIN_PRESET)
# `train` defaults. Flags default to None so that, on --resume, the flags actually
# given can be told apart from the ones to take from the run's config.json.
TRAIN_DEFAULTS = {
    "model": "wgan-gp",
    "dataset": "fashion_mnist",
    "data_dir": None,
    # A run whose rates decay to 0 at its end (--lr-decay, lr_decay.py) is best when it
    # ends: 10 Fashion-MNIST epochs are about 25 minutes on 2 CPU cores. Measured in one
    # run, keras-wgan train stopped after 25 wall minutes (benchmarks/train_wall_time.py,
    # docs "Recipe search at equal CPU time"): fd 1.20 decaying over 10 epochs, 1.52 over
    # 20 (at 56% of the full rate when stopped), 2.32 at a constant rate.
    "epochs": 10,
    "steps_per_epoch": None,
    "batch_size": 64,
    "image_size": None,  # the data's (training/choices.py); 32 for the reference task
    "arch": None,  # the data's and the device's: a registered family (training/choices.py)
    "augment": None,  # the data's: a DiffAugment policy or "off" (training/choices.py)
    "dim": None,  # the data's and the device's rule, else the family's (training/choices.py)
    "latent_dim": _RECIPE["latent_dim"],
    # The recipe's (chosen by the data's rule, training/choices.py): WGAN-GP 1, WGAN 5
    # on the reference task; the papers' 5 with --paper-optimizers.
    "n_critic": None,
    "ema_decay": _RECIPE["ema_decay"],  # --ema-decay off: None (null in config.json)
    "paper_optimizers": False,  # the papers' algorithm (presets.paper_algorithm)
    # --lr-decay linear: both rates fall to 0 at the run's end (training/lr_decay.py);
    # left out: linear, but off with --paper-optimizers, with --max-time on several
    # processes and on a resume of a run recorded without it (lr_decay.choose).
    "lr_decay": None,
    # Not flags: where --lr-decay's line ends and starts ({optimizer: step}), fixed once
    # by the run (training/lr_decay.py) and recorded in config.json for its resumes.
    "lr_decay_steps": None,
    "lr_decay_start": None,
    "recipe": None,  # not a flag: the data's rule names it; recorded in config.json
    "seed": 0,
    "num_samples": 64,
    "distribute": "auto",
    "conditional": False,
    "precision": "float32",
    "checkpoint_every": "2m",
    "skip_bad_files": False,
    "tensorboard": None,
    "keep_best": False,
    "quality_every": 1,  # --keep-best scores samples every this many epochs
    "init_from": None,  # --init-from: the source model (recorded, not a flag to resume)
    "freeze_critic": 0,
}
# Settings fixed by the saved model: --resume refuses to change them.
MODEL_SETTINGS = (
    "model", "dim", "latent_dim", "n_critic", "image_size", "ema_decay", "paper_optimizers",
    "seed", "conditional", "arch", "augment", "precision", "freeze_critic", "lr_decay",
)
# Settings that make the data stream: fixed while a checkpoint is inside an epoch.
STREAM_SETTINGS = ("dataset", "data_dir", "batch_size", "steps_per_epoch", "skip_bad_files")


def with_ema_off_as_none(settings):
    """``settings`` with ``ema_decay`` None for "off": --ema-decay off parses as 0.0, and
    older run directories recorded it as 0.0 in config.json (still read)."""
    if settings.get("ema_decay") == 0.0:
        settings = {**settings, "ema_decay": None}
    return settings


def shown(key, value):
    """A setting's value as its flag spells it (--ema-decay off for None)."""
    return "off" if key == "ema_decay" and value is None else value
# The nets' shape: a fine-tuned run (--init-from) takes the source's, and refuses flags
# that contradict them (the source's weights would not fit).
NET_SETTINGS = ("model", "dim", "latent_dim", "image_size", "arch", "conditional",
                "precision")
# Left to the data and the device when not given (training/choices.py).
CHOSEN_BY_DATA = ("arch", "dim", "image_size", "augment", "recipe")
# The values a run directory recorded before these settings existed was built with.
OLD_RUN_VALUES = {"arch": "dcgan", "augment": OFF, "image_size": 32, "precision": "float32",
                  "recipe": "fashion_mnist_32_v1", "lr_decay": OFF}
# Fixed by a run as it trains, not flags: a --restart starts without them.
FIXED_BY_THE_RUN = ("lr_decay_steps", "lr_decay_start")
# Flags of one launch of a multi-process run: not settings of the run (a resume may use
# other machines), so not in config.json.
LAUNCH_FLAGS = ("coordinator", "num_processes", "process_id", "secret_file")


def check(settings):
    """Refuse settings that contradict each other, whichever path the run takes (one
    process or several: ``RunDirectory.settings_for`` calls this on both)."""
    if settings.get("quality_every", 1) != 1 and not settings.get("keep_best"):
        raise CliError("--quality-every sets how often --keep-best scores samples: add "
                       "--keep-best, or drop --quality-every")
