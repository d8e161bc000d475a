"""The pieces of ``benchmarks/train_speed.py``, split by concern.

- ``settings``: the shared constants (batch, latent size, the variants' names) and the
  nets families (``--nets``: the recipe, image shape and optimizer overrides of each).
- ``flops``: the documented FLOP count of one generator update, and its profiler check.
- ``variants``: the child-side jobs (the TensorFlow train-step implementations, the
  matmul rate, the FLOP check, the data path) and ``JOBS``, their table by name.
- ``other_backends``: the hand-written JAX and PyTorch reference steps.
- ``lockstep``: the round-robin timer (``Lockstep`` in the child; ``Child``,
  ``run_lockstep`` and ``run_single`` in the parent) and its line protocol.
- ``report``: summaries, paired ratios, the table and the notes the parent prints.

``benchmarks/train_speed.py`` is the entry point (and what a child process runs); it
puts ``benchmarks/`` on ``sys.path`` so that ``import speed`` finds this package.
"""
