"""`keras-wgan train`: flags to a run directory and its settings, then fit with checkpoints.

The run directory (``--out``: its files, its settings, the rules for ``--resume`` and
``--restart``) is :class:`keras_wgan.cli.run_directory.RunDirectory`; this module holds
the flags, builds the data and the model, and runs ``checkpoints.fit_resumable`` with
the history, sample-grid and TensorBoard callbacks.

One writer: ``train`` holds the lock of ``--out`` while it writes
(``RunDirectory.writer``); a second ``train`` on the same folder is refused at once.

Several machines (``--distribute multi-process``, JAX): every process runs this same
command; :mod:`keras_wgan.cli.processes` agrees the start, the stops and the faults, and
only process 0 writes the run directory (see :func:`_run_multi_process`). A run on one
process trains through ``processes.Solo``, a multi-process one through
``processes.Team``: the training code below is the same for both.

Interruptions: Ctrl-C, SIGTERM or SIGHUP saves a checkpoint after the current step and
exits with 130 / 143 / 129, printing the command that continues; a second Ctrl-C stops at once
(the last checkpoint stays). A NaN or infinite loss stops training without writing the
broken model over the last good one (exit 1).
"""

import argparse
import os
import signal
import sys

from keras_wgan import presets
from keras_wgan.cli import choices, finetune
from keras_wgan.cli.common import (
    CliError,
    MODELS,
    PROG,
    non_negative_int,
    positive_int,
)
from keras_wgan.cli.common import flag as flag_of
from keras_wgan.cli.processes import (
    MULTI_PROCESS,
    Solo,
    distribution_scope,
)
from keras_wgan.cli.run_directory import (
    BEST_FILE,
    SKIPPED_FILE,
    TRAIN_DEFAULTS,
    TRAIN_PRESET,
    RunDirectory,
)

DISTRIBUTE = ("auto", "none", "mirrored", MULTI_PROCESS)
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# Flags of one launch of a multi-process run: not settings of the run (a resume may use
# other machines), so not in config.json.
LAUNCH_FLAGS = ("coordinator", "num_processes", "process_id", "secret_file")
TENSORBOARD_EVERY_N_STEPS = 10  # --tensorboard: per-step scalars, means over this many


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


