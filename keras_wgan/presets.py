"""Named recipes: the nets, model settings and optimizers of a WGAN / WGAN-GP in one place.

``WGANGP.from_preset("fashion_mnist_32")`` builds and compiles a whole model from a name,
as keras-hub's ``from_preset`` does; the CLI, the examples, the benchmarks and
``keras_wgan.toy`` all build their models here, so the "WGAN nets vs WGAN-GP nets and
their settings" choice is written once. Each recipe holds one value per setting; the
class picks the variant: ``WGAN`` gets the clipping nets (the generator's middle block
``dim`` wide, a batch-normalised critic) and ``clip_value``, ``WGANGP`` the penalty nets
(middle block ``2*dim``, a critic without batch normalisation, which would couple the
per-sample penalty) and ``gp_weight``.

Recipes (where each number comes from):

- ``"fashion_mnist_32"``: the library's defaults on 32x32x1 images, what
  ``keras-wgan train`` uses, chosen by ``benchmarks/recipe_search.py`` at equal CPU
  time (docs "Recipe search at equal CPU time"): the original experiment's DCGAN
  nets at ``dim=32``, ``latent_dim=128``, generator weight average 0.999; WGAN-GP with
  ProGAN's recipe: one critic step per generator step, Adam(1e-3, beta_1=0,
  beta_2=0.99) (``optimizers="progan"``), the penalty (weight 10) at random
  interpolates and a drift term of 0.001; WGAN with ``n_critic=5``, RMSprop(1e-3)
  (its class's ``compile()`` default) and clip 0.02.
- ``"fashion_mnist_32_v1"``: the defaults before the recipe search (``dim=64``,
  ``n_critic=5``, the classes' ``compile()`` optimizers, clip 0.01), chosen by
  ``benchmarks/fashion_mnist_quality.py`` (rate and weight average only); kept so that
  that table, the colour table and the recipe search's ``today`` stay reproducible.
- ``"original_experiment"``: the experiment this project reproduces (and
  ``examples/``): the same nets at ``dim=128`` (the reference implementation's DIM),
  ``latent_dim=128``, ``n_critic=5``, no weight average, and the papers' optimizers
  (``paper_optimizers()``: WGAN RMSprop(5e-5), Arjovsky et al. 2017, Algorithm 1;
  WGAN-GP Adam(1e-4, 0.5, 0.9), Gulrajani et al. 2017, Algorithm 1); clip 0.01 and
  penalty weight 10 as in the papers.
- ``"toy"``: the WGAN-GP paper's 2-D toy MLPs as its code (``gan_toy.py``) sets them:
  3 ReLU layers of 512 (``width``, ``depth``), noise of size 2, ``n_critic=5``, penalty
  weight 0.1 ("faster for toy tasks"), clip 0.01, no weight average, the papers'
  optimizers.
- ``"cifar10_resnet"``: the WGAN-GP paper's CIFAR-10 recipe (``gan_cifar_resnet.py``):
  its ResNets (``nets="resnet"``, ``keras_wgan.architectures.resnet``) on 32x32x3 at
  ``dim=128``, ``latent_dim=128``, ``n_critic=5``, penalty weight 10, no weight average
  (the paper has none, and its rate decays to 0, which leaves an average nothing to
  smooth at the end), and ``optimizers="cifar10_resnet"``: Adam(2e-4, beta_1=0,
  beta_2=0.9) for both nets, whose rates decay linearly to 0 over 100,000 generator
  updates (``lr_decay_steps``). ``WGAN`` gets the same nets with RMSprop(5e-5) (the
  WGAN paper's; Adam's momentum hurts clipping) and clip 0.01. Not reproduced: the
  reference's generator step scores twice the critic's batch of fakes (here the same
  batch size), and its real images get uniform dequantisation noise (a data matter).
  ``num_classes=10, auxiliary_classifier=True`` gives the paper's conditional model's
  auxiliary classifier (here on top of a projection critic; the reference's critic
  has the classifier only).

- ``"small_colour_64"``: a folder of a few hundred colour pictures at 64x64 on a CPU. At
  equal CPU time on 2 cores (``benchmarks/colour_quality.py``, docs "Colour pictures at
  equal CPU time") the DCGAN nets at ``dim=32`` without augmentation made the best
  samples of the four choices (DCGAN or ResNet, DiffAugment on or off), on the whole
  folder and on a 10% subset: a ResNet generator update costs about 8 of theirs at
  64x64, and in CPU minutes augmentation slowed learning more than memorisation hurt.
  WGAN-GP takes the recipe search's winner (``fashion_mnist_32``'s: one critic step,
  ProGAN's Adam(1e-3, 0, 0.99), drift 0.001, weight average 0.999): re-measured on the
  colour table's four DCGAN cells at 5 CPU minutes, it beat the recipe this table was
  first measured with (the classes' ``compile()`` optimizers, ``n_critic=5``) in all
  four, fd 37.4 against 80.9 on the whole folder (docs "Recipe search at equal CPU
  time", "The colour rule"). WGAN keeps that first recipe (clip 0.01, ``n_critic=5``):
  its search's winner is not measured on colour. ``keras-wgan train`` picks this
  preset for such a folder on a CPU
  (``cli/training/choices.py``, rule ``cpu-pictures``). On a GPU, or for long runs, the
  ResNets with augmentation (``nets="resnet", augment="color,translation,cutout"``) are the
  papers' choice and what it picks there.

Overrides change one setting and are checked here (``dim=32``, ``image_shape=(64, 64,
3)``, ``num_classes=10`` or ``class_names=[...]``, ``auxiliary_classifier=True``,
``latent_dim``, ``n_critic``, ``ema_decay`` (None: off), ``optimizers="paper"``,
``learning_rate`` for both nets (the rate a decay starts from), ``lr_decay_steps``,
``width`` / ``depth`` for the MLPs), as are the class's own arguments (``gp_weight``,
``clip_value``, ``critic_schedule``, ``seed``, ...). The image recipes also take
``nets``, a registered family of image nets by name (``keras_wgan.architectures``: ``"dcgan"``, the original
experiment's; ``"resnet"``, the WGAN-GP paper's ResNets, the same nets for both
classes), so ``WGANGP.from_preset("fashion_mnist_32", nets="resnet")`` trains the
library's recipe on the ResNets.

The image recipes also take ``critic_norm``: None, or ``"spectral"`` (the critic's
``Conv2D`` and ``Dense`` layers spectrally normalised, ``keras_wgan.architectures.spectral``);
and every recipe the optimizer overrides ``critic_learning_rate`` /
``generator_learning_rate`` (one net's rate: two time-scales) and ``beta_1`` / ``beta_2``
(Adam's, both nets). ``WGANGP``'s ``penalty_at`` ("random" | "midpoint") and
``penalty_every`` (a lazy penalty) are class arguments, overridable like the others.

``optimizers`` (``OPTIMIZER_CHOICES``): ``"library"``, the class's ``compile()``
defaults; ``"paper"``, its ``paper_optimizers()``; ``"cifar10_resnet"``, Adam(2e-4,
beta_1=0, beta_2=0.9) for both nets; ``"adam"`` (Adam(1e-3, 0.5, 0.9)) and
``"rmsprop"`` (RMSprop(1e-3)) for either class; ``"progan"``, Adam(1e-3, beta_1=0,
beta_2=0.99). ``lr_decay_steps=N`` (None: constant rates) makes
both rates ``keras.optimizers.schedules.PolynomialDecay`` schedules, linear to 0: the
generator's over its N updates; the critic's over ``n_critic * N`` of its own steps,
as its optimizer steps ``n_critic`` times per generator update (with
``critic_schedule="fixed"``). The reference lowers the critic's rate once per
generator update (a staircase); the line equals it at the start of each block of
``n_critic`` steps and stays within ``1 / N`` of the initial rate of it in between.
Schedules are saved with the optimizers in the model's compile config, so a loaded
model resumes on them.

The nets' initial weights come from Keras' global RNG: call
``keras.utils.set_random_seed`` first for the same weights every time (``seed`` seeds
the model's noise).

Only plain data lives at module level: reading a recipe (the CLI's defaults) imports
no Keras.
"""

