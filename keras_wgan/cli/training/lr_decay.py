"""``--lr-decay linear``: both rates fall linearly to 0 at the run's end.

The default when ``--lr-decay`` is left out (:func:`choose`). The end is fixed once
per run and recorded in ``config.json`` (``lr_decay_steps`` and
``lr_decay_start``: each optimizer's own step counts), so that a resume continues the
same line exactly:

- without ``--max-time``, before the first step: the critic steps of ``--epochs`` (the
  generator's: those divided by ``n_critic``), from the run's first step; a resume with
  another ``--epochs`` moves the end there;
- with ``--max-time``, from the speed measured over the run's first minute
  (:class:`keras_wgan.callbacks.decay_length.DecayLength`): the run trains at the full
  rate until then, and the line starts at the step where it was fixed. Where
  ``--epochs`` ends sooner, the line ends there.

Imports no Keras until called (``keras-wgan train --help`` loads no framework).
"""

OPTIMIZERS = ("critic_optimizer", "generator_optimizer")
# --lr-decay left out, on a new run without --paper-optimizers: with --max-time on one
# process, the line from the speed of the first minute; with --max-time on several,
# constant (each process would measure its own speed); without --max-time, the line
# from the first step to the end of --epochs (a run stopped before its end by Ctrl-C
# has its rates part of the way down). Measured: docs "Recipe search at equal CPU
# time", "A rate decay to 0": benchmarks/rate_decay.py (fd 4.18 against 4.42 at 2,000
# generator updates, kd 0.31 against 0.43) and benchmarks/train_wall_time.py,
# keras-wgan train stopped by Ctrl-C after 25 wall minutes on 2 cores, in one run: fd
# 1.20 decaying over 10 epochs (now the default: settings.py), 1.52 over 20 (at 56% of
# the full rate when stopped), 2.32 at a constant rate; in another, with --max-time
# 25m, 1.61 against 2.93.
DEFAULT_WITH_MAX_TIME = "linear"
DEFAULT_WITH_EPOCHS = "linear"


def choose(settings, max_time, processes=1, resume=False, say=print):
    """Fill in --lr-decay when it was left out (``settings["lr_decay"]`` None) and say
    what a decay does when one was chosen. A resumed run keeps what it recorded (a run
    recorded without it: off); ``--paper-optimizers`` trains the papers' algorithm, whose
    rates are constant."""
    from keras_wgan.cli.training.settings import OFF

    if settings.get("lr_decay") is not None:
        return
    if resume or settings.get("paper_optimizers"):  # the papers' algorithm: constant rates
        chosen = OFF
    elif max_time:
        chosen = DEFAULT_WITH_MAX_TIME if processes == 1 else OFF
    else:
        chosen = DEFAULT_WITH_EPOCHS
    settings["lr_decay"] = chosen
    if chosen == OFF:
        return
    if max_time:
        say("--max-time: both rates decay linearly to 0 at the time limit, fixed from the "
            "speed of the first minute (--lr-decay off keeps them constant).", flush=True)
    else:
        say(f"Both rates decay linearly to 0 at the end of epoch {settings.get('epochs')} "
            "(--lr-decay off keeps them constant).", flush=True)


def decaying_optimizers(pair):
    """``pair`` (compile's optimizer keywords) with each rate a
    :class:`~keras_wgan.rate_decay.LinearDecayToZero` whose line is not fixed yet."""
    from keras_wgan import presets
    from keras_wgan.rate_decay import LinearDecayToZero

    return {arg: presets.with_rate(optimizer, LinearDecayToZero(presets.rate_of(optimizer)))
            for arg, optimizer in pair.items()}


