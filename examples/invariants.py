"""User invariants for `entersys explore --invariants examples/invariants.py`.

Each function named `inv_*` is one invariant: it takes the program (labels, config) and a
View of one state, and returns a condition built with the View's ops `v.X` (and_, or_,
not_, ite, count, select), so that the explorer can compile it like a built-in one.
Its id is the rest of the name in capitals (inv_psyscall_unowned -> PSYSCALL-UNOWNED),
its title the docstring's first line."""

from entersys.model import status as st


def inv_psyscall_unowned(prog, v):
    """No M names a P in _Psyscall as its m.p (holds in the faithful model)."""
    X = v.X
    return X.and_(*[X.ite(v.p(j, "status") == st._Psyscall,
                          X.and_(*[v.m(i, "p") != j + 1 for i in range(v.cfg.ms)]), True)
                    for j in range(v.cfg.ps)])


def inv_one_syscall_at_a_time(prog, v):
    """At most one G is in a system call at a time (false as soon as two Gs can be)."""
    X = v.X
    return X.count([X.or_(v.g(j, "status") == st._Gsyscall,
                          v.g(j, "status") == st._Gscansyscall)
                    for j in range(v.cfg.gs)]) <= 1
