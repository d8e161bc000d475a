"""The checks every model test runs: serialization, saving and mixed precision (as keras-hub's TestCase).

Plain functions, so pytest-style tests call them directly. Each returns the revived or
trained model for the test's own further assertions.
"""

import json
import warnings

import keras
import numpy as np

NETS = ("generator", "critic", "ema_generator")


def plain(config):
    """A config as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(config))


def assert_weights_equal(a, b, atol=0.0):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), atol=atol, rtol=0)


def _assert_same_model(revived, model):
    """Class, config, sub-net configs, dtype policy and variable shapes agree."""
    assert type(revived) is type(model)
    assert plain(revived.get_config()) == plain(model.get_config())
    for name in NETS:
        net, other = getattr(model, name), getattr(revived, name)
        assert (other is None) == (net is None), name
        if net is not None:
            assert plain(other.get_config()) == plain(net.get_config()), name
    assert revived.dtype_policy.name == model.dtype_policy.name
    assert [tuple(v.shape) for v in revived.weights] == [tuple(v.shape) for v in model.weights]


def run_serialization_test(model):
    """get_config -> from_config, and serialize_keras_object -> JSON -> deserialize, give the same model.

    Much faster than saving; returns the model revived from JSON.
    """
    _assert_same_model(type(model).from_config(model.get_config()), model)
    text = json.dumps(keras.saving.serialize_keras_object(model), sort_keys=True)
    revived = keras.saving.deserialize_keras_object(json.loads(text))
    _assert_same_model(revived, model)
    # The JSON form is stable: serializing the revived model gives the same text.
    assert json.dumps(keras.saving.serialize_keras_object(revived), sort_keys=True) == text
    return revived


def _labels_for(model, n):
    return None if model.num_classes is None else np.arange(n) % model.num_classes


def run_model_saving_test(model, path, noise, labels=None, resume=None, atol=0.0):
    """Save as .keras, load, and check what a resumed run needs.

    Class and config; the images from ``noise`` (and ``labels``) within ``atol``; both
    optimizers' class, iterations and variables; the unfinished critic block. With
    ``resume`` (keyword arguments of ``fit``), both models then train on the same data
    and must stay the same.
    """
    model.save(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        restored = keras.models.load_model(path)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "skipping" in m.lower() or "compile()" in m], messages
    _assert_same_model(restored, model)
    if labels is None:
        labels = _labels_for(model, len(noise))

    def assert_same_state(tolerance):
        np.testing.assert_allclose(restored.generate_from_noise(noise, labels=labels),
                                   model.generate_from_noise(noise, labels=labels),
                                   atol=tolerance, rtol=0)
        for name in ("critic_optimizer", "generator_optimizer"):
            saved, loaded = getattr(model, name), getattr(restored, name)
            assert type(loaded) is type(saved), name
            assert int(loaded.iterations) == int(saved.iterations), name
            assert_weights_equal([np.asarray(v) for v in loaded.variables],
                                 [np.asarray(v) for v in saved.variables], atol=tolerance)
        assert int(restored.pending_critic_updates) == int(model.pending_critic_updates)

    assert_same_state(atol)
    if resume is not None:
        # Resuming needs no compile; both models then continue identically.
        for m in (restored, model):
            m.fit(**{"epochs": 1, "verbose": 0, **resume})
        assert_same_state(max(atol, 1e-5))
        assert_weights_equal(restored.get_weights(), model.get_weights(), atol=max(atol, 1e-5))
    return restored


def _assert_policy(model, policy):
    """The model and every layer of its nets carry ``policy``; variables stay float32."""
    assert model.dtype_policy.name == policy
    for name in NETS:
        net = getattr(model, name)
        if net is None:
            continue
        # InputLayers (noise, images, labels) carry their input's dtype.
        computing = [layer for layer in net.layers
                     if not isinstance(layer, keras.layers.InputLayer)]
        assert {layer.dtype_policy.name for layer in computing} == {policy}, name
        assert {keras.backend.standardize_dtype(v.dtype) for v in net.weights} == {"float32"}


def run_precision_test(build, policy, data, save_path=None, **build_kwargs):
    """One epoch under a mixed ``policy``: low-dtype compute, float32 variables and losses.

    ``build(**build_kwargs)`` makes the model under the global ``policy`` (reset to
    float32 afterwards); it is compiled with its default optimizers and fitted on
    ``data``. Checks: the nets' outputs are in the compute dtype, variables float32,
    loss scaling exactly under float16, every logged value finite, and the policy
    survives get_config/from_config in a float32 process (and save/load with
    ``save_path``). Returns the model and its logs (one value per metric).
    """
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = build(**build_kwargs)
        model.compile()
        history = model.fit(data, epochs=1, verbose=0).history
    finally:
        keras.mixed_precision.set_global_policy("float32")
    compute = keras.mixed_precision.Policy(policy).compute_dtype
    assert compute in ("float16", "bfloat16")
    _assert_policy(model, policy)
    noise = np.random.default_rng(0).normal(size=(3, model.latent_dim)).astype("float32")
    labels = _labels_for(model, 3)

    def with_labels(x):
        # Tensors, not numpy: Keras refuses a call() argument that mixes the two.
        if labels is None:
            return x
        return [keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(labels, "int32")]

    # The nets compute in the low dtype (the model casts the critic's scores to float32).
    for name in ("generator", "ema_generator"):
        if getattr(model, name) is not None:
            fake = getattr(model, name)(with_labels(noise), training=False)
            assert keras.backend.standardize_dtype(fake.dtype) == compute, name
    for scores in keras.tree.flatten(model.critic(with_labels(fake), training=False)):
        assert keras.backend.standardize_dtype(scores.dtype) == compute, "critic"
    scaled = compute == "float16"
    for optimizer in (model.critic_optimizer, model.generator_optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer) is scaled
    logs = {name: values[0] for name, values in history.items()}
    assert logs and all(np.isfinite(value) for value in logs.values()), logs
    _assert_policy(run_serialization_test(model), policy)
    if save_path is not None:
        _assert_policy(run_model_saving_test(model, save_path, noise, labels), policy)
    return model, logs
