"""`keras-wgan train`: a run directory from flags or its config.json, then fit with checkpoints.

Run directory of ``train`` (``--out``)::

    config.json            the run's arguments
    model.keras            the whole training state (model, both optimizers, noise
                           generator, unfinished critic block, position in the epoch),
                           saved atomically every --checkpoint-every and every epoch end
    model.state.json       the position model.keras holds, readable (epochs, steps)
    samples/epoch_001.png  sample grids from fixed noise, one per epoch
    history.csv            per-epoch metrics; history_batches.csv: per-batch values
    losses.png             loss curves
    skipped_files.txt      with --skip-bad-files: the unreadable files left out

An existing, non-empty run directory is never overwritten: ``train`` refuses it
unless ``--resume`` (continue it) or ``--restart`` (start over; the old files move into
``previous-N/`` inside it) is given. Nothing is ever deleted.

Interruptions: Ctrl-C or SIGTERM saves a checkpoint after the current step and exits
with 130 / 143, printing the command that continues; a second Ctrl-C stops at once
(the last checkpoint stays). A NaN or infinite loss stops training without writing the
broken model over the last good one (exit 1).
"""

import argparse
import os
import signal
import sys

from keras_wgan import checks, presets
from keras_wgan.cli.common import (
    CliError,
    MODELS,
    PROG,
    load_gan,
    non_negative_int,
    positive_int,
    read_json,
    write_json,
    write_text,
)

BACKENDS = ("tensorflow", "jax", "torch")
MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
SAMPLES_DIR = "samples"
SKIPPED_FILE = "skipped_files.txt"

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
    "epochs": 20,
    "steps_per_epoch": None,
    "batch_size": 64,
    "image_size": _RECIPE["image_shape"][0],
    "dim": _RECIPE["dim"],
    "latent_dim": _RECIPE["latent_dim"],
    "n_critic": _RECIPE["n_critic"],
    "ema_decay": _RECIPE["ema_decay"],  # --ema-decay off: None (null in config.json)
    "paper_optimizers": _RECIPE["optimizers"] == "paper",
    "seed": 0,
    "num_samples": 64,
    "distribute": "auto",
    "conditional": False,
    "checkpoint_every": "2m",
    "skip_bad_files": False,
    "tensorboard": None,
}
DISTRIBUTE = ("auto", "none", "mirrored")
# --tensorboard: the per-step scalars are means over this many steps.
TENSORBOARD_EVERY_N_STEPS = 10
# Settings fixed by the saved model: --resume refuses to change them.
MODEL_SETTINGS = (
    "model", "dim", "latent_dim", "n_critic", "image_size", "ema_decay", "paper_optimizers", "seed",
    "conditional",
)
# Settings that make the data stream: fixed while a checkpoint is inside an epoch.
STREAM_SETTINGS = ("dataset", "data_dir", "batch_size", "steps_per_epoch", "skip_bad_files")


def _checkpoint_every(text):
    """``N`` steps, or ``Nm`` / ``Ns`` minutes / seconds of training; kept as text."""
    text = text.strip().lower()
    try:
        value = float(text[:-1]) if text[-1:] in ("m", "s") else float(int(text))
    except (ValueError, IndexError):
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(
            f"must be a number of steps (e.g. 500) or of minutes / seconds (e.g. 2m, 90s), "
            f"got {text!r}."
        )
    return text


def _checkpoint_frequency(text):
    """``(every_n_steps, every_n_minutes)`` of a --checkpoint-every value."""
    if text.endswith("m"):
        return None, float(text[:-1])
    if text.endswith("s"):
        return None, float(text[:-1]) / 60.0
    return int(text), None


def _multiple_of_8(name, value):
    if not checks.is_int(value) or value < 8 or value % 8:
        checks.refuse(name, "a positive multiple of 8 (the nets up/down-sample 3 times)", value)
    return int(value)


_image_size = checks.command_line_type(_multiple_of_8)


