"""SPIN liveness one claim branch at a time: every (LIVE-* property, G or P) is a named
never claim of one generated model (spin_live.generate_named), searched by its own
`pan -a -N c<i>` run, the runs of a round spread over `cores` processes. Each branch
refines its own fairness classes (spin_live.check_live's refinement, per branch): a lasso
SPIN finds for branch i is replayed under our fairness (cmd_replay), and the classes that
make it unfair are added to branch i's claim only, so a branch's claim guesses about the
strongly fair classes its own cycles need (2^k claim states per guess point for k of
them), not about the union over every branch. One pan is built per round (the model is
the same, only the claims differ), not one per branch.

Weak fairness is SPIN's per process (`pan -f`, weak="spin"), or enforced in the claim
like the strong classes (weak="claim", no `-f`: each weakly fair actor a counter position
"stepped, or disabled somewhere on the cycle"), starting with every weakly fair actor
that has a step.

Verdict per branch: holds (no accepting cycle in an exhaustive search: every cycle fair
for us meets the enforced classes), refuted (a lasso that replays and is fair for us), or
inconclusive (the search was not exhaustive, or the refinement ran out of searches or
strong classes), never holds from an incomplete search."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from entersys.model.program import Program
from entersys.oracle import liveness as live
from entersys.oracle.explore import Explorer
from entersys.oracle.spin import (
    SpinError,
    SpinRun,
    _build_pan,
    _parse,
    check_tools,
    compression_flags,
    memory_limit,
)
from entersys.oracle.spin_live import (
    LIVE_TIMEOUT,
    ORDERS,
    LiveRun,
    LiveVerdict,
    _replayed,
    generate_named,
    read_lassos,
)

WEAK_MODES = ("spin", "claim")
# strongly fair classes per branch: a claim has about 2^k (n + 1) states for k of them
# among n enforced classes (spin_live._lazy_branch). Go 1.27 at 2/1/2 needs 6 for
# LIVE-RUN (both Ms' gosched, sysmon's pick, preempt26 and the re-check's 10 ms, the
# scan-bit CAS): 2.27M product states, 32 s of pan CPU (measured)
BRANCH_MAX_STRONG = 8
# gcc -O1 on a claim with 4+ strong classes takes longer than the search (6 classes at
# 2/1/2: -O1 unfinished after 900 s, -O0 14 s of CPU, measured): -O0 there
O0_FROM_STRONG = 4
# trails kept per search: each is replayed by `spin -t` and through our steps, and at
# 2/2/2 SPIN's depth-first trails run to 10^5 steps
BRANCH_TRAILS = 10


@dataclass
class BranchResult:
    """One claim branch's outcome: `verdict` "holds", "refuted" or "inconclusive"
    (`why`), its last search (`run`), the replayed lasso (`lasso`, refuted or the first
    unfair one), the classes its claim enforced at the end and one entry per search."""

    index: int
    name: str                      # e.g. "LIVE-RUN(G0)"
    verdict: str = "inconclusive"
    why: str = ""
    run: LiveRun | None = None
    lasso: LiveVerdict | None = None
    fair: list[int] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BranchesVerdict:
    branches: list[BranchResult]
    rounds: int = 0
    build_seconds: float = 0.0
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0       # the pan processes' user+system time, summed
    peak_memory_mb: float = 0.0    # the largest pan's "total actual memory usage"

    @property
    def verdict(self) -> str:
        vs = {b.verdict for b in self.branches}
        return ("refuted" if "refuted" in vs else "holds" if vs == {"holds"}
                else "inconclusive")


def _name(c: Any) -> str:
    return c.prop.id + ("" if c.about is None else f"({c.prop.per.upper()}{c.about})")


def check_branches(prog: Program, cores: int = 1, weak: str = "spin", max_rounds: int = 8,
                   max_strong: int = BRANCH_MAX_STRONG, memory_mb: int | None = None,
                   hash_bits: int = 22, max_depth: int = 2_000_000,
                   timeout: float = LIVE_TIMEOUT, max_trails: int = BRANCH_TRAILS,
                   compression: str = "collapse", stop_on_refuted: bool = True,
                   only: list[int] | None = None, guess: str = "lazy",
                   seed: dict[str, list[str]] | None = None) -> BranchesVerdict:
    """Every claim branch of `prog` (or the branch numbers `only`) searched and refined
    separately, `cores` pan processes at a time, each with -DMEMLIM `memory_mb` (default
    memory_limit() divided by `cores`). Up to `max_rounds` searches per branch and search
    order (spin_live.ORDERS), and `max_strong` strongly fair classes per branch. With
    `stop_on_refuted` the first fair lasso ends the check (the rest inconclusive:
    "not searched"). `guess`: how the claims guess the strongly fair classes disabled on
    a cycle (spin_live.generate_named). `seed`: classes (liveness.prepare's names) a
    branch (by name, e.g. "LIVE-STW") enforces from its first search, e.g. those a
    smaller configuration's refinement learned: enforcing more classes is always sound
    (a cycle fair for us meets every class), it only saves searches. Raises SpinError
    if a tool fails; ValueError for an unknown `weak`."""
    if weak not in WEAK_MODES:
        raise ValueError(f"unknown weak fairness mode {weak!r}: {', '.join(WEAK_MODES)}")
    check_tools()
    t_start = time.perf_counter()
    ex = Explorer(prog, symmetry=False)
    live.prepare(ex)
    wmask, smask, _ = live._masks(ex)
    has_step = {ex.actor_of[i] for i in prog.instances()}
    start = tuple(a for a in range(len(ex.actor_names))
                  if (1 << a) & wmask and a in has_step) if weak == "claim" else ()
    _, cl, _ = generate_named(prog, ex, frozenset(), {})
    todo = only if only is not None else list(range(len(cl)))
    res = {i: BranchResult(i, _name(cl[i]), fair=list(start)) for i in todo}
    index = {n: a for a, n in enumerate(ex.actor_names)}
    for b in res.values():
        b.fair += [index[n] for n in (seed or {}).get(b.name, [])
                   if n in index and index[n] not in b.fair]
    mem = memory_mb or max(256, memory_limit()[0] // max(1, cores))
    mem = 1 << (mem.bit_length() - 1)
    out = BranchesVerdict(list(res.values()))
    for order in ORDERS:
        rounds = dict.fromkeys(res, 0)
        open_ = [i for i in res if res[i].verdict == "inconclusive" and not res[i].why]
        while open_:
            runs, build = _search(prog, {i: tuple(res[i].fair) for i in open_}, cores, mem,
                                  hash_bits, max_depth, timeout, max_trails, order, weak,
                                  compression, guess)
            out.rounds += 1
            out.build_seconds += build
            for i, (run, cpu) in runs.items():
                b = res[i]
                rounds[i] += 1
                out.cpu_seconds += cpu
                out.peak_memory_mb = max(out.peak_memory_mb, run.memory_mb)
                h: dict[str, Any] = {
                    "order": " ".join(order) or "default",
                    "fair": [ex.actor_names[a] for a in b.fair], "states": run.states,
                    "transitions": run.transitions, "complete": run.complete,
                    "lassos": len(run.lassos), "search_seconds": round(run.seconds, 1),
                    "cpu_seconds": round(cpu, 1), "memory_mb": run.memory_mb,
                    "bytes_per_state": round(run.bytes_per_state, 1)}
                b.history.append(h)
                b.run = run
                if not run.found:
                    if run.complete:
                        b.verdict, b.why = "holds", "no accepting cycle (exhaustive search)"
                    else:
                        b.why = "the search was not exhaustive (depth or memory bound)"
                    continue
                v, learned = _replayed(prog, run)
                if v.reproduces:
                    b.verdict, b.why, b.lasso = "refuted", v.why, v
                    continue
                b.lasso = b.lasso or v
                new = [a for a in learned if a not in b.fair]
                h["learned"] = [ex.actor_names[a] for a in new]
                n_strong = sum(1 for a in b.fair + new if (1 << a) & smask)
                if not new:
                    b.why = f"nothing learned from an unfair lasso ({v.why})"
                elif n_strong > max_strong:
                    b.why = (f"needs {n_strong} strongly fair classes, above the cap of "
                             f"{max_strong}")
                elif rounds[i] >= max_rounds:
                    b.why = f"{max_rounds} searches without a verdict"
                else:
                    b.fair += new
            if stop_on_refuted and any(b.verdict == "refuted" for b in res.values()):
                for b in res.values():
                    if b.verdict == "inconclusive" and not b.why:
                        b.why = "not searched further: another branch is refuted"
                out.wall_seconds = time.perf_counter() - t_start
                return out
            open_ = [i for i in res if res[i].verdict == "inconclusive" and not res[i].why]
        # the next search order gets another chance at the branches without a verdict
        for b in res.values():
            if b.verdict == "inconclusive" and b.run is not None and b.run.complete \
                    and order != ORDERS[-1]:
                b.why = ""
    out.wall_seconds = time.perf_counter() - t_start
    return out


def _search(prog: Program, fair_of: dict[int, tuple[int, ...]], cores: int, mem: int,
            hash_bits: int, max_depth: int, timeout: float, max_trails: int,
            order: tuple[str, ...], weak: str, compression: str,
            guess: str = "lazy") -> tuple[dict[int, tuple[LiveRun, float]], float]:
    """One round: build the pan of `fair_of`'s claims, then search each branch. A byte
    field that overflows is widened and the round starts again. Returns ({branch: (run,
    pan CPU seconds)}, build seconds)."""
    wide: set[str] = set()
    build = 0.0
    while True:
        ex = Explorer(prog, symmetry=False)
        src, cl, procs = generate_named(prog, ex, frozenset(wide), fair_of, guess)
        flags = [_opt_level(prog, fair_of), "-DNOREDUCE", f"-DMEMLIM={mem}",
                 "-DVECTORSZ=4096", *compression_flags(compression)]
        if weak == "spin":
            flags.append(f"-DNFAIR={max(3, len(procs) + 1)}")
        t0 = time.perf_counter()
        pan = _build_pan(src, flags, timeout)
        build += time.perf_counter() - t0
        args = ["-a", *(["-f"] if weak == "spin" else []), "-e", f"-c{max_trails}",
                f"-m{max_depth}", f"-w{hash_bits}", *order]

        names = [[ex.actor_names[a] for a in fair_of[i]] for i in fair_of]
        jobs = [(LiveRun(processes=procs, claims=[cl[i]], flags=flags, fair=nm,
                         widened=sorted(wide)), [*args, "-N", f"c{i}"])
                for i, nm in zip(fair_of, names)]
        with ThreadPoolExecutor(max_workers=max(1, cores)) as pool:
            got = list(pool.map(_pan, [prog] * len(jobs), [src] * len(jobs),
                                [pan] * len(jobs), [a for _, a in jobs],
                                [r for r, _ in jobs], [timeout] * len(jobs),
                                [max_trails] * len(jobs)))
        done = {i: (run, cpu, fault) for i, (run, _), (cpu, fault) in zip(fair_of, jobs, got)}
        faults = {f for _, _, f in done.values() if f is not None}
        if not faults:
            return {i: (r, c) for i, (r, c, _) in done.items()}, build
        if faults <= wide:
            raise SpinError(f"byte field {sorted(faults)[0]} overflowed after widening")
        wide |= faults


def _pan(prog: Program, src: str, pan: Path, args: list[str], run: LiveRun,
         timeout: float, max_trails: int) -> tuple[float, str | None]:
    """Run one pan search in a directory of its own and read its trails into `run`.
    Returns (CPU seconds of pan, the byte field a trail overflowed or None)."""
    with tempfile.TemporaryDirectory(prefix="entersys-spin-") as tmp:
        d = Path(tmp)
        (d / "model.pml").write_text(src)
        shutil.copy(pan, d / "pan")
        t0 = time.perf_counter()
        cmd = ["/usr/bin/time", "-f", "CPU %U %S", "./pan", *args] \
            if Path("/usr/bin/time").exists() else ["./pan", *args]
        try:
            p = subprocess.run(cmd, cwd=d, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            run.complete = False
            run.output = f"pan did not finish within {timeout:.0f} s"
            return timeout, None
        run.seconds = time.perf_counter() - t0
        run.output = p.stdout + p.stderr
        m = re.search(r"^CPU ([\d.]+) ([\d.]+)$", p.stderr, re.M)
        cpu = float(m.group(1)) + float(m.group(2)) if m else run.seconds
        sr = SpinRun(output=run.output)
        _parse(sr)
        run.states, run.transitions, run.memory_mb = sr.states, sr.transitions, sr.memory_mb
        run.bytes_per_state = sr.bytes_per_state
        run.seconds = sr.seconds or run.seconds
        run.complete = sr.complete
        # pan replays its own trail (compiled: 10-100x faster than `spin -t`)
        claim = args[args.index("-N") + 1]
        overflow = read_lassos(run, d, lambda n: ["./pan", "-N", claim, f"-r{n}"],
                               max_trails, timeout)
        if overflow is not None:
            return cpu, prog.layout.names[overflow]
    return cpu, None


def _opt_level(prog: Program, fair_of: dict[int, tuple[int, ...]]) -> str:
    """gcc's -O for a pan whose claims enforce `fair_of`: -O0 when a branch guesses about
    O0_FROM_STRONG or more strongly fair classes (the claim's code, 2^k copies of the
    enabledness tests, is then what gcc spends its time on), else -O1."""
    ex = Explorer(prog, symmetry=False)
    live.prepare(ex)
    strong = live._masks(ex)[1]
    k = max([sum(1 for a in f if (1 << a) & strong) for f in fair_of.values()] or [0])
    return "-O0" if k >= O0_FROM_STRONG else "-O1"
