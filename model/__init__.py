"""The pure specification: statuses, state, protocol steps, invariants, errno rules.

Nothing in this package does I/O or depends on an engine; every checker (Z3, explorer,
Hypothesis, native trace replay) consumes these definitions."""
