"""JAX: the train step as a pure function of its state, carrying both optimizers.

Keras' JAX trainer calls ``train_step(state, data) -> (logs, state)`` under ``jax.jit``
with ``state = (trainable, non_trainable, optimizer, metrics)`` variable values, and
by default fills the optimizer slot with ``self.optimizer``'s variables only. Here
that slot holds the critic's *and* the generator's optimizer variables (the
``_get_jax_state`` / ``jax_state_sync`` / sharding overrides below), so Adam or
RMSprop state of both networks lives in the jitted state.

The backend-neutral step in ``keras_wgan.models`` reads and assigns Keras variables.
Inside a step those variables are *bound* to the traced state values with a
``keras.StatelessScope`` that maps every state variable (a scope does not fall back
to an outer one, so a nested binding always maps all of them): reads give the
traced values, assignments are collected, and the new state is read back at the end.
A gradient is ``jax.value_and_grad`` of a function that re-binds the differentiated
variables to its arguments.

The generator update is chosen on the host (``keras_wgan.schedule.HostSchedule``): two
jitted variants of the step, critic only and critic + generator, and the host count
picks one per step. A ``jax.lax.cond`` around the generator update (still used by
``_run_if`` outside ``fit``'s train function) made *every* step of a DIM-32 WGAN-GP
about 4.5x slower on CPU than the critic-only step.
"""

import contextlib
import functools

import jax
import jax.numpy as jnp
import keras

# The active bindings, innermost last: (variables, scope).
_BINDINGS = []


@contextlib.contextmanager
def _bind(variables, values):
    scope = keras.StatelessScope(state_mapping=list(zip(variables, values)))
    with scope:
        _BINDINGS.append((variables, scope))
        try:
            yield scope
        finally:
            _BINDINGS.pop()


def _run_bound(variables, values, fn):
    """Run ``fn()`` with ``variables`` bound to ``values``; return its output and new values."""
    with _bind(variables, values) as scope:
        outputs = fn()
    return outputs, [scope.get_current_value(v) for v in variables]


def _current():
    """The innermost binding's variables and their current values."""
    if not _BINDINGS:
        raise RuntimeError(
            "keras_wgan's JAX train step ran outside its state binding; call it through "
            "fit/evaluate/train_on_batch (KERAS_BACKEND=jax)."
        )
    variables, scope = _BINDINGS[-1]
    return variables, [scope.get_current_value(v) for v in variables]