def _decay(text):
    """A decay in (0, 1), or ``off``: 0.0 here (None would read as "flag not given"),
    None in the run's settings and config.json (:func:`_ema_setting`)."""
    if text.strip().lower() == "off":
        return 0.0
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(
            f"must be a number in (0, 1), e.g. 0.999, or 'off', got {text!r}."
        )
    return value


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train",
        help="train a WGAN or WGAN-GP on an image dataset",
        description=(
            "Train the original experiment's DCGAN-style WGAN (weight clipping, RMSprop) "
            "or WGAN-GP (gradient penalty 10, Adam 0.5/0.9) with Keras' fit, at the "
            "library's default rate 1e-3 with generator weight averaging "
            "(--paper-optimizers for the papers' 5e-5 / 1e-4). Writes model.keras "
            "(after every epoch), samples/epoch_NNN.png, history.csv, losses.png and "
            "config.json into --out. Refuses a non-empty --out unless --resume is given."
        ),
    )
    d = TRAIN_DEFAULTS
    p.add_argument("--model", choices=MODELS, default=None,
                   help="wgan (weight clipping) or wgan-gp (gradient penalty); "
                        f"default {d['model']}")
    p.add_argument("--dataset", default=None,
                   help="TFDS name (fashion_mnist, mnist, cifar10, ...), IDX or image folder, "
                        f".npy/.npz file; default {d['dataset']}")
    p.add_argument("--data-dir", default=None,
                   help="folder with the dataset's IDX files, or the TFDS data dir")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="total number of epochs (with --resume: the total target, like "
                        f"Keras' epochs); default {d['epochs']}")
    p.add_argument("--steps-per-epoch", type=positive_int, default=None,
                   help="batches per epoch (the dataset repeats); default: one pass over "
                        "the data, rounded down to a multiple of --n-critic")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help=f"default {d['batch_size']}")
    p.add_argument("--image-size", type=_image_size, default=None,
                   help=f"images are resized to this square size; default {d['image_size']}")
    p.add_argument("--dim", type=positive_int, default=None,
                   help=f"width of the nets (the original experiment used 128); "
                        f"default {d['dim']}")
    p.add_argument("--latent-dim", type=positive_int, default=None,
                   help=f"noise size; default {d['latent_dim']}")
    p.add_argument("--n-critic", type=positive_int, default=None,
                   help=f"critic updates per generator update; default {d['n_critic']}")
    p.add_argument("--ema-decay", type=_decay, default=None,
                   help="moving average of the generator's weights, used for samples; "
                        f"'off' to sample the live generator; default {d['ema_decay']}")
    p.add_argument("--paper-optimizers", action="store_const", const=True, default=None,
                   help="the papers' optimizers (WGAN: RMSprop 5e-5, WGAN-GP: Adam 1e-4) "
                        "instead of the library's defaults (the same at rate 1e-3)")
    p.add_argument("--seed", type=non_negative_int, default=None,
                   help=f"seed of weights, noise and data order; default {d['seed']}")
    p.add_argument("--num-samples", type=positive_int, default=None,
                   help=f"images per epoch sample grid; default {d['num_samples']}")
    p.add_argument("--distribute", choices=DISTRIBUTE, default=None,
                   help="data-parallel training: mirrored = every visible GPU (TensorFlow's "
                        "MirroredStrategy, or keras.distribution.DataParallel on JAX), none = "
                        "one device, auto = mirrored when there are several GPUs; default auto. "
                        "The batch size is the global batch")
    p.add_argument("--conditional", action="store_const", const=True, default=None,
                   help="class-conditional nets trained on the dataset's labels (TFDS label "
                        "feature, IDX labels file, class sub-folders, .npz 'y'); sample a "
                        "class with `sample --label NAME`")
    p.add_argument("--out", default=None,
                   help="run directory; default runs/MODEL-DATASET")
    p.add_argument("--checkpoint-every", type=_checkpoint_every, default=None,
                   help="save the training state every N steps (e.g. 500) or minutes / "
                        "seconds (e.g. 2m, 90s), and at every epoch end; default "
                        f"{d['checkpoint_every']}")
    p.add_argument("--tensorboard", default=None, metavar="DIR",
                   help="also write TensorBoard logs to DIR: the metrics per epoch and as "
                        f"means over every {TENSORBOARD_EVERY_N_STEPS} steps (DIR/train) and "
                        "the sample grids (DIR/samples); a resumed run continues there. "
                        'Needs: pip install "keras-wgan[tensorboard]"')
    p.add_argument("--skip-bad-files", action="store_const", const=True, default=None,
                   help="image folders: leave out files that cannot be read (listed in "
                        f"--out/{SKIPPED_FILE}) instead of stopping at the first one")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="continue the run in --out exactly where its last checkpoint "
                            "is (inside an epoch too); a run without one starts at step 0 "
                            "with its recorded settings")
    again.add_argument("--restart", action="store_true",
                       help="start the run in --out over: its files move into "
                            "--out/previous-N/ (nothing is deleted)")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                   help="Keras fit verbosity: 0 silent, 1 progress bar, 2 one line per epoch")
    p.set_defaults(func=run_train)


