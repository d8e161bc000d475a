"""WGAN: the critic kept (approximately) 1-Lipschitz by clipping its weights."""

import keras
from keras import ops

from keras_wgan import checks
from keras_wgan.models.base import WassersteinGAN


@keras.saving.register_keras_serializable(package="keras_wgan")
class WGAN(WassersteinGAN):
    """Wasserstein GAN with weight clipping (Arjovsky et al. 2017).

    After every critic update each *trainable* critic weight is clipped to
    ``[-clip_value, clip_value]``. Unlike the reference implementation,
    BatchNormalization moving statistics are not clipped: they are not parameters of
    the critic function being constrained, and clipping them would corrupt
    inference-mode scores.
    Defaults: ``n_critic=5``, ``clip_value=0.01`` as in the paper; RMSprop at 1e-3 for
    both networks (the paper: 5e-5, ``paper_optimizers()``) with ``ema_decay=0.999``,
    which reach a given sample quality in far less CPU time on the original experiment's
    Fashion-MNIST nets (``benchmarks/fashion_mnist_quality.py``, docs "Sample quality").

    Args:
        generator: a ``keras.Model`` from noise (and labels) to samples.
        critic: a ``keras.Model`` from samples (and labels) to one score each; batch
            normalisation is allowed here (no penalty to couple).
        clip_value: the bound of the clipped weights, > 0.
        **kwargs: the arguments every model takes (:class:`WassersteinGAN`:
            ``latent_dim``, ``n_critic``, ``critic_schedule``, ``ema_decay``, ``seed``,
            ``augment``, ``num_classes``, ``class_names``, ...).

    Raises:
        ValueError: a setting outside its range; the message names it.

    Example:

    ```python
    from keras_wgan import WGAN

    gan = WGAN.from_preset("original_experiment", dim=32)  # built and compiled
    gan.fit(dataset, epochs=3)
    ```
    """

    def __init__(self, generator, critic, clip_value=0.01, **kwargs):
        super().__init__(generator, critic, **kwargs)
        self.clip_value = checks.check_positive_number("clip_value", clip_value)

    @staticmethod
    def default_critic_optimizer():
        return keras.optimizers.RMSprop(learning_rate=1e-3)

    default_generator_optimizer = default_critic_optimizer

    @staticmethod
    def paper_optimizer():
        """RMSprop(5e-5) for both nets: Arjovsky et al. 2017, Algorithm 1."""
        return keras.optimizers.RMSprop(learning_rate=5e-5)

    def after_critic_update(self):
        for variable in self.critic.trainable_variables:
            variable.assign(ops.clip(variable, -self.clip_value, self.clip_value))

    def get_config(self):
        return {**super().get_config(), "clip_value": self.clip_value}
