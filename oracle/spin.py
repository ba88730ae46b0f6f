"""SPIN as a back end: Promela generated from the same Z3 terms as the compiled and the
native engines (one `d_step` per step instance, the tick normal form inside it, every
invariant as an assertion after it, a deadlock as an assertion that the state is an
intended terminal), verified by Debian's `spin` and gcc. A counterexample trail is mapped
back to step instances (each d_step prints its instance number when SPIN replays the
trail) and replayed through our steps from the initial state before it is reported.

SPIN has no symmetry reduction: its state count is compared with our explorer's count
without symmetry (`entersys explore --engine native --no-symmetry`)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from entersys.model.invariants import Invariant, terminal
from entersys.model.program import Instance, Program
from entersys.model.state import Config, initial_state
from entersys.oracle.cgen import CTranslator, simp
from entersys.oracle.explore import (
    Explorer,
    ExploreResult,
    State,
    Violation,
    normalize_ticks,
    tick_normal_form,
)
from entersys.proofs.protocol_z3 import SymbolicState, symbolic_invariant, symbolic_step
from entersys.results import CheckResult, Counterexample, Verdict, timed

SPIN_TIMEOUT = 1800.0


class SpinError(RuntimeError):
    """spin or gcc is missing, or failed on the generated model."""


class PromelaTranslator(CTranslator):
    """Z3 term -> Promela expression; a field no step writes is spelled as its constant."""

    def __init__(self, sym: SymbolicState, names: list[str],
                 consts: dict[int, int] | None = None) -> None:
        super().__init__(sym)
        self.names = names
        self.consts = consts or {}

    def field(self, pos: int) -> str:
        if pos in self.consts:
            return str(self.consts[pos])
        return self.names[pos]

    def ite(self, c: str, a: str, b: str) -> str:
        return f"({c} -> {a} : {b})"


def field_name(name: str) -> str:
    return "f_" + re.sub(r"[^A-Za-z0-9]", "_", name)


BYTE_MAX = 255
MINUS = re.compile(r"-(?!>)")  # a subtraction or a negative constant (not Promela's ->)


@dataclass
class Promela:
    source: str
    instances: list[Instance]
    fields: int = 0          # fields in SPIN's state vector
    constant: int = 0        # fields no step writes (constants, not in the state vector)
    byte_fields: int = 0     # of `fields`, those stored as `byte`


def generate(prog: Program, hidden: bool = True,
             invariants: list[Invariant] | None = None, compact: bool = True,
             wide: frozenset[str] = frozenset()) -> Promela:
    """The Promela model of one program: one global per field, initialised to the
    (normal-form) initial state; one process (`go`, the whole program: SPIN's scheduler
    plays no part) looping over one d_step per instance (a fused block of
    entersys.model.program.Program.fuse is one instance, hence one d_step).

    With `compact` (the default) the state vector is small: a field no instance and no
    normal-form rewrite writes is not a variable but its initial value inlined; a field
    whose initial value is in 0..255, that is not in `wide` (layout names) and whose
    written terms subtract nothing is a `byte`, and every d_step asserts that the values
    it stores into bytes are in range (an out-of-range value is never silently wrapped:
    the trail then ends with `RANGE <field>`, and run_spin widens that field and runs
    again). Without `compact`
    every field is a `short`, as in the native engine. The temporaries of the
    simultaneous assignments are `hidden` globals (not in the state vector), or, where
    SPIN refuses hidden variables (multi-core), locals reset to 0 at the end of every
    d_step (so they never tell two states apart)."""
    L = prog.layout
    sym = SymbolicState(prog)
    init = list(initial_state(L, prog.labels))
    normalize_ticks(L, init)
    insts = list(prog.instances())
    names = [field_name(n) for n in L.names]
    steps = [symbolic_step(prog, i, sym) for i in insts]
    plain = PromelaTranslator(sym, names)
    norm_terms = tick_normal_form(L, sym.view)
    written: set[int] = set(norm_terms)
    for st in steps:
        written |= set(st.writes)
    consts = {p: v for p, v in enumerate(init) if p not in written} if compact else {}
    tr = PromelaTranslator(sym, names, consts) if compact else plain
    texts: dict[int, list[str]] = {p: [plain(simp(t))] for p, t in norm_terms.items()}
    for st in steps:
        for p, t in st.writes.items():
            texts.setdefault(p, []).append(plain(simp(t)))
    byte = {p for p, v in enumerate(init)
            if compact and p not in consts and 0 <= v <= BYTE_MAX and L.names[p] not in wide
            and not any(MINUS.search(x) for x in texts.get(p, []))}
    invs = prog.invariants if invariants is None else invariants
    inv = " && ".join(f"({tr(simp(symbolic_invariant(prog, i, sym)))})" for i in invs)
    norm = {p: tr(simp(v)) for p, v in norm_terms.items()}
    term = tr(simp(terminal(prog, sym.view)))
    ntemp = max([len(norm)] + [len(st.writes) for st in steps])
    out = ["/* generated by entersys.oracle.spin from the steps' Z3 terms: do not edit */"]
    for p, v in enumerate(init):
        kind = "byte" if p in byte else "short"
        if p in consts:
            out.append(f"/* {L.names[p]} = {v}: no step writes it */")
        else:
            out.append(f"{kind} {names[p]} = {v};  /* {L.names[p]} */")
    if hidden:
        out += [f"hidden short t{k};" for k in range(ntemp)]
    out.append(f"#define INV ({inv or 1})")
    out.append(f"#define TERMINAL ({term})")
    norm_stmts = _assign(tr, norm, byte)
    out.append("active proctype go() {")
    if not hidden:
        out += [f"  short t{k};" for k in range(ntemp)]
    out.append("  assert(INV);\n  do")
    for k, (inst, st) in enumerate(zip(insts, steps)):
        guard = tr(simp(st.guard))
        writes = {p: tr(simp(v)) for p, v in st.writes.items()}
        reset = [] if hidden else [f"t{j} = 0" for j in range(max(len(writes), len(norm)))]
        body = [f"({guard})", *_assign(tr, writes, byte), *norm_stmts, *reset,
                f'printf("STEP {k}\\n")', "assert(INV)"]
        out.append(f"  :: d_step {{ /* {inst.label} */\n       " + ";\n       ".join(body)
                   + "\n     }")
    out.append('  :: else -> printf("NOSTEP\\n"); assert(TERMINAL); break')
    out.append("  od\n}")
    return Promela("\n".join(out) + "\n", insts, len(L) - len(consts), len(consts), len(byte))


def _assign(tr: PromelaTranslator, writes: dict[int, str],
            byte: set[int] | frozenset[int] = frozenset()) -> list[str]:
    """Simultaneous assignment: every value from the state before any write; a value that
    reads no field is stored directly. Values bound for `byte` fields are range-checked."""
    names = tr.names
    order = sorted(writes)
    temps = [(j, p) for j, p in enumerate(order) if not writes[p].lstrip("-").isdigit()]
    out = [f"t{j} = {writes[p]}" for j, p in temps]
    checks = [(f"t{j}", p) for j, p in temps if p in byte]
    bad = [p for p in order if p in byte and writes[p].lstrip("-").isdigit()
           and not 0 <= int(writes[p]) <= BYTE_MAX]
    if bad:
        raise SpinError(f"a step stores {writes[bad[0]]} into byte field {names[bad[0]]}")
    out += [f"if :: ({c} < 0 || {c} > {BYTE_MAX}) -> printf(\"RANGE {p}\\n\"); assert(0) "
            ":: else -> skip fi" for c, p in checks]
    out += [f"{names[p]} = {writes[p] if writes[p].lstrip('-').isdigit() else f't{j}'}"
            for j, p in enumerate(order)]
    return out


@dataclass
class SpinRun:
    states: int = 0
    matched: int = 0
    transitions: int = 0
    depth: int = 0
    errors: int = 0
    seconds: float = 0.0
    memory_mb: float = 0.0
    state_vector: int = 0
    bytes_per_state: float = 0.0   # SPIN's "actual memory usage for states" / states
    hash_factor: float | None = None
    complete: bool = True
    trail: list[int] | None = None
    deadlock: bool = False
    interrupted: bool = False
    output: str = ""
    flags: list[str] = field(default_factory=list)
    memlim_mb: int = 0
    memlim_reason: str = ""
    fields: int = 0
    constant_fields: int = 0
    byte_fields: int = 0
    range_fault: str | None = None   # the byte field a step overflowed (layout name)
    widened: list[str] = field(default_factory=list)  # byte fields made short after a fault


def check_tools() -> None:
    for tool in ("spin", "gcc"):
        if shutil.which(tool) is None:
            raise SpinError(f"{tool} is not installed (Debian: apt-get install -y spin gcc)")


MEMLIM_CAP_MB = 8192   # default cap on SPIN's -DMEMLIM (ENTERSYS_SPIN_MEMLIM_CAP overrides)
COMPRESSIONS = ("collapse", "hc4", "none")


def memory_limit(cap_mb: int | None = None) -> tuple[int, str]:
    """(-DMEMLIM in MB, why): 60% of the memory the kernel reports available
    (/proc/meminfo MemAvailable), capped at `cap_mb` (default ENTERSYS_SPIN_MEMLIM_CAP or
    MEMLIM_CAP_MB) and at least 256 MB."""
    cap = cap_mb or int(os.environ.get("ENTERSYS_SPIN_MEMLIM_CAP", MEMLIM_CAP_MB))
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) // 1024
    except OSError:
        pass
    if avail is None:
        return cap, f"cap {cap} MB (available memory unknown)"
    want = max(256, avail * 6 // 10)
    if want > cap:
        return cap, f"capped at {cap} MB (60% of the {avail} MB available is {want} MB)"
    return want, f"60% of the {avail} MB available"


def run_spin(prog: Program, cores: int = 1, bitstate: bool = False, max_depth: int = 1_000_000,
             invariants: list[Invariant] | None = None,
             memory_mb: int | None = None, hash_bits: int = 25, compression: str = "collapse",
             compact: bool = True, time_limit: float | None = None,
             timeout: float = SPIN_TIMEOUT, extra_flags: list[str] | None = None,
             run_args: list[str] | None = None) -> SpinRun:
    """Verify the generated model with SPIN's depth-first search (its multi-core mode,
    -DNCORE, with `cores` > 1; supertrace, -DBITSTATE with 2^30 bits, with `bitstate`).
    Trails are not the shortest (SPIN's breadth-first mode rejects the hidden temporaries
    of the simultaneous assignments). `compression` of the stored states: "collapse"
    (-DCOLLAPSE, exact; the default), "hc4" (-DHC4 hash compaction, a small probability
    of a missed state) or "none". `memory_mb` is -DMEMLIM (default: memory_limit()).
    `compact` is generate()'s compact state vector. `time_limit` interrupts pan after that
    many seconds (a throughput sample: the run is then incomplete). `extra_flags` go to
    gcc, `run_args` to pan (swarm: seeds, search orders). Raises SpinError if a tool is
    missing or fails."""
    check_tools()
    if compression not in COMPRESSIONS:
        raise SpinError(f"unknown compression {compression!r}: {', '.join(COMPRESSIONS)}")
    why = f"given ({memory_mb} MB)"
    if memory_mb is None:
        memory_mb, why = memory_limit()
    flags = ["-O2", "-DSAFETY", f"-DMEMLIM={memory_mb}", "-DVECTORSZ=4096"]
    if bitstate:
        flags.append("-DBITSTATE")
    if cores > 1:
        flags.append(f"-DNCORE={cores}")
    if not bitstate and compression == "collapse":
        flags.append("-DCOLLAPSE")
    if not bitstate and compression == "hc4":
        flags.append("-DHC4")
    flags += extra_flags or []
    # -E: no invalid end states (a deadlock is our assertion); -w: hash table size
    args = ["./pan", f"-m{max_depth}", "-E", f"-w{30 if bitstate else hash_bits}",
            *(run_args or [])]
    wide: set[str] = set()
    while True:
        pml = generate(prog, hidden=cores == 1, invariants=invariants, compact=compact,
                       wide=frozenset(wide))
        run = SpinRun(flags=flags, memlim_mb=memory_mb, memlim_reason=why, fields=pml.fields,
                      constant_fields=pml.constant, byte_fields=pml.byte_fields,
                      widened=sorted(wide))
        _run_once(prog, pml, run, args, time_limit, timeout)
        if run.range_fault is None or run.range_fault in wide:
            return run
        wide.add(run.range_fault)  # a byte field overflowed: make it a short, run again


def _run_once(prog: Program, pml: Promela, run: SpinRun, args: list[str],
              time_limit: float | None, timeout: float) -> None:
    pan = _build_pan(pml.source, run.flags, timeout)
    with tempfile.TemporaryDirectory(prefix="entersys-spin-") as tmp:
        d = Path(tmp)
        (d / "model.pml").write_text(pml.source)
        shutil.copy(pan, d / "pan")
        t0 = time.perf_counter()
        with subprocess.Popen(args, cwd=d, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) as proc:
            try:
                out, _ = proc.communicate(timeout=time_limit or timeout)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGINT)  # pan stops and prints its statistics
                try:
                    out, _ = proc.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    out, _ = proc.communicate()
                if not time_limit:
                    raise SpinError(f"pan did not finish within {timeout:.0f} s") from None
                run.interrupted = True
        run.seconds = time.perf_counter() - t0
        run.output = out
        _parse(run)
        trail = d / "model.pml.trail"
        if run.errors and trail.exists():
            t = subprocess.run(["spin", "-t", "model.pml"], cwd=d, capture_output=True,
                               text=True, timeout=timeout)
            steps = re.findall(r"^\s*STEP (\d+)$", t.stdout, re.M)
            run.trail = [int(x) for x in steps]
            run.deadlock = "NOSTEP" in t.stdout
            rng = re.search(r"^\s*RANGE (-?\d+)$", t.stdout, re.M)
            run.range_fault = prog.layout.names[int(rng.group(1))] if rng else None


def _build_pan(source: str, flags: list[str], timeout: float) -> Path:
    """spin -a and gcc, cached under ~/.cache/entersys/spin/<sha256 of model and flags>."""
    from entersys.oracle.native_explore import cache_dir

    key = hashlib.sha256("\0".join([source, *flags]).encode()).hexdigest()[:32]
    out = cache_dir().parent / "spin" / key / "pan"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="entersys-spin-") as tmp:
        d = Path(tmp)
        (d / "model.pml").write_text(source)
        for cmd in (["spin", "-a", "model.pml"], ["gcc", *flags, "-o", "pan", "pan.c"]):
            p = subprocess.run(cmd, cwd=d, capture_output=True, text=True, timeout=timeout)
            if p.returncode != 0:
                msg = (p.stderr or p.stdout).strip().splitlines()
                raise SpinError(f"{cmd[0]} failed: {msg[-1] if msg else p.returncode}")
        tmp_out = out.with_suffix(f".{os.getpid()}.tmp")
        shutil.copy(d / "pan", tmp_out)
        tmp_out.replace(out)
    return out


def _num(pat: str, text: str, conv: Any = int) -> Any:
    m = re.search(pat, text)
    return conv(m.group(1)) if m else None


def _parse(run: SpinRun) -> None:
    out = run.output
    run.states = _num(r"([\d.e+]+) states, stored", out, lambda x: int(float(x))) or 0
    run.matched = _num(r"([\d.e+]+) states, matched", out, lambda x: int(float(x))) or 0
    run.transitions = _num(r"([\d.e+]+) transitions \(= ", out, lambda x: int(float(x))) or 0
    run.depth = _num(r"depth reached (\d+)", out) or 0
    run.errors = _num(r"errors: (\d+)", out) or 0
    run.state_vector = _num(r"State-vector (\d+) byte", out) or 0
    run.memory_mb = _num(r"([\d.]+)\s+total actual memory usage", out, float) or 0.0
    run.hash_factor = _num(r"hash factor: ([\d.e+]+)", out, float)
    per = _num(r"([\d.]+)\s+actual memory usage for states", out, float)
    if run.states and per:
        run.bytes_per_state = per * 1048576 / run.states
    elapsed = _num(r"elapsed time ([\d.e+]+) seconds", out, float)
    if elapsed:
        run.seconds = elapsed
    run.complete = (not run.interrupted and "Search not completed" not in out
                    and "MEMLIM bound" not in out and "max search depth too small" not in out
                    and "out of memory" not in out and "error: max search depth" not in out)


def trail_path(ex: Explorer, insts: list[Instance], trail: list[int]) -> list[tuple[str, State]]:
    """Replay a SPIN trail (instance numbers) through our steps (the compiled engine) from
    the initial state; raises SpinError if a step is not enabled where the trail takes it."""
    s = list(initial_state(ex.L, ex.prog.labels))
    normalize_ticks(ex.L, s)
    cur: State = tuple(s)
    path: list[tuple[str, State]] = [("", cur)]
    for k, i in enumerate(trail, 1):
        want = insts[i]
        for inst, succ in ex.successors(cur):
            if inst == want:
                cur = succ
                path.append((inst.label, cur))
                break
        else:
            raise SpinError(f"trail step {k} ({want.label}) is not enabled in our model")
    return path


def explore_spin(cfg: Config, go: str, mutant: str | None = None, symmetry: bool = True,
                 max_states: int = 5_000_000, cores: int = 1, bitstate: bool = False,
                 extra_invariants: list[Invariant] | None = None) -> Any:
    """`entersys explore --engine spin`: the same record as the other engines (safety and
    deadlocks; SPIN does not run our progress checks), with SPIN's figures in details."""
    from entersys.model.mutants import MUTANTS
    from entersys.oracle.protocol import GROUP, Exploration, build_program, replay_command

    full = all(getattr(cfg, p) for p in ("stw", "foreachp", "gc", "sysmon", "blockhint", "raw"))
    tag = (f"go{go}.{cfg.ms}m{cfg.ps}p{cfg.gs}g" + ("" if full else ".partial")
           + (f".{mutant}" if mutant else "") + ".spin")
    title = (f"Go {go} protocol, {cfg.ms} Ms / {cfg.ps} Ps / {cfg.gs} Gs"
             + (f", mutant {mutant}" if mutant else "") + ": every invariant, no deadlock (SPIN)")
    expected = Verdict.REFUTED if mutant else Verdict.HOLDS
    with timed() as t:
        prog = build_program(cfg, go, mutant)
        invs = prog.invariants + (extra_invariants or [])
        ex = Explorer(prog, symmetry=False, invariants=invs)
        try:
            run = run_spin(prog, cores=cores, bitstate=bitstate, invariants=invs)
        except (SpinError, OSError, subprocess.SubprocessError) as e:
            err = CheckResult(f"{GROUP}.{tag}", GROUP, title, "explore", Verdict.ERROR,
                              expected, t(), Counterexample(summary=f"SPIN failed: {e}"),
                              {"engine": "spin"})
            return Exploration(err, ex, ExploreResult(complete=False))
    cex = None
    violated: list[str] = []
    if run.errors:
        path = trail_path(ex, list(prog.instances()) if run.trail is not None else [],
                          run.trail or [])
        last = path[-1][1]
        if run.deadlock:
            viol = Violation("DEADLOCK", "no step enabled in a state that is not an intended "
                             "terminal state", last, "deadlock")
            violated = ["DEADLOCK"]
        else:
            bad = ex.check_invariants(last)
            if not bad:
                raise SpinError("SPIN's trail ends in a state where every invariant holds")
            viol = Violation(bad[0].id, bad[0].title, last)
            violated = [i.id for i in bad]
        rules = {name: s.rule for name, s in prog.steps.items()}
        cex = ex.counterexample_of_path(path, viol, replay_command(cfg, go, mutant)
                                        + " --engine spin", rules, "SPIN's trail")
        verdict = Verdict.REFUTED
    elif not run.complete or bitstate:
        verdict = Verdict.UNKNOWN if not run.complete else Verdict.HOLDS
    else:
        verdict = Verdict.HOLDS
    details: dict[str, Any] = {
        "engine": "spin", "states": run.states, "transitions": run.transitions,
        "depth": run.depth, "explore_seconds": round(run.seconds, 3),
        "states_per_second": round(run.states / run.seconds) if run.seconds else None,
        "complete": run.complete, "symmetry": False, "cores": cores, "bitstate": bitstate,
        "memory_mb": run.memory_mb, "state_vector_bytes": run.state_vector,
        "bytes_per_state": round(run.bytes_per_state, 1), "hash_factor": run.hash_factor,
        "spin_flags": run.flags, "violated": violated,
        "memlim_mb": run.memlim_mb, "memlim": run.memlim_reason,
        "state_fields": run.fields, "byte_fields": run.byte_fields,
        "constant_fields": run.constant_fields, "widened_fields": run.widened,
        "checks": "invariants and deadlocks (progress checks: native and python engines)"}
    if mutant:
        details["rule"] = MUTANTS[mutant].rule
        details["trace_length"] = len(cex.trace) if cex else None
    rec = CheckResult(f"{GROUP}.{tag}", GROUP, title, "explore", verdict, expected, t(), cex,
                      details)
    return Exploration(rec, ex, ExploreResult(states=run.states, transitions=run.transitions,
                                              depth=run.depth, complete=run.complete))
