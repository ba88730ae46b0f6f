"""The `protocol` group of `entersys verify`: Z3 proofs of the syscall protocol for each Go
version: bounded model checking of every invariant from the initial state, and unbounded
proofs by an explicit inductive strengthening (entersys.proofs.induction), each record with
its solver time, depth ("unbounded" for induction), method and auxiliary invariants."""

from __future__ import annotations

from argparse import Namespace
from dataclasses import replace
from typing import Any

from entersys.model.program import DESIGN_OF, VERSIONS, Program
from entersys.model.state import Config
from entersys.oracle.protocol import PART_SETS, build_program, with_parts
from entersys.proofs.bmc import bmc
from entersys.proofs.induction import prove
from entersys.results import CheckResult, Counterexample, Verdict, timed

GROUP = "protocol"
DEFAULT_DEPTH = 12
# The per-query timeout of this group (ms; Z3's timeout is wall time, so it is set for a
# loaded 2-core machine): a query past it is "unknown" (exit 3), never "holds".
PROTOCOL_TIMEOUT_MS = 600_000
# The invariants the issue asks to prove for every depth, and the Go 1.26+ design's own
# (entersys.model.invariants_scanbit).
TARGETS = ("I1", "I2", "I3", "I4", "I7", "I8", "G-LOST")
SCANBIT_TARGETS = ("I7-SCAN", "I7-WIRE", "I4-UNWIRED", "I10")


def targets(prog: Program) -> list[str]:
    """TARGETS and SCANBIT_TARGETS that `prog`'s design has, in its invariant order."""
    ids = [i.id for i in prog.invariants]
    return [i for i in ids if i in TARGETS or i in SCANBIT_TARGETS]


def episode_steps(go: str) -> tuple[int, int]:
    """(steps from the initial state to M0's first `user.Syscall`, steps of one full
    syscall episode: `user.Syscall` through `entersyscall`, the call and `exitsyscall`
    back to user code) in the fused program of Go `go` on 1 M / 1 P / 1 G with the M
    alone: the shortest such runs, breadth-first over M0's steps (a returning call)."""
    from collections import deque

    from entersys.model.ops import CONCRETE
    from entersys.model.state import View, initial_state

    prog = build_program(replace(with_parts(Config(1, 1, 1), ()), go=go), go)
    pc, user = prog.layout.mname[0]["pc"], prog.labels["user"]
    insts = [i for i in prog.instances() if i.m == 0]
    start = (initial_state(prog.layout, prog.labels), 0)
    dist = {start: 0}
    todo = deque([start])
    first = None
    while todo:
        s, n = todo.popleft()
        if s[pc] == user and n == 1 and first is None:
            first = dist[(s, n)]
        if s[pc] == user and n == 2:
            assert first is not None
            episode = dist[(s, n)] - first
            return first - episode, episode
        view = View(prog.layout, CONCRETE, s.__getitem__)
        for inst in insts:
            g, w = prog.apply(inst, view)
            if not g:
                continue
            nxt = list(s)
            for p_, v in w.items():
                nxt[p_] = v
            key = (tuple(int(x) for x in nxt), n + (inst.step.name == "user.Syscall"))
            if key[1] <= 2 and key not in dist:
                dist[key] = dist[(s, n)] + 1
                todo.append(key)
    raise RuntimeError("no two syscall episodes of M0")


def two_episode_depth(go: str, ms: int) -> int:
    """The BMC depth that covers two full syscall episodes of each of `ms` Ms from the
    initial state (each M's prefix, then 2 episodes, run one after another), before any
    sysmon or stop-the-world step is counted: ms * (prefix + 2 * episode)."""
    prefix, episode = episode_steps(go)
    return ms * (prefix + 2 * episode)


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
         "two_episode_depth": two_episode_depth(go, cfg.ms),
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
        k = run.k_inductive.get(inv)
        method = ("inductive strengthening: template candidates mined from the reachable "
                  "states, pruned by Houdini until T preserves them (Z3, LIA)")
        if k is not None:
            method = (f"{k}-induction (Z3, LIA, simple paths, base case from the initial "
                      f"state) relative to the {method}; the 1-step counterexample to "
                      "induction below shows why plain induction does not close it")
        details: dict[str, Any] = {
            "method": "k-induction" if k is not None else "induction",
            "method_detail": method, "k": k or 1,
            "depth": "unbounded" if verdict == Verdict.HOLDS else None,
            "solver_seconds": round(run.seconds, 3), "houdini_rounds": run.rounds,
            "states_mined": run.states_mined, "auxiliary_count": len(aux),
            "auxiliary_invariants": aux}
        if inv in run.cti and verdict == Verdict.HOLDS:
            details["counterexample_to_1_induction"] = run.cti[inv]
        elif inv in run.cti:
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


