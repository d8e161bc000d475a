"""WGAN-GP: the critic kept 1-Lipschitz by a penalty on its input-gradient norm."""

import warnings

import keras
from keras import ops

from keras_wgan import checks, losses
from keras_wgan.models.base import WassersteinGAN

# Where on the line between a real and a fake sample the penalty is taken.
PENALTY_POINTS = ("random", "midpoint")


@keras.saving.register_keras_serializable(package="keras_wgan")
class WGANGP(WassersteinGAN):
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017).

    The critic loss adds ``gp_weight * E[(||grad D(x_hat)||_2 - gp_target)^2]`` at
    ``x_hat = a*real + (1-a)*fake``, ``a ~ U(0, 1)`` per sample (``one_sided`` uses
    ``max(0, ||g|| - gp_target)^2``), plus ``drift_weight * E[D(real)^2]``.

    Where and how often the penalty is taken:

    - ``penalty_at="random"`` (the paper): ``a ~ U(0, 1)`` per sample;
      ``"midpoint"``: ``a = 1/2``, the middle of each real/fake pair (Kim et al. 2018
      report a lower FID on CIFAR-10 with it).
    - ``penalty_every=k`` (lazy regularisation, Karras et al. 2020): the penalty on
      every k-th critic update only (when the critic optimizer's iteration count is a
      multiple of k), its weight times k so its average pull is unchanged; the other
      updates skip the double gradient, most of a critic step's cost. The logged
      ``gradient_penalty`` averages the steps that took it.
    Defaults: ``n_critic=5``, ``gp_weight=10`` as in the paper; Adam(1e-3, beta_1=0.5,
    beta_2=0.9) for both networks (the paper: 1e-4, ``paper_optimizers()``) with
    ``ema_decay=0.999``, which reach a given sample quality in far less CPU time on the
    original experiment's Fashion-MNIST nets (``benchmarks/fashion_mnist_quality.py``,
    README). The penalty is per sample, so a critic with BatchNormalization (which
    couples the samples of a batch) breaks it: use ``normalization="layer"`` or none.

    Args:
        generator: a ``keras.Model`` from noise (and labels) to samples.
        critic: a ``keras.Model`` from samples (and labels) to one score each.
        gp_weight: the penalty's weight (lambda), >= 0.
        gp_target: the gradient norm the penalty pulls towards.
        one_sided: penalise only norms above ``gp_target``.
        drift_weight: the weight of ``E[D(real)^2]`` (ProGAN's drift term), >= 0.
        penalty_at: ``"random"`` or ``"midpoint"`` (above).
        penalty_every: take the penalty on every k-th critic update (above).
        **kwargs: the arguments every model takes (:class:`WassersteinGAN`:
            ``latent_dim``, ``n_critic``, ``ema_decay``, ``seed``, ``augment``,
            ``num_classes``, ``class_names``, ...).

    Raises:
        ValueError: a setting outside its range; the message names it.

    Example:

    ```python
    from keras_wgan import WGANGP
    from keras_wgan.architectures import build_critic, build_generator

    gan = WGANGP(build_generator(128, (32, 32, 1), 64), build_critic((32, 32, 1), 64),
                 latent_dim=128, gp_weight=10.0, seed=0)
    gan.compile()
    gan.fit(dataset, epochs=3)
    images = gan.generate(16, seed=0)  # numpy, in [-1, 1]
    ```
    """

    def __init__(
        self,
        generator,
        critic,
        gp_weight=10.0,
        gp_target=1.0,
        one_sided=False,
        drift_weight=0.0,
        penalty_at="random",
        penalty_every=1,
        **kwargs,
    ):
        super().__init__(generator, critic, **kwargs)
        self.gp_weight = checks.check_non_negative_number("gp_weight", gp_weight)
        self.gp_target = checks.check_non_negative_number("gp_target", gp_target)
        if not isinstance(one_sided, bool):
            raise ValueError(f"`one_sided` must be True or False, got {one_sided!r}.")
        self.one_sided = one_sided
        self.drift_weight = checks.check_non_negative_number("drift_weight", drift_weight)
        self.penalty_at = checks.check_choice(
            "penalty_at", penalty_at, PENALTY_POINTS,
            hint="(random interpolates as in the paper, or each pair's midpoint)")
        self.penalty_every = checks.check_positive_int("penalty_every", penalty_every)
        self.gradient_penalty_tracker = keras.metrics.Mean(name="gradient_penalty")
        if self._critic_batch_coupled:
            warnings.warn(
                "The critic contains BatchNormalization, which mixes the samples of a "
                "batch: the gradient penalty is then not a per-sample penalty and "
                "WGAN-GP training is unreliable. Build the critic without it "
                "(build_critic(normalization=None or 'layer')).",
                stacklevel=2,
            )

    @staticmethod
    def default_critic_optimizer():
        return keras.optimizers.Adam(learning_rate=1e-3, beta_1=0.5, beta_2=0.9)

    default_generator_optimizer = default_critic_optimizer

    @staticmethod
    def paper_optimizer():
        """Adam(1e-4, beta_1=0.5, beta_2=0.9) for both nets: Gulrajani et al. 2017, Algorithm 1."""
        return keras.optimizers.Adam(learning_rate=1e-4, beta_1=0.5, beta_2=0.9)

    @property
    def metrics(self):
        return super().metrics + [self.gradient_penalty_tracker]

    @property
    def _extra_trackers(self):
        return {**super()._extra_trackers, "gradient_penalty": self.gradient_penalty_tracker}

    def _interpolation_weights(self, real):
        """``a`` of ``a*real + (1-a)*fake`` per sample: U(0, 1), or 1/2 at the midpoint."""
        ones = (1,) * (len(real.shape) - 1)
        if self.penalty_at == "midpoint":
            return ops.full((ops.shape(real)[0],) + ones, 0.5, dtype=real.dtype)
        # Drawn in float32 (then cast): the same weights under every precision policy.
        alpha = self._replica_rows(
            lambda n: keras.random.uniform((n,) + ones, seed=self.seed_generator),
            ops.shape(real)[0],
        )
        return ops.cast(alpha, real.dtype)

    def penalty_due(self):
        """Whether this critic update takes the penalty (every ``penalty_every``-th one)."""
        done = ops.cast(self.critic_optimizer.iterations, "int32")
        return ops.equal(done % self.penalty_every, 0)

    def critic_regularizer(self, real, fake, real_scores, training, labels=None):
        # Drawn before any conditional: the noise stream is the same whether or not a
        # lazy step takes the penalty (and no random state changes inside a branch).
        alpha = self._interpolation_weights(real)

        def penalty():
            # A conditional critic is differentiated with respect to the samples only,
            # at the real samples' labels.
            value, _ = losses.gradient_penalty(
                lambda x, training: self._scores_only(x, training, labels),
                losses.interpolate(real, fake, alpha),
                target=self.gp_target,
                one_sided=self.one_sided,
                training=training,
            )
            return value

        if self.penalty_every == 1 or not training:
            value = penalty()
            term = self.gp_weight * value
            logged = value
        else:  # lazy: computed on due steps only, its weight times k
            due = self.penalty_due()
            value = ops.cond(due, penalty, lambda: ops.zeros((), "float32"))
            term = (self.gp_weight * self.penalty_every) * value
            logged = (value, ops.cast(due, "float32"))
        if self.drift_weight:
            term = term + self.drift_weight * losses.drift_penalty(real_scores)
        return term, {"gradient_penalty": logged}

    def get_config(self):
        return {
            **super().get_config(),
            "gp_weight": self.gp_weight,
            "gp_target": self.gp_target,
            "one_sided": self.one_sided,
            "drift_weight": self.drift_weight,
            "penalty_at": self.penalty_at,
            "penalty_every": self.penalty_every,
        }
