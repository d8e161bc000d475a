"""Spectral normalisation of a critic's layers (Miyato et al. 2018), safe under the penalty.

A spectrally normalised layer uses ``W / sigma(W)``, where ``sigma`` is the largest
singular value of its kernel viewed as a matrix ``(fan_in, units)``. ``sigma`` is
estimated from a vector ``u`` kept in the layer (a non-trainable weight, saved with the
model, so a resume is exact): ``v = normalize(W u)``, ``sigma = v . (W u)``, with ``u``
and ``v`` held constant for the gradient, as in the SNGAN paper's code.

Why not ``keras.layers.SpectralNormalization``: it runs the power iteration inside
``call`` and *assigns the normalised kernel over the trainable one*. That makes the
gradient skip ``sigma`` (so it is not the paper's ``W / sigma(W)``), and the assignment
sits inside the WGAN-GP penalty's inner gradient, where JAX's stateless trace cannot
hold it. Here ``call`` is a pure function of the weights, differentiable twice on every
backend, and the power iteration is a separate step (:func:`refresh`), which the GAN
runs once after each critic update (one iteration per step, as the paper does).

:func:`spectral_normalize` turns a built critic into one whose ``Conv2D`` and ``Dense``
layers are :class:`SpectralConv2D` / :class:`SpectralDense` (same configs, same
initial kernels); the two classes are registered, so a saved model loads with
``import keras_wgan``.
"""

import keras
from keras import ops

CRITIC_NORMS = (None, "spectral")
# Added to a norm before dividing by it: a zero kernel (or u) stays finite.
_EPSILON = 1e-12


def _normalized(vector):
    return vector / ops.sqrt(ops.sum(ops.square(vector)) + _EPSILON)


class _SpectralMixin:
    """What the two layer kinds share: the vector ``u``, sigma and the power iteration."""

    def _add_u(self, units):
        # A fixed unit start (not random): the same u on every backend and seed, and
        # the first refresh() moves it toward the top singular vector.
        self.spectral_u = self.add_weight(
            shape=(units,), initializer=keras.initializers.Constant(units ** -0.5),
            trainable=False, name="spectral_u", aggregation="only_first_replica")

    def _matrix(self, kernel):
        return ops.reshape(kernel, (-1, ops.shape(kernel)[-1]))

    def sigma(self, kernel=None):
        """The estimate of the kernel's largest singular value, differentiable in it."""
        matrix = self._matrix(self.kernel if kernel is None else kernel)
        u = ops.stop_gradient(ops.cast(self.spectral_u, matrix.dtype))
        wu = ops.matmul(matrix, u[:, None])[:, 0]
        v = ops.stop_gradient(_normalized(wu))
        return ops.sum(v * wu)

    def normalized_kernel(self):
        kernel = self.kernel
        return kernel / ops.cast(self.sigma(kernel), kernel.dtype)

    # Keras' Conv2D and Dense save only their kernel and bias (by index); u follows them.
    def _saved_variables(self):
        bias = [self.bias] if getattr(self, "bias", None) is not None else []
        return [self._kernel] + bias + [self.spectral_u]

    def save_own_variables(self, store):
        if self.built:
            for i, variable in enumerate(self._saved_variables()):
                store[str(i)] = variable

    def load_own_variables(self, store):
        variables = self._saved_variables()
        if len(store.keys()) != len(variables):
            raise ValueError(
                f"Layer {self.name!r} expected {len(variables)} saved variables (kernel, "
                f"bias, spectral_u), got {len(store.keys())}.")
        for i, variable in enumerate(variables):
            variable.assign(store[str(i)])

    def power_iteration(self):
        """One step of the power iteration: ``u <- normalize(W^T normalize(W u))``."""
        matrix = ops.stop_gradient(ops.cast(self._matrix(self.kernel), "float32"))
        v = _normalized(ops.matmul(matrix, ops.cast(self.spectral_u, "float32")[:, None]))
        self.spectral_u.assign(_normalized(ops.matmul(ops.transpose(matrix), v)[:, 0]))


