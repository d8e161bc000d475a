"""What the class-conditional nets of every family share, built from stock Keras layers.

Labels are integer class indices of shape (batch,), the second input of a conditional
net (``G([noise, labels])``, ``D([images, labels])``). The pieces:

- ``label_input``: that second input;
- ``join_class_embedding``: the noise concatenated with a learned class embedding (the
  DCGAN and MLP generators);
- ``conditional_batch_norm``: class-conditional batch normalisation (Dumoulin et al.
  2017; the WGAN-GP paper's conditional ResNet generator), ``gain[y] * BN(x) +
  bias[y]``, from a ``BatchNormalization(center=False, scale=False)``, two per-class
  ``Embedding`` tables (gain initialised to ones, bias to zeros) and stock
  ``Reshape`` / ``Multiply`` / ``Add`` layers, so saved files stay stock Keras;
- ``critic_head``: the critic's score, a projection critic (Miyato and Koyama 2018)
  ``D([x, y]) = linear(phi(x)) + <embedding(y), phi(x)>`` when conditional, optionally
  with an auxiliary classifier (AC-GAN, the WGAN-GP paper's conditional CIFAR-10 model).

``keras_wgan.conditioning.resolve_num_classes`` reads the class count from a
generator's first ``Embedding``: every conditional generator here has one whose
``input_dim`` is the class count.
"""

import keras
from keras import layers

from keras_wgan import checks

# Batch-norm epsilon of the WGAN-GP reference code (tflib's batchnorm ops).
REFERENCE_BN_EPSILON = 1e-5


def check_num_classes(num_classes):
    return checks.check_int(
        "num_classes", num_classes, minimum=2, allow_none=True,
        hint="None builds the unconditional net.",
    )


def label_input():
    """The labels input of a conditional net: integer class indices, shape (batch,)."""
    return keras.Input(shape=(), dtype="int32", name="labels")


def join_class_embedding(noise, num_classes, embedding_dim):
    """[noise, labels] -> noise concatenated with the labels' learned embedding."""
    labels = label_input()
    embedded = layers.Embedding(num_classes, embedding_dim, name="class_embedding")(labels)
    joined = layers.Concatenate(name="noise_and_class")([noise, embedded])
    return [noise, labels], joined


def batch_norm(x, name, labels=None, num_classes=None, epsilon=REFERENCE_BN_EPSILON):
    """Batch normalisation over all axes but the last: plain, or class-conditional with labels."""
    if labels is None:
        return layers.BatchNormalization(epsilon=epsilon, name=name)(x)
    return conditional_batch_norm(x, labels, num_classes, name, epsilon=epsilon)


def conditional_batch_norm(x, labels, num_classes, name, epsilon=REFERENCE_BN_EPSILON):
    """``gain[labels] * BN(x) + bias[labels]``, per channel (the last axis).

    The normalisation has no parameters of its own (``center=False, scale=False``; its
    moving statistics are used at inference as usual); each class has its own gain
    (initialised to ones) and bias (zeros), so at initialisation it is plain batch
    norm. Layers: ``{name}`` (the BatchNormalization), ``{name}_gain`` /
    ``{name}_bias`` (Embeddings of ``num_classes`` x channels), and the stock layers
    that broadcast them over space.
    """
    channels = x.shape[-1]
    spatial = (1,) * (len(x.shape) - 2)
    normalized = layers.BatchNormalization(
        center=False, scale=False, epsilon=epsilon, name=name
    )(x)
    gain = layers.Embedding(
        num_classes, channels, embeddings_initializer="ones", name=f"{name}_gain"
    )(labels)
    bias = layers.Embedding(
        num_classes, channels, embeddings_initializer="zeros", name=f"{name}_bias"
    )(labels)
    gain = layers.Reshape(spatial + (channels,), name=f"{name}_gain_reshape")(gain)
    bias = layers.Reshape(spatial + (channels,), name=f"{name}_bias_reshape")(bias)
    scaled = layers.Multiply(name=f"{name}_scale")([normalized, gain])
    return layers.Add(name=f"{name}_shift")([scaled, bias])


def critic_head(features, images, num_classes, auxiliary_classifier):
    """The critic's output: a score, projected on the class embedding when conditional.

    Returns ``(inputs, outputs)`` for ``keras.Model``. The projection term is the inner
    product of the label's embedding with the same features the linear score reads.
    """
    score = layers.Dense(1, name="score")(features)
    if num_classes is None:
        if auxiliary_classifier:
            raise ValueError("`auxiliary_classifier=True` needs `num_classes`.")
        return images, score
    labels = label_input()
    embedded = layers.Embedding(
        num_classes, features.shape[-1], name="class_projection"
    )(labels)
    projection = layers.Dot(axes=1, name="projection")([embedded, features])
    score = layers.Add(name="projected_score")([score, projection])
    if auxiliary_classifier:
        logits = layers.Dense(num_classes, name="class_logits")(features)
        return [images, labels], [score, logits]
    return [images, labels], score