import copy
import inspect

from keras_wgan import checks

OPTIMIZER_CHOICES = ("library", "paper", "cifar10_resnet", "adam", "rmsprop", "progan")
# Optimizers a recipe names besides the class's own ("library", "paper"): Keras class
# name and config, the same for both nets.
_NAMED_OPTIMIZERS = {
    # gan_cifar_resnet.py: tf.train.AdamOptimizer(LR * decay, beta1=0., beta2=0.9).
    "cifar10_resnet": ("Adam", {"learning_rate": 2e-4, "beta_1": 0.0, "beta_2": 0.9}),
    # Either class with the other paper's optimizer kind at the library's rate (the
    # recipe search's "optimizer" lever): WGAN-GP's Adam, WGAN's RMSprop.
    "adam": ("Adam", {"learning_rate": 1e-3, "beta_1": 0.5, "beta_2": 0.9}),
    # ProGAN's (tkarras/progressive_growing_of_gans, config.py): the recipe search's
    # winning WGAN-GP optimizer with one critic step and drift 0.001 (fashion_mnist_32).
    "progan": ("Adam", {"learning_rate": 1e-3, "beta_1": 0.0, "beta_2": 0.99}),
    "rmsprop": ("RMSprop", {"learning_rate": 1e-3}),
}
# Optional optimizer settings every recipe takes (None: the recipe's own): each net's
# rate on its own (two time-scales, Heusel et al. 2017), and Adam's betas for both.
OPTIMIZER_OVERRIDES = {"critic_learning_rate": None, "generator_learning_rate": None,
                       "beta_1": None, "beta_2": None}

