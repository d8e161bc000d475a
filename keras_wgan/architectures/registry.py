"""The registry of net families: what the library knows about each family, in one place.

An :class:`Architecture` is a family's name, its generator and critic builders
(conditional too), the image sizes it accepts, its default width and what it suits.
``presets``, the command line's ``--arch`` and its data-chosen settings, and the size
checks all read it. The built-in families are ``dcgan``, ``resnet`` (images) and ``mlp``
(2-D points); a family of your own registers from Python (:func:`register`) or from an
installed package, through an entry point in the ``keras_wgan.architectures`` group that
names an :class:`Architecture` (or a function returning one).

Builders are called by keyword with the settings their signature names: image families
get ``latent_dim``, ``image_shape`` (H, W, C), ``dim``, ``num_classes`` (None:
unconditional), critics ``auxiliary_classifier``, both ``clipping`` (True for ``WGAN``,
whose nets may batch-normalise the critic). Point families get ``output_dim``, ``width``
and ``depth`` instead of ``image_shape`` and ``dim``. A builder may be a function or a
``"module:function"`` string, imported at build time, so the registry imports no Keras.
"""

import dataclasses
import importlib
import inspect
import re
import warnings

from keras_wgan.architectures import sizes

ENTRY_POINT_GROUP = "keras_wgan.architectures"
DATA_KINDS = ("images", "points")
# The settings each kind of family's builders are called with (each builder gets the ones
# its signature names); "clipping" and "auxiliary_classifier" come from the model.
SETTINGS = {
    "images": ("latent_dim", "image_shape", "dim", "num_classes"),
    "points": ("latent_dim", "output_dim", "width", "depth", "num_classes"),
}
_NAME = re.compile(r"^[a-z][a-z0-9_\-]*$")


@dataclasses.dataclass(frozen=True)
class Architecture:
    """One family of nets: what the presets, ``--arch`` and the size checks know of it.

    Args:
        name: lower-case letters, digits, ``_`` or ``-``, starting with a letter.
        generator: the generator builder: a function, or a ``"module:function"``
            string imported when the nets are built. Called by keyword with the
            settings its signature names (:data:`SETTINGS` of its ``data`` kind, and
            ``clipping``).
        critic: the critic builder, the same way (also ``auxiliary_classifier``).
        fits: ``fits(height, width) -> bool``, the image sizes the builders take
            (images only; None: any).
        sizes_rule: the same rule in words, for messages and ``--arch list``.
        default_width: ``dim`` of an image family (``width`` of a point family) when
            none is given.
        suits: what the family is for, in a few words.
        data: ``"images"`` or ``"points"``.

    Raises:
        ValueError: a malformed name, builder or ``data`` kind.

    Example:

    ```python
    from keras_wgan import architectures

    architectures.register(architectures.Architecture(
        "tiny", my_generator, my_critic, fits=lambda h, w: h % 2 == 0 and w % 2 == 0,
        sizes_rule="even sides", default_width=16, suits="quick experiments"))
    gan = WGANGP.from_preset("fashion_mnist_32", nets="tiny")
    ```

    ``examples/your_own_nets.py`` is a complete program.
    """

    name: str
    generator: object
    critic: object
    fits: object = None
    sizes_rule: str = ""
    default_width: int = 64
    suits: str = ""
    data: str = "images"

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"`name` must be lower-case letters, digits, '_' or '-', "
                             f"starting with a letter (e.g. 'tiny_dcgan'), got {self.name!r}.")
        for role in ("generator", "critic"):
            builder = getattr(self, role)
            if not (callable(builder) or (isinstance(builder, str) and ":" in builder)):
                raise ValueError(f"`{role}` must be a function or a 'module:function' "
                                 f"string, got {builder!r}.")
        if self.data not in DATA_KINDS:
            raise ValueError(f"`data` must be one of {DATA_KINDS}, got {self.data!r}.")
        if self.data == "images" and not callable(self.fits):
            raise ValueError("`fits` must be a function (height, width) -> bool for an "
                             "image family: the sizes its builders take.")
        if isinstance(self.default_width, bool) or not isinstance(self.default_width, int) \
                or self.default_width < 1:
            raise ValueError(f"`default_width` must be a positive int, "
                             f"got {self.default_width!r}.")

    def accepts(self, height, width):
        return self.data == "images" and bool(self.fits(int(height), int(width)))

    def sizes(self, limit=256):
        """The square image sides up to ``limit`` this family takes."""
        return sizes.square_sizes(self.fits, limit) if self.data == "images" else []

    def sizes_text(self):
        """The sizes it takes, in words: "8, 16, ..., 128, ... (the rule)"."""
        listed = self.sizes(128)
        rule = f" ({self.sizes_rule})" if self.sizes_rule else ""
        return f"{', '.join(map(str, listed))}, ...{rule}"

    def size_below(self, size):
        """The largest square size it takes at or below ``size`` (else its smallest)."""
        below = self.sizes(max(int(size), 1)) or self.sizes(256)[:1]
        return below[-1]

    def size_error(self, height, width):
        """None when (height, width) fits, else why not, the sizes, and one that fits."""
        if self.accepts(height, width):
            return None
        return (f"{height}x{width} does not fit the {self.name} nets, whose sizes are "
                f"{self.sizes_text()}; e.g. {self.size_below(min(height, width))}")

    def build(self, settings, clipping=False):
        """``(generator, critic)`` for ``settings`` (a recipe's, by name)."""
        common = {key: settings.get(key) for key in SETTINGS[self.data]}
        if self.data == "images":
            from keras_wgan import checks

            height, width, _ = checks.check_image_shape("image_shape", common["image_shape"])
            error = self.size_error(height, width)
            if error:
                raise ValueError(f"`image_shape` {tuple(common['image_shape'])}: {error}.")
        generator = _call(self, "generator", {**common, "clipping": clipping})
        critic_settings = {key: value for key, value in common.items() if key != "latent_dim"}
        critic = _call(self, "critic", {
            **critic_settings, "clipping": clipping,
            "auxiliary_classifier": bool(settings.get("auxiliary_classifier", False))})
        return generator, critic


