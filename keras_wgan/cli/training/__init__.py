"""The run under ``keras-wgan train``: everything the command line (``cli/train.py``) wires.

One concept per module, the lower ones first (a module imports only those above it in
this list, so there is no import circle):

- :mod:`.devices`: device probing (the GPUs a backend sees) and ``--distribute``'s scope.
- :mod:`.settings`: a run's settings, listed once (defaults, the groups the rules use,
  the rules between settings every run obeys).
- :mod:`.choices`: the settings left to the data and the device (nets, width, size,
  augmentation), by measured rules.
- :mod:`.lock`: the lock of a run directory (one writer).
- :mod:`.run_directory`: ``--out`` as an object: its files, the run's settings, the rules
  of ``--resume`` and ``--restart``.
- :mod:`.finetune`: ``--init-from`` and ``--freeze-critic``.
- :mod:`.data`: the run's dataset in its seeded order, and its epoch length.
- :mod:`.model`: the run's model, built from its settings.
- :mod:`.launch`: where this process stands in a multi-process run (flags, Keras'
  variables, SLURM) and its ports.
- :mod:`.connection`: one authenticated connection of the control link (the key, the
  handshake, the messages).
- :mod:`.hello`: what each process shows process 0 at start-up (its command line and
  package versions), and the first difference between two.
- :mod:`.control_link`: process 0's links to the others: start-up agreement,
  heartbeats, lost processes.
- :mod:`.runtime`: JAX's multi-process runtime and what runs on process 0 alone.
- :mod:`.team`: this process's role, :class:`~.team.Solo` or :class:`~.team.Team`,
  behind one :class:`~.team.ProcessRole` protocol.
- :mod:`.loop`: the run on this process: fit with checkpoints, report.
"""