# One dict per recipe: "nets" says which builders; the other keys are its settings,
# each one overridable by name. "per_model" holds the settings of one class only.
_PRESETS = {
    "fashion_mnist_32": {
        "description": "The library's defaults on 32x32x1 images (keras-wgan train): the "
                       "recipe search's winners at equal CPU time.",
        "nets": "dcgan",
        "image_shape": (32, 32, 1),
        # The winners of benchmarks/recipe_search.py on 2 CPU cores (docs "Recipe search
        # at equal CPU time", yardstick version 2 at 10,000 samples): dim 32 for both
        # (dim 64, the old default, trailed every dim-32 cell); WGAN-GP: ProGAN's recipe,
        # fd 5.39 at 8 CPU minutes (6.10 for the lazy midpoint penalty with the same
        # optimizer, 37.57 for the old default) and 2.28 at 30 (the old default: 12.79);
        # WGAN: clip 0.02, fd 22.91 at 8 CPU minutes and 13.58 at 30 (the old default:
        # 62.84 and 28.88).
        "dim": 32,
        "latent_dim": 128,
        "num_classes": None,
        "auxiliary_classifier": False,
        "critic_norm": None,
        "n_critic": 5,  # WGAN's (the papers' Algorithm 1); WGAN-GP's is below
        "ema_decay": 0.999,
        "optimizers": "library",
        "learning_rate": None,
        "lr_decay_steps": None,
        "per_model": {
            "WGAN": {"clip_value": 0.02},
            "WGANGP": {"gp_weight": 10.0, "n_critic": 1, "optimizers": "progan",
                       "drift_weight": 0.001},
        },
    },
    "fashion_mnist_32_v1": {
        "description": "The library's defaults before the recipe search (keras-wgan train "
                       "until 0.x): dim 64, n_critic 5, the classes' compile() optimizers.",
        "nets": "dcgan",
        "image_shape": (32, 32, 1),
        # Chosen by benchmarks/fashion_mnist_quality.py (docs "Sample quality at equal
        # CPU time"): rate and weight average at dim 32, n_critic 5; the CLI trained at
        # dim 64. The recipe search's "today" and the colour table's recipe.
        "dim": 64,
        "latent_dim": 128,
        "num_classes": None,
        "auxiliary_classifier": False,
        "critic_norm": None,
        "n_critic": 5,
        "ema_decay": 0.999,
        "optimizers": "library",
        "learning_rate": None,
        "lr_decay_steps": None,
        "per_model": {"WGAN": {"clip_value": 0.01}, "WGANGP": {"gp_weight": 10.0}},
    },
    "original_experiment": {
        "description": "The original Fashion-MNIST experiment: DIM 128, the papers' "
                       "optimizers, no weight average (examples/).",
        "nets": "dcgan",
        "image_shape": (32, 32, 1),
        "dim": 128,
        "latent_dim": 128,
        "num_classes": None,
        "auxiliary_classifier": False,
        "critic_norm": None,
        "n_critic": 5,
        "ema_decay": None,
        "optimizers": "paper",
        "learning_rate": None,
        "lr_decay_steps": None,
        "per_model": {"WGAN": {"clip_value": 0.01}, "WGANGP": {"gp_weight": 10.0}},
    },
    "toy": {
        "description": "The WGAN-GP paper's 2-D toy MLPs (gan_toy.py): 3x512 ReLU, "
                       "penalty weight 0.1, the papers' optimizers.",
        "nets": "mlp",
        "width": 512,
        "depth": 3,
        "latent_dim": 2,
        "output_dim": 2,
        "num_classes": None,
        "n_critic": 5,
        "ema_decay": None,
        "optimizers": "paper",
        "learning_rate": None,
        "lr_decay_steps": None,
        "per_model": {"WGAN": {"clip_value": 0.01}, "WGANGP": {"gp_weight": 0.1}},
    },
    "cifar10_resnet": {
        "description": "The WGAN-GP paper's CIFAR-10 recipe (gan_cifar_resnet.py): its "
                       "ResNets at 32x32x3, dim 128, Adam(2e-4, 0, 0.9) decaying linearly "
                       "to 0 over 100,000 generator updates.",
        "nets": "resnet",
        "image_shape": (32, 32, 3),
        "dim": 128,
        "latent_dim": 128,
        "num_classes": None,
        "auxiliary_classifier": False,
        "critic_norm": None,
        "n_critic": 5,
        "ema_decay": None,
        "learning_rate": None,
        "lr_decay_steps": 100_000,
        "per_model": {
            "WGAN": {"clip_value": 0.01, "optimizers": "paper"},
            "WGANGP": {"gp_weight": 10.0, "optimizers": "cifar10_resnet"},
        },
    },
    "small_colour_64": {
        "description": "A small folder of colour pictures at 64x64 on a CPU: what measured "
                       "best on 2 cores in CPU minutes (benchmarks/colour_quality.py); "
                       "WGAN-GP with the recipe search's winning optimizer recipe.",
        "nets": "dcgan",
        "image_shape": (64, 64, 3),
        "dim": 32,
        "latent_dim": 128,
        "num_classes": None,
        "auxiliary_classifier": False,
        "critic_norm": None,
        "n_critic": 5,
        "ema_decay": 0.999,
        "augment": None,
        "optimizers": "library",
        "learning_rate": None,
        "lr_decay_steps": None,
        "per_model": {
            "WGAN": {"clip_value": 0.01},
            # The colour table's DCGAN cells at 5 CPU minutes (docs "Recipe search at
            # equal CPU time", "The colour rule"): fd 37.39 against 80.86 for the
            # compile() optimizers with n_critic 5 on the whole icon set, 80.02 against
            # 133.58 on its 10%.
            "WGANGP": {"gp_weight": 10.0, "n_critic": 1, "optimizers": "progan",
                       "drift_weight": 0.001},
        },
    },
}