def _policy(text):
    """``--augment``: ``off``, or DiffAugment names joined by commas (checked by the model)."""
    from keras_wgan import augment

    text = text.strip().lower().replace(" ", "")
    if text == choices.OFF:
        return text
    try:
        augment.check_policy(text)
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(
            f"must be 'off' or names from {', '.join(augment.POLICY_NAMES)} joined by "
            f"commas, e.g. color,translation,cutout, got {text!r} ({error})"
        ) from None
    return text


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
            "(--paper-optimizers for the papers' 5e-5 / 1e-4). Writes into --out: "
            "model.keras (the whole training state, every --checkpoint-every, default "
            "2 minutes, and at every epoch end), samples/epoch_NNN.png (after each "
            "completed epoch), history.csv, history_batches.csv, losses.png and "
            "config.json. Refuses a non-empty --out unless --resume or --restart is given."
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
    p.add_argument("--image-size", type=positive_int, default=None,
                   help="images are resized to this square size, one the --arch family "
                        "takes (`--arch list`); default: an image folder's size rounded "
                        f"down to one, else {choices.REFERENCE_IMAGE_SIZE}")
    p.add_argument("--arch", default=None, metavar="FAMILY",
                   help="the nets, a registered family (`--arch list`): dcgan, resnet, or "
                        "your own (keras_wgan.architectures.register, or an entry point); "
                        "default: chosen from the data and the device (a folder of "
                        "pictures: dcgan on a CPU, resnet on a GPU)")
    p.add_argument("--augment", type=_policy, default=None, metavar="POLICY",
                   help="differentiable augmentation of what the critic sees (DiffAugment): "
                        "names from color, translation, cutout joined by commas, or off; "
                        f"default: on a GPU {choices.COLOUR_POLICY} ({choices.GRAYSCALE_POLICY} "
                        f"for grayscale) for a folder of fewer than {choices.SMALL_DATASET:,} "
                        "images; off on a CPU (it slowed learning at equal CPU time) and "
                        "for larger sets")
    p.add_argument("--dim", type=positive_int, default=None,
                   help="width of the nets (the original experiment used 128); default: "
                        "the data's and the device's rule (32 for pictures on a CPU), else "
                        "the family's (`--arch list`; 64 for dcgan)")
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
                        "one device, auto = mirrored when there are several GPUs, "
                        f"{MULTI_PROCESS} = several machines (JAX; every machine runs the same "
                        "command with its own --process-id; process 0 writes --out); default "
                        "auto. The batch size is the global batch")
    p.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                   help=f"--distribute {MULTI_PROCESS}: process 0's machine and a free port "
                        "(the next port is used too); default: KERAS_DISTRIBUTION_JOB_ADDRESSES")
    p.add_argument("--num-processes", type=positive_int, default=None,
                   help=f"--distribute {MULTI_PROCESS}: how many processes (machines) in all; "
                        "default: KERAS_DISTRIBUTION_NUM_PROCESSES")
    p.add_argument("--process-id", type=non_negative_int, default=None,
                   help=f"--distribute {MULTI_PROCESS}: this process's number, 0 (the owner "
                        "of --out) to N-1; default: KERAS_DISTRIBUTION_PROCESS_ID")
    p.add_argument("--secret-file", default=None, metavar="PATH",
                   help=f"--distribute {MULTI_PROCESS}: a file holding the run's secret, the "
                        "same on every machine: the control link admits only processes that "
                        "hold it; default: $KERAS_WGAN_SECRET, else a key derived from "
                        "--coordinator and --num-processes (keeps out strays, not attackers)")
    p.add_argument("--conditional", action="store_const", const=True, default=None,
                   help="class-conditional nets trained on the dataset's labels (TFDS label "
                        "feature, IDX labels file, class sub-folders, .npz 'y'); sample a "
                        "class with `sample --label NAME`")
    p.add_argument("--precision", choices=PRECISIONS, default=None,
                   help="Keras dtype policy of the nets: mixed_bfloat16 / mixed_float16 compute "
                        "in 16 bits with float32 weights, losses and penalty (see the README's "
                        f"Mixed precision); saved with the model; default {d['precision']}")
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
    p.add_argument("--init-from", default=None, metavar="MODEL.keras",
                   help="fine-tune: start from a trained model's nets (a model.keras or "
                        "best.keras of a train run, its config.json beside it) and their "
                        "settings; fresh optimizers, steps from 0; flags that change the "
                        "nets are refused")
    p.add_argument("--freeze-critic", type=non_negative_int, default=None, metavar="N",
                   help="with --init-from: freeze the critic's first N layers with weights "
                        "(FreezeD, Mo et al. 2020; a DCGAN critic has 3 convolutions, then "
                        "its output layer); default 0")
    p.add_argument("--keep-best", action="store_const", const=True, default=None,
                   help="score samples with the dataset's domain yardstick after every "
                        "epoch (quality_* columns in history.csv) and keep the model of the "
                        f"lowest fd as --out/{BEST_FILE} (its epoch in best.json); the "
                        "yardstick is trained once per dataset and size, minutes on a CPU")
    p.add_argument("--quality-every", type=positive_int, default=None, metavar="N",
                   help="with --keep-best: score samples every N epochs instead of every "
                        "epoch (the best model is one of the scored epochs)")
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


def _looks_like_path(name):
    name = str(name)
    return os.sep in name or "/" in name or name.lower().endswith(
        (".npy", ".npz", ".gz", "ubyte", ".png", ".jpg", ".jpeg"))


def _load_data(settings, seed, skipped=None):
    """The dataset; with --skip-bad-files, ``skipped`` gets the (path, reason) left out."""
    import warnings

    from keras_wgan.data import (
        BadFilesSkipped,
        DataUnavailableError,
        TooFewImagesError,
        UnknownDatasetError,
        load_dataset,
    )

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
    except TooFewImagesError as error:
        raise CliError(
            f"--dataset {dataset!r} holds {error.count} images, fewer than one batch of "
            f"--batch-size {error.batch_size}: pass a smaller --batch-size, e.g. {PROG} train "
            f"--dataset {dataset} --batch-size {_smaller_batch(error.count)} --out "
            f"{settings['out']}"
        ) from None
    except UnknownDatasetError as error:
        example = (error.suggestions or ["fashion_mnist"])[0]
        raise CliError(f"--dataset {error}; e.g. {PROG} train --dataset {example} "
                       f"--out {settings['out']}") from None
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


