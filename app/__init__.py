"""entersys: a formal model and test oracle of how Go enters and leaves system calls on
linux/amd64.

The public surface is the `entersys` command (entersys.cli); the subpackages are model
(pure specification), proofs (Z3), oracle (concrete checks), native (the amd64 stubs) and
report (text and JSON rendering)."""

__version__ = "0.1.0"
