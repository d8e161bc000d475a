"""A run's model: its recipe built with the run's settings, compiled.

The recipe (``settings["recipe"]``, a :mod:`keras_wgan.presets` name) is chosen by the
data's rule (:mod:`.choices`).

``--lr-decay linear`` compiles it with rates that decay to 0 (:mod:`.lr_decay`).
A fine-tuned run (``--init-from``) takes the source's weights and freezes the critic's
first layers before ``compile`` builds the optimizers (see :mod:`.finetune`).
"""

from keras_wgan import presets
from keras_wgan.cli.training import choices, finetune, lr_decay
from keras_wgan.cli.training.settings import OFF, TRAIN_PRESET


def build_gan(settings, image_shape, class_names=None):
    """The run's model: its recipe with the run's settings, compiled (with
    ``--lr-decay linear``, with rates whose line :func:`.lr_decay.follow` fixes)."""
    import keras

    from keras_wgan import WGAN, WGANGP

    keras.utils.set_random_seed(settings["seed"])  # the nets' initial weights
    cls = WGAN if settings["model"] == "wgan" else WGANGP
    augment = settings.get("augment", OFF)
    # The nets take the policy when built (and keep it in the saved file); the process's
    # own global policy is left as it was.
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(settings.get("precision") or "float32")
    try:
        decays = settings.get("lr_decay") not in (None, OFF)
        if not settings.get("init_from") and not decays:
            return _preset_gan(cls, settings, image_shape, augment, class_names)
        # Fine-tuning: the source's weights and the frozen layers before compile, which
        # builds the optimizers on the trainable variables.
        gan = _preset_gan(cls, settings, image_shape, augment, class_names, compile=False)
        if settings.get("init_from"):
            gan = finetune.initialised_from(settings, gan, image_shape, class_names)
        overrides = _preset_overrides(cls, settings, image_shape, augment, class_names)
        pair = presets.make_optimizers(_recipe(settings), cls, **overrides)
        if decays:
            pair = lr_decay.decaying_optimizers(pair)
        gan.compile(**pair)
        return gan
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _recipe(settings):
    """The run's recipe: chosen by the data's rule (training/choices.py); a run recorded
    before recipes were chosen was built with the one in ``settings.OLD_RUN_VALUES``."""
    return settings.get("recipe") or TRAIN_PRESET


def _preset_gan(cls, settings, image_shape, augment, class_names, compile=True):
    return cls.from_preset(_recipe(settings), compile=compile,
                           **_preset_overrides(cls, settings, image_shape, augment,
                                               class_names))


def _preset_overrides(cls, settings, image_shape, augment, class_names):
    """The recipe's settings the run changes; --paper-optimizers makes it the paper's
    algorithm (its optimizers, n_critic 5 unless given, clip or penalty as published)."""
    paper = presets.paper_algorithm(cls) if settings["paper_optimizers"] else {}
    return dict(
        paper,
        nets=settings.get("arch") or "dcgan",
        augment=choices.model_augment(augment),
        image_shape=image_shape,
        dim=settings["dim"],
        latent_dim=settings["latent_dim"],
        n_critic=settings["n_critic"],
        ema_decay=settings["ema_decay"],
        seed=settings["seed"],
        class_names=class_names or None,
    )
