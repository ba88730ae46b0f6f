"""Which checks `entersys verify` and `entersys check` run, by group. Each entry is a
function of the parsed options returning result records; imports are lazy so that a group
that is not selected costs nothing."""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Callable

from entersys.results import CheckResult

GroupFn = Callable[[Namespace], list[CheckResult]]


def _verify_errno(opts: Namespace) -> list[CheckResult]:
    from entersys.proofs import errno

    return errno.run(opts.asm, timeout_ms=opts.timeout_ms, stubs=opts.stubs)


def _verify_errno_arch(opts: Namespace) -> list[CheckResult]:
    from entersys.proofs import errno_arch

    return errno_arch.run(timeout_ms=opts.timeout_ms)


def _verify_protocol(opts: Namespace) -> list[CheckResult]:
    from entersys.oracle import protocol

    return protocol.verify_results()


def _verify_mutants(opts: Namespace) -> list[CheckResult]:
    from entersys.model.program import VERSIONS
    from entersys.oracle import protocol

    return [r for go in VERSIONS for r in protocol.mutant_results(go)]


def _verify_protocol_z3(opts: Namespace) -> list[CheckResult]:
    from entersys.proofs import protocol_suite

    return protocol_suite.run(opts)


def _verify_protocol_episodes(opts: Namespace) -> list[CheckResult]:
    from entersys.model.program import VERSIONS
    from entersys.proofs import bmc_episodes
    from entersys.proofs.protocol_suite import parallel_map

    versions = [opts.go] if getattr(opts, "go", None) else list(VERSIONS)
    ns = [opts.ps] if getattr(opts, "ps", None) else [2, 3]
    budget = (opts.timeout_ms / 1000 if getattr(opts, "timeout_ms", None)
              else bmc_episodes.BUDGET_S)
    return parallel_map(bmc_episodes.run_job, [(go, n, budget, getattr(opts, "depth", None))
                                               for go in versions for n in ns])


def _verify_protocol_param(opts: Namespace) -> list[CheckResult]:
    from entersys.model.program import VERSIONS
    from entersys.proofs.protocol_suite import PROTOCOL_TIMEOUT_MS, parallel_map, param_job

    versions = [opts.go] if getattr(opts, "go", None) else list(VERSIONS)
    timeout_ms = max(getattr(opts, "timeout_ms", None) or 0, PROTOCOL_TIMEOUT_MS)
    return [r for rs in parallel_map(param_job, [(go, timeout_ms) for go in versions])
            for r in rs]


def _check_errno(opts: Namespace) -> list[CheckResult]:
    from entersys.oracle import errno_native

    return errno_native.run(examples=opts.examples)


VERIFY_GROUPS: dict[str, GroupFn] = {
    "errno": _verify_errno,
    "errno-arch": _verify_errno_arch,
    "protocol-model": _verify_protocol,
    "protocol-mutants": _verify_mutants,
    "protocol": _verify_protocol_z3,
    "protocol-episodes": _verify_protocol_episodes,
    "protocol-param": _verify_protocol_param,
}

# What `entersys verify` runs with no --only: every group but `protocol`, the Z3 proofs of
# the protocol (BMC, induction, TSO), which take several minutes per Go version on two
# cores, and `protocol-episodes`, BMC to the depth of two syscall episodes per M on N = 2
# and 3 (a wall-clock budget per record, --timeout-ms; short of the depth it is unknown);
# they run with `--only protocol` / `--only protocol-episodes`; and `protocol-param`, every
# parameterized target (`protocol` has only those the cutoff method closes; the others are
# unknown, with their counterexample to induction).
VERIFY_DEFAULT = ("errno", "errno-arch", "protocol-model", "protocol-mutants")

# The options each group reads; `verify --asm` with no group that reads it is bad usage.
GROUP_OPTIONS: dict[str, set[str]] = {
    "errno": {"asm", "stubs", "timeout_ms"},
    "errno-arch": {"timeout_ms"},
    "protocol": {"timeout_ms", "go", "depth", "ps"},
    "protocol-episodes": {"timeout_ms", "go", "depth", "ps"},
    "protocol-param": {"timeout_ms", "go"},
}

CHECK_GROUPS: dict[str, GroupFn] = {
    "errno": _check_errno,
}