def _net_settings(nets):
    """The settings that shape the nets of family ``nets`` (the rest go to the model's
    constructor): what the registry calls its builders with."""
    from keras_wgan.architectures import registry

    return registry.SETTINGS[registry.get(nets).data] + ("auxiliary_classifier", "critic_norm")

_COMPILE_SETTINGS = ("optimizers", "learning_rate", "lr_decay_steps") + tuple(OPTIMIZER_OVERRIDES)
# Keras compile() arguments from_preset passes on (optimizers come from the recipe).
COMPILE_ARGUMENTS = ("steps_per_execution", "jit_compile", "run_eagerly")


# The papers' own algorithm (Arjovsky et al. 2017, Algorithm 1; Gulrajani et al. 2017,
# Algorithm 1): their optimizers, 5 critic steps per generator step, WGAN's clip 0.01,
# WGAN-GP's penalty of weight 10 at random interpolates on every critic step, no drift. What
# `keras-wgan train --paper-optimizers` trains, over any recipe.
_PAPER_ALGORITHM = {
    "WGAN": {"optimizers": "paper", "n_critic": 5, "clip_value": 0.01},
    "WGANGP": {"optimizers": "paper", "n_critic": 5, "gp_weight": 10.0,
               "penalty_at": "random", "penalty_every": 1, "drift_weight": 0.0},
}


