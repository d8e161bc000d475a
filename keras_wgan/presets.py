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
  ``keras-wgan train`` uses: the original experiment's DCGAN nets at ``dim=64``
  (``--dim``), ``latent_dim=128``, ``n_critic=5``, generator weight average 0.999 and
  the classes' ``compile()`` optimizers (each paper's optimizer at rate 1e-3), chosen by
  ``benchmarks/fashion_mnist_quality.py`` (README, "Sample quality at equal CPU time").
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

Overrides change one setting and are checked here (``dim=32``, ``image_shape=(64, 64,
3)``, ``num_classes=10`` or ``class_names=[...]``, ``latent_dim``, ``n_critic``,
``ema_decay`` (None: off), ``optimizers="paper"``, ``learning_rate`` for both nets,
``width`` / ``depth`` for the MLPs), as are the class's own arguments (``gp_weight``,
``clip_value``, ``critic_schedule``, ``seed``, ...). The nets' initial weights come from
Keras' global RNG: call ``keras.utils.set_random_seed`` first for the same weights
every time (``seed`` seeds the model's noise).

Only plain data lives at module level: reading a recipe (the CLI's defaults) imports
no Keras.
"""

import copy
import inspect

from keras_wgan import checks

OPTIMIZER_CHOICES = ("library", "paper")
NET_KINDS = ("dcgan", "mlp")

# One dict per recipe: "nets" says which builders; the other keys are its settings,
# each one overridable by name. "per_model" holds the settings of one class only.
_PRESETS = {
    "fashion_mnist_32": {
        "description": "The library's defaults on 32x32x1 images (keras-wgan train).",
        "nets": "dcgan",
        "image_shape": (32, 32, 1),
        "dim": 64,
        "latent_dim": 128,
        "num_classes": None,
        "n_critic": 5,
        "ema_decay": 0.999,
        "optimizers": "library",
        "learning_rate": None,
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
        "n_critic": 5,
        "ema_decay": None,
        "optimizers": "paper",
        "learning_rate": None,
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
        "per_model": {"WGAN": {"clip_value": 0.01}, "WGANGP": {"gp_weight": 0.1}},
    },
}

# Settings that shape the nets (the rest go to the model's constructor).
_NET_SETTINGS = {
    "dcgan": ("image_shape", "dim", "latent_dim", "num_classes"),
    "mlp": ("width", "depth", "latent_dim", "output_dim", "num_classes"),
}
_COMPILE_SETTINGS = ("optimizers", "learning_rate")
# Keras compile() arguments from_preset passes on (optimizers come from the recipe).
COMPILE_ARGUMENTS = ("steps_per_execution", "jit_compile", "run_eagerly")


def list_presets(cls=None):
    """The recipe names, in a fixed order: ``{name: one-line description}``.

    Every recipe builds both ``WGAN`` and ``WGANGP``; ``cls`` is accepted for symmetry
    with ``get_preset`` (and checked).
    """
    if cls is not None:
        _model_key(cls)
    return {name: preset["description"] for name, preset in _PRESETS.items()}


def get_preset(name, cls=None):
    """The settings of recipe ``name``, a fresh dict; for ``cls`` (WGAN/WGANGP) with its own.

    Without ``cls`` the per-class settings stay under ``"per_model"``.
    """
    if not isinstance(name, str) or name not in _PRESETS:
        raise ValueError(
            f"Unknown preset {name!r}; the presets are {', '.join(map(repr, _PRESETS))} "
            "(keras_wgan.presets.list_presets()), e.g. WGANGP.from_preset('fashion_mnist_32')."
        )
    preset = copy.deepcopy(_PRESETS[name])
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
    """The recipe's settings for ``cls`` with ``overrides`` applied and checked."""
    settings = get_preset(name, cls)
    where = f"{cls.__name__}.from_preset({name!r})"
    nets = settings.pop("nets")
    extra_model_args = _model_arguments(cls) - set(settings) - {"latent_dim", "num_classes"}
    allowed = set(settings) - {"description"} | {"class_names"} | extra_model_args
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise ValueError(
            f"{where}: unknown setting(s) {', '.join(map(repr, unknown))}; this preset "
            f"takes {', '.join(sorted(allowed))}."
        )
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
        checks.check_choice("optimizers", settings["optimizers"], OPTIMIZER_CHOICES,
                            hint="(the class's compile() defaults, or its paper_optimizers())")
        if settings["learning_rate"] is not None:
            settings["learning_rate"] = checks.check_positive_number(
                "learning_rate", settings["learning_rate"],
                hint="(for both nets; None keeps the recipe's own rates)")
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def build_nets(name, cls, **overrides):
    """The recipe's ``(generator, critic)`` for ``cls``, without the model around them.

    For loops of your own (``benchmarks/train_speed.py`` times its hand-written ones on
    these); the overrides are ``from_preset``'s.
    """
    nets, settings = resolve(name, cls, **overrides)
    try:
        return _nets(nets, settings, _model_key(cls))
    except ValueError as error:
        raise ValueError(f"presets.build_nets({name!r}, {cls.__name__}): {error}") from error


def make_optimizers(name, cls, **overrides):
    """The recipe's two optimizers for ``cls``, fresh, as ``compile`` keyword arguments."""
    _, settings = resolve(name, cls, **overrides)
    return _optimizers(cls, settings["optimizers"], settings["learning_rate"])


def _nets(nets, settings, model_key):
    from keras_wgan import architectures

    k = settings.get("num_classes")
    if nets == "mlp":
        generator = architectures.build_mlp_generator(
            settings["latent_dim"], settings["output_dim"], width=settings["width"],
            depth=settings["depth"], num_classes=k,
        )
        critic = architectures.build_mlp_critic(
            settings["output_dim"], width=settings["width"], depth=settings["depth"],
            num_classes=k,
        )
        return generator, critic
    clipping = model_key == "WGAN"
    dim, shape = settings["dim"], settings["image_shape"]
    # The original experiment's two variants: WGAN's generator keeps its middle block
    # `dim` wide and its critic batch-normalises; WGAN-GP's critic must not.
    generator = architectures.build_generator(
        settings["latent_dim"], shape, dim, middle_filters=dim if clipping else None,
        num_classes=k,
    )
    critic = architectures.build_critic(
        shape, dim, normalization="batch" if clipping else None, num_classes=k
    )
    return generator, critic


def _optimizers(cls, optimizers, learning_rate):
    """The class's ``compile()`` defaults or its papers' optimizers; ``learning_rate``
    replaces only the rate (both nets), keeping their other settings."""
    if optimizers == "paper":
        pair = cls.paper_optimizers()
    else:
        pair = {"critic_optimizer": cls.default_critic_optimizer(),
                "generator_optimizer": cls.default_generator_optimizer()}
    if learning_rate is not None:
        pair = {arg: _with_rate(opt, learning_rate) for arg, opt in pair.items()}
    return pair


def _with_rate(optimizer, learning_rate):
    config = optimizer.get_config()
    config["learning_rate"] = float(learning_rate)
    return type(optimizer).from_config(config)


def build(cls, name, compile=True, **overrides):
    """``cls.from_preset(name, ...)``: the model of recipe ``name``, compiled unless told not.

    Keras compile arguments (``steps_per_execution``, ``jit_compile``, ``run_eagerly``)
    go to ``compile``; everything else is a setting override (see the module docstring).
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
                      if k not in _NET_SETTINGS[nets] or k in ("latent_dim", "num_classes")}
    try:
        generator, critic = _nets(nets, settings, model_key)
        gan = cls(generator, critic, **model_settings)
    except ValueError as error:  # the builders' and the model's checks, named here
        raise ValueError(f"{where}: {error}") from error
    if compile:
        gan.compile(**_optimizers(cls, **optimizers), **compile_kwargs)
    return gan
