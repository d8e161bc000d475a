"""Freezing a critic's first layers for fine-tuning (FreezeD, Mo et al. 2020).

What counts: only the layers that map features to features with a kernel, the
convolutions and dense layers (spectrally normalised ones included). Normalisation
layers are never frozen, whatever N: a frozen ``BatchNormalization`` in Keras 3 runs in
inference mode on the source run's moving statistics, so freezing one would make the
critic compute another function from the first step; left trainable, it normalises
with the batch's statistics as before, and its scale, shift and moving statistics keep
adapting to the new data. Other layers with weights (class embeddings of a conditional
critic) stay trainable too. The choice is kept in the saved file (each layer's
``trainable``), so a resumed fine-tuning run keeps the same layers frozen.
"""

import keras

__all__ = ["FREEZABLE_LAYER_TYPES", "freezable_layers", "freeze_first"]

#: The layer types ``--freeze-critic N`` counts and freezes: convolutions and dense layers.
FREEZABLE_LAYER_TYPES = (
    keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
    keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose, keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv2D, keras.layers.Dense, keras.layers.EinsumDense,
)


def freezable_layers(net):
    """``net``'s convolution and dense layers, input to output: what N counts."""
    return [layer for layer in net.layers if isinstance(layer, FREEZABLE_LAYER_TYPES)]


def freeze_first(net, count):
    """Set ``trainable = False`` on ``net``'s first ``count`` convolution and dense
    layers (normalisation layers between them stay trainable); returns them.

    Call before ``compile`` (a fine-tuned run builds its optimizers afterwards, on the
    trainable variables only). Raises ``ValueError`` naming how many there are when
    ``count`` is more.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f"count must be a non-negative integer, got {count!r}")
    layers = freezable_layers(net)
    if count > len(layers):
        names = ", ".join(layer.name for layer in layers)
        raise ValueError(
            f"the critic has {len(layers)} convolution and dense layers ({names}), so "
            f"{count} cannot be frozen; normalisation layers are not counted (they stay "
            f"trainable); e.g. freeze {max(len(layers) - 1, 0)}")
    for layer in layers[:count]:
        layer.trainable = False
    return layers[:count]