def _smaller_batch(count):
    """The largest power of two up to ``count``: a batch size a small folder fills."""
    return 1 << (max(count, 1).bit_length() - 1)


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
    augment = settings.get("augment", choices.OFF)
    # The nets take the policy when built (and keep it in the saved file); the process's
    # own global policy is left as it was.
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(settings.get("precision") or "float32")
    try:
        if not settings.get("init_from"):
            return _preset_gan(cls, settings, image_shape, augment, class_names)
        # Fine-tuning: the source's weights and the frozen layers before compile, which
        # builds the optimizers on the trainable variables.
        gan = _preset_gan(cls, settings, image_shape, augment, class_names, compile=False)
        gan = finetune.initialised_from(settings, gan, image_shape, class_names)
        gan.compile(**presets.make_optimizers(TRAIN_PRESET, cls,
                                              **_preset_overrides(settings, image_shape,
                                                                  augment, class_names)))
        return gan
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _preset_gan(cls, settings, image_shape, augment, class_names, compile=True):
    return cls.from_preset(TRAIN_PRESET, compile=compile,
                           **_preset_overrides(settings, image_shape, augment, class_names))


def _preset_overrides(settings, image_shape, augment, class_names):
    return dict(
        nets=settings.get("arch") or "dcgan",
        augment=choices.model_augment(augment),
        image_shape=image_shape,
        dim=settings["dim"],
        latent_dim=settings["latent_dim"],
        n_critic=settings["n_critic"],
        ema_decay=settings["ema_decay"],
        seed=settings["seed"],
        class_names=class_names or None,
        optimizers="paper" if settings["paper_optimizers"] else "library",
    )


def run_train(args):
    """Train (or, with --resume, continue) a run; see the module docstring for the files."""
    if args.arch == "list":
        return choices.list_families()
    given = {k: getattr(args, k) for k in TRAIN_DEFAULTS if getattr(args, k) is not None}
    if "arch" in given:
        choices.family_of(given["arch"])
    if given.get("distribute") == MULTI_PROCESS:
        return _run_multi_process(args, given)
    for name in LAUNCH_FLAGS:
        if getattr(args, name, None) is not None:
            raise CliError(f"{flag_of(name)} belongs to --distribute {MULTI_PROCESS}: add "
                           f"that flag, or drop {flag_of(name)} to train on this machine.")
    run = RunDirectory.at(given, args.out, args.resume)
    with run.writer():
        settings = run.settings_for(finetune.with_source(given, args), args.resume,
                                    args.restart)
        if settings.get("quality_every", 1) != 1 and not settings.get("keep_best"):
            raise CliError("--quality-every sets how often --keep-best scores samples: add "
                           "--keep-best, or drop --quality-every")
        if settings["distribute"] == MULTI_PROCESS:  # recorded; this launch is one machine
            print(f"{run.path} was trained with --distribute {MULTI_PROCESS}; continuing on "
                  f"this machine alone (add --distribute {MULTI_PROCESS} and its flags to "
                  "use several).", flush=True)
            settings["distribute"] = "auto"
        _check_tensorboard(settings)
        scope, replicas = distribution_scope(settings["distribute"])
        _check_batch_size(settings, replicas)
        with scope:
            return _train(args, run, settings, replicas, Solo())


def _check_tensorboard(settings):
    if settings["tensorboard"] is not None:
        from keras_wgan.callbacks.tensorboard import require_tensorboard

        try:
            require_tensorboard("--tensorboard")
        except ImportError as error:
            raise CliError(str(error)) from None


def _check_batch_size(settings, replicas):
    if settings["batch_size"] % replicas:
        raise CliError(
            f"--batch-size {settings['batch_size']} (the global batch) must be a multiple of "
            f"the {replicas} replicas of --distribute {settings['distribute']}."
        )