def follow(gan, settings, steps_per_epoch, max_time=None, say=None):
    """Fix ``gan``'s line before training: the one the run recorded (a resume), else
    the end of ``--epochs`` from the current step (recorded into ``settings``), else,
    with ``--max-time``, none yet (``DecayLength`` fixes it). A recorded line that
    starts at step 0 was fixed by ``--epochs``: a resume with another ``--epochs`` moves
    its end there (the rate at each step is then the new line's, as if the run had been
    started with that ``--epochs``). ``say``: a function told when the line moved or
    the rates have already reached 0."""
    from keras_wgan import rate_decay

    if not rate_decay.decaying_schedules(gan):
        return
    line = recorded_line(settings)
    if line is None and max_time:
        return
    now = rate_decay.iterations(gan)
    if line is None:
        line = _to_the_last_epoch(gan, settings, steps_per_epoch, now)
        settings.update(line_facts(line))
    elif line["critic_optimizer"][1] == 0 \
            and settings["epochs"] * steps_per_epoch > now["critic_optimizer"]:
        moved = _to_the_last_epoch(gan, settings, steps_per_epoch, dict.fromkeys(now, 0))
        if moved != line:
            if say is not None:
                end, was = moved["generator_optimizer"][0], line["generator_optimizer"][0]
                share = 1.0 - now["generator_optimizer"] / end
                say(f"--epochs {settings['epochs']}: the rates now reach 0 at generator "
                    f"update {end} (the end of epoch {settings['epochs']}) instead of "
                    f"{was}; they go on from {share:.0%} of the full rate (config.json "
                    "records the new line).", flush=True)
            line = moved
            settings.update(line_facts(line))
    rate_decay.fix_line(gan, line)
    end = line["generator_optimizer"][0]
    if say is not None and rate_decay.iterations(gan)["generator_optimizer"] >= end:
        more = ("resume with a larger --epochs (the line then ends there)"
                if line["critic_optimizer"][1] == 0 else
                "start a new run (--lr-decay off keeps a constant rate)")
        say(f"Note: --lr-decay linear: the rates reached 0 at generator update {end} "
            "(config.json's lr_decay_steps): further steps change no weights. For more "
            f"training, {more}.", flush=True)


def _to_the_last_epoch(gan, settings, steps_per_epoch, start):
    """The line from the steps ``start`` (``{optimizer name: step}``) to the end of
    ``--epochs``."""
    from keras_wgan import rate_decay

    end = max(settings["epochs"] * steps_per_epoch, start["critic_optimizer"] + 1)
    return {"critic_optimizer": (end, start["critic_optimizer"]),
            "generator_optimizer": rate_decay.generator_end(
                end, gan.n_critic, start["generator_optimizer"])}


def length_callback(gan, settings, steps_per_epoch, limit, record):
    """With ``--max-time`` (``limit``: the run's ``MaxTime``) and no line yet, the
    callback that fixes it and calls ``record(settings)`` once it is in ``settings``;
    else None."""
    from keras_wgan import rate_decay
    from keras_wgan.callbacks.decay_length import DecayLength

    if not rate_decay.decaying_schedules(gan) or recorded_line(settings) is not None:
        return None

    def fixed(line):  # config.json holds the line before a step follows it
        settings.update(line_facts(line))
        record(settings)

    return DecayLength(lambda: limit.seconds - limit.elapsed(),
                       total_critic_steps=settings["epochs"] * steps_per_epoch,
                       on_fixed=fixed)


def check_can_fix(settings, max_time, processes):
    """Refuse what cannot fix the line: ``--max-time`` on several processes (each would
    measure its own speed)."""
    from keras_wgan.cli.common import PROG, CliError
    from keras_wgan.cli.training.settings import OFF

    if settings.get("lr_decay") not in (None, OFF) and max_time and processes > 1 \
            and not settings.get("lr_decay_steps"):
        raise CliError(
            f"--lr-decay linear with --max-time measures one process's speed; on "
            f"{processes} processes, let --epochs fix where the rates reach 0: {PROG} "
            "train --lr-decay linear --epochs N ... (without --max-time)")


def recorded_line(settings):
    """The line a run recorded (``{optimizer name: (decay_steps, start)}``), or None."""
    steps, start = settings.get("lr_decay_steps"), settings.get("lr_decay_start")
    if not steps:
        return None
    return {name: (steps[name], start[name]) for name in OPTIMIZERS}


def line_facts(line):
    """What config.json records of a fixed line."""
    return {"lr_decay_steps": {n: int(s) for n, (s, _) in line.items()},
            "lr_decay_start": {n: int(t) for n, (_, t) in line.items()}}
