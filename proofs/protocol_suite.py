"""The `protocol` group of `entersys verify`: Z3 proofs of the syscall protocol for each Go
version: bounded model checking of every invariant from the initial state, and unbounded
proofs by an explicit inductive strengthening (entersys.proofs.induction), each record with
its solver time, depth ("unbounded" for induction), method and auxiliary invariants."""

from __future__ import annotations

from argparse import Namespace
from dataclasses import replace
from typing import Any

from entersys.model.program import VERSIONS, Program
from entersys.model.state import Config
from entersys.oracle.protocol import PART_SETS, build_program, with_parts
from entersys.proofs.bmc import bmc
from entersys.proofs.induction import prove
from entersys.proofs.transition import TIMEOUT_MS
from entersys.results import CheckResult, Counterexample, Verdict, timed

GROUP = "protocol"
DEFAULT_DEPTH = 12
# The invariants the issue asks to prove for every depth.
TARGETS = ("I1", "I2", "I3", "I4", "I7", "I8", "G-LOST")


def targets(prog: Program) -> list[str]:
    """TARGETS, and the scan-bit invariants of a design that has them."""
    ids = [i.id for i in prog.invariants]
    return [i for i in ids if i in TARGETS or "SCAN" in i]


def bmc_configs(ps: int) -> list[tuple[str, Config]]:
    """(name, configuration) of the BMC records: every part on 1 M / `ps` Ps / 1 G, and
    the core (sysmon, stop-the-world) on 2 Ms / `ps` Ps / 1 G."""
    return [("full", with_parts(Config(1, ps, 1), PART_SETS["full"])),
            ("core", with_parts(Config(2, ps, 1), PART_SETS["core"]))]


def induction_config(ps: int) -> tuple[str, Config]:
    """The configuration of the unbounded proofs: the core on 1 M / `ps` Ps / 1 G."""
    return "core", with_parts(Config(1, ps, 1), PART_SETS["core"])


def _tag(cfg: Config, parts: str) -> str:
    return f"{cfg.ms}m{cfg.ps}p{cfg.gs}g.{parts}"


def bmc_record(go: str, parts: str, cfg: Config, depth: int, timeout_ms: int) -> CheckResult:
    with timed() as t:
        prog = build_program(replace(cfg, go=go), go)
        run = bmc(prog, depth, timeout_ms=timeout_ms)
    verdict = {"holds": Verdict.HOLDS, "refuted": Verdict.REFUTED}.get(run.status,
                                                                        Verdict.UNKNOWN)
    cex = None
    if run.status == "refuted":
        from entersys.proofs.bmc import counterexample

        cex = counterexample(prog, run, f"entersys verify --only protocol --go {go} "
                                        f"--depth {depth} --ps {cfg.ps}")
    return CheckResult(
        f"{GROUP}.go{go}.bmc.{_tag(cfg, parts)}", GROUP,
        f"Go {go}, {cfg.ms} M / {cfg.ps} P / {cfg.gs} G ({parts}): every invariant holds "
        f"in every state reachable within {depth} steps", "bmc", verdict, Verdict.HOLDS,
        t(), cex,
        {"method": "bounded model checking (Z3, QF_BV)", "depth": run.depth,
         "solver_seconds": round(run.seconds, 3), "queries": run.queries,
         "violated": run.violated})


def induction_records(go: str, parts: str, cfg: Config, timeout_ms: int
                      ) -> list[CheckResult]:
    with timed() as t:
        prog = build_program(replace(cfg, go=go), go)
        run = prove(prog, targets(prog), timeout_ms=timeout_ms)
    aux = [f"{c.name} -- {c.reason}" for c in run.auxiliary]
    out = []
    for inv in targets(prog):
        if run.status != "inductive":
            verdict = Verdict.UNKNOWN
        elif inv in run.proved:
            verdict = Verdict.HOLDS
        else:
            verdict = Verdict.UNKNOWN  # not refuted: a CTI need not be reachable
        cex = None
        details: dict[str, Any] = {
            "method": "inductive strengthening: template candidates mined from the "
                      "reachable states, pruned by Houdini until T preserves them (Z3, LIA)",
            "depth": "unbounded" if verdict == Verdict.HOLDS else None,
            "solver_seconds": round(run.seconds, 3), "houdini_rounds": run.rounds,
            "states_mined": run.states_mined, "auxiliary_count": len(aux),
            "auxiliary_invariants": aux}
        if inv in run.cti:
            c = run.cti[inv]
            cex = Counterexample(summary=f"counterexample to induction of {inv}: "
                                         f"{c.get('step')} from the state below",
                                 values={"step": c.get("step"), "changes": c.get("changes"),
                                         "state": c.get("state")})
        out.append(CheckResult(
            f"{GROUP}.go{go}.induction.{_tag(cfg, parts)}.{inv}", GROUP,
            f"Go {go}, {cfg.ms} M / {cfg.ps} P / {cfg.gs} G ({parts}): {inv} holds at every "
            "depth", "induction", verdict, Verdict.HOLDS, t(), cex, details))
    return out


def _version(args: tuple[str, int, int, int]) -> list[CheckResult]:
    from entersys.proofs import tso

    go, depth, ps, timeout_ms = args
    out = [bmc_record(go, parts, cfg, depth, timeout_ms) for parts, cfg in bmc_configs(ps)]
    parts, cfg = induction_config(ps)
    out.extend(induction_records(go, parts, cfg, timeout_ms))
    if build_program(cfg, go).design == "psyscall":  # the R8 window of the old design
        out.extend(tso.records(go, timeout_ms=timeout_ms))
    return out


def run(opts: Namespace) -> list[CheckResult]:
    """Options read: go (None: every version), depth, ps, timeout_ms. The versions are
    independent obligations and run in parallel (at most two processes)."""
    import multiprocessing

    from entersys.proofs.mutants_z3 import workers

    versions = [opts.go] if getattr(opts, "go", None) else list(VERSIONS)
    depth = getattr(opts, "depth", None) or DEFAULT_DEPTH
    ps = getattr(opts, "ps", None) or 1
    timeout_ms = max(getattr(opts, "timeout_ms", None) or TIMEOUT_MS, TIMEOUT_MS)
    jobs = [(go, depth, ps, timeout_ms) for go in versions]
    if len(jobs) == 1 or workers() == 1:
        return [r for j in jobs for r in _version(j)]
    with multiprocessing.get_context("fork").Pool(min(len(jobs), workers())) as pool:
        return [r for rs in pool.map(_version, jobs, chunksize=1) for r in rs]