def _run_multi_process(args, given):
    """Every machine's ``train --distribute multi-process``: agree over the control link,
    join JAX's runtime, then train as one data-parallel model (see ``cli/processes``)."""
    import contextlib

    import keras

    from keras_wgan.cli import control_link, processes

    backend = keras.backend.backend()
    if backend != "jax":
        raise CliError(
            f"--distribute {MULTI_PROCESS} runs on JAX's multi-process runtime, not "
            f"{backend}: add --backend jax (on every machine), e.g. {PROG} train --backend "
            f"jax --distribute {MULTI_PROCESS} --coordinator 10.0.0.1:1234 --num-processes 2 "
            "--process-id 0"
        )
    if args.init_from is not None:
        raise CliError(f"--init-from is for a run on one machine here (the other processes "
                       f"would need the source model too): fine-tune with {PROG} train "
                       f"--init-from {args.init_from} ... without --distribute "
                       f"{MULTI_PROCESS}, then continue it on several with --resume")
    given = finetune.with_source(given, args)  # refuses --freeze-critic alone
    launch = processes.Launch.from_flags(args.coordinator, args.num_processes,
                                         args.process_id)
    key, key_source = control_link.run_key(launch, args.secret_file)
    print(f"{launch.describe()} Control link key: {key_source}.", flush=True)
    command = {flag_of(k): v for k, v in given.items()}
    command.update({"--resume": args.resume, "--restart": args.restart, "--out": args.out,
                    "--coordinator": launch.coordinator,
                    "--num-processes": launch.num_processes})
    hello = {"process_id": launch.process_id, "command": command,
             "versions": control_link.versions()}
    with contextlib.ExitStack() as held, control_link.ControlLink.open(launch, key) as link:
        if launch.is_owner:
            run = held.enter_context(RunDirectory.at(given, args.out, args.resume).writer())
            settings = run.settings_for(given, args.resume, args.restart)
            _check_tensorboard(settings)
            # Once, from process 0's data and device, for all (before JAX starts).
            choices.fill_in(settings, choices.device_kind(runtime_started=False))
            resume_from = b""
            if args.resume and run.has_checkpoint():
                with open(run.model_path, "rb") as f:
                    resume_from = f.read()
            link.agree(hello, settings, resume_from)
        else:
            settings, resume_from = link.join(hello)
            run = RunDirectory(settings["out"])
        distribution = processes.start_runtime(launch)
        link.runtime_joined()
        import jax

        # Every process draws the same values wherever Keras draws from its global seed
        # (a loaded model's variables start from their initializers before their values
        # load, and a distributed variable must start equal on every process).
        keras.utils.set_random_seed(settings["seed"])
        replicas = jax.device_count()
        _check_batch_size(settings, replicas)
        team = processes.Team(launch, link, resume_from)
        with distribution.scope():
            code = _train(args, run, settings, replicas, team)
        return team.finish(code)


