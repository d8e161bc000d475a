"""Differentiable augmentation (DiffAugment): random colour, translation and cutout as keras.ops.

Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training": the
critic sees every image, real or fake, through the same random transformation, and the
generator is trained through it, so a critic trained on a few thousand images cannot
memorise them and the generator still learns the un-augmented distribution. The
policies are the paper's, with its ranges (its reference code, mit-han-lab/
data-efficient-gans), on NHWC images in [-1, 1] of any size and channel count:

- ``"color"``: brightness, then saturation, then contrast, each with its own factor per
  sample: a brightness shift ``b ~ U(-0.5, 0.5)``, a saturation factor ``s ~ U(0, 2)``
  (deviations from each pixel's channel mean; no effect on one channel) and a contrast
  factor ``c ~ U(0.5, 1.5)`` (deviations from the image's mean);
- ``"translation"``: a shift by a whole number of pixels, up to 1/8 of the height and of
  the width (rounded), independently per axis and per sample; what enters is 0;
- ``"cutout"``: a square of half the height and half the width (rounded) set to 0, at a
  uniform position per sample (it may stick out of the image, as in the paper).

**The value range.** Translation and cutout fill with 0, inside [-1, 1]. The paper's
colour ops add and stretch without a bound (a shift of +0.5 takes 0.8 to 1.3). Here they
take forms that stay in [-1, 1] by construction, keep every draw an affine map of the
image, and never zero a gradient the way clipping does: brightness is
``(1 - |b|) x + b`` (a blend towards white for ``b > 0``, black for ``b < 0``; the
paper's shift at mid-grey), and a saturation or contrast factor above 1 stretches only
as far as the pixel's (saturation) or image's (contrast) values can go before one of
them reaches -1 or 1; factors up to 1 are the paper's. So an image that already spans
the whole range keeps its contrast when ``c > 1``. A final clip only removes float
rounding (at most 1e-6).

**Contract.** A policy is a comma-separated string of the names above, in any order
(applied in that order), or a callable ``fn(images, uniform) -> images``.
``uniform(shape=())`` returns float32 draws in [0, 1) of shape ``(batch,) + shape``,
one row per sample, from the model's ``SeedGenerator``: on several replicas each
replica gets the rows of its own samples of the global batch, so the draws (and
training) are those of one device. A callable must use only ``keras.ops`` (it runs
inside the compiled train step), return images of the same shape and dtype (cast the
float32 draws to ``images.dtype``), and be registered with
``@keras.saving.register_keras_serializable()`` for the model to be saved.
"""

import keras
from keras import ops

__all__ = [
    "POLICY_NAMES",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_saturation",
    "apply_policy",
    "check_policy",
    "cut_out",
    "cutout_size",
    "deserialize_policy",
    "policy_function",
    "random_color",
    "random_cutout",
    "random_translation",
    "serialize_policy",
    "translate",
    "translation_limit",
]

# The paper's ranges.
BRIGHTNESS = 0.5  # b ~ U(-0.5, 0.5)
SATURATION = (0.0, 2.0)  # s ~ U(0, 2)
CONTRAST = (0.5, 1.5)  # c ~ U(0.5, 1.5)
TRANSLATION_RATIO = 0.125  # shifts up to 1/8 of the side
CUTOUT_RATIO = 0.5  # a square of half the side
# Values closer than this to the centre are left out of a stretch's limit (dividing by
# their deviation could overflow the gradient); stretched by at most 2 they move by at
# most this much, so the final clip changes no value by more.
_FLAT = 1e-6


# ------------------------------------------------------------- the ops, given parameters
def _per_sample(values, dtype):
    """(batch,) parameters as (batch, 1, 1, 1), in ``dtype``, to broadcast over NHWC."""
    return ops.reshape(ops.cast(values, dtype), (-1, 1, 1, 1))


def _in_range(images):
    return ops.clip(images, -1.0, 1.0)


def adjust_brightness(images, shift):
    """``(1 - |b|) x + b`` per sample: towards white (``b > 0``) or black, staying in [-1, 1]."""
    x = ops.cast(images, "float32")
    shift = _per_sample(shift, "float32")
    return ops.cast(_in_range((1.0 - ops.abs(shift)) * x + shift), images.dtype)


