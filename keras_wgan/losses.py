"""Wasserstein losses and Lipschitz penalties as pure functions on tensors.

No model state lives here, so each formula is tested in isolation against values
computed another way. Only the penalty's input gradient depends on the backend
(``keras_wgan.backend.input_gradients``). Sign convention: the critic *minimises* ``critic_loss`` (it
wants high scores on real data), the generator minimises ``generator_loss``.
"""

from keras import ops

from keras_wgan import backend

# Added inside the square root of the gradient norm: keeps the norm and its
# derivative finite when a gradient is exactly zero.
NORM_EPSILON = 1e-12


def wasserstein_estimate(real_scores, fake_scores):
    """Critic estimate of the Wasserstein-1 distance: mean D(real) - mean D(fake)."""
    return ops.mean(real_scores) - ops.mean(fake_scores)


def critic_loss(real_scores, fake_scores):
    """Critic objective without regulariser: mean D(fake) - mean D(real)."""
    return ops.mean(fake_scores) - ops.mean(real_scores)


def generator_loss(fake_scores):
    """Generator objective: -mean D(G(z))."""
    return -ops.mean(fake_scores)


def interpolate(real, fake, alpha):
    """Points on straight lines between real and fake samples: alpha*real + (1-alpha)*fake."""
    return alpha * real + (1.0 - alpha) * fake


def per_sample_norm(gradients, epsilon=NORM_EPSILON):
    """L2 norm of each sample's gradient over all non-batch axes, with epsilon inside the sqrt."""
    axes = tuple(range(1, len(gradients.shape)))
    squares = ops.sum(ops.square(gradients), axis=axes) if axes else ops.square(gradients)
    return ops.sqrt(squares + epsilon)


def penalty_from_norms(norms, target=1.0, one_sided=False):
    """E[(||g|| - target)^2], or E[max(0, ||g|| - target)^2] when one-sided."""
    excess = norms - target
    if one_sided:
        excess = ops.relu(excess)
    return ops.mean(ops.square(excess))


def gradient_penalty(critic, interpolates, target=1.0, one_sided=False, training=True):
    """Penalty on the critic's input gradient at ``interpolates`` (Gulrajani et al. 2017).

    Returns ``(penalty, norms)``: the unweighted mean penalty and the per-sample
    gradient norms. The input gradient is itself differentiable on every backend, so
    differentiating the penalty with respect to the critic's weights gets the
    second-order terms it needs.
    """
    gradients = backend.input_gradients(
        lambda x: critic(x, training=training), interpolates
    )
    gradients = ops.cast(gradients, "float32")  # norms in float32 under mixed precision
    norms = per_sample_norm(gradients)
    return penalty_from_norms(norms, target, one_sided), norms


def classifier_loss(labels, logits):
    """Mean sparse softmax cross-entropy of class ``logits`` against integer ``labels``.

    The auxiliary classifier's term (AC-GAN, as in the WGAN-GP paper's conditional model).
    """
    log_probabilities = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
    chosen = ops.take_along_axis(
        log_probabilities, ops.expand_dims(ops.cast(labels, "int32"), -1), axis=-1
    )
    return -ops.mean(chosen)


def drift_penalty(real_scores):
    """E[D(real)^2]: keeps critic scores near zero (Karras et al. 2018's epsilon-drift)."""
    return ops.mean(ops.square(real_scores))
