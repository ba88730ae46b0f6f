"""Dynamic probes of a tree's unmodified runtime, each compared with what entersys's model
predicts, as expected verdicts:
- errno: a seccomp-forced raw result of -4095 is success for syscall.Syscall and
  RawSyscall on linux/amd64 (model: entersys.model.errno.go_map), -1 is EPERM;
- starvation: under GOMAXPROCS=1 a RawSyscall blocked in read(2) keeps its P, so no other
  goroutine runs for the whole call, while Syscall lets sysmon hand the P off (model: the
  explorer's reachable states with one P, two Gs and sysmon)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

from entersys.gate.detect import Tree
from entersys.gotoolchain import build_tool
from entersys.model.errno import MASK64, go_map
from entersys.model.program import Program
from entersys.model.state import Config
from entersys.oracle.explore import Explorer
from entersys.results import CheckResult, Counterexample, Verdict, timed

GROUP = "gate"
HERE = Path(__file__).parent
STARVE_CONFIG = Config(ms=2, ps=1, gs=2, stw=False, foreachp=False, gc=False, sysmon=True,
                       blockhint=False, raw=True)


def _run(tree: Tree, name: str, args: list[str]) -> dict[str, Any]:
    exe = build_tool(tree.root, HERE / name, name)
    r = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{name} {' '.join(args)} exited {r.returncode}: "
                           f"{r.stderr.strip()[:200]}")
    return dict(json.loads(r.stdout))


def errno_record(tree: Tree) -> CheckResult:
    """syscall.Syscall/RawSyscall under seccomp SECCOMP_RET_ERRNO|4095 and |1 (control)."""
    with timed() as t:
        got = {e: _run(tree, "errnoprobe", [str(e)]) for e in (4095, 1)}
        want: dict[str, list[int]] = {}
        seen: dict[str, list[int]] = {}
        for e, res in got.items():
            m = go_map((-e) & MASK64, 0)   # RDX holds the third argument, 0
            for k in ("Syscall", "RawSyscall"):
                want[f"{k} e={e}"] = [m.r1, m.r2, m.err]
                seen[f"{k} e={e}"] = list(res[k])
    ok = want == seen
    cex = None if ok else Counterexample(
        summary="Go's runtime and the model disagree on a seccomp-forced result",
        values={k: {"model": want[k], "go": seen[k]} for k in want if want[k] != seen[k]},
        replay=f"entersys gate {tree.root} --probes")
    return CheckResult(
        f"{GROUP}.probe.errno-4095", GROUP,
        f"{tree.version}: a seccomp-forced RAX = -4095 is success for syscall.Syscall and "
        "RawSyscall (r1 = 0xfffffffffffff001, err = 0), -1 is EPERM, as the model says",
        "probe", Verdict.HOLDS if ok else Verdict.REFUTED, Verdict.HOLDS, t(), cex,
        {"model": want, "go": seen})


def model_starvation(go: str = "1.25") -> dict[str, bool]:
    """From the model's reachable states (1 P, 2 Gs, 2 Ms, sysmon, blocking raw calls) of
    model version `go`: can another M run user code while an M is blocked in a RawSyscall
    / in a Syscall?"""
    prog = Program(replace(STARVE_CONFIG, go=go), go=go)
    res = Explorer(prog).run(max_states=500_000, progress=False)
    if res.violations or not res.complete:
        raise RuntimeError("the model's starvation configuration did not explore cleanly")
    L, lab = prog.layout, prog.labels
    out = {"raw": False, "syscall": False}
    ms = range(STARVE_CONFIG.ms)
    for s in res.order:
        for i in ms:
            pc = s[L.mname[i]["pc"]]
            # another M runs user code (a G that is only _Grunning inside exitsyscall, as
            # in the Go 1.26+ design, makes no progress)
            others = any(s[L.mname[j]["pc"]] == lab["user"] for j in ms if j != i)
            if others and pc == lab["rawblock"]:
                out["raw"] = True
            if others and pc == lab["sysblock"]:
                out["syscall"] = True
    return out


def starvation_records(tree: Tree) -> list[CheckResult]:
    out = []
    with timed() as t:
        model = model_starvation(tree.model_go or "1.25")
    mt = t()
    for mode, title in (("raw", "a blocking RawSyscall under GOMAXPROCS=1 starves every "
                                "other goroutine for the whole call"),
                        ("syscall", "a blocking Syscall under GOMAXPROCS=1 hands the P off: "
                                    "another goroutine runs during the call")):
        with timed() as t:
            res = _run(tree, "starve", [mode])
        ran = res["during"] > 0
        ok = ran == model[mode]
        out.append(CheckResult(
            f"{GROUP}.probe.{mode}-gomaxprocs1", GROUP, f"{tree.version}: {title}", "probe",
            Verdict.HOLDS if ok else Verdict.REFUTED, Verdict.HOLDS, t() + mt,
            None if ok else Counterexample(
                summary=f"model: another G {'can' if model[mode] else 'cannot'} run; the "
                        f"runtime's counter moved {res['during']} in {res['ms']} ms",
                replay=f"entersys gate {tree.root} --probes"),
            {"model_other_g_runs": model[mode], "counter_during_call": res["during"],
             "call_ms": res["ms"]}))
    return out


def probe_records(tree: Tree) -> list[CheckResult]:
    return [errno_record(tree), *starvation_records(tree)]
