"""Class conditioning: which nets take labels, and checking the labels users pass.

A class-conditional model has a generator ``G([noise, labels])`` and a critic that
uses the labels as an input (``D([samples, labels])``, e.g. a projection critic), as
a classifier head (a second output of K logits, AC-GAN style), or both. Labels are
integer class indices in ``[0, num_classes)`` of shape (batch,). These helpers run on
the host (model construction, ``generate``, the CLI), never inside the train step.
"""

import numpy as np

from keras_wgan import checks

# How fake samples get their labels during training (``label_sampling``):
# "batch": the labels of the real batch they are scored against, so real and fake
#   batches have the same classes, in the data's class frequencies;
# "uniform": drawn uniformly from the classes, whatever the data's frequencies.
LABEL_SAMPLINGS = ("batch", "uniform")


def takes_labels(network):
    """Whether a functional network has a second input (the labels)."""
    inputs = getattr(network, "inputs", None) or []
    return len(inputs) == 2


def classifies(critic):
    """Whether a critic has a second output (class logits for the auxiliary term)."""
    outputs = getattr(critic, "outputs", None) or []
    return len(outputs) == 2


def _embedding_classes(network):
    import keras

    for layer in network._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Embedding):
            return int(layer.input_dim)
    return None


def resolve_num_classes(generator, critic, num_classes):
    """The model's class count: None (unconditional) or K, checked against the nets.

    A conditional generator must be paired with a critic that sees the labels (second
    input) or predicts them (second output); ``num_classes`` is read from the
    generator's first ``Embedding`` when not given.
    """
    num_classes = checks.check_int("num_classes", num_classes, minimum=2, allow_none=True)
    conditional_generator = takes_labels(generator)
    critic_uses_labels = takes_labels(critic) or classifies(critic)
    if not conditional_generator:
        if num_classes is not None or critic_uses_labels:
            raise ValueError(
                f"num_classes={num_classes!r} and a critic with labels need a conditional "
                "generator G([noise, labels]) (two inputs); the generator has one input. "
                "Build it with build_generator(..., num_classes=K)."
            )
        return None
    if not critic_uses_labels:
        raise ValueError(
            "The generator takes labels but the critic neither takes them (second input) "
            "nor predicts them (second output), so nothing would make samples match "
            "their class. Build it with build_critic(..., num_classes=K)."
        )
    found = _embedding_classes(generator)
    if num_classes is None:
        if found is None:
            raise ValueError(
                "The generator takes labels but `num_classes` cannot be read from it (no "
                "Embedding layer): pass num_classes=K."
            )
        return found
    if found is not None and found != num_classes:
        raise ValueError(
            f"num_classes={num_classes} does not match the generator's class embedding, "
            f"which has {found} classes."
        )
    return int(num_classes)


def check_labels(labels, num_classes, argument="labels"):
    """Host-side check of integer class labels; returns them as an int32 numpy array."""
    array = np.asarray(labels)
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer)
        or (np.issubdtype(array.dtype, np.floating) and np.all(np.mod(array, 1) == 0))
    ):
        raise ValueError(
            f"`{argument}` must hold integer class indices in [0, {num_classes}), got "
            f"dtype {array.dtype}."
        )
    array = array.reshape(-1) if array.ndim == 2 and array.shape[-1] == 1 else array
    if array.ndim != 1:
        raise ValueError(
            f"`{argument}` must be one class index per sample, shape (n,), got shape "
            f"{array.shape}."
        )
    outside = array[(array < 0) | (array >= num_classes)]
    if outside.size:
        raise ValueError(
            f"`{argument}` holds the label {outside[0].item()!r}, outside [0, {num_classes}) for "
            f"a model with num_classes={num_classes}."
        )
    return array.astype("int32")


def labels_to_generate(n, labels, num_classes, seed=None):
    """``generate``'s ``labels`` argument as n class indices.

    An int gives n samples of that class; a sequence gives one label per sample (its
    length must be n); None gives a uniform mix, drawn with numpy from ``seed``.
    """
    if labels is None:
        return np.random.default_rng(seed).integers(0, num_classes, n).astype("int32")
    if checks.is_int(labels):
        return check_labels(np.full((n,), labels), num_classes)
    labels = check_labels(labels, num_classes)
    if len(labels) != n:
        raise ValueError(
            f"`labels` has {len(labels)} entries but n={n} samples were asked for; pass one "
            "label per sample, a single int, or None for a uniform mix."
        )
    return labels


def _normalised(name):
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def class_index(label, class_names, num_classes):
    """A label given as an index or a class name (``"sneaker"``, ``"Ankle boot"``) -> index.

    Names match case-insensitively, ignoring spaces and punctuation, so ``ankle_boot``
    finds ``"Ankle boot"`` and ``tshirt`` finds ``"T-shirt/top"`` when unambiguous.
    """
    text = str(label).strip()
    if text.lstrip("-").isdigit():
        return int(check_labels([int(text)], num_classes, "label")[0])
    names = list(class_names or [])
    wanted = _normalised(text)
    exact = [i for i, name in enumerate(names) if _normalised(name) == wanted]
    prefix = [i for i, name in enumerate(names) if wanted and _normalised(name).startswith(wanted)]
    for matches in (exact, prefix):
        if len(matches) == 1:
            return matches[0]
    known = ", ".join(repr(name) for name in names) if names else "none recorded"
    raise ValueError(
        f"label {text!r} is not a class of this model (classes: {known}); pass a class "
        f"name or an index in [0, {num_classes})."
    )
