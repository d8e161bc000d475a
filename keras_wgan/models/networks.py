"""What a generator and critic given to a model must satisfy, checked when it is built.

Each check names the argument and what was expected, before any training: the noise
size, the sample shape the two networks agree on, one score (and, for an auxiliary
classifier, one logit per class) per sample, one name per class.
"""

import keras

from keras_wgan import checks, conditioning


def shape_tuple(shape):
    """A shape as a tuple of ints (None for an unknown size)."""
    return tuple(None if d is None else int(d) for d in shape)


def check_class_names(class_names, num_classes):
    """``class_names`` as a list of strings, one per class (None stays None)."""
    if class_names is None:
        return None
    names = [str(name) for name in class_names] if not isinstance(class_names, str) else []
    if num_classes is None or len(names) != num_classes:
        raise ValueError(
            f"`class_names` must list one name per class ({num_classes} for this "
            f"model), got {class_names!r}."
        )
    return names


def resolve_latent_dim(generator, latent_dim):
    """The noise size: ``latent_dim``, or the generator's input size when None."""
    inputs = getattr(generator, "inputs", None)
    inferred = None
    # A conditional generator's first input is the noise, its second the labels.
    if inputs and len(inputs) in (1, 2) and len(inputs[0].shape) == 2:
        inferred = inputs[0].shape[-1]
    if latent_dim is None:
        if inferred is None:
            raise ValueError(
                "`latent_dim` is required: it cannot be inferred from the generator "
                "(expected a functional model with one input of shape (batch, latent_dim))."
            )
        return int(inferred)
    latent_dim = checks.check_positive_int("latent_dim", latent_dim)
    if inferred is not None and inferred != latent_dim:
        raise ValueError(
            f"`latent_dim`={latent_dim} does not match the generator's input size "
            f"{inferred} (generator input shape {tuple(inputs[0].shape)})."
        )
    return latent_dim


def check_compatible(generator, critic, latent_dim, num_classes=None):
    """The sample shape, after checking the critic scores what the generator makes."""
    noise = keras.KerasTensor((None, latent_dim))
    labels = keras.KerasTensor((None,), dtype="int32")
    try:
        fake = generator.compute_output_spec(
            noise if num_classes is None else [noise, labels]
        )
    except Exception as error:  # noqa: BLE001 - re-raised with context
        raise ValueError(
            f"The generator could not be run on noise of shape (batch, {latent_dim}): {error}"
        ) from error
    sample_shape = shape_tuple(fake.shape[1:])
    critic_inputs = getattr(critic, "inputs", None)
    if critic_inputs and len(critic_inputs) in (1, 2):
        expected = shape_tuple(critic_inputs[0].shape[1:])
        if expected != sample_shape:
            raise ValueError(
                f"The generator's output shape {sample_shape} differs from the critic's "
                f"input shape {expected}: `generator` and `critic` must agree on the "
                "sample shape (without the batch axis)."
            )
    try:
        scores = critic.compute_output_spec(
            [fake, labels] if conditioning.takes_labels(critic) else fake
        )
    except Exception as error:  # noqa: BLE001
        raise ValueError(
            f"The critic could not be run on the generator's output of shape "
            f"{sample_shape}: {error}"
        ) from error
    if conditioning.classifies(critic):
        scores, logits = scores
        if shape_tuple(logits.shape[1:]) != (num_classes,):
            raise ValueError(
                f"The critic's second output must be {num_classes} class logits, shape "
                f"(batch, {num_classes}); it is {shape_tuple(logits.shape)}."
            )
    if shape_tuple(scores.shape[1:]) not in ((1,), ()):
        raise ValueError(
            f"The critic must output one score per sample, shape (batch, 1); it outputs "
            f"{shape_tuple(scores.shape)}."
        )
    return sample_shape
