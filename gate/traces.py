"""Real execution traces through the model: run gate/traced (a syscall-heavy workload under
the runtime's execution tracer) on a tree, dump it with `go tool trace -d=parsed` (Go
1.25+), cut it into syscall episodes and replay each through the model's replayer.

An episode is one goroutine's system call: it begins (G Running->Syscall on P p), its P
may be stolen (a Proc Running->Idle of p by another M: by the M of an open stop-the-world
range, stop-the-world; otherwise sysmon's retake, or a returning G taking its old P back;
by its own M: entersyscall_gcwait), another goroutine may enter a syscall on the stolen P,
and it ends (Syscall->Running: the P was kept; Syscall->Runnable: it was lost). Each
episode becomes the model run of the same shape on 2 Ms / 1 P / 2 Gs (M0 runs the G; the
steal is sysmon's retake or the stop-the-world steps; M1 runs the other G), driven
through the step definitions and confirmed by entersys.oracle.replay. A divergence is an event the
model does not allow in the replayed state, or an end the model says must be the other
kind; its counterexample carries the trace window."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from entersys.gate.detect import Tree
from entersys.gotoolchain import ToolchainError, build_tool, run_go
from entersys.model.program import Program
from entersys.model.state import Config
from entersys.oracle.explore import Explorer, State
from entersys.oracle.replay import ReplayError, replay
from entersys.results import CheckResult, Counterexample, Verdict, timed

GROUP = "gate"
HERE = Path(__file__).parent
REPLAY_CONFIG = Config(ms=2, ps=1, gs=2, stw=True, foreachp=False, gc=False, sysmon=True,
                       blockhint=False, raw=False)
TRACE_SECONDS = 0.5

_RANGE = re.compile(r"^M=(-?\d+) P=(-?\d+) G=(-?\d+) Range(Begin|End) Time=(\d+) "
                    r"Name=\"stop-the-world")
# go1.25: "... Resource=Goroutine(7) Reason="" GoID=7 Running->Syscall";
# go1.27: "... GoID=7 Running->Syscall Reason="""
_EV = re.compile(r"^M=(-?\d+) P=(-?\d+) G=(-?\d+) StateTransition Time=(\d+) "
                 r"(?:.*? )?(GoID|ProcID)=(\d+) (\w+)->(\w+)")


@dataclass
class Event:
    m: int
    p: int
    g: int
    time: int
    kind: str        # "G" or "P"
    id: int
    frm: str
    to: str
    line: str


@dataclass
class Episode:
    g: int
    m: int
    p: int
    shape: list[str] = field(default_factory=list)   # begin, steal, gcwait, other, end:*
    events: list[Event] = field(default_factory=list)


def parse(text: str) -> list[Event]:
    out = []
    for ln in text.splitlines():
        rg = _RANGE.match(ln)
        if rg:   # a stop-the-world range of the goroutine on M rg[1]
            m, p, g, which, t = rg.groups()
            out.append(Event(int(m), int(p), int(g), int(t), "STW", 0, which, which, ln))
            continue
        mt = _EV.match(ln)
        if mt:
            m, p, g, t, res, rid, frm, to = mt.groups()
            out.append(Event(int(m), int(p), int(g), int(t), "G" if res == "GoID" else "P",
                             int(rid), frm, to, ln))
    return out


def episodes(events: list[Event]) -> tuple[list[Episode], int]:
    """Complete syscall episodes in trace order, and how many were cut off by the trace's
    start or end (or began without a P)."""
    open_: dict[int, Episode] = {}
    owner: dict[int, int] = {}        # P -> G whose syscall holds it
    by_m: dict[int, int] = {}         # M -> G in syscall on it
    done: list[Episode] = []
    stw_ms: set[int] = set()          # Ms inside a stop-the-world range
    cut = 0
    for ev in events:
        if ev.kind == "STW":
            (stw_ms.add if ev.frm == "Begin" else stw_ms.discard)(ev.m)
        elif ev.kind == "G" and ev.frm == "Running" and ev.to == "Syscall":
            if ev.p < 0:
                cut += 1
                continue
            ep = Episode(ev.id, ev.m, ev.p, ["begin"], [ev])
            open_[ev.id] = ep
            owner[ev.p] = ev.id
            by_m[ev.m] = ev.id
        elif ev.kind == "P" and ev.frm == "Running" and ev.to == "Idle":
            h = owner.pop(ev.id, None)
            if h is None or h not in open_:
                continue
            victim = open_[h]
            victim.events.append(ev)
            thief = by_m.get(ev.m)
            if ev.m == victim.m:
                victim.shape.append("gcwait")          # its own M stopped it for the GC
            else:
                victim.shape.append("stw" if ev.m in stw_ms else "steal")
                if thief is not None and thief != h and thief in open_ and \
                        open_[thief].p == ev.id:
                    open_[thief].shape.append("other")  # the returning G takes it back
                    open_[thief].events.append(ev)
        elif ev.kind == "G" and ev.frm == "Syscall" and ev.to in ("Running", "Runnable"):
            if ev.id not in open_:
                cut += 1
                continue
            ep = open_.pop(ev.id)
            by_m.pop(ep.m, None)
            if owner.get(ep.p) == ep.g:
                owner.pop(ep.p)
            ep.events.append(ev)
            ep.shape.append("end:" + ("kept" if ev.to == "Running" and ev.p == ep.p
                                      else "lost"))
            done.append(ep)
    return done, cut + len(open_)