def paper_algorithm(cls):
    """The overrides that make any recipe the paper's algorithm for ``cls`` (WGAN or
    WGANGP): its optimizers, ``n_critic=5``, clip 0.01 or the penalty of weight 10 at
    random interpolates on every critic step."""
    return dict(_PAPER_ALGORITHM[_model_key(cls)])


def list_presets(cls=None):
    """The recipe names, in a fixed order: ``{name: one-line description}``.

    Every recipe builds both ``WGAN`` and ``WGANGP``; ``cls`` is accepted for symmetry
    with ``get_preset`` (and checked).

    Args:
        cls: None, ``WGAN`` or ``WGANGP``.

    Returns:
        A dict ``{name: one-line description}``.

    Example:

    ```python
    from keras_wgan.presets import list_presets

    for name, description in list_presets().items():
        print(f"{name}: {description}")
    ```
    """
    if cls is not None:
        _model_key(cls)
    return {name: preset["description"] for name, preset in _PRESETS.items()}


def get_preset(name, cls=None):
    """The settings of a recipe, as a fresh dict.

    Args:
        name: a recipe's name (:func:`list_presets`).
        cls: ``WGAN`` or ``WGANGP`` to merge that class's own settings in; None keeps
            the per-class settings under ``"per_model"``.

    Returns:
        A dict of settings (nets, sizes, model settings, optimizers).

    Raises:
        ValueError: an unknown recipe name (the message lists them) or class.
    """
    if not isinstance(name, str) or name not in _PRESETS:
        raise ValueError(
            f"Unknown preset {name!r}; the presets are {', '.join(map(repr, _PRESETS))} "
            "(keras_wgan.presets.list_presets()), e.g. WGANGP.from_preset('fashion_mnist_32')."
        )
    preset = {**OPTIMIZER_OVERRIDES, **copy.deepcopy(_PRESETS[name])}
    if cls is None:
        return preset
    per_model = preset.pop("per_model")[_model_key(cls)]
    return {**preset, **per_model}


def _model_key(cls):
    """"WGAN" or "WGANGP": which variant of the recipes ``cls`` (or a subclass) gets."""
    from keras_wgan.models import WGAN, WGANGP

    if isinstance(cls, type) and issubclass(cls, WGANGP):
        return "WGANGP"
    if isinstance(cls, type) and issubclass(cls, WGAN):
        return "WGAN"
    name = getattr(cls, "__name__", repr(cls))
    raise TypeError(
        f"Presets build WGAN or WGANGP (or a subclass), not {name}: e.g. "
        "WGANGP.from_preset('fashion_mnist_32') or WGAN.from_preset('fashion_mnist_32')."
    )


