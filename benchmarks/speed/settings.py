"""Constants shared by the parent and the children, and the nets families (``--nets``)."""

# Every DCGAN variant times the nets and optimizers of this keras_wgan.presets recipe
# (at --dim and these shapes, the recipe's own).
PRESET = "original_experiment"
BATCH = 64
LATENT = 128
IMAGE_SHAPE = (32, 32, 1)
DEFAULT_VARIANTS = ("original", "reference", "fit")
DIAGNOSTICS = ("reference-steps", "reference-fast")
ABLATIONS = ("fit-stock", "fit-split", "fit-fastlrelu", "fit-fastconv", "fit-fast")
# Which layers each fit variant forces (None: as keras_wgan.architectures builds them).
FIT_NETS = {
    "fit": {},
    "fit-split": {},
    "fit-stock": {"fast_lrelu": False, "fast_conv": False},
    "fit-fastlrelu": {"fast_lrelu": True, "fast_conv": False},
    "fit-fastconv": {"fast_lrelu": False, "fast_conv": True},
    "fit-fast": {"fast_lrelu": True, "fast_conv": True},
    "fit-bf16": {},
    "fit-2replicas": {},
}
# Scale-out rows (TensorFlow): fit under the mixed_bfloat16 policy, and fit on two
# replicas (MirroredStrategy over two logical CPU devices, the same global batch).
SCALE_OUT = ("fit-bf16", "fit-2replicas")
ALL_VARIANTS = DEFAULT_VARIANTS + ABLATIONS + DIAGNOSTICS + SCALE_OUT
BACKENDS = ("tensorflow", "jax", "torch")
# Rows measured under the non-TensorFlow backends.
OTHER_BACKEND_VARIANTS = ("reference", "fit")

# The nets families (``--nets``). "dcgan": the original experiment's nets (PRESET) on
# 32x32x1, the default. "resnet": the WGAN-GP paper's CIFAR-10 ResNets
# (``keras_wgan.presets`` "cifar10_resnet": ``build_resnet_generator`` /
# ``build_resnet_critic``) on 32x32x3 at --dim, with that recipe's Adam(2e-4, beta_1=0,
# beta_2=0.9) for both nets at a constant rate (the recipe's linear decay switched
# off: lr_decay_steps=None), no weight average, n_critic 5, penalty weight 10.
# WGAN-GP only, and only the TensorFlow rows ``reference`` and ``fit``.
NETS = {
    "dcgan": {"preset": PRESET, "image_shape": IMAGE_SHAPE, "overrides": {}},
    "resnet": {"preset": "cifar10_resnet", "image_shape": (32, 32, 3),
               "overrides": {"lr_decay_steps": None}},
}
RESNET_MODELS = ("wgan-gp",)
RESNET_VARIANTS = ("reference", "fit")


def nets_of(spec):
    """The nets family a job spec asks for ("dcgan" when it names none)."""
    return spec.get("nets", "dcgan")


def image_shape(nets="dcgan"):
    """The (height, width, channels) of one sample for a nets family."""
    return NETS[nets]["image_shape"]


def default_steps(dim):
    """Timed generator updates: ~20 at DIM 32, fewer as cost grows ~dim^2."""
    return max(3, round(20 * (32 / dim) ** 2))
