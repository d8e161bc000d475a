"""Hand-written reference steps on the other Keras backends (``--backend jax torch``).

Under ``jax`` and ``torch`` the rows are ``fit`` and ``reference`` (a hand-written step on
that backend: JAX, n_critic critic updates + 1 generator update in one ``jax.jit``
with ``stateless_call`` / ``stateless_apply``; PyTorch, the same maths eagerly with
``torch.autograd``). ``speed.variants.run_reference`` hands a non-TensorFlow child to
these; ``fit`` on those backends is ``speed.variants.run_fit``. DCGAN nets only.
"""

from speed.flops import flops_per_update
from speed.settings import BATCH, LATENT
from speed.variants import build_nets, make_dataset, original_optimizers


def run_reference_jax(spec, lockstep):
    """Hand-written JAX: n_critic critic updates + 1 generator update in one ``jax.jit``.

    The same maths as the TensorFlow reference, through Keras' stateless API
    (``stateless_call`` for the nets, ``stateless_apply`` for the optimizers) and
    ``jax.grad`` (nested for the penalty); the whole state is donated to each call.
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    model, dim, n_critic = spec["model"], spec["dim"], spec["n_critic"]
    generator, critic = build_nets(model, dim)
    critic_opt, gen_opt = original_optimizers(model)
    critic_opt.build(critic.trainable_variables)
    gen_opt.build(generator.trainable_variables)
    gp = model == "wgan-gp"

    def values(variables):
        return [v.value for v in variables]

    def critic_loss(c_train, c_state, g_train, g_state, real, key):
        noise_key, alpha_key = jax.random.split(key)
        z = jax.random.normal(noise_key, (BATCH, LATENT))
        fake, g_state = generator.stateless_call(g_train, g_state, z, training=True)
        fake = jax.lax.stop_gradient(fake)
        if gp:  # one critic call for real and fake (no batch-coupled layers)
            scores, c_state = critic.stateless_call(
                c_train, c_state, jnp.concatenate([real, fake]), training=True)
            real_scores, fake_scores = scores[:BATCH], scores[BATCH:]
        else:  # batch norm: separate calls, as fit makes them
            real_scores, c_state = critic.stateless_call(c_train, c_state, real, training=True)
            fake_scores, c_state = critic.stateless_call(c_train, c_state, fake, training=True)
        loss = jnp.mean(fake_scores) - jnp.mean(real_scores)
        if gp:
            alpha = jax.random.uniform(alpha_key, (BATCH, 1, 1, 1))
            mixed = alpha * real + (1.0 - alpha) * fake

            def score_sum(x):
                return jnp.sum(critic.stateless_call(c_train, c_state, x, training=True)[0])

            grads = jax.grad(score_sum)(mixed)
            norms = jnp.sqrt(jnp.sum(jnp.square(grads), axis=(1, 2, 3)) + 1e-12)
            loss = loss + 10.0 * jnp.mean(jnp.square(norms - 1.0))
        return loss, (c_state, g_state)

    def generator_loss(g_train, g_state, c_train, c_state, key):
        z = jax.random.normal(key, (BATCH, LATENT))
        fake, g_state = generator.stateless_call(g_train, g_state, z, training=True)
        scores, c_state = critic.stateless_call(c_train, c_state, fake, training=True)
        return -jnp.mean(scores), (g_state, c_state)

    def iteration(state, reals, key):
        c_train, c_state, c_opt, g_train, g_state, g_opt = state
        keys = jax.random.split(key, n_critic + 1)
        for i in range(n_critic):
            (loss, (c_state, g_state)), grads = jax.value_and_grad(critic_loss, has_aux=True)(
                c_train, c_state, g_train, g_state, reals[i], keys[i])
            c_train, c_opt = critic_opt.stateless_apply(c_opt, grads, c_train)
            if not gp:
                c_train = [jnp.clip(v, -0.01, 0.01) for v in c_train]
        (gen_loss, (g_state, c_state)), grads = jax.value_and_grad(
            generator_loss, has_aux=True)(g_train, g_state, c_train, c_state, keys[-1])
        g_train, g_opt = gen_opt.stateless_apply(g_opt, grads, g_train)
        return (c_train, c_state, c_opt, g_train, g_state, g_opt), (loss, gen_loss)

    step = jax.jit(iteration, donate_argnums=0)
    state = (values(critic.trainable_variables), values(critic.non_trainable_variables),
             values(critic_opt.variables), values(generator.trainable_variables),
             values(generator.non_trainable_variables), values(gen_opt.variables))
    iterator = make_dataset(BATCH, extra_batch=n_critic).as_numpy_iterator()
    carry = {"state": state, "key": jax.random.PRNGKey(0)}

    def update():
        carry["key"], subkey = jax.random.split(carry["key"])
        carry["state"], losses = step(carry["state"], next(iterator), subkey)
        float(losses[0])  # completes the step
        return losses

    losses = lockstep.run(spec["warmup"] + spec["steps"], update)
    return {
        **lockstep.results(),
        "retraces_after_first_epoch": step._cache_size() - 1,
        "jit_resolved": True,
        "flops": flops_per_update(model, generator, critic, n_critic, BATCH)[0],
        "finite": bool(np.isfinite(float(losses[1]))),
    }


def run_reference_torch(spec, lockstep):
    """Hand-written PyTorch: the same maths eagerly, ``torch.autograd`` for every gradient."""
    import numpy as np
    import torch

    model, dim, n_critic = spec["model"], spec["dim"], spec["n_critic"]
    generator, critic = build_nets(model, dim)
    critic_opt, gen_opt = original_optimizers(model)
    c_vars, g_vars = critic.trainable_variables, generator.trainable_variables
    critic_opt.build(c_vars)
    gen_opt.build(g_vars)
    gp = model == "wgan-gp"

    def critic_update(real):
        with torch.no_grad():
            fake = generator(torch.randn(BATCH, LATENT), training=True)
        if gp:
            scores = critic(torch.cat([real, fake]), training=True)
            real_scores, fake_scores = scores[:BATCH], scores[BATCH:]
        else:
            real_scores = critic(real, training=True)
            fake_scores = critic(fake, training=True)
        loss = fake_scores.mean() - real_scores.mean()
        if gp:
            alpha = torch.rand(BATCH, 1, 1, 1)
            mixed = (alpha * real + (1.0 - alpha) * fake).requires_grad_(True)
            (grads,) = torch.autograd.grad(critic(mixed, training=True).sum(), mixed,
                                           create_graph=True)
            norms = torch.sqrt(grads.square().sum(dim=(1, 2, 3)) + 1e-12)
            loss = loss + 10.0 * (norms - 1.0).square().mean()
        grads = torch.autograd.grad(loss, [v.value for v in c_vars])
        with torch.no_grad():
            critic_opt.apply(grads, c_vars)
            if not gp:
                for variable in c_vars:
                    variable.value.clamp_(-0.01, 0.01)
        return loss.detach()

    def generator_update():
        fake = generator(torch.randn(BATCH, LATENT), training=True)
        loss = -critic(fake, training=True).mean()
        grads = torch.autograd.grad(loss, [v.value for v in g_vars])
        with torch.no_grad():
            gen_opt.apply(grads, g_vars)
        return loss.detach()

    iterator = make_dataset(BATCH, extra_batch=n_critic).as_numpy_iterator()
    torch.manual_seed(0)

    def update():
        reals = torch.from_numpy(next(iterator))
        for k in range(n_critic):
            critic_loss = critic_update(reals[k])
        gen_loss = generator_update()
        float(critic_loss)
        return gen_loss

    gen_loss = lockstep.run(spec["warmup"] + spec["steps"], update)
    return {
        **lockstep.results(),
        "jit_resolved": False,
        "flops": flops_per_update(model, generator, critic, n_critic, BATCH)[0],
        "finite": bool(np.isfinite(float(gen_loss))),
    }
