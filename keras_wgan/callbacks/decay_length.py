"""Fix a rate decay's length from the speed measured over the run's first minute.

A run with a time limit (``MaxTime``, ``train --max-time``) and rates that decay to 0
(:class:`keras_wgan.rate_decay.LinearDecayToZero`, not fixed yet) trains at the full rate
for :data:`MEASURE_SECONDS`, then ends the line where the speed says the time runs out.
"""

import time

import keras

from keras_wgan import rate_decay

# Wall seconds of training, after the first (traced) step, that the speed is measured
# over before the line is fixed: a minute is 4% of a 25-minute run at the full rate,
# and long enough that the step time settles.
MEASURE_SECONDS = 60.0
# The share of the measured speed the rest of the run is expected to keep: the first
# minute has none of the checkpoints (every 2 minutes), epoch-end grids and history
# writes that follow, which cost about 2% of the time on the reference task (an epoch:
# 165 s, its saves 2-4 s; benchmarks/train_wall_time.py).
KEPT_SPEED = 0.97


class DecayLength(keras.callbacks.Callback):
    """Fix the model's decaying rates once, from the speed of the first minute.

    The critic steps (``fit``'s steps) set the pace: the critic's line ends after the
    steps the time left buys at :data:`KEPT_SPEED` of the measured speed, the
    generator's with its last whole block of ``n_critic`` of them. Both start at the
    step after the measurement (the steps before kept the full rate).

    Args:
        seconds_left: a function giving the wall seconds left to the time limit.
        total_critic_steps: where the run ends anyway (its epochs' steps), or None: the
            line ends there at the latest.
        on_fixed: called with the line (``{optimizer name: (decay_steps, start_step)}``)
            before the next step follows it, to record it.
        clock: ``time.monotonic``; tests pass their own.
    """

    def __init__(self, seconds_left, total_critic_steps=None, on_fixed=None,
                 clock=time.monotonic):
        super().__init__()
        self.seconds_left = seconds_left
        self.total_critic_steps = total_critic_steps
        self.on_fixed = on_fixed
        self._clock = clock
        self._first = None  # (time, critic steps) after the first step
        self.line = None

    def on_train_batch_end(self, batch, logs=None):
        if self.line is not None or not rate_decay.decaying_schedules(self.model):
            return
        now = self._clock()
        if self._first is None:
            self._first = (now, int(self.model.critic_optimizer.iterations))
            return
        started, first = self._first
        if now - started < MEASURE_SECONDS:
            return
        counts = rate_decay.iterations(self.model)
        critic = counts["critic_optimizer"]
        speed = (critic - first) / (now - started)
        end = critic + max(1, int(max(0.0, self.seconds_left()) * speed * KEPT_SPEED))
        if self.total_critic_steps is not None:
            end = max(critic + 1, min(end, self.total_critic_steps))
        self.line = {"critic_optimizer": (end, critic),
                     "generator_optimizer": rate_decay.generator_end(
                         end, self.model.n_critic, counts["generator_optimizer"])}
        rate_decay.fix_line(self.model, self.line)
        if self.on_fixed is not None:
            self.on_fixed(self.line)
