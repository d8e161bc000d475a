"""The graph optimisers of every test process: the pytest process and the workers it starts.

The tests' nets are tiny, so on a CPU the optimisers' passes cost more than they save:
XLA's (JAX) made a first model build 12 s instead of 2 s and a first fit 21 s instead of
6 s; TensorFlow's Grappler makes a first fit 30-40% slower (measured on 2 cores). Both
rewrite programs for speed, not meaning, but they do reorder float arithmetic, so every
process of one test must run with the same setting: an exact resume across processes
would otherwise differ by rounding. Hence one switch, in the environment the workers
inherit: ``KERAS_WGAN_TESTS_OPTIMISERS=on`` keeps the frameworks' defaults.
"""

import os

ENV = "KERAS_WGAN_TESTS_OPTIMISERS"
FUSION_EMITTERS_OFF = "--xla_cpu_use_fusion_emitters=false"


def set_test_environment():
    """Before any framework import: JAX reads its setting from the environment."""
    os.environ.setdefault(ENV, "off")
    if os.environ[ENV] == "off":
        os.environ.setdefault("JAX_DISABLE_MOST_OPTIMIZATIONS", "1")
        # XLA:CPU's fusion emitters cost more to compile than the legacy ones: the JAX
        # test run spends 40% less CPU without them (121 s -> 73 s for test_models.py
        # and test_augment.py). TensorFlow's XLA accepts the flag too.
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_cpu_use_fusion_emitters" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {FUSION_EMITTERS_OFF}".strip()


def xla_flags_with_host_devices(count):
    """A child's XLA_FLAGS: this process's flags (set above) and ``count`` host devices."""
    flags = os.environ.get("XLA_FLAGS", "")
    return f"{flags} --xla_force_host_platform_device_count={count}".strip()


def apply_test_graph_settings():
    """After TensorFlow can be imported: Grappler off unless the switch says on."""
    set_test_environment()
    if os.environ[ENV] == "off":
        import tensorflow as tf

        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
