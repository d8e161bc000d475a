"""Drawing samples from a trained GAN: the sampling generator, ``generate``, ``export``.

A mixin of ``WassersteinGAN``: it reads the model's ``generator``, ``ema_generator``
(the weight average, or None), ``latent_dim``, ``num_classes`` and ``sample_noise``.
Everything here runs outside the train step, on the host.
"""

import os

import keras
import numpy as np
from keras import ops

from keras_wgan import checks, conditioning


# Every generator call gets at least this many rows (the rest padding): on one row a
# Dense layer's matmul runs as BLAS's matrix-vector kernel, whose sums round otherwise
# (seen on PyTorch and JAX: batch 1 and 4 differed in the last bits), and an image must
# not depend on the batch it came in.
MIN_ROWS_PER_CALL = 16


def _padded(rows, size):
    """``rows`` with copies of its last row appended up to ``size`` rows."""
    if len(rows) == size:
        return rows
    return np.concatenate([rows, np.repeat(rows[-1:], size - len(rows), axis=0)])


def _predict_in_batches(net, noise, labels, batch_size):
    """``net`` on ``noise`` (and ``labels``, or None) in batches of at least
    MIN_ROWS_PER_CALL rows, as float32 numpy."""
    n = noise.shape[0]
    size = max(batch_size, MIN_ROWS_PER_CALL)
    parts = []
    for i in range(0, n, size):
        rows = _padded(noise[i : i + size], size)
        inputs = rows if labels is None else [
            rows, _padded(np.asarray(labels[i : i + size]), size)]
        # One compiled function for every batch (the last one padded to the same shape).
        # float32 whatever the policy: a mixed_bfloat16 generator's images are bfloat16,
        # which numpy code (image files, metrics) does not take.
        images = np.asarray(net.predict_on_batch(inputs), np.float32)
        parts.append(images[: min(size, n - i)])
    return np.concatenate(parts, axis=0)


