"""The gradient code of the train step, one module per Keras backend, chosen once at import.

Everything that does not depend on the backend (settings, checks, the critic/generator
alternation, losses, metrics, weight averaging, config, saving) lives in
``keras_wgan.models``. What does is here, as Keras itself splits
``keras/src/backend/{tensorflow,jax,torch}/trainer.py``: each module defines

* ``GANTrainer``: a mixin placed before ``keras.Model`` that provides ``train_step`` /
  ``test_step`` with the signature that backend's Keras trainer calls, and the model
  hooks ``_minimize(loss_fn, optimizer, variables)`` (one optimizer update),
  ``_run_if(condition, fn)`` (the generator update, only on the steps that complete a
  block), ``_replica_rows(draw, batch_size)`` (random rows for this replica's share of
  the global batch), ``_no_gradient()`` (a context that records no graph) and
  ``_prepare_networks`` (run-time fast paths). The mixin comes before ``keras.Model``
  in the model's bases but after ``WassersteinGAN`` itself, so the model class must
  not define these hooks;
* ``input_gradients(fn, x)``: the gradient of ``sum(fn(x))`` with respect to ``x``, itself
  differentiable (the gradient penalty's double backward).
"""

import keras

BACKEND = keras.backend.backend()
SUPPORTED_BACKENDS = ("tensorflow", "jax", "torch")

if BACKEND == "tensorflow":
    from keras_wgan.backend.tensorflow import GANTrainer, input_gradients
elif BACKEND == "jax":
    from keras_wgan.backend.jax import GANTrainer, input_gradients
elif BACKEND == "torch":
    from keras_wgan.backend.torch import GANTrainer, input_gradients
else:
    raise ImportError(
        f"keras_wgan supports the Keras backends {SUPPORTED_BACKENDS}; KERAS_BACKEND is "
        f"{BACKEND!r}. Run with e.g. `KERAS_BACKEND=tensorflow`."
    )

__all__ = ["BACKEND", "GANTrainer", "SUPPORTED_BACKENDS", "input_gradients"]