def _model_arguments(cls):
    """The keyword arguments ``cls(generator, critic, ...)`` accepts, by name."""
    from keras_wgan.models.base import WassersteinGAN

    names = {"name"}  # keras.Model's
    for klass in (cls, WassersteinGAN):
        names.update(
            p.name for p in inspect.signature(klass.__init__).parameters.values()
            if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD
        )
    return names - {"self", "generator", "critic"}


def resolve(name, cls, **overrides):
    """A recipe's settings for one class with overrides applied and checked.

    Args:
        name: a recipe's name.
        cls: ``WGAN`` or ``WGANGP``.
        **overrides: settings to change by name (the module docstring lists them).

    Returns:
        ``(nets, settings)``: the family of nets' name and the checked settings.

    Raises:
        ValueError: an unknown setting (the message lists those the recipe takes) or
            a value outside its range.
    """
    settings = get_preset(name, cls)
    where = f"{cls.__name__}.from_preset({name!r})"
    from keras_wgan import architectures

    nets = settings.pop("nets")
    extra_model_args = _model_arguments(cls) - set(settings) - {"latent_dim", "num_classes"}
    allowed = set(settings) - {"description"} | {"class_names"} | extra_model_args
    image_families = architectures.names("images")
    if nets in image_families:
        allowed.add("nets")
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise ValueError(
            f"{where}: unknown setting(s) {', '.join(map(repr, unknown))}; this preset "
            f"takes {', '.join(sorted(allowed))}."
        )
    overrides = dict(overrides)
    if "nets" in overrides:
        try:
            nets = checks.check_choice("nets", overrides.pop("nets"), image_families,
                                       hint="(a registered family of image nets: "
                                            "keras_wgan.architectures.names('images'))")
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
    settings.update(overrides)
    settings.pop("description")
    class_names = settings.get("class_names")
    if class_names is not None and "num_classes" not in overrides:
        try:
            settings["num_classes"] = len(class_names)
        except TypeError:
            raise ValueError(
                f"{where}: `class_names` must be a list of class names, got {class_names!r}."
            ) from None
    _check(where, settings)
    return nets, settings


def _check(where, settings):
    """Check the resolved settings in place; errors start with the call they came from."""
    try:
        for key in ("dim", "latent_dim", "width", "depth", "n_critic", "output_dim"):
            if key in settings:
                settings[key] = checks.check_positive_int(key, settings[key])
        if "auxiliary_classifier" in settings:
            settings["auxiliary_classifier"] = checks.check_bool(
                "auxiliary_classifier", settings["auxiliary_classifier"])
        checks.check_choice("optimizers", settings["optimizers"], OPTIMIZER_CHOICES,
                            hint="(the class's compile() defaults, its paper_optimizers(), "
                                 "the WGAN-GP paper's CIFAR-10 Adam, Adam or RMSprop "
                                 "for either class, or ProGAN's Adam)")
        settings["lr_decay_steps"] = checks.check_positive_int(
            "lr_decay_steps", settings["lr_decay_steps"], allow_none=True,
            hint="(generator updates to decay both rates linearly to 0 over; None: constant)")
        for key, nets in (("learning_rate", "both nets"), ("critic_learning_rate", "the critic"),
                          ("generator_learning_rate", "the generator")):
            if settings[key] is not None:
                settings[key] = checks.check_positive_number(
                    key, settings[key],
                    hint=f"(for {nets}; None keeps the recipe's own rate"
                         f"{'s' if nets == 'both nets' else ''})")
        for key in ("beta_1", "beta_2"):
            if settings[key] is not None:
                value = checks.check_non_negative_number(key, settings[key])
                if value >= 1:
                    raise ValueError(f"`{key}` must be in [0, 1), got {value!r}.")
                settings[key] = value
        if "critic_norm" in settings:
            from keras_wgan.architectures import spectral

            spectral.check_critic_norm(settings["critic_norm"])
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def build_nets(name, cls, **overrides):
    """The recipe's ``(generator, critic)`` for ``cls``, without the model around them.

    For loops of your own (``benchmarks/train_speed.py`` times its hand-written ones on
    these).

    Args:
        name: a recipe's name.
        cls: ``WGAN`` or ``WGANGP`` (their nets differ).
        **overrides: as ``from_preset``'s.

    Returns:
        ``(generator, critic)``, two ``keras.Model``s.

    Raises:
        ValueError: as :func:`resolve`.
    """
    nets, settings = resolve(name, cls, **overrides)
    try:
        return _nets(nets, settings, _model_key(cls))
    except ValueError as error:
        raise ValueError(f"presets.build_nets({name!r}, {cls.__name__}): {error}") from error