def _stretch(x, centre, factor, axis):
    """``centre + f (x - centre)`` with ``f = min(factor, the largest f that stays in range)``.

    The limit is taken over ``axis`` (each pixel's channels, or the whole image); it is
    at least 1 for values in [-1, 1], so factors up to 1 are applied as given.
    """
    deviation = x - centre
    rises, falls = deviation > _FLAT, deviation < -_FLAT
    # Where the deviation is tiny the value cannot leave the range: no limit (a large
    # number, never divided by a tiny one, so the gradient stays finite).
    room = ops.where(rises, 1.0 - centre, ops.where(falls, -1.0 - centre, 4.0))
    safe = ops.where(rises | falls, deviation, _FLAT)
    limit = ops.min(room / safe, axis=axis, keepdims=True)
    return _in_range(centre + ops.minimum(factor, limit) * deviation)


def adjust_saturation(images, factor):
    """Each pixel's deviation from its channel mean times ``factor`` (as far as [-1, 1] allows)."""
    x = ops.cast(images, "float32")
    centre = ops.mean(x, axis=-1, keepdims=True)
    return ops.cast(_stretch(x, centre, _per_sample(factor, "float32"), -1), images.dtype)


def adjust_contrast(images, factor):
    """Each image's deviation from its mean times ``factor`` (at most as far as [-1, 1] allows)."""
    x = ops.cast(images, "float32")
    centre = ops.mean(x, axis=(1, 2, 3), keepdims=True)
    stretched = _stretch(x, centre, _per_sample(factor, "float32"), (1, 2, 3))
    return ops.cast(stretched, images.dtype)


def _shift_matrices(shift, size, dtype):
    """(batch, size, size) 0/1 matrices: row i picks the source i - shift (none off the edge)."""
    target = ops.reshape(ops.arange(size, dtype="int32"), (1, size, 1))
    source = ops.reshape(ops.arange(size, dtype="int32"), (1, 1, size))
    shift = ops.reshape(ops.cast(shift, "int32"), (-1, 1, 1))
    return ops.cast(ops.equal(source, target - shift), dtype)


def translate(images, shift_y, shift_x):
    """Each image moved down by ``shift_y`` and right by ``shift_x`` pixels (integers), 0 filled.

    Two batched products with 0/1 shift matrices: exact values, and a gradient on every
    backend without gathers.
    """
    images = ops.convert_to_tensor(images)
    _, height, width, _ = _static_shape(images)
    rows = _shift_matrices(shift_y, height, images.dtype)
    cols = _shift_matrices(shift_x, width, images.dtype)
    moved = ops.einsum("bih,bhwc->biwc", rows, images)
    return ops.einsum("bjw,biwc->bijc", cols, moved)


def cut_out(images, top, left, size):
    """Zero the ``size = (height, width)`` rectangle at (``top``, ``left``) of each image.

    ``top`` / ``left`` are integers per sample and may be negative or run past the edge
    (the rectangle is then cut off by the border).
    """
    images = ops.convert_to_tensor(images)
    _, height, width, _ = _static_shape(images)

    def inside(start, length, extent):
        index = ops.reshape(ops.arange(extent, dtype="int32"), (1, extent))
        start = ops.reshape(ops.cast(start, "int32"), (-1, 1))
        return ops.logical_and(index >= start, index < start + length)

    hole = ops.logical_and(
        ops.expand_dims(inside(top, size[0], height), 2),
        ops.expand_dims(inside(left, size[1], width), 1),
    )
    keep = 1.0 - ops.cast(hole, images.dtype)
    return images * ops.expand_dims(keep, -1)


# --------------------------------------------------------- the random ops (the policies)
def _static_shape(images):
    shape = tuple(images.shape)
    if len(shape) != 4 or shape[1] is None or shape[2] is None:
        raise ValueError(
            "Augmentation policies need images of shape (batch, height, width, channels) "
            f"with a known height and width, got shape {shape}."
        )
    return shape


def _integers(u, low, count):
    """Uniform integers in [low, low + count) from uniform draws in [0, 1)."""
    index = ops.minimum(ops.floor(u * count), count - 1)  # float rounding can reach count
    return ops.cast(index, "int32") + low


def translation_limit(size):
    """The largest shift along a side of ``size`` pixels: 1/8 of it, rounded."""
    return int(size * TRANSLATION_RATIO + 0.5)


def cutout_size(size):
    """The cutout square's side along a side of ``size`` pixels: half of it, rounded."""
    return int(size * CUTOUT_RATIO + 0.5)