class Driver:
    """Runs episode shapes through the model's step definitions (2 Ms / 1 P / 2 Gs)."""

    def __init__(self, go: str) -> None:
        # step by step: the episode shapes name steps inside the design's fused blocks
        unfused = {"fuse": False} if "fuse" in getattr(Program, "__dataclass_fields__", {}) \
            else {}
        self.prog = Program(replace(REPLAY_CONFIG, go=go), go=go, **unfused)
        self.ex = Explorer(self.prog, symmetry=False, invariants=list(self.prog.invariants))
        self.cache: dict[tuple[str, ...], tuple[str | None, list[str], bool | None]] = {}

    def _take(self, s: State, labels: list[str], want: str) -> State:
        for inst, nxt in self.ex.successors(s):
            if inst.label == want:
                labels.append(want)
                return nxt
        raise ReplayError(f"{want} is not enabled in the replayed state")

    def _drive(self, s: State, labels: list[str], who: str, until: set[str]) -> State:
        """Let actor `who` ("M0", "M1", "sysmon", "W") take its one enabled step until
        its pc is one of `until`."""
        names = self.prog.label_names
        L = self.prog.layout
        pcf = {"M0": L.mname[0]["pc"], "M1": L.mname[1]["pc"], "sysmon": L.index["y.pc"],
               "W": L.index["w.pc"]}[who]
        for _ in range(80):
            if names[s[pcf]] in until:
                return s
            mine = [(i, n) for i, n in self.ex.successors(s)
                    if i.label.split(":", 1)[0] == who]
            if len(mine) != 1:
                raise ReplayError(f"{who} at {names[s[pcf]]}: {len(mine)} steps enabled")
            labels.append(mine[0][0].label)
            s = mine[0][1]
        raise ReplayError(f"{who} does not reach {sorted(until)}")

    def run(self, shape: tuple[str, ...]) -> tuple[str | None, list[str], bool | None]:
        """(divergence or None, model labels, whether the model says the P was lost)."""
        if shape in self.cache:
            return self.cache[shape]
        labels: list[str] = []
        lost: bool | None = None
        err: str | None = None
        new = self.prog.design == "scanbit" if hasattr(self.prog, "design") else False
        try:
            s = self.ex.initial()
            s = self._take(s, labels, "M0:startm(p0)")
            s = self._take(s, labels, "M0:schedule(g0)")
            s = self._take(s, labels, "M0:user.Syscall")
            if "gcwait" in shape:
                # stop-the-world scanned the P before the G's syscall status was visible
                # (so it waits for it); the syscalling M then stops the P itself
                s = self._drive(s, labels, "M0", {"reentersyscall26.9.gcwait" if new
                                                  else "reentersyscall.11.Psyscall"})
                s = self._stw_scan(s, labels, new)
                s = self._take(s, labels, "W:stw.unlock")
            s = self._drive(s, labels, "M0", {"sys"})
            if "gcwait" in shape:
                s = self._drive(s, labels, "W", {"w.idle"})
            for ev in shape[1:]:
                if ev == "steal" and new:
                    s = self._take(s, labels, "sysmon:retake.pick(p0)")
                    s = self._drive(s, labels, "sysmon", {"retake.block.recheck"})
                    s = self._take(s, labels, "sysmon:retake.block.recheck(p0,1)")
                    s = self._drive(s, labels, "sysmon", {"y.run"})
                elif ev == "steal":
                    s = self._take(s, labels, "sysmon:retake.decide(p0,1)")
                    s = self._drive(s, labels, "sysmon", {"y.run"})
                elif ev == "stw":
                    s = self._stw_scan(s, labels, new)
                    s = self._drive(s, labels, "W", {"w.idle"})
                elif ev == "other":
                    # the stolen P went to another G that is now in a syscall on it
                    s = self._take(s, labels, "M1:startm(p0)")
                    s = self._take(s, labels, "M1:schedule(g1)")
                    s = self._take(s, labels, "M1:user.Syscall")
                    s = self._drive(s, labels, "M1", {"sys"})
            s = self._take(s, labels, "M0:syscall.return")
            s, lost = self._exit(s, labels, new)
            s = self._drive(s, labels, "M0", {"user", "idle"})
            rep = replay(self.prog, labels)
            if rep.violated:
                err = f"invariant {rep.violated[0][1]} violated at step {rep.violated[0][0]}"
            elif shape[-1] != ("end:lost" if lost else "end:kept"):
                err = (f"the trace ends {shape[-1][4:]}, the model says the P was "
                       f"{'lost' if lost else 'kept'}")
        except ReplayError as e:
            err = str(e)
        self.cache[shape] = (err, labels, lost)
        return self.cache[shape]

    def _stw_scan(self, s: State, labels: list[str], new: bool) -> State:
        s = self._take(s, labels, "W:stw.begin26" if new else "W:stw.begin")
        return self._take(s, labels, "W:stw.stopP(p0)" if new else "W:stw.stop(p0)")

    def _exit(self, s: State, labels: list[str], new: bool) -> tuple[State, bool]:
        """Run M0 to the point where Go's tracer decides GoSysExit(lostP); return the
        state and the model's lostP there."""
        L, names = self.prog.layout, self.prog.label_names
        m0 = L.mname[0]
        if new:   # exitsyscall: pp = m.p; pp != nil && pp.syscalltick == m.syscalltick
            s = self._drive(s, labels, "M0", {"exitsyscall26.7.mp"})
            mp = s[m0["p"]]
            return s, mp == 0 or s[m0["syscalltick"]] != s[L.pname[mp - 1]["syscalltick"]]
        # exitsyscallfast: wirep of the old P, with its tick moved or not; else lost
        s = self._drive(s, labels, "M0", {"exitsyscallfast.wirep", "exitsyscallfast.pidle"})
        if names[s[m0["pc"]]] == "exitsyscallfast.wirep":
            return s, s[m0["syscalltick"]] != s[L.pname[0]["syscalltick"]]
        return s, True


