"""One of two worker processes of tests/test_distribute.py's multi-worker test (JAX).

    python multiworker_worker.py PROCESS_ID PORT OUT_DIR

Joins a two-process JAX runtime on 127.0.0.1:PORT (gloo collectives on CPU), trains a
tiny WGAN-GP with keras.distribution.DataParallel over both processes' devices, and
writes OUT_DIR/worker_<id>.json with its counts, losses and weights. Across machines
the same code runs with the coordinator's address instead of 127.0.0.1.
"""

import json
import os
import sys
from pathlib import Path

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = Path(__file__).resolve().parent


def main(process_id, port, out):
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    import keras

    keras.distribution.initialize(f"127.0.0.1:{port}", num_processes=2,
                                  process_id=process_id)
    import numpy as np
    import tensorflow as tf
    from testing import tiny_mlp_gan

    from keras_wgan import WGANGP

    keras.distribution.set_distribution(keras.distribution.DataParallel())
    gan = tiny_mlp_gan(WGANGP, n_critic=2, seed=0)
    gan.compile(critic_optimizer=keras.optimizers.SGD(0.05),
                generator_optimizer=keras.optimizers.SGD(0.05))
    data = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    history = gan.fit(tf.data.Dataset.from_tensor_slices(data).batch(8), epochs=2,
                      verbose=0).history
    report = {
        "processes": jax.process_count(),
        "devices": len(jax.devices()),
        "counts": [int(gan.critic_optimizer.iterations),
                   int(gan.generator_optimizer.iterations)],
        "history": {k: [float(x) for x in v] for k, v in history.items()},
        "weights": [w.tolist() for w in gan.generator.get_weights() + gan.critic.get_weights()],
    }
    (Path(out) / f"worker_{process_id}.json").write_text(json.dumps(report))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