def _dataset_name(dataset):
    name = os.path.basename(os.path.normpath(str(dataset)))
    return os.path.splitext(name)[0] or "data"


def _flag(name):
    return "--" + name.replace("_", "-")


def _ema_setting(settings):
    """``settings`` with ``ema_decay`` None for "off": --ema-decay off parses as 0.0, and
    older run directories recorded it as 0.0 in config.json (still read)."""
    if settings.get("ema_decay") == 0.0:
        settings = {**settings, "ema_decay": None}
    return settings


def _shown(key, value):
    """A setting's value as its flag spells it (--ema-decay off for None)."""
    return "off" if key == "ema_decay" and value is None else value


def _resolve_train_settings(args):
    """Merge flags with the defaults (new run) or the run's config.json (--resume)."""
    given = _ema_setting(
        {k: getattr(args, k) for k in TRAIN_DEFAULTS if getattr(args, k) is not None}
    )
    if args.resume and args.out is None:
        raise CliError("--resume needs --out, the run directory to continue: "
                       f"{PROG} train --resume --out runs/NAME")
    out = args.out
    if out is None:
        out = os.path.join(
            "runs", f"{given.get('model', TRAIN_DEFAULTS['model'])}-"
            f"{_dataset_name(given.get('dataset', TRAIN_DEFAULTS['dataset']))}"
        )
    if os.path.exists(out) and not os.path.isdir(out):
        raise CliError(f"--out {out!r} exists and is not a directory: choose another, e.g. "
                       f"{PROG} train --out {out}-run")
    model_path = os.path.join(out, MODEL_FILE)
    if args.resume:
        saved = read_json(os.path.join(out, CONFIG_FILE))
        if saved is None and not os.path.isfile(model_path):
            raise CliError(
                f"--resume: {out!r} holds no run to continue (no {CONFIG_FILE}, no "
                f"{MODEL_FILE}); start one with: {PROG} train --out {out}"
            )
        saved = _ema_setting(saved or {})
        for key in MODEL_SETTINGS:
            if key in given and key in saved and given[key] != saved[key]:
                raise CliError(
                    f"{_flag(key)} {_shown(key, given[key])} differs from the run's "
                    f"{_shown(key, saved[key])}: --resume "
                    "continues the saved model, whose settings cannot change; drop "
                    f"{_flag(key)} (or start over: {PROG} train --restart --out {out} ...)."
                )
        settings = {**TRAIN_DEFAULTS, **{k: v for k, v in saved.items() if k in TRAIN_DEFAULTS}}
    else:
        if os.path.isdir(out) and os.listdir(out) and not args.restart:
            raise CliError(
                f"--out {out!r} already exists and is not empty: continue that run with "
                f"`{PROG} train --resume --out {out}`, start it over with `--restart` (its "
                "files move into previous-N/), or choose another --out (nothing is "
                "overwritten)."
            )
        settings = dict(TRAIN_DEFAULTS)
        if args.restart:  # the recorded settings, changed by the flags given
            saved = _ema_setting(read_json(os.path.join(out, CONFIG_FILE)) or {})
            settings.update({k: v for k, v in saved.items() if k in TRAIN_DEFAULTS})
    settings.update(given)
    settings["out"] = out
    return settings


def _looks_like_path(name):
    name = str(name)
    return os.sep in name or "/" in name or name.lower().endswith(
        (".npy", ".npz", ".gz", "ubyte", ".png", ".jpg", ".jpeg"))


