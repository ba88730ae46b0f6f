"""Result records for the protocol model: an exhaustive exploration of one configuration,
and the mutant catalog (each mutant must be killed). Used by `entersys explore`,
`entersys mutants` and the protocol groups of `entersys verify`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from entersys.model.invariants import KILL_KINDS, Invariant
from entersys.model.mutants import MUTANTS, apply, for_version
from entersys.model.program import VERSIONS, Program
from entersys.model.state import PARTS, Config
from entersys.oracle import liveness as live
from entersys.oracle.explore import Explorer, ExploreResult
from entersys.results import CheckResult, Counterexample, Verdict, timed

GROUP = "protocol-model"
# `core` explores 2 Ms / 2 Ps / 2 Gs exhaustively in about a minute; `full` adds forEachP,
# the GC scan bit, entersyscallblock and blocking RawSyscalls, which multiply the states.
# `rawwait` (a RawSyscall that waits on another G) is a misuse of RawSyscall, explored on
# its own by raw_wait_witness; `locked` (LockOSThread) is explored in a configuration of
# its own (VERIFY_CONFIGS). Neither is part of either set.
PART_SETS = {"core": ("stw", "sysmon"),
             "full": tuple(p for p in PARTS if p not in ("rawwait", "locked"))}


def with_parts(cfg: Config, parts: tuple[str, ...]) -> Config:
    return replace(cfg, **{p: p in parts for p in PARTS})

# The configuration `entersys verify` explores exhaustively for each version, and the one
# the mutant catalog is run on (every mutant is killed there; see tests/test_mutants.py).
VERIFY_CONFIGS = (Config(ms=1, ps=1, gs=1),                      # every part
                  with_parts(Config(ms=2, ps=1, gs=2), PART_SETS["core"]),  # two Gs, ABA
                  with_parts(Config(ms=2, ps=2, gs=1), PART_SETS["core"]),
                  # LockOSThread: the locked-M paths of schedule and exitsyscall0 (R14)
                  replace(with_parts(Config(ms=2, ps=1, gs=2), PART_SETS["core"]),
                          locked=True))
# What `entersys explore` runs with no size or part options.
EXPLORE_DEFAULT = with_parts(Config(ms=2, ps=2, gs=2), PART_SETS["core"])
MUTANT_CONFIG = Config(ms=1, ps=1, gs=1)


def config_flags(cfg: Config) -> str:
    on = [n for n in PARTS if getattr(cfg, n)]
    if set(on) == set(PART_SETS["full"]):
        return " --parts full"
    core = PART_SETS["core"]
    return ("".join(f" --with {n}" for n in on if n not in core)
            + "".join(f" --without {n}" for n in core if n not in on))


def replay_command(cfg: Config, go: str, mutant: str | None) -> str:
    m = f" --mutant {mutant}" if mutant else ""
    return (f"entersys explore --go {go} --ms {cfg.ms} --ps {cfg.ps} --gs {cfg.gs}"
            f"{config_flags(cfg)}{m}")


def build_program(cfg: Config, go: str, mutant: str | None = None) -> Program:
    prog = Program(replace(cfg, go=go), go=go)
    return apply(prog, mutant) if mutant else prog


@dataclass
class Exploration:
    result: CheckResult
    explorer: Explorer
    run: ExploreResult
    liveness: list[CheckResult] = field(default_factory=list)  # one per property
    # bounded stalls (kind `latency`, verdict holds): what only sysmon's timer ends
    latency: list[CheckResult] = field(default_factory=list)


ENGINES = ("python", "native", "spin")


def explore(cfg: Config, go: str, mutant: str | None = None, symmetry: bool = True,
            max_states: int = 5_000_000,
            progress: bool | Callable[[dict[str, Any]], None] = True,
            liveness: bool | None = None,
            user_invariants: tuple[str, list[Invariant]] | None = None,
            engine: str = "python", cores: int = 1, bitstate: bool = False,
            spin_options: dict[str, Any] | None = None) -> Exploration:
    """Safety (every invariant, deadlock, progress) over the symmetric graph, and, with
    `liveness` (None: when the graph without symmetry is small enough, see
    entersys.oracle.liveness.AUTO_LIMIT), the fair-lasso checks over the graph without
    symmetry. For a mutant, a liveness failure also kills it. `user_invariants` is
    (file, invariants) from model.invariants.load_user_invariants, checked beside the
    built-in ones.

    `engine`: `python` (the compiled Python engine), `native` (C generated from the same
    terms, `cores` threads) or `spin` (Promela generated from the same terms, run by SPIN;
    `cores` > 1 its multi-core mode, `bitstate` its supertrace, `spin_options` the swarm
    options of entersys.oracle.spin_explore.explore_spin; safety and deadlocks, and with
    `liveness` True SPIN's fair acceptance-cycle search).
    `progress` is whether to run the progress checks, or a callback that gets {states,
    transitions, depth, seconds, states_per_second, bytes, rss} during a native run (the
    checks then run too)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")
    extra = user_invariants[1] if user_invariants else []
    if engine == "spin":
        from entersys.oracle.spin_explore import explore_spin

        return explore_spin(cfg, go, mutant, symmetry=symmetry, max_states=max_states,
                            cores=cores, bitstate=bitstate, extra_invariants=extra,
                            liveness=liveness, **(spin_options or {}))
    on_progress = progress if callable(progress) else None
    checks = bool(progress)
    with timed() as t:
        prog = build_program(cfg, go, mutant)
        ex: Explorer
        if engine == "native":
            from entersys.oracle.native_explore import NativeExplorer

            ex = nex = NativeExplorer(prog, symmetry=symmetry, threads=cores,
                                      invariants=prog.invariants + extra)
            res = nex.run(max_states=max_states, progress=checks, on_progress=on_progress)
        else:
            ex = Explorer(prog, symmetry=symmetry, invariants=prog.invariants + extra)
            res = ex.run(max_states=max_states, progress=checks)
    rules = {name: s.rule for name, s in prog.steps.items()}
    cex = None
    killed_by = None
    replay = replay_command(cfg, go, mutant) + (
        f" --invariants {user_invariants[0]}" if user_invariants else "")
    if res.violations:
        verdict = Verdict.REFUTED
        cex = ex.counterexample(res, res.violations[0], replay, rules)
        killed_by = res.violations[0].property
    elif not res.complete:
        verdict = Verdict.UNKNOWN
        cex = Counterexample(
            summary=f"inconclusive: the state cap was reached ({max_states} states, "
                    f"depth {res.depth}) before the exploration was exhaustive",
            values={"reason": "max-states", "limit": max_states, "states": res.states},
            replay=replay_command(cfg, go, mutant) + f" --max-states {max_states * 4}")
    else:
        verdict = Verdict.HOLDS
    live_recs: list[CheckResult] = []
    lat_recs: list[CheckResult] = []
    estimate = live.estimated_states(res.states, cfg.ms, cfg.ps, cfg.gs)
    if liveness is None:
        liveness = live_auto(engine, estimate)
    live_note = "not run: safety already refuted" if liveness else (
        f"not checked: about {estimate} states without symmetry (--liveness on forces it)")
    if liveness and verdict == Verdict.HOLDS:
        with timed() as t2:
            lr = live_check(engine, build_program(cfg, go, mutant), max_states, estimate,
                            cores, getattr(ex, "values", None), on_progress)
        tag0 = _tag(cfg, go, mutant)
        live_recs = live.records(lr, GROUP, tag0, f"Go {go} protocol, {cfg.ms} Ms / "
                                 f"{cfg.ps} Ps / {cfg.gs} Gs", replay + " --liveness on")
        bad = [r for r in live_recs if r.verdict == Verdict.REFUTED]
        if not mutant:
            lat_recs = live.stall_records(lr, live.bounded_stalls(lr), GROUP, tag0,
                                          f"Go {go} protocol, {cfg.ms} Ms / {cfg.ps} Ps / "
                                          f"{cfg.gs} Gs", replay + " --liveness on")
        if mutant and bad:
            verdict, cex, killed_by = Verdict.REFUTED, bad[0].counterexample, \
                bad[0].id.rsplit(".", 1)[1]
        live_note = f"checked in {t2():.1f} s ({lr.run.states} states without symmetry)"
    # a mutant recorded as equivalent in the model must hold (Mutant.equivalent says why)
    expected = Verdict.REFUTED if mutant and not MUTANTS[mutant].equivalent \
        else Verdict.HOLDS
    tag = _tag(cfg, go, mutant)
    title = (f"Go {go} protocol, {cfg.ms} Ms / {cfg.ps} Ps / {cfg.gs} Gs"
             + (f", mutant {mutant} ({MUTANTS[mutant].rule})" if mutant else "")
             + ": every invariant, no deadlock, progress")
    details: dict[str, Any] = {
        "states": res.states, "transitions": res.transitions, "depth": res.depth,
        "explore_seconds": round(res.seconds, 3),
        "states_per_second": round(res.states_per_second),
        "complete": res.complete, "symmetry": symmetry, "engine": engine,
        "actors": sorted(prog.enabled_actors()),
        "violated": [v.property for v in res.violations] or (
            [killed_by] if killed_by else []),  # a liveness kill names its property
        "liveness": live_note,
        "user_invariants": [i.id for i in extra],
    }
    if engine == "native":
        details.update(cores=cores, bytes=getattr(res, "bytes", None),
                       bytes_per_state=round(getattr(res, "bytes_per_state", 0.0), 1),
                       packed_bytes_per_state=getattr(res, "packed_bytes", None))
    if mutant:
        details["rule"] = MUTANTS[mutant].rule
        if MUTANTS[mutant].equivalent:
            details["equivalent"] = MUTANTS[mutant].equivalent
        details["trace_length"] = len(cex.trace) if cex else None
        details["killed_by"] = killed_by
        details["kill_kind"] = KILL_KINDS.get(killed_by or "", None)
        if killed_by == "I0" and res.violations:
            details["go_throw"] = go_throws(prog, res.violations[0].state)
    rec = CheckResult(f"{GROUP}.{tag}", GROUP, title, "explore", verdict, expected, t(), cex,
                      details)
    return Exploration(rec, ex, res, [] if mutant else live_recs, lat_recs)


def go_throws(prog: Program, state: Any) -> list[str]:
    """Go's throw messages (with their source) recorded in a state: "M0: stopm holding p
    (proc.go stopm)", "W/F/GC: ..." for sched's throw."""
    from entersys.model.program import THROW_SOURCES, THROWS

    L, out = prog.layout, []
    who = [(f"M{i}", L.mname[i]["throw"]) for i in range(prog.cfg.ms)]
    for name, pos in [*who, ("W/F/GC", L.index["throw"])]:
        code = state[pos]
        if code:
            out.append(f"{name}: {THROWS.get(code, '?')} ({THROW_SOURCES.get(code, '?')})")
    return out


def live_auto(engine: str, estimate: int) -> bool:
    """Whether `--liveness auto` runs the fair-lasso checks on a graph of about `estimate`
    states without symmetry: the native engine searches in C (native_liveness.AUTO_LIMIT),
    the others in Python (liveness.AUTO_LIMIT)."""
    if engine == "native":
        from entersys.oracle.native_liveness import AUTO_LIMIT

        return estimate <= AUTO_LIMIT
    return estimate <= live.AUTO_LIMIT


def live_check(engine: str, prog: Program, max_states: int, estimate: int,
               cores: int, values: list[set[int]] | None = None,
               on_progress: Callable[[dict[str, Any]], Any] | None = None
               ) -> live.LivenessRun:
    """The fair-lasso checks of `prog` on `engine`'s explorer (native: in C, up to the
    estimated size of the graph without symmetry, which bounds it, its value tables
    seeded by `values` from the safety run; else liveness.py)."""
    if engine == "native":
        from entersys.oracle import native_liveness

        return native_liveness.check(prog, max_states=max(max_states, estimate + 1),
                                     threads=cores, values=values, on_progress=on_progress)
    return live.check(prog, max_states=max_states)


def parts_tag(cfg: Config) -> str:
    """The parts of `cfg` as a record-id component: "" for the full set, "core" for the
    core set, else the parts joined by "+" ("stw+sysmon+locked")."""
    on = tuple(p for p in PARTS if getattr(cfg, p))
    for name, parts in PART_SETS.items():
        if on == tuple(p for p in PARTS if p in parts):
            return "" if name == "full" else name
    return "+".join(on) or "bare"


def _tag(cfg: Config, go: str, mutant: str | None) -> str:
    parts = parts_tag(cfg)
    return (f"go{go}.{cfg.ms}m{cfg.ps}p{cfg.gs}g" + (f".{parts}" if parts else "")
            + (f".{mutant}" if mutant else ""))


def mutant_results(go: str, cfg: Config = MUTANT_CONFIG, only: list[str] | None = None,
                   hypothesis: bool = False) -> list[CheckResult]:
    """One explorer record per mutant; with `hypothesis`, also one record of the Hypothesis
    machine hunting it (configuration and examples needed in its details)."""
    out = []
    for mid in only or for_version(go):
        if go not in MUTANTS[mid].versions:
            out.append(not_applicable(go, mid))
            continue
        rec = explore(MUTANTS[mid].config or cfg, go, mid).result
        rec.group = "protocol-mutants"
        rec.id = f"protocol-mutants.go{go}.{mid}"
        rec.kind = "mutant"
        out.append(rec)
        # the machine checks invariants on its own ladder of configurations: mutants only
        # liveness kills, or that need a part of their own, are not its to find
        if hypothesis and KILL_KINDS.get(MUTANTS[mid].expect) != "liveness" \
                and MUTANTS[mid].config is None and not MUTANTS[mid].equivalent:
            out.append(hypothesis_result(go, mid))
    return out


def not_applicable(go: str, mid: str) -> CheckResult:
    """The record of a version-only mutant asked for on a version without its rule."""
    m = MUTANTS[mid]
    return CheckResult(f"protocol-mutants.go{go}.{mid}", "protocol-mutants",
                       f"mutant {mid} ({m.rule}) is not applicable to Go {go}", "mutant",
                       Verdict.NOT_APPLICABLE, Verdict.NOT_APPLICABLE, 0.0, None,
                       {"reason": f"{mid} exists only in Go {', '.join(m.versions)}",
                        "rule": m.rule})


def hypothesis_result(go: str, mid: str) -> CheckResult:
    from entersys.oracle.machine import hunt_mutant
    from entersys.results import Counterexample, TraceStep

    with timed() as t:
        h = hunt_mutant(go, mid)
    cex = None
    details: dict[str, Any] = {"examples": h.examples,
                               "config": "{}m{}p{}g {}".format(*h.config) if h.config else None}
    if h.found is not None:
        details.update(invariant=h.found.inv.id, trace_length=len(h.found.trace))
        cex = Counterexample(
            summary=f"{h.found.inv.id} violated after {len(h.found.trace)} random steps "
                    f"({h.examples} examples; not shrunk)",
            trace=[TraceStep(k, lab.split(":", 1)[0], lab.split(":", 1)[1], "", {}, {})
                   for k, lab in enumerate(h.found.trace, 1)])
    return CheckResult(f"protocol-mutants.go{go}.{mid}.hypothesis", "protocol-mutants",
                       f"the Hypothesis machine finds mutant {mid}", "hypothesis",
                       Verdict.REFUTED if h.found else Verdict.HOLDS, Verdict.REFUTED, t(),
                       cex, details)


def verify_results(versions: tuple[str, ...] = VERSIONS,
                   configs: tuple[Config, ...] = VERIFY_CONFIGS) -> list[CheckResult]:
    out = []
    for go in versions:
        for cfg in configs:
            run = explore(cfg, go)
            # liveness (and its bounded stalls) where the graph is small enough
            out += [run.result, *run.liveness, *run.latency]
    return out


# The configuration of the raw-wait witness: 2 Ms, 1 P, 2 Gs, core parts.
RAW_WAIT_CONFIG = with_parts(Config(ms=2, ps=1, gs=2), PART_SETS["core"])


def raw_wait_witness(go: str, path: str) -> CheckResult:
    """The model's witness that a call which waits on another goroutine must not be a
    RawSyscall: at 2 Ms / 1 P / 2 Gs with the core parts, G1 calls into the kernel and
    returns only after another G has run (user.signal).

    path="raw": the call is `RawSyscall` (part `rawwait`): no entersyscall, the P stays
    _Prunning with its M blocked, sysmon cannot retake it and stop-the-world cannot stop
    it, so the other G never runs: expected REFUTED (DEADLOCK), with the trace as the
    record's counterexample. path="syscall": the call is `Syscall` (entersyscall; the P
    goes _Psyscall and sysmon's retake hands it off): expected HOLDS.
    Go 1.25 syscall/syscall_linux.go RawSyscall, runtime/proc.go retake.
    Raises ValueError for an unknown go or path."""
    if path not in ("raw", "syscall"):
        raise ValueError(f"path must be 'raw' or 'syscall', not {path!r}")
    if go not in VERSIONS:
        raise ValueError(f"unknown Go version {go!r}; supported: {', '.join(VERSIONS)}")
    cfg = replace(RAW_WAIT_CONFIG, rawwait=True) if path == "raw" else RAW_WAIT_CONFIG
    run = explore(cfg, go)
    rec = run.result
    # the syscall path must also keep every runnable G live under fairness
    rec.details["liveness_results"] = {r.id.rsplit(".", 1)[1]: r.verdict.label
                                       for r in run.liveness}
    bad = [r for r in run.liveness if r.verdict == Verdict.REFUTED]
    if bad and rec.verdict == Verdict.HOLDS:
        rec.verdict, rec.counterexample = Verdict.REFUTED, bad[0].counterexample
    rec.id = f"{GROUP}.rawwait.go{go}.{path}"
    rec.kind = "witness"
    rec.expected = Verdict.REFUTED if path == "raw" else Verdict.HOLDS
    call = "RawSyscall" if path == "raw" else "Syscall"
    rec.title = (f"Go {go}: a {call} that returns only after another G has run, "
                 "2 Ms / 1 P / 2 Gs: " + ("the other G starves (deadlock)" if path == "raw"
                                         else "no deadlock"))
    rec.details["path"] = path
    return rec
