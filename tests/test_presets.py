"""keras_wgan.presets: each recipe builds what the CLI, examples, benchmarks and toy built.

The expected nets are built here the way that code built them before the recipes moved
into one module (``keras_wgan.architectures`` called directly), and the expected
settings and optimizers are written out as that code spelled them.
"""

import importlib.util
import os
import types

import keras
import numpy as np
import pytest
from testing import run_model_saving_test, run_serialization_test

from keras_wgan import WGAN, WGANGP, WassersteinGAN, cli, presets, toy
from keras_wgan.cli.training import choices as cli_choices
from keras_wgan.architectures import (
    build_critic,
    build_generator,
    build_mlp_critic,
    build_mlp_generator,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What each (recipe, class) was before this module, as the old code wrote it out.
EXPECTED = {
    # keras-wgan train's defaults: the recipe search's winners (benchmarks/recipe_search.py).
    ("fashion_mnist_32", WGAN): dict(
        nets=dict(kind="dcgan", image_shape=(32, 32, 1), dim=32, latent_dim=128),
        model=dict(n_critic=5, ema_decay=0.999, clip_value=0.02),
        optimizer=("RMSprop", {"learning_rate": 1e-3})),
    ("fashion_mnist_32", WGANGP): dict(
        nets=dict(kind="dcgan", image_shape=(32, 32, 1), dim=32, latent_dim=128),
        model=dict(n_critic=1, ema_decay=0.999, gp_weight=10.0, drift_weight=0.001),
        optimizer=("Adam", {"learning_rate": 1e-3, "beta_1": 0.0, "beta_2": 0.99})),
    # The defaults before the recipe search: the old cli.py's and the quality
    # benchmark's "library" recipe.
    ("fashion_mnist_32_v1", WGAN): dict(
        nets=dict(kind="dcgan", image_shape=(32, 32, 1), dim=64, latent_dim=128),
        model=dict(n_critic=5, ema_decay=0.999, clip_value=0.01),
        optimizer=("RMSprop", {"learning_rate": 1e-3})),
    ("fashion_mnist_32_v1", WGANGP): dict(
        nets=dict(kind="dcgan", image_shape=(32, 32, 1), dim=64, latent_dim=128),
        model=dict(n_critic=5, ema_decay=0.999, gp_weight=10.0),
        optimizer=("Adam", {"learning_rate": 1e-3, "beta_1": 0.5, "beta_2": 0.9})),
    # examples/, the quality benchmark's "seed" recipe, train_speed.py.
    ("original_experiment", WGAN): dict(
        nets=dict(kind="dcgan", image_shape=(32, 32, 1), dim=128, latent_dim=128),
        model=dict(n_critic=5, ema_decay=None, clip_value=0.01),
        optimizer=("RMSprop", {"learning_rate": 5e-5})),
    ("original_experiment", WGANGP): dict(
        nets=dict(kind="dcgan", image_shape=(32, 32, 1), dim=128, latent_dim=128),
        model=dict(n_critic=5, ema_decay=None, gp_weight=10.0),
        optimizer=("Adam", {"learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.9})),
    # keras_wgan.toy (gan_toy.py's settings).
    ("toy", WGAN): dict(
        nets=dict(kind="mlp", width=512, depth=3, latent_dim=2),
        model=dict(n_critic=5, ema_decay=None, clip_value=0.01),
        optimizer=("RMSprop", {"learning_rate": 5e-5})),
    ("toy", WGANGP): dict(
        nets=dict(kind="mlp", width=512, depth=3, latent_dim=2),
        model=dict(n_critic=5, ema_decay=None, gp_weight=0.1),
        optimizer=("Adam", {"learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.9})),
}
CASES = list(EXPECTED)
IDS = [f"{name}-{cls.__name__}" for name, cls in CASES]


def old_nets(cls, kind, latent_dim, image_shape=None, dim=None, width=None, depth=None,
             num_classes=None):
    """The nets as the CLI, examples, benchmarks and toy.py built them before presets."""
    if kind == "mlp":
        return (build_mlp_generator(latent_dim, 2, width=width, depth=depth),
                build_mlp_critic(2, width=width, depth=depth))
    if cls is WGAN:  # the original experiment's WGAN variant
        return (build_generator(latent_dim, image_shape, dim, middle_filters=dim,
                                num_classes=num_classes),
                build_critic(image_shape, dim, normalization="batch", num_classes=num_classes))
    return (build_generator(latent_dim, image_shape, dim, num_classes=num_classes),
            build_critic(image_shape, dim, normalization=None, num_classes=num_classes))


def small(nets):
    """The same recipe at a tiny width (the nets' shapes otherwise unchanged)."""
    return dict(nets, width=8) if nets["kind"] == "mlp" else dict(nets, dim=4)


def size_overrides(nets):
    return {"width": nets["width"]} if nets["kind"] == "mlp" else {"dim": nets["dim"]}


def optimizer_settings(optimizer):
    config = optimizer.get_config()
    keys = ("learning_rate", "beta_1", "beta_2", "rho", "momentum", "epsilon", "amsgrad",
            "centered", "weight_decay", "use_ema", "clipnorm", "clipvalue")
    return type(optimizer).__name__, {k: config[k] for k in keys if k in config}


def assert_same_nets(gan, generator, critic):
    """Layer-for-layer the same nets: configs, parameter counts and initial weights."""
    for built, expected in ((gan.generator, generator), (gan.critic, critic)):
        assert built.get_config() == expected.get_config()
        assert built.count_params() == expected.count_params()
        for a, b in zip(built.get_weights(), expected.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)


def assert_optimizers(gan, kind, settings):
    for optimizer in (gan.critic_optimizer, gan.generator_optimizer):
        name, config = optimizer_settings(optimizer)
        assert name == kind
        for key, value in settings.items():
            assert config[key] == pytest.approx(value), key
    assert gan.critic_optimizer is not gan.generator_optimizer


# ------------------------------------------------------------------ the recipes


def test_list_presets_names_each_recipe_with_a_description():
    listed = presets.list_presets()
    assert list(listed) == ["fashion_mnist_32", "fashion_mnist_32_v1", "original_experiment", "toy", "cifar10_resnet",
                            "small_colour_64"]
    assert all(isinstance(text, str) and text for text in listed.values())
    assert presets.list_presets(WGAN) == listed


@pytest.mark.parametrize("name, cls", CASES, ids=IDS)
def test_recipe_settings_are_what_the_old_code_used(name, cls):
    expected = EXPECTED[(name, cls)]
    settings = presets.get_preset(name, cls)
    nets = {k: v for k, v in expected["nets"].items() if k != "kind"}
    assert settings["nets"] == expected["nets"]["kind"]
    assert {k: settings[k] for k in nets} == nets
    assert {k: settings[k] for k in expected["model"]} == expected["model"]
    assert settings["num_classes"] is None
    # get_preset hands out copies: changing one leaves the recipe alone.
    settings["n_critic"] = 99
    assert presets.get_preset(name, cls)["n_critic"] == expected["model"]["n_critic"]


@pytest.mark.parametrize("name, cls", CASES, ids=IDS)
def test_from_preset_builds_the_old_model_layer_for_layer(name, cls):
    expected = EXPECTED[(name, cls)]
    nets = small(expected["nets"])
    keras.utils.set_random_seed(3)
    generator, critic = old_nets(cls, **nets)
    keras.utils.set_random_seed(3)
    gan = cls.from_preset(name, seed=7, **size_overrides(nets))
    assert type(gan) is cls
    assert_same_nets(gan, generator, critic)
    config = gan.get_config()
    assert {k: config[k] for k in expected["model"]} == expected["model"]
    assert config["seed"] == 7 and config["latent_dim"] == nets["latent_dim"]
    assert (gan.ema_generator is None) == (expected["model"]["ema_decay"] is None)
    assert_optimizers(gan, *expected["optimizer"])


@pytest.mark.parametrize("cls", [WGAN, WGANGP])
def test_full_size_nets_have_the_parameter_counts_of_the_original_experiment(cls):
    # The counts of the reference implementation's nets at DIM 128 (architectures/dcgan.py).
    counts = {WGANGP: (6_013_697, 4_107_393), WGAN: (5_190_657, 4_111_361)}[cls]
    generator, critic = presets.build_nets("original_experiment", cls)
    assert (generator.count_params(), critic.count_params()) == counts
    # The library's recipe: the same nets at DIM 64, as the CLI built them.
    expected = old_nets(cls, **EXPECTED[("fashion_mnist_32", cls)]["nets"])
    built = presets.build_nets("fashion_mnist_32", cls)
    assert [n.count_params() for n in built] == [n.count_params() for n in expected]


def test_toy_recipe_at_full_width_and_make_optimizers():
    generator, critic = presets.build_nets("toy", WGANGP)
    expected = old_nets(WGANGP, **EXPECTED[("toy", WGANGP)]["nets"])
    assert [n.count_params() for n in (generator, critic)] == \
        [n.count_params() for n in expected]
    pair = presets.make_optimizers("toy", WGANGP, learning_rate=1e-3)
    assert optimizer_settings(pair["critic_optimizer"]) == \
        optimizer_settings(keras.optimizers.Adam(1e-3, beta_1=0.5, beta_2=0.9))
    assert pair["critic_optimizer"] is not pair["generator_optimizer"]


# ------------------------------------------------------------------ the users


def test_cli_builds_the_model_of_its_recipe(monkeypatch):
    # The flags' defaults: size, nets, augmentation, the recipe and n_critic are left to
    # the data (None); without a folder of images (a TFDS name) they are the reference
    # task's: 32 px, the DCGAN nets at the recipe search's dim 32, no augmentation, the
    # recipe fashion_mnist_32 and its n_critic (WGAN-GP 1, WGAN 5).
    defaults = cli.training.settings.TRAIN_DEFAULTS
    assert (defaults["latent_dim"], defaults["ema_decay"], defaults["paper_optimizers"]) == \
        (128, 0.999, False)
    assert (defaults["arch"], defaults["dim"], defaults["image_size"], defaults["augment"],
            defaults["recipe"], defaults["n_critic"]) == (None,) * 6
    for device in ("cpu", "gpu"):
        chosen, _ = cli_choices.choose(defaults, None, device)
        assert chosen == {"arch": "dcgan", "dim": presets.get_preset("fashion_mnist_32")["dim"],
                          "image_size": 32, "augment": cli_choices.OFF,
                          "recipe": "fashion_mnist_32"}
    defaults = dict(defaults, **chosen)
    for model, paper, n_critic in (("wgan-gp", False, 1), ("wgan", False, 5),
                                   ("wgan-gp", True, 5)):
        assert cli_choices.critic_steps(dict(defaults, model=model,
                                             paper_optimizers=paper)) == n_critic
    shape = (16, 16, 3)
    for model, cls, overrides in (
        ("wgan-gp", WGANGP, {"n_critic": 1}),
        ("wgan", WGAN, {"paper_optimizers": True, "ema_decay": None, "n_critic": 2}),
    ):
        settings = dict(defaults, model=model, dim=4, latent_dim=8, seed=5, **overrides)
        names = ["a", "b", "c"] if model == "wgan" else None
        gan = cli.training.model.build_gan(settings, shape, names)
        # The nets as the old _build_gan wrote them out; the model's settings the recipe's.
        keras.utils.set_random_seed(5)
        generator, critic = old_nets(cls, "dcgan", 8, shape, 4, num_classes=3 if names else None)
        assert_same_nets(gan, generator, critic)
        assert gan.n_critic == settings["n_critic"] and gan.seed == 5
        assert gan.ema_decay == settings["ema_decay"] and gan.class_names == names
        if settings["paper_optimizers"]:
            expected = optimizer_settings(cls.paper_optimizers()["critic_optimizer"])
            assert gan.clip_value == 0.01  # the paper's, not the recipe's 0.02
        else:
            expected = EXPECTED[("fashion_mnist_32", cls)]["optimizer"]
            assert (gan.penalty_at, gan.penalty_every, gan.drift_weight) == \
                ("random", 1, 0.001)
        assert_optimizers(gan, *expected)


def _load_script(relative):
    path = os.path.join(ROOT, relative)
    spec = importlib.util.spec_from_file_location(
        "script_" + os.path.basename(relative)[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("script, cls", [("examples/fashion_mnist_wgan.py", WGAN),
                                         ("examples/fashion_mnist_wgan_gp.py", WGANGP)])
def test_examples_build_the_original_experiment(script, cls):
    example = _load_script(script)
    keras.utils.set_random_seed(0)
    gan = example.build_gan(dim=4, seed=0)
    keras.utils.set_random_seed(0)
    generator, critic = old_nets(cls, "dcgan", 128, (32, 32, 1), 4)
    assert_same_nets(gan, generator, critic)
    expected = EXPECTED[("original_experiment", cls)]
    assert {k: getattr(gan, k) for k in expected["model"]} == expected["model"]
    assert_optimizers(gan, *expected["optimizer"])
    assert example.N_CRITIC == 5 and example.IMAGE_SHAPE == (32, 32, 1)


def test_benchmarks_build_the_models_they_built_before():
    quality = _load_script("benchmarks/fashion_mnist_quality.py")
    args = types.SimpleNamespace(dim=4, latent_dim=8, seed=0, dataset="fashion_mnist",
                                 preset="fashion_mnist_32_v1")
    for recipe, ema, optimizer in (
        ("original", None, ("Adam", {"learning_rate": 1e-4, "beta_1": 0.5, "beta_2": 0.9})),
        ("library", 0.999, ("Adam", {"learning_rate": 1e-3, "beta_1": 0.5, "beta_2": 0.9})),
        ("rate=3e-4,ema=off", None, ("Adam", {"learning_rate": 3e-4, "beta_1": 0.5})),
        ("optimizer=rmsprop,rate=2e-4,ema=0.99", 0.99, ("RMSprop", {"learning_rate": 2e-4})),
    ):
        keras.utils.set_random_seed(1)
        gan = quality.build_gan("wgan-gp", recipe, args)
        keras.utils.set_random_seed(1)
        assert_same_nets(gan, *old_nets(WGANGP, "dcgan", 8, (32, 32, 1), 4))
        assert gan.ema_decay == ema and gan.seed == 0
        assert_optimizers(gan, *optimizer)
    gan = quality.build_gan("wgan", "conditional", args)
    assert gan.num_classes == 10 and gan.class_names[7] == "Sneaker"
    assert gan.generator.get_layer("conv2").filters == 4  # WGAN's middle block: dim
    # --preset fashion_mnist_32: the same recipes re-checked on the search's winner.
    args.preset = "fashion_mnist_32"
    for recipe in ("library", "conditional"):
        gan = quality.build_gan("wgan-gp", recipe, args)
        assert (gan.n_critic, gan.drift_weight, gan.num_classes) == \
            (1, 0.001, 10 if recipe == "conditional" else None)
        assert_optimizers(gan, "Adam", {"learning_rate": 1e-3, "beta_1": 0.0, "beta_2": 0.99})

    speed = _load_script("benchmarks/train_speed.py")
    for model, cls in (("wgan", WGAN), ("wgan-gp", WGANGP)):
        expected = old_nets(cls, "dcgan", 128, (32, 32, 1), 4)
        assert [n.get_config() for n in speed.build_nets(model, 4)] == \
            [n.get_config() for n in expected]
        critic_optimizer, generator_optimizer = speed.original_optimizers(model)
        assert optimizer_settings(critic_optimizer) == optimizer_settings(
            cls.paper_optimizer()) == optimizer_settings(generator_optimizer)


def test_toy_builds_the_reference_toy_gan():
    keras.utils.set_random_seed(0)
    old = old_nets(WGANGP, "mlp", 2, width=8, depth=2)
    gan = toy.build_toy_gan("wgan-gp", width=8, depth=2, seed=0)
    assert_same_nets(gan, *old)  # build_toy_gan seeds the global RNGs with `seed`
    assert (gan.gp_weight, gan.n_critic, gan.ema_decay) == (0.1, 5, None)
    assert gan.critic_optimizer is None  # uncompiled: train_toy compiles it


# ------------------------------------------------------------------ overrides


def test_overrides_change_one_setting_each():
    gan = WGANGP.from_preset(
        "fashion_mnist_32", dim=4, image_shape=(16, 16, 3), latent_dim=8,
        class_names=["cat", "dog", "bird"], n_critic=2, ema_decay=None,
        optimizers="paper", learning_rate=2e-3, gp_weight=5.0, critic_schedule="wgan_paper",
    )
    assert gan.sample_shape == (16, 16, 3) and gan.latent_dim == 8
    assert gan.num_classes == 3 and gan.class_names == ["cat", "dog", "bird"]
    assert (gan.n_critic, gan.ema_decay, gan.gp_weight) == (2, None, 5.0)
    assert gan.critic_schedule == "wgan_paper"
    assert gan.critic.get_layer("conv1").filters == 4
    # The paper's Adam (betas kept) at the rate asked for.
    assert_optimizers(gan, "Adam", {"learning_rate": 2e-3, "beta_1": 0.5, "beta_2": 0.9})

    wgan = WGAN.from_preset("toy", width=8, depth=1, num_classes=4, clip_value=0.05,
                            compile=False)
    assert wgan.critic_optimizer is None and wgan.clip_value == 0.05
    assert wgan.num_classes == 4 and len(wgan.critic.layers) == len(
        build_mlp_critic(2, width=8, depth=1, num_classes=4).layers)
    compiled = WGAN.from_preset("toy", width=8, steps_per_execution=5)
    assert compiled.steps_per_execution == 5


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: WGANGP.from_preset("seed_wgan_gp"), ValueError,
         "Unknown preset 'seed_wgan_gp'; the presets are 'fashion_mnist_32', 'fashion_mnist_32_v1', "
         "'original_experiment', 'toy', 'cifar10_resnet'"),
        (lambda: WGANGP.from_preset("toy", dim=8), ValueError,
         "WGANGP.from_preset('toy'): unknown setting(s) 'dim'; this preset takes "),
        (lambda: WGAN.from_preset("fashion_mnist_32", gp_weight=1.0), ValueError,
         "unknown setting(s) 'gp_weight'"),
        (lambda: WGANGP.from_preset("fashion_mnist_32", dim=0), ValueError,
         "WGANGP.from_preset('fashion_mnist_32'): `dim` must be a positive integer, got 0."),
        (lambda: WGANGP.from_preset("fashion_mnist_32", image_shape=(30, 30, 1)), ValueError,
         "WGANGP.from_preset('fashion_mnist_32'): `image_shape` (30, 30, 1): 30x30 does not "
         "fit the dcgan nets, whose sizes are 8, 16, 24"),
        (lambda: WGANGP.from_preset("fashion_mnist_32", num_classes=1), ValueError,
         "`num_classes` must be an integer >= 2 or None, got 1. None builds the unconditional net."),
        (lambda: WGANGP.from_preset("toy", ema_decay=1.0), ValueError,
         "WGANGP.from_preset('toy'): `ema_decay` must be in (0, 1), got 1.0."),
        (lambda: WGANGP.from_preset("toy", learning_rate=0), ValueError,
         "`learning_rate` must be a number > 0, got 0. (for both nets; None keeps the recipe's own rates)"),
        (lambda: WGANGP.from_preset("toy", optimizers="sgd"), ValueError,
         "`optimizers` must be one of ['library', 'paper', 'cifar10_resnet', 'adam', "
         "'rmsprop', 'progan'], got 'sgd'."),
        (lambda: WGANGP.from_preset("toy", class_names=5), ValueError,
         "`class_names` must be a list of class names, got 5."),
        (lambda: WGANGP.from_preset("toy", compile=False, jit_compile=True), ValueError,
         "'jit_compile' are compile() arguments but `compile=False`"),
        (lambda: WassersteinGAN.from_preset("toy"), TypeError,
         "Presets build WGAN or WGANGP (or a subclass), not WassersteinGAN"),
    ],
)
def test_bad_names_and_overrides_say_what_is_wrong(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_a_subclass_gets_its_parents_recipe():
    class MyGP(WGANGP):
        pass

    gan = MyGP.from_preset("toy", width=8, compile=False)
    assert type(gan) is MyGP and gan.gp_weight == 0.1


# ------------------------------------------------------------------ a preset model at work


@pytest.mark.all_backends
@pytest.mark.parametrize("name, cls, overrides, shape", [
    ("fashion_mnist_32", WGANGP, dict(dim=4, image_shape=(8, 8, 1), latent_dim=4), (8, 8, 1)),
    ("toy", WGAN, dict(width=8, depth=2, ema_decay=0.9), (2,)),
])
def test_a_preset_model_trains_a_step_and_survives_saving(tmp_path, name, cls, overrides,
                                                            shape):
    gan = cls.from_preset(name, n_critic=1, seed=0, **overrides)
    data = np.random.default_rng(0).uniform(-1, 1, (4,) + shape).astype("float32")
    before = [w.copy() for w in gan.critic.get_weights()]
    gan.fit(data, batch_size=4, epochs=1, verbose=0)
    assert int(gan.generator_optimizer.iterations) == 1  # n_critic=1: one of each update
    assert any(not np.array_equal(a, b) for a, b in zip(before, gan.critic.get_weights()))
    run_serialization_test(gan)
    noise = np.random.default_rng(1).normal(size=(3, gan.latent_dim)).astype("float32")
    restored = run_model_saving_test(gan, tmp_path / "preset.keras", noise)
    assert type(restored) is cls
    assert optimizer_settings(restored.critic_optimizer) == \
        optimizer_settings(gan.critic_optimizer)
    assert int(restored.critic_optimizer.iterations) == 1


def test_the_small_colour_recipe_is_the_measured_recipe_on_64_px_colour_dcgan_nets():
    """What colour_quality.py measured best on 2 CPU cores: the DCGAN nets at 64x64x3, dim
    32, no augmentation; WGAN-GP with the recipe search's winner, re-measured on those
    cells (one critic step, ProGAN's Adam, drift 0.001, weight average 0.999, the penalty
    at random points): fashion_mnist_32's settings at 64 px in colour. WGAN keeps the
    table's first recipe (the class's compile() optimizers, n_critic 5, clip 0.01)."""
    from keras_wgan.architectures import build_critic, build_generator

    gan = WGANGP.from_preset("small_colour_64", seed=0)
    winner = WGANGP.from_preset("fashion_mnist_32", image_shape=(64, 64, 3), seed=0)
    assert gan.sample_shape == (64, 64, 3) and gan.augment is None
    assert (gan.n_critic, gan.ema_decay, gan.gp_weight, gan.penalty_at, gan.penalty_every,
            gan.drift_weight) == (1, 0.999, 10.0, "random", 1, 0.001)
    assert optimizer_settings(gan.critic_optimizer) == \
        optimizer_settings(winner.critic_optimizer) == \
        ("Adam", optimizer_settings(gan.critic_optimizer)[1] | {
            "learning_rate": pytest.approx(1e-3), "beta_1": 0.0, "beta_2": 0.99})
    assert optimizer_settings(gan.generator_optimizer) == \
        optimizer_settings(winner.generator_optimizer)
    wgan = WGAN.from_preset("small_colour_64", seed=0)
    compiled = WGAN(*presets.build_nets("small_colour_64", WGAN))
    compiled.compile()
    assert (wgan.n_critic, wgan.clip_value) == (5, 0.01)
    assert optimizer_settings(wgan.critic_optimizer) == \
        optimizer_settings(compiled.critic_optimizer)
    expected = build_generator(128, (64, 64, 3), 32), build_critic((64, 64, 3), 32)
    assert [net.count_params() for net in (gan.generator, gan.critic)] == \
        [net.count_params() for net in expected]
    # Its settings are overridable like any recipe's, augmentation included.
    assert WGANGP.from_preset("small_colour_64", dim=4, augment="translation").augment == \
        "translation"


# ------------------------------------------------------------------ the ResNet recipe


def schedule_of(optimizer):
    schedule = optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.PolynomialDecay)
    return schedule


def test_cifar10_resnet_is_the_wgan_gp_papers_cifar10_recipe():
    from keras_wgan.architectures import build_resnet_critic, build_resnet_generator

    gan = WGANGP.from_preset("cifar10_resnet", dim=4, seed=0)
    keras.utils.set_random_seed(0)
    assert gan.generator.get_config() == build_resnet_generator(
        128, (32, 32, 3), 4).get_config()
    assert gan.critic.get_config() == build_resnet_critic((32, 32, 3), 4).get_config()
    assert (gan.latent_dim, gan.n_critic, gan.gp_weight, gan.ema_decay) == (128, 5, 10.0, None)
    assert_optimizers(gan, "Adam", {"beta_1": 0.0, "beta_2": 0.9})
    # Both rates fall linearly from 2e-4 to 0 over 100,000 generator updates: the critic
    # steps 5 times per generator update, so its schedule spans 500,000 of its steps.
    critic, generator = schedule_of(gan.critic_optimizer), schedule_of(gan.generator_optimizer)
    assert critic.get_config()["initial_learning_rate"] == 2e-4
    assert (critic.decay_steps, generator.decay_steps) == (500_000, 100_000)
    for generator_updates in (0, 1, 25_000, 99_999, 100_000, 150_000):
        expected = 2e-4 * max(0.0, 1 - generator_updates / 100_000)
        for schedule, steps in ((generator, generator_updates), (critic, 5 * generator_updates)):
            # float32 arithmetic: within 1e-6 of the initial rate
            assert float(schedule(steps)) == pytest.approx(expected, rel=1e-5, abs=2e-10)
    # The full-size nets are the reference's (tests/test_architectures_resnet.py).
    nets = presets.build_nets("cifar10_resnet", WGANGP)
    assert [n.count_params() for n in nets] == [1_206_275, 1_053_825]
    # WGAN: the same nets, the WGAN paper's RMSprop(5e-5) on the same decay, clip 0.01.
    wgan = WGAN.from_preset("cifar10_resnet", dim=4, n_critic=2, lr_decay_steps=10)
    assert_optimizers(wgan, "RMSprop", {})
    assert wgan.clip_value == 0.01 and schedule_of(wgan.critic_optimizer).decay_steps == 20
    assert schedule_of(wgan.generator_optimizer).get_config()["initial_learning_rate"] == 5e-5


def test_nets_and_learning_rate_decay_are_settings_of_every_image_recipe():
    gan = WGAN.from_preset("fashion_mnist_32", nets="resnet", dim=4, num_classes=3,
                           auxiliary_classifier=True, lr_decay_steps=50, learning_rate=1e-3)
    assert gan.generator.name == "resnet_generator" and gan.critic.name == "resnet_critic"
    assert gan.sample_shape == (32, 32, 1) and gan.num_classes == 3
    assert len(gan.critic.outputs) == 2  # score and class logits
    assert schedule_of(gan.critic_optimizer).decay_steps == 5 * 50
    assert float(schedule_of(gan.generator_optimizer)(25)) == pytest.approx(5e-4)
    dcgan = WGANGP.from_preset("cifar10_resnet", nets="dcgan", dim=4, compile=False)
    assert dcgan.generator.name == "generator" and dcgan.sample_shape == (32, 32, 3)
    assert presets.get_preset("fashion_mnist_32")["lr_decay_steps"] is None
    for call, message in (
        (lambda: WGANGP.from_preset("fashion_mnist_32", nets="mlp"),
         "WGANGP.from_preset('fashion_mnist_32'): `nets` must be one of ['dcgan', 'resnet'], "
         "got 'mlp'."),
        (lambda: WGANGP.from_preset("toy", nets="resnet"), "unknown setting(s) 'nets'"),
        (lambda: WGANGP.from_preset("cifar10_resnet", lr_decay_steps=0),
         "`lr_decay_steps` must be a positive integer or None, got 0."),
        (lambda: WGANGP.from_preset("cifar10_resnet", image_shape=(30, 30, 3)),
         "WGANGP.from_preset('cifar10_resnet'): `image_shape` (30, 30, 3): 30x30 does not "
         "fit the resnet nets"),
    ):
        with pytest.raises(ValueError) as info:
            call()
        assert message in str(info.value)


def test_a_saved_cifar10_resnet_model_resumes_on_its_schedules(tmp_path):
    gan = WGANGP.from_preset("cifar10_resnet", dim=4, image_shape=(8, 8, 3), latent_dim=8,
                             n_critic=2, lr_decay_steps=4, seed=0)
    data = np.random.default_rng(0).uniform(-1, 1, (8, 8, 8, 3)).astype("float32")
    gan.fit(data, batch_size=2, epochs=1, verbose=0)  # 4 critic, 2 generator updates
    noise = np.random.default_rng(1).normal(size=(3, 8)).astype("float32")
    restored = run_model_saving_test(gan, tmp_path / "resnet.keras", noise)
    for name in ("critic_optimizer", "generator_optimizer"):
        saved, loaded = getattr(gan, name), getattr(restored, name)
        assert schedule_of(loaded).get_config() == schedule_of(saved).get_config()
    # Half way through both decays: 2e-4 * (1 - 2/4) for each.
    assert float(restored.critic_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(restored.generator_optimizer.learning_rate) == pytest.approx(1e-4)
