"""The critic/generator alternation's schedule: how many critic updates make a block.

``"fixed"``: ``n_critic`` always. ``"wgan_paper"``: the WGAN paper's schedule
(Arjovsky et al. 2017, Algorithm 1 in the reference code): 100 critic updates per
generator update for the first 25 generator updates and every 500th one, ``n_critic``
otherwise. The model evaluates the rule on the device
(``WassersteinGAN._required_critic_updates``); :class:`HostSchedule` evaluates the same
rule on the host for the backends that choose the step variant there.
"""

CRITIC_SCHEDULES = ("fixed", "wgan_paper")
PAPER_SCHEDULE_CRITIC_ITERS = 100
PAPER_SCHEDULE_WARMUP = 25
PAPER_SCHEDULE_PERIOD = 500


class HostSchedule:
    """The critic/generator alternation counted on the host, one call per train step.

    Some backends choose between two compiled step variants on the host instead of a
    device-side conditional: JAX (XLA's conditional around the generator update made
    every step several times slower on CPU) and TensorFlow under ``tf.distribute``
    (an optimizer update may not sit inside ``tf.cond`` in replica context). The rule
    is the device's (``pending_critic_updates``, ``_required_critic_updates``), so both
    counts stay equal; the copy is read from the variables when training starts.
    """

    def __init__(self, critic_schedule, n_critic, pending, generator_updates):
        self.critic_schedule = critic_schedule
        self.n_critic = n_critic
        self.pending = pending
        self.generator_updates = generator_updates

    def required(self):
        if self.critic_schedule == "wgan_paper" and (
            self.generator_updates < PAPER_SCHEDULE_WARMUP
            or self.generator_updates % PAPER_SCHEDULE_PERIOD == 0
        ):
            return PAPER_SCHEDULE_CRITIC_ITERS
        return self.n_critic

    def completes_block(self):
        """Whether the next critic update completes a block (gets a generator update)."""
        return self.pending + 1 >= self.required()

    def step(self):
        """Count one critic update; True when it completed a block (a generator update)."""
        if self.completes_block():
            self.pending = 0
            self.generator_updates += 1
            return True
        self.pending += 1
        return False