class GANTrainer:
    """Train-step hooks for Keras' JAX trainer (``train_step(state, data)``)."""

    # -------------------------------------------------------- the steps
    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return self.train_function
        jitted = not self.run_eagerly and self.jit_compile
        out_shardings = None
        if jitted and keras.distribution.distribution() is not None:
            out_shardings = (None, self._get_state_sharding_spec())
        variants = {}
        for decision in (False, True):
            step = functools.partial(self._scheduled_train_step, decision)
            variants[decision] = (
                jax.jit(step, donate_argnums=0, out_shardings=out_shardings) if jitted else step
            )

        def train_step(state, data):
            if self._schedule is None:
                self._schedule = self._host_schedule()
            return variants[self._schedule.step()](state, data)

        self.train_function = self._make_function(train_step)
        return self.train_function

    def _scheduled_train_step(self, decision, state, data):
        return self._stateless(self._state_variables(optimizer=True), state,
                               lambda: self._train_step(data, host_decision=decision))

    def train_step(self, state, data):
        return self._stateless(self._state_variables(optimizer=True), state,
                               lambda: self._train_step(data))

    def test_step(self, state, data):
        return self._stateless(self._state_variables(optimizer=False), state,
                               lambda: self._test_step(data))

    def _stateless(self, groups, state, body):
        variables = [v for group in groups for v in group]
        values = [x for group in state for x in group]
        logs, new_values = _run_bound(variables, values, body)
        new_values = iter(new_values)
        return logs, tuple([next(new_values) for _ in group] for group in groups)

    def _optimizer_variables(self):
        return list(self.critic_optimizer.variables) + list(self.generator_optimizer.variables)

    def _state_variables(self, optimizer):
        groups = [self.trainable_variables, self.non_trainable_variables]
        if optimizer:
            groups.append(self._optimizer_variables())
        groups.append(self.metrics_variables)
        return groups

    # ------------------------------------------------------------- hooks
    def _minimize(self, loss_fn, optimizer, variables):
        everything, values = _current()
        position = {id(v): i for i, v in enumerate(everything)}
        slots = [position[id(v)] for v in variables]

        def bound_loss(trainable_values):
            bound = list(values)
            for i, value in zip(slots, trainable_values):
                bound[i] = value
            (loss, aux), new_values = _run_bound(everything, bound, loss_fn)
            # A LossScaleOptimizer's scale (float16); stateless_apply unscales.
            return optimizer.scale_loss(loss), (loss, aux, new_values)

        (_, (loss, aux, new_values)), grads = jax.value_and_grad(bound_loss, has_aux=True)(
            [values[i] for i in slots]
        )
        differentiated = set(slots)
        for i, (variable, value) in enumerate(zip(everything, new_values)):
            if i not in differentiated:  # e.g. the noise generator's state, BN statistics
                variable.assign(value)
        _, scope = _BINDINGS[-1]
        new_trainable, new_slots = optimizer.stateless_apply(
            [scope.get_current_value(v) for v in optimizer.variables],
            grads,
            [scope.get_current_value(v) for v in variables],
        )
        for variable, value in zip(variables, new_trainable):
            variable.assign(value)
        for variable, value in zip(optimizer.variables, new_slots):
            variable.assign(value)
        return loss, aux

    def _run_if(self, condition, fn):
        everything, values = _current()

        def run():
            new_values = _run_bound(everything, values, fn)[1]
            return {i: new for i, (old, new) in enumerate(zip(values, new_values))
                    if new is not old}

        # Only what the branch assigns goes through the conditional (its shapes come
        # from an abstract trace first): the critic's weights and optimizer slots, which
        # the generator update reads but never writes, are not copied through it.
        changed = sorted(jax.eval_shape(run))
        new_values = jax.lax.cond(
            condition,
            lambda: [new for _, new in sorted(run().items())],
            lambda: [values[i] for i in changed],
        )
        for i, value in zip(changed, new_values):
            everything[i].assign(value)

    def _prepare_networks(self, *networks):
        """No fast paths on JAX: XLA fuses the activations itself."""

    def _no_gradient(self):
        return contextlib.nullcontext()  # gradients are only what jax.grad asks for

    def _replica_rows(self, draw, batch_size):
        # Arrays are global under keras.distribution (XLA shards them): draw(batch_size)
        # is already the whole batch's rows.
        return draw(batch_size)

    # -------------------------------------------- state with both optimizers
    # Keras' JAX trainer reads ``self.optimizer.variables`` (the critic's) wherever it
    # builds, purges, shards or writes back the optimizer part of the state.
    def _get_jax_state(
        self,
        trainable_variables=False,
        non_trainable_variables=False,
        optimizer_variables=False,
        metrics_variables=False,
        purge_model_variables=False,
    ):
        state = list(
            super()._get_jax_state(
                trainable_variables=trainable_variables,
                non_trainable_variables=non_trainable_variables,
                optimizer_variables=False,
                metrics_variables=metrics_variables,
                purge_model_variables=purge_model_variables,
            )
        )
        if optimizer_variables:
            where = int(bool(trainable_variables)) + int(bool(non_trainable_variables))
            state.insert(where, [v.value for v in self._optimizer_variables()])
        return tuple(state)

    def jax_state_sync(self):
        state = getattr(self, "_jax_state", None)
        if state and not self._jax_state_synced and state.get("optimizer_variables"):
            for variable, value in zip(self._optimizer_variables(), state["optimizer_variables"]):
                variable.assign(value)
        super().jax_state_sync()

    def _get_state_sharding_spec(self):
        trainable, non_trainable, _, metrics = super()._get_state_sharding_spec()
        optimizer = [v.value.sharding for v in self._optimizer_variables()]
        return trainable, non_trainable, optimizer, metrics


def input_gradients(fn, x):
    """d sum(fn(x)) / dx, itself differentiable (``jax.grad`` nests).

    Inside a train step the call runs in a binding of its own, so state updates made
    by ``fn`` (e.g. batch statistics) are dropped instead of leaking inner tracers.
    """

    def total(x):
        if _BINDINGS:
            everything, values = _current()
            outputs, _ = _run_bound(everything, values, lambda: fn(x))
        else:
            outputs = fn(x)
        return jnp.sum(outputs)

    return jax.grad(total)(jnp.asarray(x))