def make_optimizers(name, cls, **overrides):
    """A recipe's two optimizers for one class, fresh.

    Args:
        name: a recipe's name.
        cls: ``WGAN`` or ``WGANGP``.
        **overrides: as ``from_preset``'s (the rates, betas and decay among them).

    Returns:
        ``{"critic_optimizer": ..., "generator_optimizer": ...}``, keyword arguments
        for ``compile``.

    Raises:
        ValueError: as :func:`resolve`.
    """
    _, settings = resolve(name, cls, **overrides)
    return _optimizers(cls, **{key: settings[key] for key in _COMPILE_SETTINGS},
                       n_critic=settings["n_critic"])


def _nets(nets, settings, model_key):
    """The registry's family ``nets`` built for ``settings``; WGAN's nets may differ
    (``clipping``: the original experiment's batch-normalised critic)."""
    from keras_wgan import architectures
    from keras_wgan.architectures import spectral

    generator, critic = architectures.get(nets).build(settings, clipping=model_key == "WGAN")
    if settings.get("critic_norm") == "spectral":
        critic = spectral.spectral_normalize(critic)
    return generator, critic


def _optimizers(cls, optimizers, learning_rate, lr_decay_steps=None, n_critic=1,
                critic_learning_rate=None, generator_learning_rate=None, beta_1=None,
                beta_2=None):
    """The two optimizers a recipe names, fresh, as ``compile`` keyword arguments.

    ``optimizers``: the class's ``compile()`` defaults, its papers' optimizers or a
    named one (``_NAMED_OPTIMIZERS``); ``learning_rate`` replaces only the rate (both
    nets), keeping their other settings; ``lr_decay_steps`` makes it decay linearly to
    0 over that many generator updates (``n_critic`` times as many critic steps).
    ``critic_learning_rate`` / ``generator_learning_rate`` replace one net's rate;
    ``beta_1`` / ``beta_2`` Adam's betas (refused for another optimizer).
    """
    if optimizers == "paper":
        pair = cls.paper_optimizers()
    elif optimizers == "library":
        pair = {"critic_optimizer": cls.default_critic_optimizer(),
                "generator_optimizer": cls.default_generator_optimizer()}
    else:
        import keras

        class_name, config = _NAMED_OPTIMIZERS[optimizers]
        pair = {arg: keras.optimizers.get({"class_name": class_name, "config": dict(config)})
                for arg in ("critic_optimizer", "generator_optimizer")}
    if learning_rate is not None:
        pair = {arg: with_rate(opt, learning_rate) for arg, opt in pair.items()}
    for arg, rate in (("critic_optimizer", critic_learning_rate),
                      ("generator_optimizer", generator_learning_rate)):
        if rate is not None:
            pair[arg] = with_rate(pair[arg], rate)
    betas = {k: v for k, v in (("beta_1", beta_1), ("beta_2", beta_2)) if v is not None}
    if betas:
        pair = {arg: _with_settings(opt, betas) for arg, opt in pair.items()}
    if lr_decay_steps is not None:
        steps = {"critic_optimizer": n_critic * lr_decay_steps,
                 "generator_optimizer": lr_decay_steps}
        pair = {arg: with_rate(opt, linear_decay(rate_of(opt), steps[arg]))
                for arg, opt in pair.items()}
    return pair


