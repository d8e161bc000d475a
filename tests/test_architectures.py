"""The builders reproduce the original experiment's networks and refuse bad shapes."""

import json

import keras
import numpy as np
import pytest

from keras_wgan.architectures import (
    build_critic,
    build_generator,
    build_mlp_critic,
    build_mlp_generator,
)


def test_parameter_counts_match_the_seed_at_dim_128():
    # Counted by hand from the reference implementation's layer list: e.g. WGAN-GP critic
    # 5*5*1*128 + 5*5*128*256 + 5*5*256*512 (no bias) + 8192 + 1 = 4,107,393.
    assert build_generator(128, (32, 32, 1), 128).count_params() == 6_013_697
    assert build_critic((32, 32, 1), 128).count_params() == 4_107_393
    assert build_generator(128, (32, 32, 1), 128, middle_filters=128).count_params() == 5_190_657
    assert build_critic((32, 32, 1), 128, normalization="batch").count_params() == 4_111_361


@pytest.mark.parametrize("image_shape", [(16, 16, 1), (24, 40, 3)])
def test_generator_and_critic_shapes(image_shape):
    generator = build_generator(6, image_shape, dim=4)
    critic = build_critic(image_shape, dim=4, normalization="layer")
    z = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    images = keras.ops.convert_to_numpy(generator(z))
    assert images.shape == (3,) + image_shape
    assert images.min() >= -1 and images.max() <= 1
    assert keras.ops.convert_to_numpy(critic(images)).shape == (3, 1)


def test_critic_normalization_variants():
    layer_types = lambda m: {type(layer).__name__ for layer in m.layers}  # noqa: E731
    assert "BatchNormalization" not in layer_types(build_critic((16, 16, 1), 4))
    assert "BatchNormalization" in layer_types(build_critic((16, 16, 1), 4, normalization="batch"))
    assert "LayerNormalization" in layer_types(build_critic((16, 16, 1), 4, normalization="layer"))
    with pytest.raises(ValueError, match="normalization"):
        build_critic((16, 16, 1), 4, normalization="instance")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image_shape": (28, 28, 1)}, "divisible by 8"),
        ({"image_shape": (32, 32)}, "image_shape"),
        ({"dim": 0}, "`dim` must be a positive integer, got 0."),
        ({"latent_dim": -1}, "`latent_dim` must be a positive integer, got -1."),
    ],
)
def test_generator_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build_generator(**kwargs)


def test_mlp_builders_are_the_papers_toy_nets():
    generator = build_mlp_generator(2, 2, width=16, depth=3)
    critic = build_mlp_critic(2, width=16, depth=3)
    dense = [layer for layer in critic.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [16, 16, 16, 1]
    assert generator.output_shape == (None, 2) and critic.output_shape == (None, 1)
    # 3 hidden layers of 512 as in the WGAN-GP toy experiments.
    assert build_mlp_critic(2).count_params() == 2 * 512 + 512 + 2 * (512 * 512 + 512) + 513
    with pytest.raises(ValueError, match="`width` must be a positive integer, got 0."):
        build_mlp_critic(2, width=0)


def test_image_nets_are_stock_keras_layers_only():
    """A saved net must load with plain Keras on any backend: no custom classes in it."""
    for model in (build_generator(6, (16, 16, 1), dim=4),
                  build_critic((16, 16, 1), dim=4, normalization="layer"),
                  build_critic((16, 16, 1), dim=4, normalization="batch")):
        for layer in model.layers:
            assert type(layer).__module__.startswith("keras."), (layer.name, type(layer))
        config = keras.saving.serialize_keras_object(model)
        assert "keras_wgan" not in json.dumps(config)


# ------------------------------------------------------------- conditional nets
def test_projection_critic_is_linear_score_plus_embedding_inner_product():
    """D([x, y]) = w . phi(x) + b + e_y . phi(x), recomputed from the weights in numpy."""
    keras.utils.set_random_seed(0)
    critic = build_critic((16, 16, 1), 4, num_classes=5)
    images = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    labels = np.array([0, 3, 4, 3], "int32")
    features = keras.Model(critic.inputs[0], critic.get_layer("flatten").output)
    phi = keras.ops.convert_to_numpy(features(images)).astype("float64")
    w, b = critic.get_layer("score").get_weights()
    (embedding,) = critic.get_layer("class_projection").get_weights()
    expected = phi @ w + b + np.sum(embedding[labels] * phi, axis=1, keepdims=True)
    got = keras.ops.convert_to_numpy(critic([images, labels]))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_conditional_builders_are_the_unconditional_nets_plus_class_layers():
    latent, shape, dim, k = 16, (16, 16, 1), 4, 5
    plain_g, cond_g = build_generator(latent, shape, dim), build_generator(
        latent, shape, dim, num_classes=k)
    # The class embedding (k x latent) and the wider first dense layer (latent more inputs).
    project_units = 2 * 2 * 4 * dim
    assert cond_g.count_params() - plain_g.count_params() == k * latent + latent * project_units
    plain_c, cond_c = build_critic(shape, dim), build_critic(shape, dim, num_classes=k)
    feature_size = 2 * 2 * 4 * dim
    assert cond_c.count_params() - plain_c.count_params() == k * feature_size
    aux = build_critic(shape, dim, num_classes=k, auxiliary_classifier=True)
    assert aux.count_params() - cond_c.count_params() == feature_size * k + k
    assert [tuple(o.shape) for o in aux.outputs] == [(None, 1), (None, k)]
    # The label changes the generator's output for the same noise.
    noise = np.random.default_rng(0).normal(size=(1, latent)).astype("float32")
    a = keras.ops.convert_to_numpy(cond_g([noise, np.array([0], "int32")]))
    b = keras.ops.convert_to_numpy(cond_g([noise, np.array([1], "int32")]))
    assert np.abs(a - b).max() > 1e-6


@pytest.mark.parametrize(
    "build, kwargs, match",
    [(build_generator, {"num_classes": 1}, "`num_classes` must be an integer >= 2 or None, got 1."),
     (build_critic, {"num_classes": "ten"}, "`num_classes` must be .*, got 'ten'."),
     (build_critic, {"auxiliary_classifier": True}, "needs `num_classes`"),
     (build_mlp_critic, {"input_dim": 2, "num_classes": 0}, "num_classes")],
)
def test_bad_num_classes_are_refused(build, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(**kwargs)
