"""The generator's weight average (EMA): a copy of the generator that follows its weights.

A mixin of ``WassersteinGAN``: it reads the model's ``generator``, ``ema_generator``,
``ema_decay`` and ``generator_optimizer``. Samples come from the average when it is on
(``Sampler.sampling_generator``); it is saved with the model as a third net.
"""

import keras
from keras import ops


class WeightAverage:
    """Make the average and update it after each generator step."""

    def _weight_average_of(self, generator, ema_decay):
        """A non-trainable copy of ``generator`` to average into, or None when off."""
        if ema_decay is None:
            return None
        average = keras.models.clone_model(generator)
        average.set_weights(generator.get_weights())
        # Updated by assignment, never by an optimizer: not a trainable weight.
        average.trainable = False
        self._pair_by_path(average, generator)  # checks the paths now
        return average

    def _update_ema(self):
        # Warm-up as in tf.train.ExponentialMovingAverage(num_updates=...): the decay
        # grows as (1 + t) / (10 + t) up to ema_decay, so the average is not dominated
        # by the random initial weights in short runs.
        updates = ops.cast(self.generator_optimizer.iterations, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + updates) / (10.0 + updates))
        # Pairs rebuilt per call (at trace time on TF/JAX): a list of variables held as a
        # model attribute would be tracked, and saved, as the model's own variables.
        for average, weight in self._pair_by_path(self.ema_generator, self.generator):
            if weight.trainable:
                average.assign(decay * average + (1.0 - decay) * weight)
            else:  # normalisation statistics: follow the live generator
                average.assign(weight)

    @staticmethod
    def _pair_by_path(average_model, live_model):
        """(average, live) variable pairs matched by path (the clone keeps layer names)."""
        live = {v.path: v for v in live_model.weights}
        if len(live) != len(live_model.weights):
            raise ValueError(
                "The generator's weights do not have unique paths (two layers share a "
                "name?), so their moving average cannot be matched to them; give its "
                "layers unique names or pass ema_decay=None."
            )
        return [(average, live[average.path]) for average in average_model.weights]
