"""Compiling a GAN with two optimizers: defaults, loss scaling, and their saved config.

Keras' ``compile`` knows one optimizer; a GAN has two (critic and generator). This
mixin gives ``compile(critic_optimizer=, generator_optimizer=)``, builds both before
any variable loads (so a resumed run keeps their state), wraps both in a
``LossScaleOptimizer`` under ``mixed_float16``, and saves both in the compile config in
a form every backend can read.
"""

import copy

import keras

# First loss scale of the LossScaleOptimizers compile() adds under mixed_float16. Keras'
# 2**15 overflows the critic's float16 gradients at the start (a step with non-finite
# gradients is skipped and the scale halved), as the penalty term (weight 10) makes them
# large; 2**8 starts finite on the original experiment's nets, and the scale still grows
# x2 every 2000 finite steps.
LOSS_SCALE_START = 2.0**8



def _portable(optimizer_config):
    """An optimizer's serialized config that deserializes on every backend.

    Under torch, Keras' optimizers are backend subclasses and serialize with the module
    ``keras.src.backend.torch.optimizers...``; another backend would import torch's
    class from it. Keras' public ``keras.optimizers`` names the right one everywhere.
    """
    if not isinstance(optimizer_config, dict):
        return optimizer_config
    if str(optimizer_config.get("module", "")).startswith("keras.src.backend."):
        optimizer_config = {**optimizer_config, "module": "keras.optimizers"}
    inner = optimizer_config.get("config", {}).get("inner_optimizer")  # LossScaleOptimizer
    if isinstance(inner, dict):
        config = {**optimizer_config["config"], "inner_optimizer": _portable(inner)}
        optimizer_config = {**optimizer_config, "config": config}
    return optimizer_config



class OptimizerPair:
    """``compile`` / compile config for a model with ``critic`` and ``generator`` nets.

    The class using it sets ``default_critic_optimizer`` / ``default_generator_optimizer``
    (called when an optimizer is omitted) and ``paper_optimizer``.
    """

    default_critic_optimizer = None
    default_generator_optimizer = None
    paper_optimizer = None

    def compile(
        self,
        critic_optimizer=None,
        generator_optimizer=None,
        **kwargs,
    ):
        """Set up both optimizers (the class defaults when omitted); other kwargs go to Keras.

        ``loss``, ``metrics`` and ``optimizer`` are not accepted: the Wasserstein
        objective is fixed and the two optimizers are named explicitly. For the paper's
        exact optimizers use ``compile(**gan.paper_optimizers())``.

        Args:
            critic_optimizer: a Keras optimizer; None: the class's default.
            generator_optimizer: a Keras optimizer (another instance); None: the
                class's default.
            **kwargs: Keras' ``compile`` arguments (``steps_per_execution``,
                ``jit_compile``, ``run_eagerly``).

        Raises:
            ValueError: ``loss``, ``metrics`` or ``optimizer`` given, or one optimizer
                instance for both nets.
        """
        for forbidden in ("loss", "optimizer", "metrics", "loss_weights", "weighted_metrics"):
            if kwargs.get(forbidden) is not None:
                raise ValueError(
                    f"`{forbidden}` is not accepted by {type(self).__name__}.compile(): the "
                    "Wasserstein losses are built in; pass `critic_optimizer=` and "
                    "`generator_optimizer=` instead."
                )
            kwargs.pop(forbidden, None)
        critic_optimizer = self._make_optimizer(
            "critic_optimizer", critic_optimizer, self.default_critic_optimizer
        )
        generator_optimizer = self._make_optimizer(
            "generator_optimizer", generator_optimizer, self.default_generator_optimizer
        )
        if critic_optimizer is generator_optimizer:
            raise ValueError(
                "`critic_optimizer` and `generator_optimizer` must be two different "
                "optimizer instances (each keeps its own slots and iteration count)."
            )
        if self._needs_loss_scaling():
            # float16 gradients underflow without it; Keras would wrap only one optimizer.
            critic_optimizer, generator_optimizer = (
                opt if isinstance(opt, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(opt, initial_scale=LOSS_SCALE_START)
                for opt in (critic_optimizer, generator_optimizer)
            )
        # The critic optimizer doubles as Keras' `self.optimizer`, so learning-rate
        # callbacks act on it and Keras creates no third, unused optimizer.
        super().compile(optimizer=critic_optimizer, **kwargs)
        self.critic_optimizer = critic_optimizer
        self.generator_optimizer = generator_optimizer
        # Build both now, with explicit variable lists: loading a saved model restores
        # optimizer variables right after compile, and unbuilt optimizers would be
        # skipped (silently restarting Adam/RMSprop state).
        self.critic_optimizer.build(self.critic.trainable_variables)
        self.generator_optimizer.build(self.generator.trainable_variables)
        self._requested_jit_compile = kwargs.get("jit_compile", "auto")

    def _needs_loss_scaling(self):
        """Whether the model or its networks compute in float16 (``mixed_float16``)."""
        layers = [self] + [layer for net in (self.generator, self.critic)
                           for layer in net._flatten_layers()]
        return any(
            keras.backend.standardize_dtype(layer.dtype_policy.compute_dtype) == "float16"
            for layer in layers
        )

    @classmethod
    def paper_optimizers(cls):
        """Fresh optimizers as the class's paper set them, as ``compile`` keyword arguments.

        The defaults of ``compile()`` train faster at equal CPU time (see the class
        docstring); these reproduce the paper: ``gan.compile(**gan.paper_optimizers())``.

        Returns:
            ``{"critic_optimizer": ..., "generator_optimizer": ...}``.
        """
        return {
            "critic_optimizer": cls.paper_optimizer(),
            "generator_optimizer": cls.paper_optimizer(),
        }

    def _make_optimizer(self, arg, value, default):
        if value is None:
            if default is None:
                raise TypeError(
                    f"{type(self).__name__} has no default `{arg}`: it is an abstract base "
                    "class. Use WGAN or WGANGP, or pass both optimizers to compile()."
                )
            return default()
        try:
            optimizer = keras.optimizers.get(value)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"`{arg}` must be a keras.optimizers.Optimizer, its name or config; got {value!r}."
            ) from error
        return optimizer  # an Optimizer instance comes back as itself

    def get_compile_config(self):
        if self.critic_optimizer is None:
            return None
        return {
            "critic_optimizer": _portable(keras.saving.serialize_keras_object(
                self.critic_optimizer
            )),
            "generator_optimizer": _portable(keras.saving.serialize_keras_object(
                self.generator_optimizer
            )),
            "steps_per_execution": self.steps_per_execution,
            "jit_compile": self._requested_jit_compile,
        }

    def compile_from_config(self, config):
        config = copy.deepcopy(config)
        for key in ("critic_optimizer", "generator_optimizer"):
            config[key] = keras.saving.deserialize_keras_object(_portable(config[key]))
        self.compile(**config)