class Sampler:
    """``call``, ``generate``, ``generate_from_noise`` and ``export`` of a GAN."""

    @property
    def sampling_generator(self):
        """The generator used for samples: the weight average when ``ema_decay`` is set."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def call(self, inputs, training=False):
        """Samples from noise, or from ``[noise, labels]`` for a conditional model."""
        return self.sampling_generator(inputs, training=training)

    def generate(self, n=None, seed=None, batch_size=256, labels=None, seeds=None,
                 truncation=None):
        """Return samples as a numpy array (images in [-1, 1] for the image nets).

        ``seeds=[...]``: one sample per seed, each from its own seed's noise
        (:func:`keras_wgan.generation.seed_noise`), so a sample depends only on its seed
        and label, whatever the batch or the other seeds (``n``, if given, must be
        ``len(seeds)``). Otherwise ``n`` samples: with an integer ``seed`` the same noise
        (and so the same samples) comes back every call; with None, noise comes from the
        model's seed generator. For a conditional model ``labels`` is an int (every
        sample of that class), a sequence of class indices, or None (a uniform mix of
        the classes). ``truncation=t``: noise components beyond ``|t|`` are drawn again
        (BigGAN's truncation trick: below 1, more typical and less varied samples).

        Args:
            n: how many samples (with ``seeds``: None or ``len(seeds)``).
            seed: one int for the whole batch's noise; None: the model's stream.
            batch_size: samples generated at once (the result does not depend on it).
            labels: a conditional model's classes (above).
            seeds: one seed per sample (above).
            truncation: None, or the bound of the noise's components.

        Returns:
            A numpy array of samples, images in [-1, 1].

        Raises:
            ValueError: neither ``n`` nor ``seeds``, both ``seed`` and ``seeds``, a
                label outside ``[0, num_classes)``, labels for an unconditional model,
                or a bad ``truncation``.

        Example:

        ```python
        images = gan.generate(16, seed=0)
        same = gan.generate(seeds=[42])          # the image of seed 42, always
        shoes = gan.generate(10, labels=7)       # a conditional model's class 7
        ```
        """
        from keras_wgan import generation

        truncation = generation.check_truncation(truncation)
        if seeds is not None:
            seeds = [int(s) for s in np.atleast_1d(np.asarray(seeds))]
            if n is not None and n != len(seeds):
                raise ValueError(f"`n` ({n}) must be None or len(seeds) ({len(seeds)}): "
                                 "with `seeds`, one sample per seed.")
            if seed is not None:
                raise ValueError("pass `seeds` (one per sample) or `seed` (one for the "
                                 "batch), not both.")
            n = len(seeds)
        if n is None:
            raise ValueError("`n` (how many samples) or `seeds` (one per sample) is "
                             "required, e.g. gan.generate(16, seed=0) or "
                             "gan.generate(seeds=range(16)).")
        n = checks.check_positive_int("n", n)
        batch_size = checks.check_positive_int("batch_size", batch_size)
        if self.conditional and labels is None:  # a uniform mix, from the seed in use
            labels = conditioning.labels_to_generate(n, None, self.num_classes, seed) \
                if seed is not None or seeds is not None else ops.convert_to_numpy(
                    keras.random.randint((n,), 0, self.num_classes,
                                         seed=self.seed_generator))
        if seeds is not None:
            noise = generation.seed_noise(seeds, self.latent_dim, truncation)
        elif seed is None:
            noise = self.sample_noise(n)
        else:
            noise = keras.random.normal((n, self.latent_dim), seed=int(seed))
        if truncation is not None and seeds is None:
            if seed is None:  # the model's own stream decides, as for the noise itself
                seed = int(ops.convert_to_numpy(keras.random.randint(
                    (), 0, 2**31 - 1, seed=self.seed_generator)))
            noise = generation.truncate(ops.convert_to_numpy(noise), truncation,
                                        np.random.default_rng(int(seed)))
        return self.generate_from_noise(noise, batch_size=batch_size, labels=labels)

    def _check_labels_wanted(self, labels):
        if labels is not None and not self.conditional:
            raise ValueError(
                f"`labels` were given ({labels!r}) but this {type(self).__name__} is "
                "unconditional (its generator takes noise only); build the nets with "
                "num_classes=K to condition on classes."
            )

    def generate_from_noise(self, noise, batch_size=256, labels=None):
        """Run the sampling generator on given noise (and labels), in batches.

        Args:
            noise: ``(n, latent_dim)``.
            batch_size: rows generated at once.
            labels: a conditional model's classes: an int or one per row.

        Returns:
            A numpy array of ``n`` samples.

        Raises:
            ValueError: noise of another shape, labels missing for a conditional model
                or given to an unconditional one.
        """
        noise = ops.convert_to_tensor(noise, dtype="float32")
        if len(noise.shape) != 2 or noise.shape[-1] != self.latent_dim:
            raise ValueError(
                f"`noise` must have shape (n, {self.latent_dim}), got {tuple(noise.shape)}."
            )
        self._check_labels_wanted(labels)
        if self.conditional:
            if labels is None:
                raise ValueError(
                    "`labels` are required: this model is conditional "
                    f"(num_classes={self.num_classes}); pass one class index per noise row."
                )
            labels = conditioning.labels_to_generate(
                noise.shape[0], labels, self.num_classes
            )
        return _predict_in_batches(self.sampling_generator, ops.convert_to_numpy(noise),
                                   labels, batch_size)

    def generate_between_classes(self, noise, from_labels, to_labels, fractions,
                                 batch_size=256):
        """Images of a conditional model between two classes: row ``i`` is drawn with
        every class embedding of the generator (the joined one and the conditional batch
        norms' gains and biases) at ``(1 - f) * E[from] + f * E[to]``, ``f = fractions[i]``.

        Labels are indices into embedding tables, so a class can only be mixed there: a
        copy of the sampling generator gets one table row per image, the mixed rows (the
        model itself is left as it was). A fraction of 0 gives ``from``'s image, 1 ``to``'s.

        Args:
            noise: ``(n, latent_dim)``.
            from_labels: an int or one class per row.
            to_labels: an int or one class per row.
            fractions: ``n`` numbers in [0, 1].
            batch_size: rows generated at once.

        Returns:
            A numpy array of ``n`` samples.

        Raises:
            ValueError: an unconditional model, missing labels, or fractions of another
                count or outside [0, 1].
        """
        if not self.conditional:
            raise ValueError(
                f"walking between classes needs a conditional model; this "
                f"{type(self).__name__} is unconditional: walk between seeds instead "
                "(keras_wgan.generation.walk_images).")
        noise = np.asarray(noise, np.float32)
        n = noise.shape[0]
        rows = {}
        for name, value in (("from_labels", from_labels), ("to_labels", to_labels)):
            if value is None:
                raise ValueError(f"`{name}` is required: a class index, or one per row.")
            rows[name] = conditioning.labels_to_generate(n, value, self.num_classes)
        fractions = np.asarray(fractions, np.float64).reshape(-1)
        if fractions.shape[0] != n or np.any((fractions < 0) | (fractions > 1)):
            raise ValueError(f"`fractions` must be {n} numbers in [0, 1] (one per noise "
                             f"row), got {fractions.shape[0]} in "
                             f"[{fractions.min():.3g}, {fractions.max():.3g}].")
        net = self.sampling_generator
        tables = [layer for layer in net.layers
                  if isinstance(layer, keras.layers.Embedding)]
        if not tables:
            raise ValueError("this conditional generator has no keras.layers.Embedding "
                             "that reads its labels, so its classes cannot be mixed.")
        mixed = keras.models.clone_model(net, clone_function=lambda layer: (
            type(layer).from_config({**layer.get_config(), "input_dim": n})
            if isinstance(layer, keras.layers.Embedding)
            else type(layer).from_config(layer.get_config())))
        a, b = np.asarray(rows["from_labels"]), np.asarray(rows["to_labels"])
        f = fractions[:, None]
        for layer in mixed.layers:
            weights = net.get_layer(layer.name).get_weights()
            if isinstance(layer, keras.layers.Embedding):
                table = weights[0].astype(np.float64)
                weights = [((1 - f) * table[a] + f * table[b]).astype(weights[0].dtype)]
            layer.set_weights(weights)
        # Row i of the noise reads row i of the mixed tables.
        return _predict_in_batches(mixed, noise, np.arange(n, dtype="int32"), batch_size)

    # ---------------------------------------------------------------- export
    EXPORT_BACKENDS = ("tensorflow", "jax")  # Keras' SavedModel export without torch_xla

    def export(self, filepath, format="tf_saved_model", verbose=False):
        """Export the sampling generator for serving, as a TensorFlow SavedModel.

        The SavedModel has one endpoint, ``generate`` (also its ``serving_default``
        signature): ``generate(noise)``, or ``generate(noise, labels)`` for a
        conditional model, with ``noise`` float32 ``(batch, latent_dim)`` and
        ``labels`` int32 ``(batch,)`` class indices in ``[0, num_classes)``. It returns
        float32 samples (images in [-1, 1]) of :attr:`sampling_generator`, the net
        ``generate_from_noise`` runs (the weight average when ``ema_decay`` is set)::

            gan.export("generator")
            images = tf.saved_model.load("generator").generate(noise)

        The critic and the training state are left out (save the model for those).
        Keras' own ``Model.export`` cannot export the GAN: it has no fixed input to
        trace. Works under the TensorFlow and JAX backends (JAX through jax2tf); under
        PyTorch Keras needs torch_xla, so export from a TensorFlow process instead. For
        other formats (ONNX, LiteRT, ...) export the net itself:
        ``gan.sampling_generator.export(path, format=...)``.

        Args:
            filepath: the SavedModel directory to write.
            format: ``"tf_saved_model"``, the only one.
            verbose: print Keras' listing of the endpoint's signature and captured
                variables when written (about 20 lines; default False: quiet).
        """
        if format != "tf_saved_model":
            raise ValueError(
                f"`format` must be 'tf_saved_model' (a SavedModel with a `generate` "
                f"endpoint), got {format!r}; for other formats export the generator "
                f"itself: gan.sampling_generator.export(path, format={format!r})."
            )
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError(
                f"`filepath` must be a path (str or os.PathLike) for the SavedModel "
                f"directory, got {type(filepath).__name__}."
            )
        filepath = os.fspath(filepath)
        if os.path.isfile(filepath):
            raise ValueError(
                f"`filepath` {filepath!r} is a file; a SavedModel is a directory: pass a "
                "new directory path, e.g. 'generator_savedmodel'."
            )
        backend = keras.backend.backend()
        if backend not in self.EXPORT_BACKENDS:
            raise NotImplementedError(
                f"export() writes a TensorFlow SavedModel, which Keras makes on the "
                f"{' and '.join(self.EXPORT_BACKENDS)} backends, not on {backend} (it "
                "would need torch_xla). Save the model and export it from TensorFlow: "
                "gan.save('gan.keras'), then in a process with KERAS_BACKEND=tensorflow: "
                "import keras, keras_wgan; keras.saving.load_model('gan.keras')"
                ".export('generator')."
            )
        import tensorflow as tf

        net = self.sampling_generator
        noise = tf.TensorSpec((None, self.latent_dim), tf.float32, name="noise")
        if self.conditional:
            def generate(noise, labels):
                return ops.cast(net([noise, labels], training=False), "float32")

            signature = [noise, tf.TensorSpec((None,), tf.int32, name="labels")]
        else:
            def generate(noise):
                return ops.cast(net(noise, training=False), "float32")

            signature = [noise]
        archive = keras.export.ExportArchive()
        archive.track(net)
        archive.add_endpoint("generate", generate, input_signature=signature)
        archive.write_out(filepath, verbose=bool(verbose))