@keras.saving.register_keras_serializable(package="keras_wgan")
class SpectralConv2D(_SpectralMixin, keras.layers.Conv2D):
    """``Conv2D`` whose kernel is divided by its spectral norm (see the module docstring).

    Takes ``keras.layers.Conv2D``'s arguments; the vector of the power iteration is a
    non-trainable weight saved with the layer. ``spectral_normalize`` swaps a critic's
    ``Conv2D`` layers for these.
    """

    def build(self, input_shape):
        super().build(input_shape)
        self._add_u(self.filters)

    def convolution_op(self, inputs, kernel):
        return super().convolution_op(inputs, kernel / ops.cast(self.sigma(kernel),
                                                                kernel.dtype))


@keras.saving.register_keras_serializable(package="keras_wgan")
class SpectralDense(_SpectralMixin, keras.layers.Dense):
    """``Dense`` whose kernel is divided by its spectral norm (see the module docstring).

    Takes ``keras.layers.Dense``'s arguments; the vector of the power iteration is a
    non-trainable weight saved with the layer. ``spectral_normalize`` swaps a critic's
    ``Dense`` layers for these.
    """

    def build(self, input_shape):
        super().build(input_shape)
        self._add_u(self.units)

    def call(self, inputs, training=None):
        outputs = ops.matmul(inputs, ops.cast(self.normalized_kernel(), inputs.dtype))
        if self.bias is not None:
            outputs = ops.add(outputs, self.bias)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


_REPLACEMENTS = ((keras.layers.Conv2D, SpectralConv2D), (keras.layers.Dense, SpectralDense))


def spectral_layers(model):
    """The spectrally normalised layers of ``model``, in order."""
    return [layer for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, _SpectralMixin)]


def spectral_normalize(critic):
    """A copy of the functional ``critic`` whose ``Conv2D`` / ``Dense`` layers are
    spectrally normalised, with the same configs and initial weights.

    Args:
        critic: a built functional ``keras.Model`` (any registered family's critic).

    Returns:
        A new ``keras.Model`` of the same name; other layers (embeddings, norms,
        activations) are copies of the originals.

    Raises:
        ValueError: when ``critic`` is not a functional model (a subclassed model's
            layers cannot be swapped from outside), or has no layer to normalise.
    """
    if not isinstance(critic, keras.Model) or not getattr(critic, "inputs", None):
        raise ValueError("`critic` must be a built functional keras.Model to normalise "
                         f"its layers, got {type(critic).__name__}.")

    def clone(layer):
        for stock, spectral in _REPLACEMENTS:
            if type(layer) is stock:
                return spectral.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    try:
        normalized = keras.models.clone_model(critic, clone_function=clone)
    except Exception as error:  # noqa: BLE001 - re-raised with the argument named
        raise ValueError(f"`critic` could not be rebuilt with spectrally normalised layers "
                         f"(a functional model of stock layers is needed): {error}") from error
    for old, new in zip(critic._flatten_layers(include_self=False),
                        normalized._flatten_layers(include_self=False)):
        for old_weight, new_weight in zip(old.weights, new.weights):
            new_weight.assign(old_weight)
    if not spectral_layers(normalized):
        raise ValueError("`critic` has no Conv2D or Dense layer to spectrally normalise.")
    return normalized


def refresh(layers):
    """One power-iteration step on each of ``layers`` (see :func:`spectral_layers`)."""
    for layer in layers:
        layer.power_iteration()


def check_critic_norm(value):
    """``critic_norm`` checked: None (off) or ``"spectral"``."""
    if value not in CRITIC_NORMS:
        raise ValueError(f"`critic_norm` must be one of {CRITIC_NORMS} (None: off; "
                         f"'spectral': spectrally normalised Conv2D and Dense layers), "
                         f"got {value!r}.")
    return value
