"""A learning-rate decay to 0 whose length can be fixed after training has started.

``keras-wgan train --lr-decay linear --max-time 25m`` cannot know before its first steps
how many updates 25 minutes buy: it trains at the full rate, measures its speed, then
fixes the decay's length once (``callbacks/decay_length.py``, ``cli/training/lr_decay.py``). :class:`LinearDecayToZero`
is that schedule: constant until ``start_step``, linear to 0 at ``decay_steps`` from
there. It records both, so a model saved before or after the length was fixed resumes
with exactly the rates the uninterrupted run used. With ``start_step=0`` it is the
plain linear decay of the WGAN-GP paper's ResNet recipe.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_wgan")
class LinearDecayToZero(keras.optimizers.schedules.LearningRateSchedule):
    """``learning_rate`` until ``start_step``, then ``learning_rate * max(0, 1 - step /
    decay_steps)``; constant while ``decay_steps`` is None (not fixed yet).

    Args:
        learning_rate: the full rate, a number > 0.
        decay_steps: the optimizer step at which the rate reaches 0 (an int >
            ``start_step``), or None: not fixed yet, the rate stays constant.
        start_step: the first optimizer step that follows the line (0: from the start).

    Raises:
        ValueError: if an argument is out of range; the message names it.
    """

    def __init__(self, learning_rate, decay_steps=None, start_step=0):
        self.learning_rate = float(learning_rate)
        if not self.learning_rate > 0:
            raise ValueError(f"`learning_rate` must be > 0, got {learning_rate!r}.")
        self.decay_steps = None
        self.start_step = 0
        if decay_steps is not None:
            self.fix(decay_steps, start_step)

    def fix(self, decay_steps, start_step):
        """Fix the line: the rate reaches 0 at optimizer step ``decay_steps``, from
        ``start_step`` on. A traced train step keeps the old values: retrace it
        (``model.make_train_function(force=True)``)."""
        if isinstance(start_step, bool) or not isinstance(start_step, int) or start_step < 0:
            raise ValueError(f"`start_step` must be an int >= 0, got {start_step!r}.")
        if isinstance(decay_steps, bool) or not isinstance(decay_steps, int) \
                or decay_steps <= start_step:
            raise ValueError(f"`decay_steps` must be an int > start_step ({start_step}), "
                             f"got {decay_steps!r}.")
        self.decay_steps, self.start_step = decay_steps, start_step

    def __call__(self, step):
        step = ops.cast(step, "float32")
        full = ops.full_like(step, self.learning_rate)
        if self.decay_steps is None:
            return full
        line = self.learning_rate * ops.maximum(0.0, 1.0 - step / float(self.decay_steps))
        return ops.where(step < float(self.start_step), full, line)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "decay_steps": self.decay_steps,
                "start_step": self.start_step}


# The two optimizers a line names (``{name: (decay_steps, start_step)}``).
OPTIMIZERS = ("critic_optimizer", "generator_optimizer")


def decaying_schedules(gan):
    """``{optimizer name: its LinearDecayToZero}`` of ``gan`` (empty: no rate decays)."""
    found = {}
    for name in OPTIMIZERS:
        rate = getattr(getattr(gan, name, None), "_learning_rate", None)
        if isinstance(rate, LinearDecayToZero):
            found[name] = rate
    return found


def fix_line(gan, line):
    """Fix ``gan``'s schedules to ``line`` (``{optimizer name: (decay_steps, start_step)}``)
    and retrace the train step that baked the old values into its graph."""
    for name, rate in decaying_schedules(gan).items():
        decay_steps, start_step = line[name]
        rate.fix(int(decay_steps), int(start_step))
    if getattr(gan, "train_function", None) is not None:
        gan.make_train_function(force=True)


def generator_end(critic_end, n_critic, generator_start):
    """The generator's ``(decay_steps, start_step)`` for a critic line ending at critic
    step ``critic_end``: its last whole block of ``n_critic`` critic steps."""
    return max(critic_end // n_critic, generator_start + 1), generator_start


def iterations(gan):
    """``{optimizer name: its step count}``."""
    return {name: int(getattr(gan, name).iterations) for name in OPTIMIZERS}