def _load_data(settings, seed, skipped=None):
    """The dataset; with --skip-bad-files, ``skipped`` gets the (path, reason) left out."""
    import warnings

    from keras_wgan.data import BadFilesSkipped, DataUnavailableError, load_dataset

    dataset = settings["dataset"]
    if _looks_like_path(dataset) and not os.path.exists(dataset):
        raise CliError(f"--dataset {dataset!r}: no such file or directory.")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = load_dataset(
                settings["dataset"],
                image_size=settings["image_size"],
                batch_size=settings["batch_size"],
                split="train",
                shuffle=True,
                seed=seed,
                data_dir=settings["data_dir"],
                labels=bool(settings.get("conditional")),
                on_error="skip" if settings["skip_bad_files"] else "raise",
            )
    except (ValueError, TypeError, OSError, DataUnavailableError) as error:
        hint = "" if settings["skip_bad_files"] or "cannot read image file" not in str(error) \
            else "; add --skip-bad-files to train without the unreadable files"
        raise CliError(f"cannot load --dataset {dataset!r}: {error}{hint}") from None
    for warning in caught:
        if isinstance(warning.message, BadFilesSkipped) and skipped is not None:
            skipped.extend(warning.message.files)
        if skipped is not None or not isinstance(warning.message, BadFilesSkipped):
            print(f"warning: {warning.message}", file=sys.stderr)
    return data


def _seeded_data(settings, skipped=None):
    """The run's dataset, whose order depends on --seed alone: tf.data derives a shuffle's
    order from the op seed *and* TensorFlow's global seed, so both are set."""
    import tensorflow as tf

    tf.random.set_seed(settings["seed"])
    return _load_data(settings, seed=settings["seed"], skipped=skipped)


def _build_gan(settings, image_shape, class_names=None):
    """The run's model: the TRAIN_PRESET recipe with the run's settings, compiled."""
    import keras

    from keras_wgan import WGAN, WGANGP

    keras.utils.set_random_seed(settings["seed"])  # the nets' initial weights
    cls = WGAN if settings["model"] == "wgan" else WGANGP
    return cls.from_preset(
        TRAIN_PRESET,
        image_shape=image_shape,
        dim=settings["dim"],
        latent_dim=settings["latent_dim"],
        n_critic=settings["n_critic"],
        ema_decay=settings["ema_decay"],
        seed=settings["seed"],
        class_names=class_names or None,
        optimizers="paper" if settings["paper_optimizers"] else "library",
    )


def _distribution_scope(choice):
    """A context in which models are built and trained data-parallel, and its replica count."""
    import contextlib

    import keras

    backend = keras.backend.backend()
    if choice == "auto":
        gpus = _gpu_count(backend)
        choice = "mirrored" if gpus > 1 else "none"
    if choice == "none":
        return contextlib.nullcontext(), 1
    if backend == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()
        return strategy.scope(), strategy.num_replicas_in_sync
    if backend == "jax":
        distribution = keras.distribution.DataParallel()
        return distribution.scope(), len(distribution.device_mesh.devices.flatten())
    raise CliError(
        f"--distribute {choice}: data-parallel training is not available on the {backend} "
        "backend here; use --backend tensorflow or --backend jax, or --distribute none."
    )


def _gpu_count(backend):
    if backend == "tensorflow":
        import tensorflow as tf

        return len(tf.config.list_physical_devices("GPU"))
    if backend == "jax":
        import jax

        return sum(device.platform == "gpu" for device in jax.devices())
    import torch

    return torch.cuda.device_count()


def run_train(args):
    """Train (or, with --resume, continue) a run; see the module docstring for the files."""
    settings = _resolve_train_settings(args)
    if settings["tensorboard"] is not None:
        from keras_wgan.callbacks.tensorboard import require_tensorboard

        try:
            require_tensorboard("--tensorboard")
        except ImportError as error:
            raise CliError(str(error)) from None
    scope, replicas = _distribution_scope(settings["distribute"])
    if settings["batch_size"] % replicas:
        raise CliError(
            f"--batch-size {settings['batch_size']} (the global batch) must be a multiple of "
            f"the {replicas} replicas of --distribute {settings['distribute']}."
        )
    with scope:
        return _train(args, settings, replicas)