def _train(args, run, settings, replicas, team):
    """Train on this process: ``team`` is a ``processes.Solo``, or a ``processes.Team``
    when it is one of several, of which only process 0 writes into ``run``."""
    import keras

    from keras_wgan import __version__
    from keras_wgan.checkpoints import TrainingState

    backend = keras.backend.backend()
    owner = team.is_owner
    gan, state = None, TrainingState()
    source = team.resume_source(run)
    if args.resume and source is not None and source.has_checkpoint():
        gan, state = source.load_checkpoint()
        run.check_can_continue(settings, state, backend)
    elif args.resume and owner:
        print(f"{run.path} has no {os.path.basename(run.model_path)} yet: starting it at "
              "step 0 with its recorded settings.", flush=True)

    choices.fill_in(settings)  # on several processes, process 0 chose already
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
    else:
        run.check_model_fits(gan, image_shape, settings["epochs"], backend)
    steps = _epoch_length(settings, dataset)
    fresh = [dataset]
    if team.check_same_data(settings, fresh[0], steps):  # it read the first batch:
        fresh.pop()  # fit gets a fresh dataset (a second pass would be shuffled otherwise)

    def make_dataset():  # the first call hands out the dataset built above, unused
        return (fresh.pop() if fresh else _seeded_data(settings)).repeat()

    if owner:
        run.prepare(restart=args.restart)
        run.record(settings, version=__version__, backend=backend, replicas=replicas,
                   class_names=class_names)
        if skipped:
            run.record_skipped(skipped)
            print(f"The {len(skipped)} skipped files are listed in {run.skipped_path}.",
                  file=sys.stderr)
    every_steps, every_minutes = _checkpoint_frequency(settings["checkpoint_every"])
    checkpoint = team.checkpoint(run.model_path, every_n_steps=every_steps,
                                 every_n_minutes=every_minutes)
    if owner and not run.has_checkpoint():
        # Step 0 on disk before training: a full or read-only disk shows now, and a
        # kill before the first checkpoint resumes from these very weights.
        checkpoint.set_model(gan)
        try:
            checkpoint.save_state(TrainingState(steps_per_epoch=steps))
        except OSError as error:
            raise CliError(f"cannot write {run.model_path}: "
                           f"{error.strerror or error}.") from None
    callbacks = team.share(_callbacks(run, settings, image_shape) if owner else {})
    what = "Continuing" if args.resume else "Training"
    if settings.get("init_from") and not args.resume:
        what = f"Fine-tuning (from {settings['init_from']})"
    where = f" from {state.describe()}" if args.resume and state.global_step else ""
    print(
        f"{team.who}{what} {settings['model']} on {settings['dataset']} {image_shape}{where}: "
        f"epochs {state.epoch + 1}..{settings['epochs']}, {steps} steps of "
        f"{settings['batch_size']} per epoch, checkpoints every "
        f"{settings['checkpoint_every']}, run directory {run.path}"
        f"{'' if owner else ' (written by process 0)'}",
        flush=True,
    )
    team.watch(checkpoint, run, team.resume_command(run, settings["epochs"], backend),
               alone=run.resume_command(settings["epochs"], backend))
    code = _fit(gan, make_dataset, run, settings, steps, state, checkpoint, callbacks,
                args.verbose if owner else 0, backend, team)
    if code is None:
        if owner:
            _print_summary(run, settings, callbacks, backend, team)
        else:
            print(f"Process {team.launch.process_id}: done; process 0 saved the run in "
                  f"{run.path} on its machine.", flush=True)
        code = 0
    return code


def _epoch_length(settings, dataset):
    """--steps-per-epoch, or one pass over the data cut to whole n_critic blocks (so that
    every epoch ends on a generator update; the leftover batches start the next epoch)."""
    steps = settings["steps_per_epoch"]
    if steps is None:
        batches = int(dataset.cardinality())
        n_critic = settings["n_critic"]
        steps = batches - batches % n_critic if batches >= n_critic else batches
    return steps


QUALITY_SAMPLES = 2000  # --keep-best: samples scored (fewer when the data has fewer)


def _callbacks(run, settings, image_shape):
    """``{name: callback}``: the quality figures and the best model (--keep-best), the
    history files and plot, the sample grids, TensorBoard."""
    from keras_wgan.callbacks import LossHistory, SampleGrid

    tensorboard = settings["tensorboard"]
    callbacks = _keep_best(run, settings, image_shape) if settings.get("keep_best") else {}
    callbacks.update({
        "history": LossHistory(run.path, flush_every=1),  # rows on disk up to every checkpoint
        "grids": SampleGrid(run.samples_dir, num_samples=settings["num_samples"],
                            seed=settings["seed"],
                            log_dir=tensorboard and os.path.join(tensorboard, "samples")),
    })
    if tensorboard is not None:
        from keras_wgan.callbacks.tensorboard import GANTensorBoard

        callbacks["tensorboard"] = GANTensorBoard(tensorboard,
                                                  every_n_steps=TENSORBOARD_EVERY_N_STEPS)
    return callbacks