def record_trace(tree: Tree, out: Path, seconds: float = TRACE_SECONDS) -> str:
    """Run the traced workload on `tree` and return `go tool trace -d=parsed`'s text."""
    exe = build_tool(tree.root, HERE / "traced", "traced")
    r = subprocess.run([str(exe), str(out), str(seconds)], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        raise ToolchainError(f"traced exited {r.returncode}: {r.stderr.strip()[:200]}")
    d = run_go(tree.root, ["tool", "trace", "-d=parsed", str(out)], timeout=600)
    if d.returncode != 0:
        raise ToolchainError(f"go tool trace -d=parsed failed: {d.stderr.strip()[:200]}")
    return d.stdout


def trace_record(tree: Tree, seconds: float = TRACE_SECONDS) -> CheckResult:
    rid = f"{GROUP}.trace.replay"
    title = (f"a real execution trace of {tree.version}'s runtime, cut into syscall "
             "episodes, replays through the model with no divergence")
    if tree.model_go is None or tree.minor < (1, 25):
        why = ("the model of this design is not yet available" if tree.model_go is None
               else "`go tool trace -d=parsed` needs Go 1.25 or later")
        return CheckResult(rid, GROUP, title, "trace", Verdict.UNKNOWN, Verdict.HOLDS, 0.0,
                           Counterexample(summary=f"not run: {why}"), {})
    with timed() as t:
        with tempfile.TemporaryDirectory(prefix="entersys-trace-") as tmp:
            text = record_trace(tree, Path(tmp) / "trace.out", seconds)
        eps, cut = episodes(parse(text))
        drv = Driver(tree.model_go)
        shapes: dict[str, int] = {}
        bad: list[tuple[Episode, str, list[str]]] = []
        events = 0
        for ep in eps:
            key = " ".join(ep.shape)
            shapes[key] = shapes.get(key, 0) + 1
            events += len(ep.shape)
            err, labels, _ = drv.run(tuple(ep.shape))
            if err is not None:
                bad.append((ep, err, labels))
    details: dict[str, Any] = {"episodes": len(eps), "syscall_events": events,
                               "cut_off": cut, "shapes": shapes,
                               "divergences": len(bad), "config": "2m1p2g sysmon+stw"}
    cex = None
    if bad:
        ep, err, labels = bad[0]
        cex = Counterexample(
            summary=f"{len(bad)} episode(s) diverge; first: G{ep.g} on P{ep.p}: {err}",
            values={"trace window": [e.line for e in ep.events],
                    "model steps": labels, "shape": " ".join(ep.shape)},
            replay=f"entersys gate {tree.root} --traces")
    ok = not bad and events > 0
    return CheckResult(rid, GROUP, title, "trace", Verdict.HOLDS if ok else Verdict.REFUTED,
                       Verdict.HOLDS, t(), cex, details)
