"""Liveness in SPIN: the LIVE-* properties of entersys.oracle.liveness as one never claim,
searched for acceptance cycles under SPIN's weak fairness (`pan -a -f`); an accepting
cycle is mapped back into a lasso (prefix + loop) and replayed through our interpreter
(entersys.cmd_replay.reproduces: the cycle must close and be fair under *our* fairness).

How entersys's fairness actors map onto Promela processes:
  - each M is one process (`M0`, `M1`, ...), and sysmon, W, F and the GC one each: SPIN's
    weak fairness per process is implied by ours (a process enabled in every state of a
    cycle has a weakly fair actor enabled throughout, or a strongly fair class enabled
    somewhere; either must step);
  - the environment's steps (liveness.env_steps: a new stop-the-world, forEachP or GC
    round, and a design's version of one, Go 1.26+ `stw.begin26`) are a process `env` of
    their own, which owes no fairness: it also has a stutter step that is always enabled,
    so SPIN's fairness is met by stuttering; a cycle may not use an environment step (the
    claim's states require `last != ENV_LAST`, the value every environment step stores);
  - a pending state from which only the environment can step (liveness._stuck) is an
    accepting cycle of `env`'s stutter alone, as in ours.
Our fairness classes (liveness.prepare) are finer than SPIN's processes: strongly fair
classes (each M's preemption, each G's turn in the run queue, sysmon's visit of each P and
its "10 ms passed" choices, a design's STRONGLY_FAIR steps) and weakly fair actors that
exclude them. SPIN would accept cycles that starve one of them, so the claim enforces
classes itself (generate_live's `fair`): each step stores its class in `last`; a cycle
is accepting only if each enforced weak class steps in it or is disabled somewhere in it,
and each enforced strong class steps in it or (guessed on entering the cycle) is disabled
in every state of it. Enforcing every class at once would cost 2^k claim branches for k
strong classes, so check_live refines: it starts with none, replays each lasso SPIN finds
under our fairness, adds the classes that made it unfair (cmd_replay.unfair_classes) and
searches again. A lasso fair for us is a violation; no lasso under the enforced classes
means the properties hold (a cycle fair for us meets every class); running out of rounds
is inconclusive, never a violation. One case is encoded exactly from the start: for
LIVE-RUN (G j), `schedule(j)` (strongly fair per G) makes G j running, so on a cycle where
G j stays runnable it is never taken, and the branch for G j requires every `schedule(j)`
guard false.

The property is one never claim with a branch per (property, G or P): `<>[] (pending &&
!exhausted && last != ENV_LAST)` for each, where `exhausted` is liveness._m_exhausted (no
claim where Go would create an M). The pending predicates are the liveness.Cond formulas
themselves, spelled in Promela."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from entersys.model.program import Program
from entersys.oracle import liveness as live
from entersys.oracle.cgen import simp
from entersys.oracle.explore import Explorer, normalize_ticks
from entersys.oracle.spin import SpinError, _build_pan, _parse, check_tools, memory_limit, prepare

LIVE_TIMEOUT = 900.0
MAX_TRAILS = 20
ORDERS: tuple[tuple[str, ...], ...] = ((), ("-t_reverse",))  # pan search orders tried


@dataclass
class Claim:
    prop: live.LivenessProperty
    about: int | None       # the G or P (0-based) of a per-G/P property
    text: str               # the pending predicate in Promela


def process_of(prog: Program, k: int) -> str:
    """The Promela process of instance k (see the module docstring)."""
    inst = prog.instances()[k]
    if inst.step.name in live.env_steps(prog):
        return "env"
    return f"M{inst.m}" if inst.m >= 0 else inst.step.actor


def claims(ex: Explorer, field: Any) -> list[Claim]:
    out = []
    for prop in live.PROPERTIES:
        targets = {"g": range(ex.L.cfg.gs), "p": range(ex.L.cfg.ps)}.get(prop.per, [0])
        for j in targets:
            c = prop.make(ex, j)
            if c is not None:
                out.append(Claim(prop, j if prop.per else None, c.text(field)))
    return out


ENV_LAST = 255   # `last` after an environment step
MAX_STRONG = 5   # strongly fair classes the claim may guess about (2^k branches each)


def _enabled_text(m: Any, ks: list[int]) -> str:
    """Promela: one of the instances `ks` can make a step that changes the state (guard
    true and some write differs), liveness._enabled's and cmd_replay's "enabled"."""
    alts = []
    for k in ks:
        st = m.steps[k]
        guard = m.tr(simp(st.guard))
        diff = " || ".join(f"({m.tr.field(p)} != ({m.tr(simp(v))}))"
                           for p, v in sorted(st.writes.items()))
        alts.append(f"(({guard}) && ({diff or '0'}))")
    return "(" + (" || ".join(alts) or "0") + ")"


_MODELS: dict[tuple[int, frozenset[str]], tuple[Program, Any]] = {}


def _model(prog: Program, wide: frozenset[str]) -> Any:
    """spin.prepare(prog, wide=wide), once per program and widening (check_live's rounds
    share it: the symbolic steps are the slow part of generating the model)."""
    hit = _MODELS.get((id(prog), wide))
    if hit is None or hit[0] is not prog:
        if len(_MODELS) > 8:
            _MODELS.clear()
        hit = _MODELS[(id(prog), wide)] = (prog, prepare(prog, wide=wide))
    return hit[1]


def generate_live(prog: Program, ex: Explorer, wide: frozenset[str] = frozenset(),
                  fair: tuple[int, ...] = ()) -> tuple[str, list[Claim], list[str]]:
    """(Promela source, the claim's branches, the process names). `wide`: byte fields made
    short (spin.prepare). `fair`: fairness classes of liveness.prepare (class numbers of
    `ex.actor_names`) the claim itself enforces, beyond SPIN's weak fairness per process:
    every step records its class in `last` (its index in `fair` plus one, 0 for other
    classes, ENV_LAST for the environment), and an accepting cycle must, for each weakly
    fair class in `fair`, take it or pass a state where it is disabled, and for each
    strongly fair class take it, or (a guess made on entering the cycle) find it
    disabled in every state (Streett to Buchi: a branch per guessed set, then a counter
    over the classes still owed, degeneralized)."""
    m = _model(prog, wide)
    out, cl, procs, code, strong, exhausted = _system(prog, ex, m, fair)
    out.append("never {\nT0_init:\n  do\n  :: true")
    for i, c in enumerate(cl):
        out.append(f"  :: ({c.text} && !{exhausted} && last != {ENV_LAST}) -> goto guess_{i}")
    out.append("  od;")
    for i, c in enumerate(cl):
        out += _branch(i, f"({c.text} && !{exhausted} && last != {ENV_LAST})", fair, code,
                       strong)
    out.append("}")
    return "\n".join(out) + "\n", cl, list(procs)


def generate_named(prog: Program, ex: Explorer, wide: frozenset[str],
                   fair_of: dict[int, tuple[int, ...]],
                   guess: str = "lazy") -> tuple[str, list[Claim], list[str]]:
    """generate_live with one named never claim `c<i>` per branch i of `fair_of` (claim
    branches numbered as `claims` lists them), each enforcing its own classes
    `fair_of[i]`: one pan serves every branch (`pan -a -N c<i>`), so the branches search
    separately (in parallel) and each refines only the classes its own lassos need.
    `guess`: "lazy" (_lazy_branch) or "upfront" (_branch, generate_live's). Returns
    (source, every claim branch, process names)."""
    m = _model(prog, wide)
    union = tuple(sorted({a for f in fair_of.values() for a in f}))
    out, cl, procs, code, strong, exhausted = _system(prog, ex, m, union)
    for i, fair in sorted(fair_of.items()):
        c = cl[i]
        inv = f"({c.text} && !{exhausted} && last != {ENV_LAST})"
        out.append(f"never c{i} {{\nT0_init:\n  do\n  :: true\n  :: {inv} -> goto guess_{i}"
                   "\n  od;")
        out += (_lazy_branch if guess == "lazy" else _branch)(i, inv, fair, code, strong)
        out.append("}")
    return "\n".join(out) + "\n", cl, list(procs)


def _lazy_branch(i: int, inv: str, fair: tuple[int, ...], code: dict[int, int],
                 strong: int) -> list[str]:
    """_branch with the guess made lazily: the counter visits the weakly fair classes,
    then the strongly fair ones; at a strong class's position the claim may add it to the
    set D of classes disabled from now on (checked in every later state) instead of
    waiting for it to step. D only grows, so on a cycle of the product it is constant:
    every class of D is disabled all along the cycle and every other class is served,
    which is _branch's condition; conversely a cycle meeting it is followed with D its
    never-taken strong classes. Until its first lap is done the claim is at (D, j) only
    with D among the strong classes before position j, where the guess made on entry
    tries every set of disabled classes at every position (measured, not bounded: see
    the README's SPIN liveness figures)."""
    order = [a for a in fair if not (1 << a) & strong] + [a for a in fair if (1 << a) & strong]
    bit = {a: 1 << b for b, a in enumerate(a for a in order if (1 << a) & strong)}
    n = len(order)

    def here(d: int) -> str:
        return _off(inv, tuple(a for a in bit if bit[a] & d))

    def loc(d: int, j: int) -> str:
        return f"accept_{i}_{d}" if j == n else f"w_{i}_{d}_{j}"

    out = [f"guess_{i}:\n  if\n  :: {here(0)} -> goto {loc(0, 0)}\n  fi;"]
    todo, seen = [(0, 0)], {(0, 0)}
    while todo:
        d, j = todo.pop()
        if j == n:
            alts = [(here(d), (d, 0))]
        else:
            a = order[j]
            if bit.get(a, 0) & d:      # disabled all along: nothing owed
                alts = [(here(d), (d, j + 1))]
            elif (1 << a) & strong:    # served, or disabled from now on, or not yet
                alts = [(f"({here(d)} && last == {code[a]})", (d, j + 1)),
                        (here(d | bit[a]), (d | bit[a], j + 1)), (here(d), (d, j))]
            else:                      # served or disabled here, or not yet
                alts = [(f"({here(d)} && (last == {code[a]} || !EN_{a}))", (d, j + 1)),
                        (here(d), (d, j))]
        out.append(f"{loc(d, j)}:\n  do")
        out += [f"  :: {c} -> goto {loc(*t)}" for c, t in alts]
        out.append("  od;")
        for _, t in alts:
            if t not in seen:
                seen.add(t)
                todo.append(t)
    return out


def _system(prog: Program, ex: Explorer, m: Any, fair: tuple[int, ...]) -> tuple[
        list[str], list[Claim], dict[str, list[str]], dict[int, int], int, str]:
    """The model without its claim: declarations, one process per fairness actor and the
    environment (each step storing its class's code in `last`: its index in `fair` plus
    one, 0 for other classes, ENV_LAST for the environment), EN_<class> for every class
    of `fair`; and the claim branches (LIVE-RUN's exact schedule(j) conjunct added), the
    codes, the strongly fair mask and the `exhausted` predicate's text."""
    live.prepare(ex)
    strong = live._masks(ex)[1]
    code = {a: j + 1 for j, a in enumerate(fair)}
    out = ["/* generated by entersys.oracle.spin_live from the steps' Z3 terms and the "
           "liveness properties: do not edit */", *m.declarations(), "byte last = 0;"]
    out += [f"hidden short t{k};" for k in range(m.ntemp)]
    norm = m.normal_form()
    procs: dict[str, list[str]] = {}
    by_class: dict[int, list[int]] = {}
    for k, inst in enumerate(m.insts):
        guard, assign = m.step(k)
        proc = process_of(prog, k)
        a = ex.actor_of[inst]
        by_class.setdefault(a, []).append(k)
        flag = f"last = {ENV_LAST if proc == 'env' else code.get(a, 0)}"
        body = [f"({guard})", *assign, *norm, flag, f'printf("STEP {k}\\n")']
        procs.setdefault(proc, []).append(
            f"  :: d_step {{ /* {inst.label} */\n       " + ";\n       ".join(body) + "\n     }")
    procs.setdefault("env", []).append('  :: d_step { last = 0; printf("STUTTER\\n") }')
    for name, alts in procs.items():
        out.append(f"active proctype {name}() {{\n  do")
        out += alts
        out.append("  od\n}")
    for a in fair:
        out.append(f"#define EN_{a} {_enabled_text(m, by_class.get(a, []))}"
                   f"  /* {ex.actor_names[a]} */")
    cl = claims(ex, m.tr.field)
    for c in cl:  # strong fairness of schedule(g) where it is exact (see the docstring)
        if c.prop.id == "LIVE-RUN" and c.about is not None:
            gs = [f"({m.step(k)[0]})" for k, i in enumerate(m.insts)
                  if i.step.name in live.QUEUE_STEPS and i.args[:1] == (c.about + 1,)]
            if gs:
                c.text = f"({c.text} && !({' || '.join(gs)}))"
    exhausted = live._m_exhausted(ex).text(m.tr.field)
    return out, cl, procs, code, strong, exhausted


def _branch(i: int, inv: str, fair: tuple[int, ...], code: dict[int, int],
            strong: int) -> list[str]:
    """The claim's states of branch i from `guess_<i>` on: a guessed set of strongly
    fair classes disabled on the whole cycle, then a counter over the classes still owed
    (each taken, or for a weak class disabled somewhere), degeneralized into one
    accepting state per guess."""
    out = []
    strong_fair = [a for a in fair if (1 << a) & strong]
    subsets = [tuple(a for b, a in enumerate(strong_fair) if n >> b & 1)
               for n in range(1 << len(strong_fair))]
    out.append(f"guess_{i}:\n  if")
    out += [f"  :: {_off(inv, d)} -> goto w_{i}_{n}_0" for n, d in enumerate(subsets)]
    out.append("  fi;")
    for n, d in enumerate(subsets):
        here = _off(inv, d)
        owed = [a for a in fair if a not in d]
        for j, a in enumerate(owed):
            sat = (f"last == {code[a]}" if (1 << a) & strong
                   else f"(last == {code[a]} || !EN_{a})")
            nxt = f"w_{i}_{n}_{j + 1}" if j + 1 < len(owed) else f"accept_{i}_{n}"
            out.append(f"w_{i}_{n}_{j}:\n  do\n  :: ({here} && {sat}) -> goto {nxt}"
                       f"\n  :: {here}\n  od;")
        if not owed:
            out.append(f"w_{i}_{n}_0:\n  do\n  :: {here} -> goto accept_{i}_{n}\n  od;")
        out.append(f"accept_{i}_{n}:\n  do\n  :: {here} -> goto w_{i}_{n}_0\n  od;")
    return out


def _off(inv: str, classes: tuple[int, ...]) -> str:
    """`inv` and every class of `classes` disabled."""
    return "(" + " && ".join([inv, *[f"!EN_{a}" for a in classes]]) + ")"


@dataclass
class LiveRun:
    found: bool = False
    complete: bool = True
    prefix: list[int] = field(default_factory=list)   # instance numbers before the cycle
    cycle: list[int] = field(default_factory=list)    # instance numbers of the cycle
    lassos: list[tuple[list[int], list[int]]] = field(default_factory=list)  # every trail
    states: int = 0
    transitions: int = 0
    seconds: float = 0.0
    memory_mb: float = 0.0
    processes: list[str] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    output: str = ""
    fair: list[str] = field(default_factory=list)     # classes the claim enforces
    widened: list[str] = field(default_factory=list)  # byte fields made short
    build_seconds: float = 0.0                        # spin -a and gcc (0 when cached)
    bytes_per_state: float = 0.0


def run_live(prog: Program, memory_mb: int | None = None, hash_bits: int = 22,
             max_depth: int = 200_000, timeout: float = LIVE_TIMEOUT,
             max_trails: int = MAX_TRAILS, order: tuple[str, ...] = (),
             fair: tuple[int, ...] = (), compression: str = "collapse") -> LiveRun:
    """Search the program for fair acceptance cycles of the LIVE-* claim (`pan -a -f`,
    partial-order reduction off: -DNOREDUCE), keeping the first `max_trails` trails
    (`-e -c`): a cycle SPIN finds may be unfair under our strong fairness, and the next
    may not be. `fair`: the classes the claim enforces (generate_live). A byte field a
    step overflows (the trail ends in `RANGE <field>`) is widened to short and the search
    runs again. Raises SpinError if a tool fails or the search does not finish."""
    check_tools()
    wide: set[str] = set()
    while True:
        run, fault = _run_live_once(prog, memory_mb, hash_bits, max_depth, timeout,
                                    max_trails, order, fair, frozenset(wide), compression)
        if fault is None:
            return run
        if fault in wide:
            raise SpinError(f"byte field {fault} overflowed after widening")
        wide.add(fault)


def _run_live_once(prog: Program, memory_mb: int | None, hash_bits: int, max_depth: int,
                   timeout: float, max_trails: int, order: tuple[str, ...],
                   fair: tuple[int, ...], wide: frozenset[str],
                   compression: str) -> tuple[LiveRun, str | None]:
    from entersys.oracle.spin import SpinRun, compression_flags

    ex = Explorer(prog, symmetry=False)
    src, cl, procs = generate_live(prog, ex, wide, fair)
    mem = memory_mb or memory_limit()[0]
    flags = ["-O1", "-DNOREDUCE", f"-DMEMLIM={mem}", "-DVECTORSZ=4096",
             *compression_flags(compression), f"-DNFAIR={max(3, len(procs) + 1)}"]
    run = LiveRun(processes=procs, claims=cl, flags=flags,
                  fair=[ex.actor_names[a] for a in fair], widened=sorted(wide))
    t0 = time.perf_counter()
    pan = _build_pan(src, flags, timeout)
    run.build_seconds = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="entersys-spin-") as tmp:
        d = Path(tmp)
        (d / "model.pml").write_text(src)
        shutil.copy(pan, d / "pan")
        t0 = time.perf_counter()
        try:
            p = subprocess.run(["./pan", "-a", "-f", "-e", f"-c{max_trails}", f"-m{max_depth}",
                                f"-w{hash_bits}", *order],
                               cwd=d, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SpinError(f"pan -a -f did not finish within {timeout:.0f} s") from None
        run.seconds = time.perf_counter() - t0
        run.output = p.stdout + p.stderr
        sr = SpinRun(output=run.output)
        _parse(sr)
        run.states, run.transitions, run.memory_mb = sr.states, sr.transitions, sr.memory_mb
        run.bytes_per_state = sr.bytes_per_state
        run.complete = sr.complete
        overflow = read_lassos(run, d, lambda n: ["spin", f"-t{n}", "model.pml"],
                               max_trails, timeout)
        if overflow is not None:
            return run, prog.layout.names[overflow]
    return run, None


def read_lassos(run: LiveRun, d: Path, replay: Callable[[int], list[str]], max_trails: int,
                timeout: float) -> int | None:
    """Replay pan's acceptance trails model.pml1.trail ... (at most `max_trails`) in
    directory `d` with the command `replay(n)` and append each lasso (prefix and cycle
    step numbers, the `STEP k` lines the model prints) to run.lassos; set run.found,
    run.prefix and run.cycle from the first. Returns the layout position of a field whose
    range assertion a trail broke (the model must be widened), else None. Raises
    SpinError for a trail with no cycle, subprocess.TimeoutExpired past `timeout` s."""
    for n in range(1, max_trails + 1):
        if not (d / f"model.pml{n}.trail").exists():
            break
        t = subprocess.run(replay(n), cwd=d, capture_output=True, text=True, timeout=timeout)
        rng = re.search(r"^\s*RANGE (-?\d+)$", t.stdout, re.M)
        if rng:
            return int(rng.group(1))
        head, mark, tail = t.stdout.partition("START OF CYCLE")
        if not mark:
            raise SpinError(f"SPIN's acceptance trail {n} has no cycle")
        run.lassos.append(([int(x) for x in re.findall(r"^\s*STEP (\d+)$", head, re.M)],
                           [int(x) for x in re.findall(r"^\s*STEP (\d+)$", tail, re.M)]))
    run.found = bool(run.lassos)
    if run.found:
        run.prefix, run.cycle = run.lassos[0]
    return None


@dataclass
class LiveVerdict:
    """What SPIN found, replayed: `lasso` is the labels (prefix then cycle), `loop` the
    number of prefix steps; `reproduces` and `why` come from our lasso replay; `pending`
    the claims pending in every state of the cycle."""

    run: LiveRun
    labels: list[str] = field(default_factory=list)
    loop: int = 0
    reproduces: bool = False
    why: str = ""
    pending: list[str] = field(default_factory=list)
    rounds: int = 0   # SPIN searches made (check_live's refinement)
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per search


def check_live(prog: Program, max_rounds: int = 8, **kw: Any) -> LiveVerdict:
    """run_live, then its lassos (if any) replayed through our interpreter and our
    fairness (cmd_replay), and named by the properties pending all along their cycle. A
    lasso that is fair for us is the verdict. Where every lasso is unfair for us, the
    classes that make them unfair (cmd_replay.unfair_classes: a strongly fair class never
    taken, a weakly fair actor always enabled and never stepping) are added to the claim
    (generate_live's `fair`) and SPIN searches again, up to `max_rounds` searches or
    MAX_STRONG strongly fair classes; then once more in SPIN's reverse transition order
    (ORDERS). No cycle under the claim's fairness: the properties hold (every cycle fair
    for us meets every class the claim enforces). Otherwise the first unfair lasso is
    returned (inconclusive)."""
    from entersys.oracle.liveness import _masks

    first: LiveVerdict | None = None
    ex = Explorer(prog, symmetry=False)
    live.prepare(ex)
    strong = _masks(ex)[1]
    fair: list[int] = []
    history: list[dict[str, Any]] = []
    for order in ORDERS:
        for _ in range(max_rounds):
            run = run_live(prog, order=order, fair=tuple(fair), **kw)
            t0 = time.perf_counter()
            h = {"order": " ".join(order) or "default", "fair": list(run.fair),
                 "states": run.states, "lassos": len(run.lassos),
                 "build_seconds": round(run.build_seconds, 1),
                 "search_seconds": round(run.seconds, 1)}
            history.append(h)
            if not run.found:
                return LiveVerdict(run, rounds=len(history), history=history)
            v, learned = _replayed(prog, run)
            h["replay_seconds"] = round(time.perf_counter() - t0, 1)
            v.rounds, v.history = len(history), history
            first = first or v
            if v.reproduces:
                return v
            new = [a for a in learned if a not in fair]
            h["learned"] = [ex.actor_names[a] for a in new]
            if not new or sum(1 for a in fair + new if (1 << a) & strong) > MAX_STRONG:
                break
            fair += new
    assert first is not None
    return first


def _replayed(prog: Program, run: LiveRun) -> tuple[LiveVerdict, list[int]]:
    """The first of the run's lassos that reproduces under our fairness, or its first;
    and the fairness classes that make the others unfair (in the order found). Each
    lasso is replayed through our steps (every step's guard checked, no invariants: the
    safety search already holds); the prefix a lasso shares with the previous one (SPIN's
    depth-first trails share most of theirs, and run to 10^5 steps at 2/2/2) is replayed
    once; the cycle is judged by cmd_replay's lasso check (it closes and is fair under our
    classes, or only the environment can step after it)."""
    from entersys.cmd_replay import _lasso_reproduces, unfair_classes

    insts = prog.instances()
    ex = Explorer(prog, symmetry=False)
    exhausted = live._m_exhausted(ex)
    first: LiveVerdict | None = None
    learned: list[int] = []
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    done: tuple[list[int], list[list[int]]] = ([], [_initial(prog)])
    for prefix, cycle in run.lassos:
        if (tuple(prefix), tuple(cycle)) in seen:  # SPIN may report one lasso twice
            continue
        seen.add((tuple(prefix), tuple(cycle)))
        v = LiveVerdict(run, [insts[k].label for k in prefix + cycle], len(prefix))
        done = _along(prog, prefix + cycle, done)
        raw = done[1]
        if len(raw) <= len(prefix) + len(cycle):
            v.why = f"step {len(raw)} ({v.labels[len(raw) - 1]}) is not enabled in our model"
            first = first or v
            continue
        states = [list(st) for st in raw]
        for st in states:
            normalize_ticks(prog.layout, st)
        cyc = states[v.loop:]
        for c in run.claims:
            pend = c.prop.make(ex, c.about if c.about is not None else 0)
            if pend is not None and all(pend(tuple(s)) and not exhausted(tuple(s))
                                        for s in cyc):
                who = "" if c.about is None else f" ({c.prop.per.upper()}{c.about})"
                v.pending.append(c.prop.id + who)
        prop = v.pending[0].split()[0] if v.pending else "lasso"
        at = v.loop if cycle else 0  # a stall is judged on the whole trace, as replay does
        v.reproduces, v.why = _lasso_reproduces(prog, [list(x) for x in raw[at:]], prop,
                                                v.labels[at:])
        first = first or v
        if v.reproduces:
            run.prefix, run.cycle = prefix, cycle
            return v, learned
        if cyc[-1] in cyc[:-1]:
            start = v.loop + cyc.index(cyc[-1])
            why = unfair_classes(prog, [list(x) for x in raw[start:]], v.labels[start:])
        elif not cycle:  # the environment's stutter alone: every class enabled is owed
            why = unfair_classes(prog, [list(raw[-1]), list(raw[-1])], [])
        else:
            why = []
        for a, _why in why:
            if a is not None and a not in learned:
                learned.append(a)
    assert first is not None
    return first, learned


def _initial(prog: Program) -> list[int]:
    from entersys.model.state import initial_state

    return list(initial_state(prog.layout, prog.labels))


def _along(prog: Program, ks: list[int], done: tuple[list[int], list[list[int]]]
           ) -> tuple[list[int], list[list[int]]]:
    """(ks, the states along instance numbers `ks` from the initial state), reusing
    `done` (an earlier call's result) for the common prefix. Stops at the first step
    whose guard is false (fewer states than len(ks) + 1)."""
    from entersys.model.ops import CONCRETE
    from entersys.model.state import View

    old, states = done
    n = 0
    while n < min(len(old), len(ks), len(states) - 1) and old[n] == ks[n]:
        n += 1
    out = states[:n + 1]
    insts = prog.instances()
    s = list(out[-1])
    for k in ks[n:]:
        guard, writes = prog.apply(insts[k], View(prog.layout, CONCRETE, s.__getitem__))
        if not guard:
            break
        for pos, val in writes.items():
            s[pos] = val
        out.append(list(s))
    return ks, out
