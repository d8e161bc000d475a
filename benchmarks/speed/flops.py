"""The FLOP count of one generator update, and its cross-check against the profiler.

FLOP count (per generator update, "useful" maths only; documented so it can be checked):
  F_G, F_C = forward FLOPs per sample of generator / critic, counted per layer as
  2 * MACs of each Conv2D (H_out*W_out*C_out*k_h*k_w*C_in) and Dense (in*out); bias,
  normalisation, activations and upsampling are not counted (elementwise, memory-bound).
  Layers inside nested models (a functional or Sequential model used as a layer) are
  counted too, each layer once; the ResNets' 1x1 shortcut convolutions are Conv2D
  layers and count like the others, their mean pools do not.
  A backward pass (input + weight gradients) counts 2x its forward.
  Critic step:   F_G*B              fakes (generator forward, no backward)
               + 3*F_C*2B           critic forward + backward on real and fake
               + 4*F_C*B            WGAN-GP only: the penalty = forward (1) + input-gradient
                                    backward (1) + the double backward of that
                                    input-gradient pass (2); the forward pass' own second
                                    derivative through the activation masks is zero and
                                    not counted.
  Generator step: 3*F_G*B + 2*F_C*B (critic forward + input-gradient backward only).
  Per generator update: n_critic * critic step + generator step.
  The forward counts are cross-checked against ``tf.compat.v1.profiler`` float ops of a
  concrete function (which also counts bias adds, normalisation arithmetic, etc.).
"""

import math


def _leaf_layers(model, seen=None):
    """The layers of ``model``, nested models' layers included, each once, in order."""
    seen = set() if seen is None else seen
    for layer in model.layers:
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        inner = getattr(layer, "layers", None)
        if inner is not None and not isinstance(layer, _counted_types()):
            yield from _leaf_layers(layer, seen)
        else:
            yield layer


def _counted_types():
    import keras

    return (keras.layers.Conv2D, keras.layers.Dense)


def layer_macs(model):
    """Per-sample multiply-accumulates of the Conv2D and Dense layers of a model.

    Walks nested models (see the module doc). A Dense layer on inputs with more than
    one axis (besides the batch) counts once per position.
    """
    import keras

    macs = 0
    for layer in _leaf_layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            k_h, k_w, c_in, _ = layer.kernel.shape
            macs += h * w * c_out * k_h * k_w * c_in
        elif isinstance(layer, keras.layers.Dense):
            c_in, c_out = layer.kernel.shape
            positions = math.prod(layer.output.shape[1:-1])
            macs += positions * c_in * c_out
    return macs


def flops_per_update(model, generator, critic, n_critic, batch):
    """FLOPs of one generator update (n_critic critic steps + 1 generator step); see module doc."""
    f_g = 2 * layer_macs(generator)
    f_c = 2 * layer_macs(critic)
    critic_step = f_g * batch + 3 * f_c * 2 * batch
    if model == "wgan-gp":
        critic_step += 4 * f_c * batch
    generator_step = 3 * f_g * batch + 2 * f_c * batch
    return n_critic * critic_step + generator_step, f_g, f_c


def profiler_forward_flops(model_net, input_shape):
    """Float ops of one forward pass per tf.compat.v1.profiler: (all ops, Conv2D+MatMul only)."""
    import tensorflow as tf

    concrete = tf.function(lambda x: model_net(x, training=False)).get_concrete_function(
        tf.TensorSpec((1,) + tuple(input_shape), tf.float32)
    )
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    opts = builder(builder.float_operation()).with_empty_output().build()
    info = tf.compat.v1.profiler.profile(graph=concrete.graph, cmd="op", options=opts)
    matmul_like = sum(
        child.total_float_ops
        for child in info.children
        if child.name in ("Conv2D", "MatMul", "_FusedConv2D", "_MklConv2D")
    )
    return info.total_float_ops, matmul_like