def linear_decay(learning_rate, decay_steps):
    """A linear decay to 0 as a Keras schedule, saved with the model by name.

    Args:
        learning_rate: the rate at step 0.
        decay_steps: the optimizer step at which the rate reaches 0.

    Returns:
        ``keras.optimizers.schedules.PolynomialDecay`` giving
        ``learning_rate * max(0, 1 - step / decay_steps)``.
    """
    import keras

    return keras.optimizers.schedules.PolynomialDecay(
        float(learning_rate), decay_steps, end_learning_rate=0.0, power=1.0)


def rate_of(optimizer):
    """An optimizer's constant rate, as written (2e-4, not 1.9999999494757503e-04)."""
    import numpy as np

    # The rate as it was written (2e-4, not its float32 value 1.9999999494757503e-04):
    # an optimizer's config reads it back from its float32 variable.
    return float(str(np.float32(optimizer.get_config()["learning_rate"])))


def _with_settings(optimizer, settings):
    """A fresh copy of ``optimizer`` with ``settings`` (Adam's betas) changed."""
    config = optimizer.get_config()
    missing = sorted(set(settings) - set(config))
    if missing:
        raise ValueError(
            f"{', '.join(map(repr, missing))} apply to Adam, but this recipe's optimizer is "
            f"{type(optimizer).__name__}; add optimizers='adam' (e.g. from_preset("
            "'fashion_mnist_32', optimizers='adam', beta_1=0.0)).")
    config.update({key: float(value) for key, value in settings.items()})
    return type(optimizer).from_config(config)


def with_rate(optimizer, learning_rate):
    """A fresh copy of ``optimizer`` with ``learning_rate`` (a number or a schedule)."""
    config = optimizer.get_config()
    config["learning_rate"] = (
        learning_rate if not isinstance(learning_rate, (int, float)) else float(learning_rate))
    return type(optimizer).from_config(config)


def build(cls, name, compile=True, **overrides):
    """``cls.from_preset(name, ...)``: the model of recipe ``name``, compiled unless told not.

    Args:
        cls: ``WGAN`` or ``WGANGP``.
        name: a recipe's name (:func:`list_presets`).
        compile: False to return the model uncompiled.
        **overrides: Keras compile arguments (``steps_per_execution``,
            ``jit_compile``, ``run_eagerly``) go to ``compile``; everything else is a
            setting override (see the module docstring).

    Returns:
        The model, compiled with the recipe's optimizers unless ``compile=False``.

    Raises:
        ValueError: as :func:`resolve`.

    Example:

    ```python
    gan = build(WGANGP, "fashion_mnist_32", dim=32, num_classes=10)
    # the same as WGANGP.from_preset("fashion_mnist_32", dim=32, num_classes=10)
    ```
    """
    model_key = _model_key(cls)
    compile_kwargs = {k: overrides.pop(k) for k in COMPILE_ARGUMENTS if k in overrides}
    compile = checks.check_bool("compile", compile)
    if compile_kwargs and not compile:
        raise ValueError(
            f"{', '.join(map(repr, compile_kwargs))} are compile() arguments but "
            "`compile=False`: drop them, or call gan.compile(...) yourself."
        )
    nets, settings = resolve(name, cls, **overrides)
    where = f"{cls.__name__}.from_preset({name!r})"
    optimizers = {key: settings.pop(key) for key in _COMPILE_SETTINGS}
    # The nets' own settings; latent_dim and num_classes also go to the model (checked
    # against the nets there).
    model_settings = {k: v for k, v in settings.items()
                      if k not in _net_settings(nets) or k in ("latent_dim", "num_classes")}
    try:
        generator, critic = _nets(nets, settings, model_key)
        gan = cls(generator, critic, **model_settings)
    except ValueError as error:  # the builders' and the model's checks, named here
        raise ValueError(f"{where}: {error}") from error
    if compile:
        gan.compile(**_optimizers(cls, **optimizers, n_critic=settings["n_critic"]),
                    **compile_kwargs)
    return gan