def _train(args, settings, replicas):
    out = settings["out"]
    model_path = os.path.join(out, MODEL_FILE)

    from keras_wgan import __version__
    from keras_wgan.callbacks import LossHistory, SampleGrid
    from keras_wgan.checkpoints import (
        TrainingCheckpoint,
        TrainingDiverged,
        TrainingState,
        fit_resumable,
        stop_on_signals,
    )

    gan, state = None, TrainingState()
    if args.resume and os.path.isfile(model_path):
        gan, state = _load_checkpoint(model_path)
        if settings["epochs"] <= state.epoch:
            raise CliError(
                f"--epochs {settings['epochs']} is the total target and the run has already "
                f"done {state.epoch} epochs: pass a larger --epochs to continue, e.g. "
                f"{PROG} train --resume --out {out} --epochs {state.epoch + 10}"
            )
        saved = read_json(os.path.join(out, CONFIG_FILE)) or {}
        for key in STREAM_SETTINGS if state.step else ():
            if key in saved and settings[key] != saved[key]:
                raise CliError(
                    f"{_flag(key)} {settings[key]} differs from the run's {saved[key]}, but "
                    f"its checkpoint is {state.describe()}: the epoch must finish on the same "
                    f"data. Drop {_flag(key)}: {PROG} train --resume --out {out} "
                    f"--epochs {settings['epochs']}"
                )
    elif args.resume:
        print(f"{out} has no {MODEL_FILE} yet: starting it at step 0 with its recorded "
              "settings.", flush=True)

    # The data stream is a function of the settings alone (seeded shuffling), so a
    # resumed run skips the batches it used and sees the ones it would have seen.
    skipped = []
    dataset = _seeded_data(settings, skipped)
    class_names = getattr(dataset, "class_names", None)
    spec = dataset.element_spec[0] if class_names is not None else dataset.element_spec
    image_shape = tuple(int(d) for d in spec.shape[1:])
    if image_shape[-1] not in (1, 3):
        raise CliError(
            f"--dataset {settings['dataset']!r} has {image_shape[-1]}-channel images; "
            "the sample grids need 1 (grayscale) or 3 (RGB)."
        )
    if gan is None:
        gan = _build_gan(settings, image_shape, class_names)
    elif tuple(gan.sample_shape) != image_shape:
        raise CliError(
            f"the dataset's images have shape {image_shape} but the saved model makes "
            f"{tuple(gan.sample_shape)}: --resume needs the run's dataset and --image-size; "
            f"drop those flags: {PROG} train --resume --out {out} --epochs {settings['epochs']}"
        )

    steps = settings["steps_per_epoch"]
    if steps is None:
        # One pass over the data, cut to whole n_critic blocks so that every epoch
        # ends on a generator update; the leftover batches start the next epoch.
        batches = int(dataset.cardinality())
        steps = batches - batches % settings["n_critic"] if batches >= settings["n_critic"] \
            else batches
    fresh = [dataset]

    def make_dataset():  # the first call hands out the dataset built above, unused
        return (fresh.pop() if fresh else _seeded_data(settings)).repeat()

    import keras

    if args.restart:
        _move_aside(out)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as error:
        raise CliError(f"cannot create --out {out!r}: {error.strerror or error}.") from None
    write_json(
        os.path.join(out, CONFIG_FILE),
        {**settings, "version": __version__, "backend": keras.backend.backend(),
         "replicas": replicas, "class_names": class_names},
    )
    if skipped:
        listing = os.path.join(out, SKIPPED_FILE)
        write_text(listing, "".join(f"{path}\t{reason}\n" for path, reason in skipped))
        print(f"The {len(skipped)} skipped files are listed in {listing}.", file=sys.stderr)
    every_steps, every_minutes = _checkpoint_frequency(settings["checkpoint_every"])
    checkpoint = TrainingCheckpoint(model_path, every_n_steps=every_steps,
                                    every_n_minutes=every_minutes)
    if not os.path.isfile(model_path):
        # Step 0 on disk before training: a full or read-only disk shows now, and a
        # kill before the first checkpoint resumes from these very weights.
        checkpoint.set_model(gan)
        try:
            checkpoint.save_state(TrainingState(steps_per_epoch=steps))
        except OSError as error:
            raise CliError(f"cannot write {model_path}: {error.strerror or error}.") from None
    samples_dir = os.path.join(out, SAMPLES_DIR)
    history = LossHistory(out, flush_every=1)  # rows on disk up to every checkpoint
    tensorboard = settings["tensorboard"]
    grids = SampleGrid(samples_dir, num_samples=settings["num_samples"], seed=settings["seed"],
                       log_dir=tensorboard and os.path.join(tensorboard, "samples"))
    callbacks = [history, grids]
    if tensorboard is not None:
        from keras_wgan.callbacks.tensorboard import GANTensorBoard

        callbacks.append(GANTensorBoard(tensorboard, every_n_steps=TENSORBOARD_EVERY_N_STEPS))
    what = "Continuing" if args.resume else "Training"
    where = f" from {state.describe()}" if args.resume and state.global_step else ""
    print(
        f"{what} {settings['model']} on {settings['dataset']} {image_shape}{where}: epochs "
        f"{state.epoch + 1}..{settings['epochs']}, {steps} steps of "
        f"{settings['batch_size']} per epoch, checkpoints every "
        f"{settings['checkpoint_every']}, run directory {out}",
        flush=True,
    )
    resume = f"{PROG} train --resume --out {out} --epochs {settings['epochs']}"
    try:
        with stop_on_signals(checkpoint):
            fit_resumable(
                gan, make_dataset, epochs=settings["epochs"], steps_per_epoch=steps,
                checkpoint=checkpoint, state=state,
                callbacks=callbacks + [checkpoint],  # the checkpoint last (see its doc)
                shuffle=False,  # load_dataset shuffles; Keras cannot shuffle a tf.data input
                verbose=args.verbose,
            )
    except KeyboardInterrupt:
        print(f"\nInterrupted. {model_path} holds {_position(model_path)}; continue with:\n"
              f"  {resume}", file=sys.stderr)
        return 130
    except TrainingDiverged as error:
        print(f"{PROG} train: error: {error} Resuming is exact, so the same settings "
              "would diverge at the same step again; start over at the papers' lower "
              f"rates (the old files move into previous-N/):\n  {PROG} train --restart "
              f"--out {out} --paper-optimizers", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"{PROG} train: error: cannot write the run's files: {error}. "
              f"{model_path} still holds {_position(model_path)}; free space or fix "
              f"the directory, then continue with:\n  {resume}", file=sys.stderr)
        return 1
    if checkpoint.stopped_by is not None and checkpoint.state.epoch < settings["epochs"]:
        signum = getattr(signal, checkpoint.stopped_by, signal.SIGINT)
        print(f"\nStopped by {checkpoint.stopped_by}. {model_path} holds "
              f"{checkpoint.state.describe()}; continue with:\n  {resume}", file=sys.stderr)
        return 128 + int(signum)

    print(f"\nRun directory: {out}")
    print(f"  model      {model_path} ({_position(model_path)})")
    print(f"  samples    {samples_dir}{os.sep}epoch_*.png (last: "
          f"{os.path.basename(grids.last_path or '-')})")
    print(f"  history    {history.epoch_path}, {history.batch_path}")
    print(f"  loss plot  {history.plot_path}")
    print(f"  config     {os.path.join(out, CONFIG_FILE)}")
    if tensorboard is not None:
        print(f"  tensorboard tensorboard --logdir {tensorboard}")
    print(f"Continue:    {PROG} train --resume --out {out} --epochs {settings['epochs'] + 10}")
    print(f"Sample:      {PROG} sample {model_path} --n 64 --out {os.path.join(out, 'grid.png')}")
    return 0


