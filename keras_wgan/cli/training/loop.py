"""The run on this process: build or load the model, fit it with checkpoints, report.

:func:`train_run` is the same for a run on one process and for one process of several:
it asks its :class:`.team.ProcessRole` (``Solo`` or ``Team``) who writes, how stops
are agreed and what to say, and never branches on the process count. It runs
``checkpoints.fit_resumable`` with the history, sample-grid, TensorBoard and (with
``--keep-best``) quality callbacks.
"""

import os
import signal
import sys

from keras_wgan.cli.common import PROG, CliError
from keras_wgan.cli.training import choices, data, lr_decay, model

TENSORBOARD_EVERY_N_STEPS = 10  # --tensorboard: per-step scalars, means over this many
# --max-time: the stop reason's start (callbacks.max_time) and the grid of where it stopped.
TIME_LIMIT = "max-time"
STOP_GRID = "stopped_at_step_{step:07d}.png"


def train_run(args, run, settings, replicas, team):
    """Train on this process: ``team`` is a :class:`.team.Solo`, or a :class:`.team.Team`
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
    dataset = data.seeded_data(settings, skipped)
    class_names = getattr(dataset, "class_names", None)
    spec = dataset.element_spec[0] if class_names is not None else dataset.element_spec
    image_shape = tuple(int(d) for d in spec.shape[1:])
    if image_shape[-1] not in (1, 3):
        raise CliError(
            f"--dataset {settings['dataset']!r} has {image_shape[-1]}-channel images; "
            "the sample grids need 1 (grayscale) or 3 (RGB)."
        )
    if gan is None:
        gan = model.build_gan(settings, image_shape, class_names)
    else:
        run.check_model_fits(gan, image_shape, settings["epochs"], backend)
    steps = data.epoch_length(settings, dataset)
    max_time = getattr(args, "max_time", None)
    lr_decay.follow(gan, settings, steps, max_time, say=print if owner else None)
    unread = [dataset]  # built and not iterated yet: the first make_dataset() takes it
    if team.check_same_data(settings, dataset, steps):  # it read the first batch:
        unread.clear()  # fit gets a new dataset (a second pass would be shuffled otherwise)

    def make_dataset():
        return (unread.pop() if unread else data.seeded_data(settings)).repeat()

    if owner:
        run.prepare(restart=args.restart)
        run.record(settings, version=__version__, backend=backend, replicas=replicas,
                   class_names=class_names)
        if skipped:
            run.record_skipped(skipped)
            print(f"The {len(skipped)} skipped files are listed in {run.skipped_path}.",
                  file=sys.stderr)
    every_steps, every_minutes = checkpoint_frequency(settings["checkpoint_every"])
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
    callbacks = team.callbacks_on_this_process(
        _callbacks(run, settings, image_shape) if owner else {})
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
    if owner and max_time:
        from keras_wgan.callbacks import MaxTime

        # Process 0 alone times the run; the stop agreement stops every process there.
        callbacks["max_time"] = limit = MaxTime(max_time, stopper=team.stops)
        length = lr_decay.length_callback(
            gan, settings, steps, limit, lambda fixed: run.record(
                fixed, version=__version__, backend=backend, replicas=replicas,
                class_names=class_names))
        if length is not None:
            callbacks["lr_decay"] = length
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


def checkpoint_frequency(text):
    """``(every_n_steps, every_n_minutes)`` of a --checkpoint-every value."""
    if text.endswith("m"):
        return None, float(text[:-1])
    if text.endswith("s"):
        return None, float(text[:-1]) / 60.0
    return int(text), None


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
        holder = run.model_path if team.is_owner else f"process 0's {run.model_path}"
        if checkpoint.stopped_by.startswith(TIME_LIMIT):
            _stopped_in_time(run, checkpoint, callbacks, holder, resume, team)
            return 0
        signum = getattr(signal, checkpoint.stopped_by.split()[0], signal.SIGINT)
        print(f"\nStopped by {checkpoint.stopped_by}. {holder} holds "
              f"{checkpoint.state.describe()}; continue with:\n  {resume}", file=sys.stderr)
        return 128 + int(signum)
    return None


def _stopped_in_time(run, checkpoint, callbacks, holder, resume, team):
    """--max-time: the run saved after its current step; a grid of where it stopped
    (``stopped_at_step_NNNNNNN.png``, a name no epoch's grid takes) and the command that
    continues. It exits 0: the limit was the user's plan, not a failure."""
    from keras_wgan.cli.training.runtime import unshared

    step = checkpoint.state.global_step
    grid = ""
    if team.is_owner and "grids" in callbacks:
        grids = callbacks["grids"]
        with unshared():  # process 0 alone draws it, as it draws the epochs' grids
            path = getattr(grids, "inner", grids).write_file(STOP_GRID.format(step=step))
        grid = f"; its samples: {path}"
    print(f"\nStopped at the time limit ({checkpoint.stopped_by}) after step {step}. "
          f"{holder} holds {checkpoint.state.describe()}{grid}. Continue with a later "
          f"--max-time, or to the end:\n  {resume}", flush=True)


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