# Settings a builder may leave out when they have their "off" value; "clipping" is only
# information (a family without it builds the same nets for WGAN and WGAN-GP).
_OPTIONAL = {"auxiliary_classifier": False, "num_classes": None}


def _call(family, role, settings):
    builder = getattr(family, role)
    if isinstance(builder, str):
        module, _, attribute = builder.partition(":")
        builder = getattr(importlib.import_module(module), attribute)
    parameters = inspect.signature(builder).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    kwargs = {}
    for key, value in settings.items():
        if takes_any or key in parameters:
            kwargs[key] = value
        elif key == "clipping":
            continue
        elif key not in _OPTIONAL:
            raise ValueError(f"the {family.name} family's {role} builder takes no `{key}`; "
                             f"a builder of {family.data} is called with "
                             f"{', '.join(SETTINGS[family.data])} (keras_wgan.architectures).")
        elif value != _OPTIONAL[key]:
            raise ValueError(f"the {family.name} family's {role} builder takes no `{key}`, "
                             f"so it cannot build nets with {key}={value!r}.")
    return builder(**kwargs)


BUILT_IN = (
    Architecture(
        "dcgan", "keras_wgan.architectures.dcgan:family_generator",
        "keras_wgan.architectures.dcgan:family_critic", fits=sizes.dcgan_fits,
        sizes_rule="both sides multiples of 8: three 2x stages",
        # The library's recipe (presets "fashion_mnist_32": docs "Sample quality at
        # equal CPU time").
        default_width=64,
        suits="the original experiment's nets: grayscale images up to 32x32, and any "
              "folder on a CPU (they led the docs' colour table at equal CPU time)"),
    Architecture(
        "resnet", "keras_wgan.architectures.resnet:build_resnet_generator",
        "keras_wgan.architectures.resnet:build_resnet_critic", fits=sizes.resnet_fits,
        sizes_rule="4 to 7 times a power of two: stages follow the size",
        default_width=64,  # gan_64x64.py's DIM (the CIFAR-10 net uses 128: its preset)
        suits="the WGAN-GP paper's ResNets: colour or larger pictures on a GPU, long runs"),
    Architecture(
        "mlp", "keras_wgan.architectures.mlp:build_mlp_generator",
        "keras_wgan.architectures.mlp:family_critic", data="points",
        default_width=512,  # gan_toy.py's DIM
        suits="the WGAN-GP paper's toy MLPs: 2-D points (keras_wgan.toy)"),
)

_FAMILIES = {family.name: family for family in BUILT_IN}
_plugins = {"loaded": False}


def register(architecture, replace=False):
    """Add a family of nets, so recipes and ``--arch`` take it by name.

    Args:
        architecture: an :class:`Architecture`.
        replace: True to replace a family registered under the same name.

    Returns:
        ``architecture``.

    Raises:
        TypeError: ``architecture`` is not an :class:`Architecture`.
        ValueError: its name is taken (by another family) and ``replace`` is False.
    """
    if not isinstance(architecture, Architecture):
        raise TypeError(f"register() takes a keras_wgan.architectures.Architecture, got "
                        f"{type(architecture).__name__}.")
    if architecture.name in _FAMILIES and not replace and \
            _FAMILIES[architecture.name] != architecture:
        raise ValueError(f"a family named {architecture.name!r} is registered already; "
                         "pick another name, or pass replace=True.")
    _FAMILIES[architecture.name] = architecture
    return architecture


def unregister(name):
    """Remove a family of your own; an unknown name is ignored.

    Args:
        name: the family's name.

    Raises:
        ValueError: ``name`` is a built-in family (they stay registered).
    """
    if name in {family.name for family in BUILT_IN}:
        raise ValueError(f"{name!r} is a built-in family and stays registered.")
    _FAMILIES.pop(name, None)


def _load_plugins():
    """Register the families of installed packages' entry points, once; a broken one is
    reported and skipped, so it cannot stop the others."""
    if _plugins["loaded"]:
        return
    _plugins["loaded"] = True
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found = point.load()
            if not isinstance(found, Architecture) and callable(found):
                found = found()
            register(found, replace=True)
        except Exception as error:  # noqa: BLE001 (someone else's package)
            warnings.warn(f"keras_wgan.architectures: the entry point {point.name!r} "
                          f"({point.value}) gives no usable family: {error}", stacklevel=2)


def reload_plugins():
    """Read the ``keras_wgan.architectures`` entry points again.

    For a package installed after this process first asked the registry; a broken
    entry point is reported with a warning and skipped.
    """
    _plugins["loaded"] = False
    _load_plugins()


def names(data=None):
    """The registered families' names, built-in first.

    Args:
        data: ``"images"`` or ``"points"`` for one kind only; None for all.

    Returns:
        A tuple of names.
    """
    _load_plugins()
    return tuple(name for name, family in _FAMILIES.items()
                 if data is None or family.data == data)


def get(name):
    """The registered family of nets called ``name``.

    Args:
        name: a registered name (``names()`` lists them).

    Returns:
        Its :class:`Architecture`.

    Raises:
        ValueError: no family has that name; the message lists the ones there are.
    """
    _load_plugins()
    family = _FAMILIES.get(name)
    if family is None:
        raise ValueError(f"no family of nets named {name!r}; registered: "
                         f"{', '.join(_FAMILIES)} (keras-wgan train --arch list; your own: "
                         "keras_wgan.architectures.register)")
    return family
