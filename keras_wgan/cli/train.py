"""`keras-wgan train`: the command line of a training run (its flags and their wiring).

This module holds the flags and wires them to the run under it, which lives in
:mod:`keras_wgan.cli.training`: the run directory ``--out`` and its settings
(:mod:`~keras_wgan.cli.training.run_directory`), the data-and-device choices, the model,
the training loop, and for several machines the launch, the control link and the
process team. A run on one process trains through ``training.team.Solo``
(:func:`run_train`), a multi-process one through ``training.team.Team``
(:func:`_run_multi_process`): the training loop is the same for both.

One writer: ``train`` holds the lock of ``--out`` while it writes
(``RunDirectory.writer``); a second ``train`` on the same folder is refused at once.

Several machines (``--distribute multi-process``, JAX): every process runs this same
command; process 0 agrees the start, the stops and the faults over the control link,
and only process 0 writes the run directory.

Interruptions: Ctrl-C, SIGTERM or SIGHUP saves a checkpoint after the current step and
exits with 130 / 143 / 129, printing the command that continues (``--max-time`` stops the
same way at its limit, draws ``samples/stopped_at_step_N.png`` and exits 0); a second Ctrl-C stops at once
(the last checkpoint stays). A NaN or infinite loss stops training without writing the
broken model over the last good one (exit 1).
"""

import argparse

from keras_wgan.cli.common import (
    MODELS,
    PROG,
    CliError,
    non_negative_int,
    positive_int,
)
from keras_wgan.cli.common import flag
from keras_wgan.cli.training import choices, devices, finetune, loop, lr_decay
from keras_wgan.cli.training.launch import MULTI_PROCESS
from keras_wgan.cli.training.loop import TENSORBOARD_EVERY_N_STEPS
from keras_wgan.cli.training.run_directory import BEST_FILE, SKIPPED_FILE, RunDirectory
from keras_wgan.cli.training.settings import LAUNCH_FLAGS, OFF, TRAIN_DEFAULTS
from keras_wgan.cli.training.team import Solo

DISTRIBUTE = ("auto", "none", "mirrored", MULTI_PROCESS)
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


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


def _augment_policy(text):
    """``--augment``: ``off``, or DiffAugment names joined by commas (checked by the model)."""
    from keras_wgan import augment

    text = text.strip().lower().replace(" ", "")
    if text == OFF:
        return text
    try:
        augment.check_policy(text)
    except (TypeError, ValueError) as error:
        raise argparse.ArgumentTypeError(
            f"must be 'off' or names from {', '.join(augment.POLICY_NAMES)} joined by "
            f"commas, e.g. color,translation,cutout, got {text!r} ({error})"
        ) from None
    return text


def _duration(text):
    """``--max-time``: seconds of a duration (callbacks.max_time.parse_duration)."""
    from keras_wgan.callbacks.max_time import parse_duration

    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"must be {error}") from None