def random_color(images, uniform):
    """Random brightness, then saturation, then contrast (one draw of each per sample)."""
    u = uniform((3,))
    images = adjust_brightness(images, (2.0 * u[:, 0] - 1.0) * BRIGHTNESS)
    images = adjust_saturation(images, SATURATION[0] + u[:, 1] * (SATURATION[1] - SATURATION[0]))
    return adjust_contrast(images, CONTRAST[0] + u[:, 2] * (CONTRAST[1] - CONTRAST[0]))


def random_translation(images, uniform):
    """A random shift of up to 1/8 of each side per sample (independent per axis)."""
    _, height, width, _ = _static_shape(images)
    u = uniform((2,))
    limits = translation_limit(height), translation_limit(width)
    shift_y = _integers(u[:, 0], -limits[0], 2 * limits[0] + 1)
    shift_x = _integers(u[:, 1], -limits[1], 2 * limits[1] + 1)
    return translate(images, shift_y, shift_x)


def random_cutout(images, uniform):
    """A square of half each side zeroed at a uniform position per sample.

    As in the paper, the square's centre is a uniform pixel, plus one more position past
    the last one when the side is even, so the square may stick out of the image.
    """
    _, height, width, _ = _static_shape(images)
    u = uniform((2,))
    size = cutout_size(height), cutout_size(width)
    top = _integers(u[:, 0], 0, height + 1 - size[0] % 2) - size[0] // 2
    left = _integers(u[:, 1], 0, width + 1 - size[1] % 2) - size[1] // 2
    return cut_out(images, top, left, size)


POLICIES = {
    "color": random_color,
    "translation": random_translation,
    "cutout": random_cutout,
}
POLICY_NAMES = tuple(POLICIES)


# ------------------------------------------------------------------- policies
def _is_registered(policy):
    """Whether Keras can save ``policy`` (a registered function, or a registered class's object)."""
    target = policy if callable(policy) and hasattr(policy, "__name__") else type(policy)
    name = keras.saving.get_registered_name(target)
    return keras.saving.get_registered_object(name) is target


def check_policy(policy):
    """``policy`` in its stored form: None, a canonical ``"a,b"`` string, or the callable.

    Refuses unknown or repeated names, an empty string and anything that is neither a
    string nor a callable, naming the valid policies.
    """
    if policy is None or (callable(policy) and not isinstance(policy, str)):
        return policy
    valid = ", ".join(repr(name) for name in POLICY_NAMES)
    expected = (
        f"None, a comma-separated string of the names {valid} (e.g. "
        f"'{','.join(POLICY_NAMES)}'), or a callable fn(images, uniform) -> images"
    )
    if not isinstance(policy, str):
        raise ValueError(f"`augment` must be {expected}, got {policy!r}.")
    names = [name.strip().lower() for name in policy.split(",")]
    unknown = [name for name in names if name not in POLICIES]
    if unknown or len(set(names)) != len(names):
        problem = (
            f"unknown name(s) {unknown}" if unknown else "a name is repeated"
        )
        raise ValueError(f"`augment` must be {expected}, got {policy!r} ({problem}).")
    return ",".join(names)


def policy_function(policy):
    """The ``fn(images, uniform) -> images`` a checked policy stands for (None: no augmentation)."""
    if policy is None or callable(policy):
        return policy
    steps = [POLICIES[name] for name in policy.split(",")]

    def augment(images, uniform):
        for step in steps:
            images = step(images, uniform)
        return images

    return augment


def apply_policy(images, policy, uniform):
    """``images`` through ``policy`` (a string or callable; None returns them unchanged)."""
    function = policy_function(check_policy(policy))
    return images if function is None else function(images, uniform)


def serialize_policy(policy):
    """The policy as it goes into a model's config: the string, or Keras' form of the callable.

    A callable Keras cannot find again when loading (a lambda, an unregistered
    function) is refused here, when the model is saved, rather than at load time.
    """
    if policy is None or isinstance(policy, str):
        return policy
    if not _is_registered(policy):
        name = getattr(policy, "__name__", type(policy).__name__)
        raise ValueError(
            f"The `augment` callable {name!r} cannot be saved: Keras can only load a "
            "function or object registered with @keras.saving.register_keras_serializable() "
            "(defined at module level, imported before loading). Register it, or use a "
            f"policy string made of {list(POLICY_NAMES)}."
        )
    return keras.saving.serialize_keras_object(policy)


def deserialize_policy(config):
    """The inverse of :func:`serialize_policy`."""
    if isinstance(config, dict):
        return keras.saving.deserialize_keras_object(config)
    return config