def _keep_best(run, settings, image_shape):
    """The quality callback (every epoch, or every --quality-every) and :class:`KeepBest`."""
    from keras_wgan.callbacks import KeepBest, QualityMetrics
    from keras_wgan.data import DataUnavailableError
    from keras_wgan.evaluation import DomainYardstick

    if not DomainYardstick.cache_path(settings["dataset"], image_shape).exists():
        print(f"--keep-best: training the {settings['dataset']} yardstick classifier once "
              "(minutes on a CPU; cached for later runs).", flush=True)
    try:
        yardstick = DomainYardstick.for_dataset(settings["dataset"], image_shape,
                                                data_dir=settings["data_dir"],
                                                seed=settings["seed"])
    except (DataUnavailableError, FileNotFoundError, ValueError) as error:
        raise CliError(f"--keep-best needs the dataset's yardstick: {error}; or drop "
                       "--keep-best") from None
    samples = min(QUALITY_SAMPLES, yardstick.train_images.shape[0])
    return {"quality": QualityMetrics(yardstick, every_n_epochs=settings["quality_every"],
                                      num_samples=samples, seed=settings["seed"]),
            "best": KeepBest(run.best_path)}


def _fit(gan, make_dataset, run, settings, steps, state, checkpoint, callbacks, verbose,
         backend, team):
    """Fit to the target; None when done, else the exit code after saying what is kept
    and the command that continues."""
    from keras_wgan.checkpoints import TrainingDiverged, fit_resumable, stop_on_signals

    resume = team.resume_command(run, settings["epochs"], backend)
    try:
        with stop_on_signals(team.stops):
            fit_resumable(
                gan, make_dataset, epochs=settings["epochs"], steps_per_epoch=steps,
                checkpoint=checkpoint, state=state,
                # the stop agreement before the checkpoint, the checkpoint last
                callbacks=list(callbacks.values()) + team.callbacks + [checkpoint],
                shuffle=False,  # load_dataset shuffles; Keras cannot shuffle a tf.data input
                verbose=verbose,
            )
        team.ended_together()  # at the target, or at the agreed stop
    except KeyboardInterrupt:
        print(f"\nInterrupted. {run.model_path} holds {run.position()}; continue with:\n"
              f"  {resume}", file=sys.stderr)
        return 130
    except TrainingDiverged as error:
        team.ended_together()  # every process sees the same losses: all stop here
        print(f"{PROG} train: error: {error} Resuming is exact, so the same settings "
              "would diverge at the same step again; start over at the papers' lower "
              f"rates (the old files move into previous-N/):\n  {PROG} train --restart "
              f"--out {run.path} --paper-optimizers", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"{PROG} train: error: cannot write the run's files: {error}. "
              f"{run.model_path} still holds {run.position()}; free space or fix "
              f"the directory, then continue with:\n  {resume}", file=sys.stderr)
        return 1
    except Exception as error:
        team.await_verdict(error)  # a failed collective: a lost process the link names
        raise
    if checkpoint.stopped_by is not None and checkpoint.state.epoch < settings["epochs"]:
        signum = getattr(signal, checkpoint.stopped_by.split()[0], signal.SIGINT)
        holder = run.model_path if team.is_owner else f"process 0's {run.model_path}"
        print(f"\nStopped by {checkpoint.stopped_by}. {holder} holds "
              f"{checkpoint.state.describe()}; continue with:\n  {resume}", file=sys.stderr)
        return 128 + int(signum)
    return None


def _print_summary(run, settings, callbacks, backend, team):
    history, grids = callbacks["history"], callbacks["grids"]
    print(f"\nRun directory: {run.path}")
    print(f"  model      {run.model_path} ({run.position()})")
    print(f"  samples    {run.samples_dir}{os.sep}epoch_*.png (last: "
          f"{os.path.basename(grids.last_path or '-')})")
    print(f"  history    {history.epoch_path}, {history.batch_path}")
    print(f"  loss plot  {history.plot_path}")
    print(f"  config     {run.config_path}")
    if "best" in callbacks and callbacks["best"].best is not None:
        best = callbacks["best"].best
        print(f"  best       {run.best_path} (epoch {best['epoch']}, fd "
              f"{best['quality_fd']:.3f})")
    if "tensorboard" in callbacks:
        print(f"  tensorboard tensorboard --logdir {settings['tensorboard']}")
    print(f"Continue:    {team.resume_command(run, settings['epochs'] + 10, backend)}")
    print(f"Sample:      {PROG} sample {run.model_path} --n 64 --out "
          f"{os.path.join(run.path, 'grid.png')}")
