"""Subprocess half of tests/test_backends.py: run on the backend named by KERAS_BACKEND.

    python cross_backend_worker.py save DIR    train a tiny WGAN-GP a few steps, save
                                               DIR/<backend>.keras (checked as every model
                                               test checks saving), its sampling generator
                                               DIR/<backend>_generator.keras and the images
                                               it makes from DIR/noise.npy
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


def images_dataset(n):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (n * 4, 16, 16, 1)).astype("float32")
    return tf.data.Dataset.from_tensor_slices(images).batch(4)


def main():
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
            "images": gan.generate_from_noise(z).tolist(),
            "critic_iterations": int(gan.critic_optimizer.iterations),
            "generator_iterations": int(gan.generator_optimizer.iterations),
            "pending": int(gan.pending_critic_updates),
        }
        gan.fit(images_dataset(3), epochs=1, verbose=0)  # resume on this backend
        entry["resumed"] = [
            int(gan.critic_optimizer.iterations),
            int(gan.generator_optimizer.iterations),
            int(gan.pending_critic_updates),
        ]
        entry["finite"] = bool(all(np.isfinite(w).all() for w in gan.get_weights()))
        report["gans"][path.stem] = entry
    (OUT / f"report_{backend}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