def _load_checkpoint(model_path):
    """The saved model and its position, or a CliError naming what is wrong."""
    from keras_wgan.checkpoints import checkpoint_position

    gan = load_gan(model_path)
    try:
        return gan, checkpoint_position(model_path, gan)
    except (OSError, ValueError) as error:
        raise CliError(f"--resume: {error}") from None


def _position(model_path):
    """What the checkpoint at ``model_path`` holds, in words."""
    from keras_wgan.checkpoints import read_state

    try:
        state = read_state(model_path)
    except (OSError, ValueError):
        return "no readable checkpoint"
    return "an older checkpoint" if state is None else state.describe()


def _move_aside(out):
    """--restart: move the run's files into a new ``previous-N`` folder inside ``out``."""
    names = [n for n in sorted(os.listdir(out)) if not n.startswith("previous-")] \
        if os.path.isdir(out) else []
    if not names:
        return
    number = 1
    while os.path.exists(os.path.join(out, f"previous-{number}")):
        number += 1
    target = os.path.join(out, f"previous-{number}")
    try:
        os.makedirs(target)
        for name in names:
            os.replace(os.path.join(out, name), os.path.join(target, name))
    except OSError as error:
        raise CliError(f"--restart: cannot move the old files into {target}: {error}") from None
    print(f"--restart: the previous run's files are in {target}", flush=True)
