"""WassersteinGAN: what WGAN and WGAN-GP share, backend-neutral (keras.ops only).

The base class, ``WassersteinGAN``, holds everything the two share and that does not
depend on the Keras backend: noise sampling, the critic/generator alternation of the
train step, losses, metrics, generator weight averaging, ``get_config`` / compile
config and saving; drawing samples (``generate``, ``export``) comes from the
``Sampler`` mixin (``sampling.py``). The gradient code (how a loss is differentiated
and an optimizer applied, how the generator update is made conditional, the penalty's
input gradient) comes from ``keras_wgan.backend``'s ``GANTrainer`` for the backend
Keras runs on, chosen once at import. The subclasses differ only in how they keep
the critic (approximately) 1-Lipschitz: ``WGAN`` clips weights, ``WGANGP`` penalises
the input-gradient norm.

The alternation: each ``train_step`` makes **one critic update on its own real batch**
and, on every step that completes a block of ``n_critic`` critic updates, one generator
update (a graph-side conditional on TensorFlow with one replica; a host-side count
picking one of two compiled step variants on JAX and under ``tf.distribute``, see
``HostSchedule``; a Python ``if`` on PyTorch). So every critic update sees
a fresh real batch, as in the papers, and an epoch of a plain batched dataset uses each
real batch once. After any number of steps,
``critic_iterations == n_critic * generator_iterations + pending`` with
``0 <= pending < n_critic``; after epochs whose length is a multiple of ``n_critic``
(``fit`` warns otherwise), ``pending`` is 0.
"""


import copy
import warnings

import keras
from keras import ops

# The module, not its names: importing keras_wgan.augment first imports keras, whose
# import hook loads the models while augment is still being initialised.
from keras_wgan import augment as augmentation
from keras_wgan import checks, conditioning, losses
from keras_wgan.architectures import spectral
from keras_wgan.backend import GANTrainer
from keras_wgan.models import networks
from keras_wgan.models.averaging import WeightAverage
from keras_wgan.models.networks import shape_tuple
from keras_wgan.models.optimizers import OptimizerPair
from keras_wgan.models.sampling import Sampler
from keras_wgan.schedule import (
    CRITIC_SCHEDULES,
    PAPER_SCHEDULE_CRITIC_ITERS,
    PAPER_SCHEDULE_PERIOD,
    PAPER_SCHEDULE_WARMUP,
    HostSchedule,
)

BATCH_COUPLED_LAYERS = (keras.layers.BatchNormalization,)


def _has_layer(model, layer_types):
    return any(isinstance(layer, layer_types) for layer in model._flatten_layers())