def _decay(text):
    """A decay in (0, 1), or ``off``: 0.0 here (None would read as "flag not given"),
    None in the run's settings and config.json (``settings.with_ema_off_as_none``)."""
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
            "Train the original experiment's DCGAN-style WGAN (weight clipping) or "
            "WGAN-GP (gradient penalty) with Keras' fit, with the recipe our search at "
            "equal CPU time chose (Fashion-MNIST: dim 32; WGAN-GP one critic step, "
            "ProGAN's Adam(1e-3, 0, 0.99) and drift 0.001; WGAN RMSprop "
            "1e-3, clip 0.02) and generator weight averaging (--paper-optimizers for the "
            "papers' algorithm). Stops cleanly at --max-time. Writes into --out: "
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
    p.add_argument("--augment", type=_augment_policy, default=None, metavar="POLICY",
                   help="differentiable augmentation of what the critic sees (DiffAugment): "
                        "names from color, translation, cutout joined by commas, or off; "
                        f"default: on a GPU {choices.COLOUR_POLICY} ({choices.GRAYSCALE_POLICY} "
                        f"for grayscale) for a folder of fewer than {choices.SMALL_DATASET:,} "
                        "images; off on a CPU (it slowed learning at equal CPU time) and "
                        "for larger sets")
    p.add_argument("--dim", type=positive_int, default=None,
                   help="width of the nets (the original experiment used 128); default: "
                        "the data's and the device's rule (32 for Fashion-MNIST-like data "
                        "and for pictures on a CPU), else the family's (`--arch list`)")
    p.add_argument("--latent-dim", type=positive_int, default=None,
                   help=f"noise size; default {d['latent_dim']}")
    p.add_argument("--n-critic", type=positive_int, default=None,
                   help="critic updates per generator update; default: the recipe's (on "
                        "Fashion-MNIST-like data 1 for wgan-gp, 5 for wgan; 5 for image "
                        "folders and with --paper-optimizers)")
    p.add_argument("--ema-decay", type=_decay, default=None,
                   help="moving average of the generator's weights, used for samples; "
                        f"'off' to sample the live generator; default {d['ema_decay']}")
    p.add_argument("--paper-optimizers", action="store_const", const=True, default=None,
                   help="the papers' algorithm instead of the library's measured recipe: "
                        "their optimizers (WGAN: RMSprop 5e-5, clip 0.01; WGAN-GP: Adam "
                        "1e-4, 0.5, 0.9, the penalty at random points on every critic "
                        "step) and 5 critic steps per generator step (unless --n-critic)")
    p.add_argument("--lr-decay", choices=("off", "linear"), default=None,
                   help="'linear': both rates fall linearly to 0 at the run's end: at "
                        "--epochs, or, with --max-time, where the speed measured over the "
                        "first minute says the time runs out (recorded in config.json); "
                        "'off': constant rates; default linear, but off with "
                        "--paper-optimizers (the papers' constant rates), with --max-time "
                        "on several processes, and on a resume of a run recorded without "
                        "it")
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
                        "in 16 bits with float32 weights, losses and penalty (see the docs' "
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
                   help="with --init-from: freeze the critic's first N convolution and "
                        "dense layers (FreezeD, Mo et al. 2020; a DCGAN critic has 3 "
                        "convolutions, then its output layer; BatchNorm layers are not "
                        "counted and keep training); default 0")
    p.add_argument("--keep-best", action="store_const", const=True, default=None,
                   help="score samples with the dataset's domain yardstick after every "
                        "epoch (quality_* columns in history.csv) and keep the model of the "
                        f"lowest fd as --out/{BEST_FILE} (its epoch in best.json); the "
                        "yardstick is trained once per dataset and size, minutes on a CPU")
    p.add_argument("--quality-every", type=positive_int, default=None, metavar="N",
                   help="with --keep-best: score samples every N epochs instead of every "
                        "epoch (the best model is one of the scored epochs)")
    resume_or_restart = p.add_mutually_exclusive_group()
    resume_or_restart.add_argument("--resume", action="store_true",
                       help="continue the run in --out exactly where its last checkpoint "
                            "is (inside an epoch too); a run without one starts at step 0 "
                            "with its recorded settings")
    resume_or_restart.add_argument("--restart", action="store_true",
                       help="start the run in --out over: its files move into "
                            "--out/previous-N/ (nothing is deleted)")
    p.add_argument("--max-time", type=_duration, default=None, metavar="DURATION",
                   help="stop cleanly after this much wall-clock time of this invocation "
                        "(e.g. 30m, 2h, 1h30m, 90s; as a SLURM job's time limit): save "
                        "after the current step, write samples/stopped_at_step_N.png, exit "
                        "0; continue with --resume (and a later --max-time)")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                   help="Keras fit verbosity: 0 silent, 1 progress bar, 2 one line per epoch")
    p.set_defaults(func=run_train)


