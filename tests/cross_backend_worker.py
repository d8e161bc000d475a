"""Subprocess half of tests/test_backends.py: run on the backend named by KERAS_BACKEND.

    python cross_backend_worker.py save DIR    train a tiny WGAN-GP a few steps, save
                                               DIR/<backend>.keras (checked as every model
                                               test checks saving), its sampling generator
                                               DIR/<backend>_generator.keras and the images
                                               it makes from DIR/noise.npy; the same for a
                                               conditional ResNet of the cifar10_resnet
                                               recipe on 8x8 images
                                               (DIR/<backend>_resnet.keras)
    python cross_backend_worker.py load DIR    load every saved file in DIR (and the 0.1
                                               file in tests/data), write the images each
                                               makes, resume each GAN for 2 steps
"""

import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent
MODE, OUT = sys.argv[1], Path(sys.argv[2])


def images_dataset(n, num_classes=None, side=16):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (n * 4, side, side, 1)).astype("float32")
    if num_classes:
        labels = np.arange(n * 4) % num_classes
        return tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    return tf.data.Dataset.from_tensor_slices(images).batch(4)


def labels_for(gan, n):
    return None if gan.num_classes is None else np.arange(n) % gan.num_classes


def learning_rates(gan):
    return [float(gan.critic_optimizer.learning_rate),
            float(gan.generator_optimizer.learning_rate)]


def main():
    from graph_settings import apply_test_graph_settings

    apply_test_graph_settings()  # as in the pytest process that compares with us
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        # The files hold the same nets: XLA compiles their train step once, not per file.
        import jax

        jax.config.update("jax_compilation_cache_dir", str(OUT / "jax_cache"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    noise = np.load(OUT / "noise.npy")
    if MODE == "save":
        from testing import run_model_saving_test, run_serialization_test, tiny_image_gan

        from keras_wgan import WGANGP

        gan = tiny_image_gan(WGANGP, n_critic=2, ema_decay=0.9)
        gan.compile()
        run_serialization_test(gan)
        gan.fit(images_dataset(3), epochs=1, verbose=0)  # one update pending
        # Saves the file the other backends load, after checking it reloads here.
        run_model_saving_test(gan, OUT / f"{backend}.keras", noise)
        gan.sampling_generator.save(OUT / f"{backend}_generator.keras")
        np.save(OUT / f"{backend}_images.npy", gan.generate_from_noise(noise))
        # The WGAN-GP paper's ResNets, conditional with the auxiliary classifier, on the
        # recipe's decaying learning rates (class-conditional batch norm, projection).
        keras.utils.set_random_seed(0)
        resnet = WGANGP.from_preset(
            "cifar10_resnet", image_shape=(8, 8, 1), dim=4, latent_dim=8, num_classes=3,
            auxiliary_classifier=True, n_critic=2, ema_decay=0.9, lr_decay_steps=10, seed=0)
        resnet.fit(images_dataset(3, 3, side=8), epochs=1, verbose=0)  # one update pending
        run_model_saving_test(resnet, OUT / f"{backend}_resnet.keras", noise)
        np.save(OUT / f"{backend}_resnet_images.npy",
                resnet.generate_from_noise(noise, labels=labels_for(resnet, len(noise))))
        return
    # load: the generator files with plain Keras first (no keras_wgan imported yet).
    report = {"backend": backend, "generators": {}, "gans": {}}
    for path in sorted(OUT.glob("*_generator.keras")):
        generator = keras.models.load_model(path)
        images = keras.ops.convert_to_numpy(generator(noise, training=False))
        report["generators"][path.stem] = images.tolist()
    assert "keras_wgan" not in sys.modules, "loading plain generators imported keras_wgan"
    import keras_wgan  # noqa: F401  (registers WGAN/WGANGP and the 0.1 layer names)

    files = sorted(p for p in OUT.glob("*.keras") if not p.stem.endswith("_generator"))
    files.append(HERE / "data" / "legacy_v0_1_wgangp.keras")
    legacy_noise = np.load(HERE / "data" / "legacy_v0_1_wgangp_samples.npz")["noise"]
    for path in files:
        gan = keras.models.load_model(path)
        z = legacy_noise if path.stem.startswith("legacy") else noise
        entry = {
            "images": gan.generate_from_noise(z, labels=labels_for(gan, len(z))).tolist(),
            "critic_iterations": int(gan.critic_optimizer.iterations),
            "generator_iterations": int(gan.generator_optimizer.iterations),
            "pending": int(gan.pending_critic_updates),
            "learning_rates": learning_rates(gan),
        }
        data = images_dataset(3, gan.num_classes, side=gan.sample_shape[0])
        gan.fit(data, epochs=1, verbose=0)  # resume on this backend
        entry["resumed"] = [
            int(gan.critic_optimizer.iterations),
            int(gan.generator_optimizer.iterations),
            int(gan.pending_critic_updates),
        ]
        entry["resumed_learning_rates"] = learning_rates(gan)
        entry["finite"] = bool(all(np.isfinite(w).all() for w in gan.get_weights()))
        report["gans"][path.stem] = entry
    (OUT / f"report_{backend}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
