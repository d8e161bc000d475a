"""The WGAN-GP paper's toy MLPs (gan_toy.py): ReLU layers of one width, a linear output.

``num_classes=K`` builds the class-conditional versions: ``G([noise, labels])`` with a
class embedding of size ``width`` joined to the noise, and a projection critic
``D([points, labels])`` (``conditional.py``).
"""

import keras
from keras import layers

from keras_wgan import checks
from keras_wgan.architectures.conditional import (
    check_num_classes,
    critic_head,
    join_class_embedding,
)


def build_mlp_generator(latent_dim, output_dim, width=512, depth=3, name="mlp_generator",
                        num_classes=None):
    """The WGAN-GP paper's toy generator: ``depth`` ReLU layers of ``width``, linear output.

    Args:
        latent_dim: the noise size (2 in the paper's toy experiments).
        output_dim: the size of a sample (2: points in the plane).
        width: units per hidden layer.
        depth: hidden layers.
        name: the model's name.
        num_classes: None for ``G(noise)``; K for ``G([noise, labels])`` with a class
            embedding of size ``width``.

    Returns:
        A functional ``keras.Model`` of ``(batch, output_dim)`` samples.
    """
    latent_dim = checks.check_positive_int("latent_dim", latent_dim)
    output_dim = checks.check_positive_int("output_dim", output_dim)
    width = checks.check_positive_int("width", width)
    depth = checks.check_positive_int("depth", depth)
    num_classes = check_num_classes(num_classes)
    z = keras.Input(shape=(latent_dim,), name="noise")
    inputs, x = z, z
    if num_classes is not None:
        inputs, x = join_class_embedding(z, num_classes, width)
    for i in range(depth):
        x = layers.Dense(width, activation="relu", name=f"dense{i + 1}")(x)
    out = layers.Dense(output_dim, name="output")(x)
    return keras.Model(inputs, out, name=name)


def build_mlp_critic(input_dim, width=512, depth=3, name="mlp_critic", num_classes=None,
                     auxiliary_classifier=False):
    """The WGAN-GP paper's toy critic: ``depth`` ReLU layers of ``width``, one linear score.

    Args:
        input_dim: the size of a sample.
        width: units per hidden layer.
        depth: hidden layers.
        name: the model's name.
        num_classes: None for ``D(points)``; K for a projection critic ``D([points,
            labels])``, as ``build_critic``'s.
        auxiliary_classifier: with ``num_classes``, a second output of K class logits.

    Returns:
        A functional ``keras.Model``: one score per sample (and the logits).
    """
    input_dim = checks.check_positive_int("input_dim", input_dim)
    width = checks.check_positive_int("width", width)
    depth = checks.check_positive_int("depth", depth)
    num_classes = check_num_classes(num_classes)
    x = points = keras.Input(shape=(input_dim,), name="points")
    for i in range(depth):
        x = layers.Dense(width, activation="relu", name=f"dense{i + 1}")(x)
    inputs, outputs = critic_head(x, points, num_classes, auxiliary_classifier)
    return keras.Model(inputs, outputs, name=name)


def family_critic(output_dim, width, depth, num_classes=None, auxiliary_classifier=False):
    """The registry's critic: it scores points of the generator's ``output_dim``."""
    return build_mlp_critic(output_dim, width=width, depth=depth, num_classes=num_classes,
                            auxiliary_classifier=auxiliary_classifier)