def param_records(go: str, timeout_ms: int) -> list[CheckResult]:
    """The parameterized proofs (entersys.proofs.param): one record per target, method
    "cutoff N=2", the local auxiliary invariants and the aggregates abstracted in T#."""
    from entersys.proofs.param import CUTOFF, TARGETS, prove_param

    with timed() as t:
        run = prove_param(go, timeout_ms)
    cfg = run.cfg
    assert cfg is not None
    out = []
    for inv in TARGETS[DESIGN_OF[go]]:
        ok = run.status == "inductive" and inv in run.proved
        out.append(CheckResult(
            f"{GROUP}.go{go}.param.{inv}", GROUP,
            f"Go {go}: {inv} holds at every depth for any number of Ms and Ps", "induction",
            Verdict.HOLDS if ok else Verdict.UNKNOWN, Verdict.HOLDS, t(), None,
            {"method": f"cutoff N={CUTOFF}",
             "argument": "docs/param-proofs.md",
             "cutoff_config": f"{cfg.ms} M / {cfg.ps} P / {cfg.gs} G (sysmon, stop-the-world)",
             "depth": "unbounded" if ok else None,
             "solver_seconds": round(run.seconds, 3),
             "auxiliary_count": len(run.local),
             "auxiliary_invariants": [f"{c.name} -- {c.reason}" for c in run.local],
             "objects_read_per_step_max": run.sources,
             "aggregates_abstracted": run.abstracted}))
    return out


# An obligation: (go, kind, argument); kinds "bmc" (a bmc_configs name), "induction",
# "tso" (an index into tso.CASES), "param" (the parameterized proofs). Independent of
# one another: they run in parallel.
Obligation = tuple[str, str, Any]
# Rough relative costs (measured at depth 12, 1 P): the longest obligations start first.
_COST = {"induction": 3, "bmc": 2, "tso": 1, "param": 1}


def obligations(go: str, ps: int) -> list[Obligation]:
    """Every proof obligation of one version, in report order."""
    out: list[Obligation] = [(go, "bmc", name) for name, _ in bmc_configs(ps)]
    out.append((go, "induction", None))
    from entersys.proofs import param, tso

    if param.TARGETS[DESIGN_OF[go]]:
        out.append((go, "param", None))

    if tso.applies(go):
        out.extend((go, "tso", k) for k in range(len(tso.cases(go))))
    return out


def _discharge(args: tuple[Obligation, int, int, int]) -> list[CheckResult]:
    """The records of one obligation, each with details["obligation"] (its name: records
    of one obligation share it) and details["cpu_seconds"] (the obligation's CPU time in
    its worker, Z3 included: unlike wall time, independent of the machine's load)."""
    import time

    t0 = time.process_time()
    recs = _discharge_one(args)
    cpu = round(time.process_time() - t0, 2)
    (go, kind, arg), *_ = args
    for r in recs:
        r.details["obligation"] = f"go{go}.{kind}" + ("" if arg is None else f".{arg}")
        r.details["cpu_seconds"] = cpu
    return recs


def _discharge_one(args: tuple[Obligation, int, int, int]) -> list[CheckResult]:
    from entersys.proofs import tso

    (go, kind, arg), depth, ps, timeout_ms = args
    if kind == "bmc":
        cfg = dict(bmc_configs(ps))[arg]
        return [bmc_record(go, arg, cfg, depth, timeout_ms)]
    if kind == "induction":
        parts, cfg = induction_config(ps)
        return induction_records(go, parts, cfg, timeout_ms)
    if kind == "param":
        return param_records(go, timeout_ms)
    return [tso.case_record(go, arg, timeout_ms=timeout_ms)]


def run(opts: Namespace) -> list[CheckResult]:
    """Options read: go (None: every version), depth, ps, timeout_ms. Every obligation of
    every version is independent: they run in a pool of worker processes (one per core,
    at most two), longest first, and are reported in a fixed order."""

    versions = [opts.go] if getattr(opts, "go", None) else list(VERSIONS)
    depth = getattr(opts, "depth", None) or DEFAULT_DEPTH
    ps = getattr(opts, "ps", None) or 1
    timeout_ms = max(getattr(opts, "timeout_ms", None) or 0, PROTOCOL_TIMEOUT_MS)
    jobs = [(ob, depth, ps, timeout_ms) for go in versions for ob in obligations(go, ps)]
    return [r for rs in parallel_map(_discharge, jobs, [_COST[j[0][1]] for j in jobs])
            for r in rs]


def parallel_map(fn: Any, jobs: list[Any], costs: list[int] | None = None) -> list[Any]:
    """[fn(j) for j in jobs], computed in a fork pool of workers() processes, the costliest
    first (longest-processing-time order); results in the order of `jobs`."""
    import multiprocessing

    from entersys.proofs.mutants_z3 import workers

    n = min(len(jobs), workers())
    if n <= 1:
        return [fn(j) for j in jobs]
    order = sorted(range(len(jobs)), key=lambda k: -(costs[k] if costs else 0))
    out: list[Any] = [None] * len(jobs)
    pool = multiprocessing.get_context("fork").Pool(n, initializer=quiet_worker)
    try:
        for k, res in zip(order, pool.imap(fn, [jobs[k] for k in order], chunksize=1)):
            out[k] = res
        pool.close()  # workers leave by themselves: no SIGTERM, no worker traceback
    finally:
        pool.terminate()
        pool.join()
    return out


def quiet_worker() -> None:
    """Pool worker setup: the CLI's SIGTERM handler (which raises KeyboardInterrupt) is
    not inherited, so a pool that is torn down prints no worker traceback; Ctrl-C is the
    parent's to handle."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