def run_train(args):
    """Train (or, with --resume, continue) a run; see the module docstring for the files."""
    if args.arch == "list":
        return choices.list_families()
    given = {k: getattr(args, k) for k in TRAIN_DEFAULTS if getattr(args, k, None) is not None}
    if "arch" in given:
        choices.family_of(given["arch"])
    if given.get("distribute") == MULTI_PROCESS:
        return _run_multi_process(args, given)
    for name in LAUNCH_FLAGS:
        if getattr(args, name, None) is not None:
            raise CliError(f"{flag(name)} belongs to --distribute {MULTI_PROCESS}: add "
                           f"that flag, or drop {flag(name)} to train on this machine.")
    run = RunDirectory.at(given, args.out, args.resume)
    with run.writer():
        settings = run.settings_for(finetune.with_source(given, args), args.resume,
                                    args.restart)
        if settings["distribute"] == MULTI_PROCESS:  # recorded; this launch is one machine
            print(f"{run.path} was trained with --distribute {MULTI_PROCESS}; continuing on "
                  f"this machine alone (add --distribute {MULTI_PROCESS} and its flags to "
                  "use several).", flush=True)
            settings["distribute"] = "auto"
        _check_tensorboard(settings)
        lr_decay.choose(settings, args.max_time, resume=args.resume)
        scope, replicas = devices.distribution_scope(settings["distribute"])
        _check_batch_size(settings, replicas)
        with scope:
            return loop.train_run(args, run, settings, replicas, Solo())


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
    join JAX's runtime, then train as one data-parallel model (see ``training/team.py``)."""
    import contextlib

    import keras

    from keras_wgan.cli.training import control_link, runtime
    from keras_wgan.cli.training.hello import versions
    from keras_wgan.cli.training.connection import run_key
    from keras_wgan.cli.training.launch import Launch
    from keras_wgan.cli.training.team import Team

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
    launch = Launch.from_flags(args.coordinator, args.num_processes,
                               args.process_id)
    key, key_source = run_key(launch, args.secret_file)
    print(f"{launch.describe()} Control link key: {key_source}.", flush=True)
    command = {flag(k): v for k, v in given.items()}
    command.update({"--resume": args.resume, "--restart": args.restart, "--out": args.out,
                    "--coordinator": launch.coordinator,
                    "--num-processes": launch.num_processes})
    hello = {"process_id": launch.process_id, "command": command,
             "versions": versions()}
    with contextlib.ExitStack() as held, control_link.ControlLink.open(launch, key) as link:
        if launch.is_owner:
            run = held.enter_context(RunDirectory.at(given, args.out, args.resume).writer())
            settings = run.settings_for(given, args.resume, args.restart)
            _check_tensorboard(settings)
            lr_decay.choose(settings, args.max_time, launch.num_processes, args.resume)
            lr_decay.check_can_fix(settings, args.max_time, launch.num_processes)
            # Once, from process 0's data and device, for all (before JAX starts).
            choices.fill_in(settings, devices.device_kind(runtime_started=False))
            resume_from = b""
            if args.resume and run.has_checkpoint():
                with open(run.model_path, "rb") as f:
                    resume_from = f.read()
            link.agree(hello, settings, resume_from)
        else:
            settings, resume_from = link.join(hello)
            run = RunDirectory(settings["out"])
        distribution = runtime.start_runtime(launch)
        link.runtime_joined()
        import jax

        # Every process draws the same values wherever Keras draws from its global seed
        # (a loaded model's variables start from their initializers before their values
        # load, and a distributed variable must start equal on every process).
        keras.utils.set_random_seed(settings["seed"])
        replicas = jax.device_count()
        _check_batch_size(settings, replicas)
        team = Team(launch, link, resume_from)
        with distribution.scope():
            code = loop.train_run(args, run, settings, replicas, team)
        return team.finish(code)