class WassersteinGAN(GANTrainer, OptimizerPair, Sampler, WeightAverage, keras.Model):
    """Base class: a generator and a critic trained with a Wasserstein objective.

    Args:
        generator: a built ``keras.Model`` mapping noise (B, latent_dim) to samples.
        critic: a built ``keras.Model`` mapping samples to scores (B, 1).
        latent_dim: noise size; inferred from the generator's input when None.
        n_critic: critic updates per generator update.
        critic_schedule: ``"fixed"`` (``n_critic`` always) or ``"wgan_paper"`` (100
            critic updates for the first 25 generator updates and every 500th).
        ema_decay: keep an exponential moving average of the generator's weights,
            updated after each generator update (decay warmed up as
            ``min(ema_decay, (1 + t) / (10 + t))`` at generator update t); ``call``,
            ``predict`` and ``generate`` then use the averaged generator. Default 0.999
            (measured in ``benchmarks/fashion_mnist_quality.py``); None turns it off.
            Not the optimizers' ``use_ema``: at the end of every ``fit`` it writes the
            average over the live weights, so the next ``fit`` would train the average.
        seed: seed of the model's ``SeedGenerator`` (noise, interpolation weights), so
            runs are reproducible.
        num_classes: for class-conditional nets (a generator ``G([noise, labels])`` and
            a critic taking the labels as a second input and/or giving class logits as
            a second output): the number of classes; read from the generator's class
            embedding when None. ``fit`` then needs ``(samples, labels)`` batches.
        label_sampling: how fakes get their labels during training: ``"batch"``
            (default: the labels of the real batch they are scored against, so both
            sides show the same classes in the data's frequencies) or ``"uniform"``.
        classifier_weight: weight of the auxiliary classifier's cross-entropy on
            real samples in the critic loss (critics with a class-logits output
            only). Default 1.0, the WGAN-GP paper's conditional CIFAR-10 model.
        generator_classifier_weight: weight of that cross-entropy on fakes and
            their labels in the generator loss. Default 0.1, from the same model.
        class_names: optional names of the ``num_classes`` classes (saved with the
            model, so ``keras-wgan sample --label sneaker`` works from the file alone).
        augment: differentiable augmentation of what the critic sees (DiffAugment, see
            :mod:`keras_wgan.augment`): None (off), a policy string such as
            ``"color,translation,cutout"``, or a callable ``fn(images, uniform)``. The
            critic step scores the augmented real and fake images (each drawing its own
            random parameters per sample) and takes the penalty between them; the
            generator step scores its augmented fakes, so its gradient flows through the
            augmentation. ``evaluate`` scores the plain images.
        generator_batch_factor: the generator update scores this many times the real
            batch's number of fakes (the WGAN-GP paper's ResNet recipe,
            ``gan_cifar_resnet.py``, uses 2; default 1: the same number). With
            ``label_sampling="batch"`` the real labels are repeated that many times.
    """

    # Subclasses set ``default_critic_optimizer`` / ``default_generator_optimizer``
    # (``compile()``'s optimizers when none are given) and ``paper_optimizer`` (see
    # OptimizerPair).

    def __init__(
        self,
        generator,
        critic,
        latent_dim=None,
        n_critic=5,
        critic_schedule="fixed",
        ema_decay=0.999,
        seed=None,
        num_classes=None,
        label_sampling="batch",
        classifier_weight=1.0,
        generator_classifier_weight=0.1,
        class_names=None,
        augment=None,
        generator_batch_factor=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for arg, model in (("generator", generator), ("critic", critic)):
            if not isinstance(model, keras.Model):
                raise TypeError(f"`{arg}` must be a keras.Model, got {type(model).__name__}.")
        self.generator = generator
        self.critic = critic
        self.num_classes = conditioning.resolve_num_classes(generator, critic, num_classes)
        self._critic_takes_labels = conditioning.takes_labels(critic)
        self._critic_classifies = conditioning.classifies(critic)
        if label_sampling not in conditioning.LABEL_SAMPLINGS:
            raise ValueError(
                f"`label_sampling` must be one of {conditioning.LABEL_SAMPLINGS}, got "
                f"{label_sampling!r}."
            )
        self.label_sampling = label_sampling
        self.class_names = networks.check_class_names(class_names, self.num_classes)
        self.classifier_weight = checks.check_non_negative_number(
            "classifier_weight", classifier_weight
        )
        self.generator_classifier_weight = checks.check_non_negative_number(
            "generator_classifier_weight", generator_classifier_weight
        )
        self.latent_dim = networks.resolve_latent_dim(generator, latent_dim)
        self.n_critic = checks.check_positive_int("n_critic", n_critic)
        self.generator_batch_factor = checks.check_positive_int(
            "generator_batch_factor", generator_batch_factor
        )
        if critic_schedule not in CRITIC_SCHEDULES:
            raise ValueError(
                f"`critic_schedule` must be one of {CRITIC_SCHEDULES}, got {critic_schedule!r}."
            )
        self.critic_schedule = critic_schedule
        if ema_decay is not None:
            ema_decay = checks.check_positive_number("ema_decay", ema_decay)
            if ema_decay >= 1.0:
                raise ValueError(f"`ema_decay` must be in (0, 1), got {ema_decay!r}.")
        self.ema_decay = ema_decay
        self.seed = seed
        self.sample_shape = networks.check_compatible(
            generator, critic, self.latent_dim, self.num_classes
        )
        self.augment = augmentation.check_policy(augment)
        if isinstance(self.augment, str) and len(self.sample_shape) != 3:
            raise ValueError(
                f"`augment`={self.augment!r} augments images (height, width, channels), but "
                f"this model's samples have shape {self.sample_shape}; use augment=None or "
                "a callable for other samples."
            )
        self._augmentation = augmentation.policy_function(self.augment)
        # Real and fake batches can share one critic call unless a layer couples the
        # samples of a batch (batch statistics would then mix real and fake).
        self._critic_batch_coupled = _has_layer(critic, BATCH_COUPLED_LAYERS)
        # A spectrally normalised critic (architectures/spectral.py): its power iteration
        # runs once after each critic update, outside every gradient.
        self._spectral_layers = spectral.spectral_layers(critic)

        self.seed_generator = keras.random.SeedGenerator(seed, name="seed_generator")
        self.ema_generator = self._weight_average_of(generator, ema_decay)
        self._prepare_networks(*(net for net in (generator, critic, self.ema_generator) if net))
        # Critic updates since the last generator update: a saved variable, so a
        # resumed run continues the block it was in.
        self.pending_critic_updates = self.add_weight(
            shape=(), dtype="int32", initializer="zeros", trainable=False,
            name="pending_critic_updates",
        )
        self.critic_loss_tracker = keras.metrics.Mean(name="critic_loss")
        self.generator_loss_tracker = keras.metrics.Mean(name="generator_loss")
        self.wasserstein_tracker = keras.metrics.Mean(name="wasserstein")
        # The auxiliary classifier's cross-entropy on real samples (critics with logits).
        self.classifier_loss_tracker = (
            keras.metrics.Mean(name="classifier_loss") if self._critic_classifies else None
        )
        self.critic_optimizer = None
        self.generator_optimizer = None
        self.built = True

    # ----------------------------------------------------------------- config
    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.saving.serialize_keras_object(self.dtype_policy),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "critic": keras.saving.serialize_keras_object(self.critic),
            "latent_dim": self.latent_dim,
            "n_critic": self.n_critic,
            "critic_schedule": self.critic_schedule,
            "ema_decay": self.ema_decay,
            "seed": self.seed,
            "num_classes": self.num_classes,
            "label_sampling": self.label_sampling,
            "classifier_weight": self.classifier_weight,
            "generator_classifier_weight": self.generator_classifier_weight,
            "class_names": self.class_names,
            "augment": augmentation.serialize_policy(self.augment),
            "generator_batch_factor": self.generator_batch_factor,
        }

    @classmethod
    def from_config(cls, config):
        # Keras' deserializer consumes nested configs in place: work on a copy.
        config = copy.deepcopy(config)
        for key in ("generator", "critic"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        if "augment" in config:  # files saved before augmentation have none
            config["augment"] = augmentation.deserialize_policy(config["augment"])
        return cls(**config)

    @classmethod
    def from_preset(cls, preset, compile=True, **overrides):
        """A model built from a named recipe of :mod:`keras_wgan.presets`, compiled.

        Nets, settings and optimizers in one call, e.g.
        ``WGANGP.from_preset("fashion_mnist_32", dim=32, num_classes=10)``; the names are
        in ``keras_wgan.presets.list_presets()``, the overrides in that module's
        docstring.

        Args:
            preset: a recipe's name.
            compile: False to return the model uncompiled.
            **overrides: settings changed by name, and Keras compile arguments.

        Returns:
            The model, compiled with the recipe's optimizers unless ``compile=False``.

        Raises:
            ValueError: an unknown recipe or setting (the message lists those there
                are) or a value outside its range.
        """
        from keras_wgan import presets

        return presets.build(cls, preset, compile=compile, **overrides)

    # Keras saves a layer's own weights but not its SeedGenerator's state; without it a
    # resumed run would replay the noise of the first steps instead of continuing.
    _SEED_STATE_KEY = "seed_generator_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[self._SEED_STATE_KEY] = ops.convert_to_numpy(self.seed_generator.state)

    def load_own_variables(self, store):
        self._schedule = None  # the counters change: read them again
        keys = list(store.keys())
        if self._SEED_STATE_KEY in keys:
            self.seed_generator.state.assign(store[self._SEED_STATE_KEY])
        super().load_own_variables({k: store[k] for k in keys if k != self._SEED_STATE_KEY})

    # -------------------------------------------------------------- metrics
    @property
    def metrics(self):
        """The logged metrics. ``critic_loss``, ``generator_loss``, ``classifier_loss`` and
        ``gradient_penalty`` improve downwards (``mode="min"`` for EarlyStopping and
        ReduceLROnPlateau); ``wasserstein``, the critic's distance estimate, falls as
        the samples improve but also moves with the critic, so treat it as a trend.
        """
        trackers = [self.critic_loss_tracker, self.generator_loss_tracker,
                    self.wasserstein_tracker]
        if self.classifier_loss_tracker is not None:
            trackers.append(self.classifier_loss_tracker)
        return trackers

    @property
    def conditional(self):
        """Whether the nets take class labels (``num_classes`` is set)."""
        return self.num_classes is not None

    # ------------------------------------------------------------- noise
    def _generate(self, network, noise, labels, training):
        return network(noise if labels is None else [noise, labels], training=training)

    def sample_noise(self, batch_size):
        return self._replica_rows(
            lambda n: keras.random.normal((n, self.latent_dim), seed=self.seed_generator),
            batch_size,
        )

    def _augmented(self, samples):
        """``samples`` through the ``augment`` policy (unchanged, and no draw, when None).

        Its draws are float32 rows of this replica's share of the global batch, from
        the model's seed generator (so they are saved, and resume exactly).
        """
        if self._augmentation is None:
            return samples
        batch_size = ops.shape(samples)[0]

        def uniform(shape=()):
            shape = tuple(shape)
            return self._replica_rows(
                lambda n: keras.random.uniform(
                    (n,) + shape, dtype="float32", seed=self.seed_generator
                ),
                batch_size,
            )

        augmented = self._augmentation(samples, uniform)
        # Checked when traced (static shapes and dtypes): a user policy's mistake is
        # named here, not deep inside the critic.
        got = (shape_tuple(augmented.shape[1:]), keras.backend.standardize_dtype(augmented.dtype))
        expected = (shape_tuple(samples.shape[1:]), keras.backend.standardize_dtype(samples.dtype))
        if got != expected:
            raise ValueError(
                f"The `augment` policy must return images of the shape and dtype it gets, "
                f"{expected[0]} {expected[1]} (without the batch axis); it returned {got[0]} "
                f"{got[1]}."
            )
        return augmented

    # ---------------------------------------------------------- train step
    def _real_batch(self, data, method="fit"):
        """The real samples of a batch and, for a conditional model, their labels.

        An unconditional model ignores labels; a conditional one requires them.
        """
        labels = None
        if isinstance(data, (tuple, list)):
            if not data:
                raise ValueError(f"`{method}()` received an empty batch.")
            if len(data) > 1:
                labels = data[1]
            data = data[0]
        if isinstance(data, dict) or not hasattr(data, "shape"):
            raise ValueError(
                f"`{method}()` expects batches of samples (a tensor, or an (images, labels) "
                f"tuple); got {type(data).__name__}."
            )
        dtype = keras.backend.standardize_dtype(data.dtype)
        if not dtype.startswith(("float", "bfloat")):
            raise ValueError(
                f"`{method}()` expects floating-point samples scaled to [-1, 1]; got dtype "
                f"{dtype}. Scale uint8 images with x / 127.5 - 1 "
                "(keras_wgan.data.load_dataset does this)."
            )
        got = shape_tuple(data.shape[1:])
        if got != self.sample_shape:
            raise ValueError(
                f"`{method}()` received samples of shape {got} (without the batch axis), but "
                f"the critic expects {self.sample_shape}."
            )
        return ops.cast(data, self.compute_dtype), self._batch_labels(labels, method)

    def _batch_labels(self, labels, method):
        if not self.conditional:
            return None
        if labels is None:
            raise ValueError(
                f"`{method}()` of a conditional {type(self).__name__} "
                f"(num_classes={self.num_classes}) needs (samples, labels) batches, got "
                "samples only; e.g. load_dataset(..., labels=True) or fit(x, labels)."
            )
        dtype = keras.backend.standardize_dtype(labels.dtype)
        if not dtype.startswith(("int", "uint")):
            raise ValueError(
                f"`{method}()` expects integer class labels, got dtype {dtype}."
            )
        labels = ops.cast(labels, "int32")
        if len(labels.shape) == 2 and labels.shape[-1] == 1:
            labels = ops.reshape(labels, (-1,))
        if len(labels.shape) != 1:
            raise ValueError(
                f"`{method}()` expects one class index per sample, shape (batch,), got "
                f"labels of shape {shape_tuple(labels.shape)}."
            )
        return labels

    def _scores_and_logits(self, samples, labels, training):
        """The critic's scores (and class logits, or None) in float32 (mixed precision)."""
        inputs = [samples, labels] if self._critic_takes_labels else samples
        outputs = self.critic(inputs, training=training)
        scores, logits = outputs if self._critic_classifies else (outputs, None)
        if logits is not None:
            logits = ops.cast(logits, "float32")
        return ops.cast(scores, "float32"), logits

    def _scores_only(self, samples, training, labels=None):
        """The critic's scores in float32, whatever its compute dtype (mixed precision)."""
        return self._scores_and_logits(samples, labels, training)[0]

    def _real_and_fake_scores(self, real, fake, training, real_labels=None, fake_labels=None):
        """Scores of real and fake samples, and the class logits of the real ones (or None)."""
        if self._critic_batch_coupled:
            real_scores, real_logits = self._scores_and_logits(real, real_labels, training)
            return real_scores, self._scores_only(fake, training, fake_labels), real_logits
        labels = None if real_labels is None else ops.concatenate([real_labels, fake_labels], 0)
        scores, logits = self._scores_and_logits(
            ops.concatenate([real, fake], axis=0), labels, training
        )
        real_scores, fake_scores = ops.split(scores, 2, axis=0)
        real_logits = None if logits is None else ops.split(logits, 2, axis=0)[0]
        return real_scores, fake_scores, real_logits

    def _classifier_term(self, real_logits, real_labels):
        """The auxiliary classifier's weighted loss on real samples, and its metric value."""
        if real_logits is None:
            return 0.0, {}
        loss = losses.classifier_loss(real_labels, real_logits)
        return self.classifier_weight * loss, {"classifier_loss": loss}

    def _fake_labels(self, real_labels, batch_size):
        """The labels fakes are generated for (``label_sampling``); None if unconditional."""
        if real_labels is None or self.label_sampling == "batch":
            return real_labels
        return self._replica_rows(
            lambda n: keras.random.randint((n,), 0, self.num_classes, seed=self.seed_generator),
            batch_size,
        )

    # Where the penalty is taken when ``augment`` is on: between the augmented real and
    # fake images, the points the critic scores (measured against the plain ones in
    # benchmarks/augment_penalty.py; docs "Small datasets").
    _penalize_augmented = True

    def critic_regularizer(self, real, fake, real_scores, training, labels=None):
        """Term added to the critic loss and extra metric values; WGAN-GP's penalty.

        ``real`` / ``fake``: the images the penalty is taken between (the augmented ones
        when ``augment`` is on). ``labels``: the real samples' labels for a conditional
        critic (else None).
        """
        return 0.0, {}

    def after_critic_update(self):
        """Hook run after each critic update; WGAN clips the weights here."""

    def _required_critic_updates(self):
        if self.critic_schedule == "fixed":
            return ops.convert_to_tensor(self.n_critic, "int32")
        done = ops.cast(self.generator_optimizer.iterations, "int32")
        burst = ops.logical_or(
            done < PAPER_SCHEDULE_WARMUP, ops.equal(done % PAPER_SCHEDULE_PERIOD, 0)
        )
        return ops.where(burst, PAPER_SCHEDULE_CRITIC_ITERS, self.n_critic)

    def _sample_fakes(self, batch_size, labels=None):
        """Generator samples for a critic update (no gradient flows back to the generator)."""
        with self._no_gradient():
            fake = self._generate(self.generator, self.sample_noise(batch_size), labels, True)
        return ops.stop_gradient(fake)

    def _critic_objective(self, scored, penalized, training, real_labels, fake_labels):
        """The critic's loss, written once for training and ``evaluate``: ``-(E[D(real)]
        - E[D(fake)])`` on the ``scored`` (real, fake) pair, plus the regularizer (WGAN-GP's
        penalty, between the ``penalized`` pair) and the auxiliary classifier's term.
        Returns ``(loss, fake_scores, wasserstein_estimate, extra metric values)``."""
        real_scores, fake_scores, real_logits = self._real_and_fake_scores(
            *scored, training, real_labels, fake_labels)
        regularizer, extras = self.critic_regularizer(
            *penalized, real_scores, training, labels=real_labels)
        classifier, classifier_extras = self._classifier_term(real_logits, real_labels)
        loss = losses.critic_loss(real_scores, fake_scores) + regularizer + classifier
        return (loss, fake_scores, losses.wasserstein_estimate(real_scores, fake_scores),
                {**extras, **classifier_extras})

    def _critic_update(self, real, real_labels=None):
        batch_size = ops.shape(real)[0]
        fake_labels = self._fake_labels(real_labels, batch_size)
        fake = self._sample_fakes(batch_size, fake_labels)
        # What the critic sees: each batch with its own random augmentation (outside the
        # loss: nothing here is differentiated with respect to the images).
        seen_real, seen_fake = self._augmented(real), self._augmented(fake)
        penalized = (seen_real, seen_fake) if self._penalize_augmented else (real, fake)

        def loss_fn():
            loss, _, wasserstein, extras = self._critic_objective(
                (seen_real, seen_fake), penalized, True, real_labels, fake_labels)
            return loss, (wasserstein, extras)

        loss, (wasserstein, extras) = self._minimize(
            loss_fn, self.critic_optimizer, self.critic.trainable_variables
        )
        self.after_critic_update()
        spectral.refresh(self._spectral_layers)
        self.critic_loss_tracker.update_state(loss)
        self.wasserstein_tracker.update_state(wasserstein)
        return extras

    def _generator_update(self, batch_size, real_labels=None):
        factor = self.generator_batch_factor
        if factor > 1:
            batch_size = batch_size * factor
            if real_labels is not None and self.label_sampling == "batch":
                real_labels = ops.concatenate([real_labels] * factor, axis=0)
        labels = self._fake_labels(real_labels, batch_size)

        def loss_fn():
            fake = self._generate(self.generator, self.sample_noise(batch_size), labels, True)
            # Augmented inside the loss: the generator's gradient flows through it.
            scores, logits = self._scores_and_logits(self._augmented(fake), labels, training=True)
            loss = losses.generator_loss(scores)
            if logits is not None:
                loss = loss + self.generator_classifier_weight * losses.classifier_loss(
                    labels, logits
                )
            return loss, ()

        loss, _ = self._minimize(
            loss_fn, self.generator_optimizer, self.generator.trainable_variables
        )
        self.generator_loss_tracker.update_state(loss)
        if self.ema_generator is not None:
            self._update_ema()
        self.pending_critic_updates.assign(0)

    def _train_step(self, data, host_decision=None):
        """One critic update on this batch; the generator update when a block completes.

        Backend-neutral: the backend's ``GANTrainer`` calls it from ``train_step`` and
        provides ``_minimize`` and ``_run_if``. ``host_decision`` is None when the
        device decides whether this step completes a block; True or False when the
        host does (see HostSchedule) and this trace is one of the two step variants.
        """
        real, labels = self._real_batch(data, "fit")
        extras = self._critic_update(real, labels)
        self.pending_critic_updates.assign_add(1)
        batch_size = ops.shape(real)[0]
        if host_decision is None:  # decided on the device
            due = self.pending_critic_updates.value >= self._required_critic_updates()
            self._run_if(due, lambda: self._generator_update(batch_size, labels))
        elif host_decision:  # this traced variant is the block-completing step
            self._generator_update(batch_size, labels)
        return self._logs(extras)

    def _check_fit_labels(self, x, y):
        """Before tracing: a conditional model gets labels, and array labels are in range.

        Labels inside a ``tf.data`` pipeline cannot be checked without reading it; an
        out-of-range label there fails in the class embedding on TensorFlow and PyTorch.
        """
        if not self.conditional:
            return
        spec = getattr(x, "element_spec", None)
        if spec is not None and not (isinstance(spec, tuple) and len(spec) > 1):
            raise ValueError(
                f"This {type(self).__name__} is conditional (num_classes={self.num_classes}) "
                "but the dataset yields samples without labels; load it with "
                "load_dataset(..., labels=True) or map it to (samples, labels) pairs."
            )
        if spec is None and x is not None and hasattr(x, "shape"):
            if y is None:
                raise ValueError(
                    f"This {type(self).__name__} is conditional (num_classes="
                    f"{self.num_classes}): call fit(samples, labels, ...)."
                )
            conditioning.check_labels(ops.convert_to_numpy(y), self.num_classes, "y")

    _schedule = None  # the HostSchedule of the current training, if the backend uses one

    def _host_schedule(self):
        """A host-side copy of the block counters, read from the variables (see HostSchedule)."""
        def read(variable):  # through a tensor: a tf.distribute variable has no __array__
            return int(ops.convert_to_numpy(ops.convert_to_tensor(variable)))

        return HostSchedule(
            self.critic_schedule, self.n_critic,
            pending=read(self.pending_critic_updates),
            generator_updates=read(self.generator_optimizer.iterations),
        )

    def _test_step(self, data):
        """Evaluate the losses on a real batch without updating anything.

        Without augmentation: ``evaluate`` measures the model's own distribution (as
        Keras turns dropout off outside training), not the augmented one.
        """
        real, real_labels = self._real_batch(data, "evaluate")
        batch_size = ops.shape(real)[0]
        fake_labels = self._fake_labels(real_labels, batch_size)
        fake = self._generate(self.generator, self.sample_noise(batch_size), fake_labels, False)
        loss, fake_scores, wasserstein, extras = self._critic_objective(
            (real, fake), (real, fake), False, real_labels, fake_labels)
        self.critic_loss_tracker.update_state(loss)
        self.generator_loss_tracker.update_state(losses.generator_loss(fake_scores))
        self.wasserstein_tracker.update_state(wasserstein)
        return self._logs(extras)

    def _logs(self, extras):
        # A value is a tensor, or (value, weight) for a metric that some steps leave out
        # (weight 0), such as a lazy penalty's.
        for name, value in extras.items():
            value, weight = value if isinstance(value, tuple) else (value, None)
            self._extra_trackers[name].update_state(value, sample_weight=weight)
        return {metric.name: metric.result() for metric in self.metrics}

    @property
    def _extra_trackers(self):
        if self.classifier_loss_tracker is None:
            return {}
        return {"classifier_loss": self.classifier_loss_tracker}

    # ---------------------------------------------------------------- fit
    def fit(self, x=None, *args, **kwargs):
        """Keras ``fit``; warns when an epoch's length breaks the n_critic blocks."""
        if self.critic_optimizer is None:
            raise RuntimeError(
                f"You must call `compile()` on this {type(self).__name__} before `fit()` "
                "(e.g. `gan.compile()` for the default optimizers)."
            )
        steps = kwargs.get("steps_per_epoch")
        if steps is None and hasattr(x, "cardinality"):  # a tf.data.Dataset
            cardinality = int(x.cardinality())
            steps = cardinality if cardinality > 0 else None
        if self.critic_schedule == "fixed" and steps is not None and steps % self.n_critic:
            warnings.warn(
                f"An epoch of {steps} steps is not a multiple of n_critic={self.n_critic}: "
                f"{steps % self.n_critic} critic updates per epoch wait for their generator "
                "update in the next epoch. Use a multiple of n_critic for whole blocks.",
                stacklevel=2,
            )
        self._check_fit_labels(x, kwargs.get("y", args[0] if args else None))
        # The host-side block count (backends that schedule on the host) starts from
        # the variables, read now, before a backend moves them into its own state.
        self._schedule = self._host_schedule()
        return super().fit(x, *args, **kwargs)
