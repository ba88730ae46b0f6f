"""Source-level mutants of a real tree's `runtime/proc.go`, named after the model mutant
each corresponds to (entersys.model.mutants): a statement or block moved or removed. For
each, the static verdict (the mutated source's order through the model, which must
refute it) and a dynamic probe of the runtime built from it with `go build -overlay` (no
GOROOT copy), reporting fatal errors, hangs and long stop-the-world pauses."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from entersys.gate.detect import GateInputError, Tree
from entersys.gate.extract import normalize
from entersys.gotoolchain import ToolchainError, cache_dir, run_go
from entersys.model.state import Config
from entersys.oracle.protocol import MUTANT_CONFIG, VERIFY_CONFIGS
from entersys.results import CheckResult, Verdict, timed

GROUP = "gate"
WORKLOAD_DIR = Path(__file__).parent / "workload"
WORKLOAD_SECONDS = 1.5
PROBE_TIMEOUT = 30.0       # a probe still running after this is a hang
LONG_GC_MS = 1000.0        # a runtime.GC() longer than this is a stalled stop-the-world


class MutationError(Exception):
    """The mutant's anchor statements are not in this tree's proc.go."""


def _func_span(lines: list[str], name: str) -> tuple[int, int]:
    start = next((i for i, ln in enumerate(lines) if ln.startswith(f"func {name}(")), None)
    if start is None:
        raise MutationError(f"no func {name}")
    end = next(i for i in range(start, len(lines)) if lines[i] == "}")
    return start, end


def _find(lines: list[str], func: str, stmt: str, nth: int = 0) -> int:
    lo, hi = _func_span(lines, func)
    hits = [i for i in range(lo, hi) if normalize(lines[i].strip()) == stmt]
    if len(hits) <= nth:
        raise MutationError(f"{func}: no statement {stmt!r}")
    return hits[nth]


def _block(lines: list[str], i: int) -> tuple[int, int]:
    """Lines [i, j) of the statement starting at line i (a block ends at its brace)."""
    if not lines[i].rstrip().endswith("{"):
        return i, i + 1
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    j = i + 1
    while not lines[j].startswith(indent + "}"):
        j += 1
    return i, j + 1


Edit = Callable[[list[str]], list[str]]


def move(func: str, stmt: str, anchor: str, after: bool = True, nth: int = 0,
         anchor_nth: int = 0) -> Edit:
    """Move statement `stmt` (with its block) of `func` after/before statement `anchor`
    (after a block header: as the block's first statement)."""
    def edit(lines: list[str]) -> list[str]:
        a, b = _block(lines, _find(lines, func, stmt, nth))
        chunk = lines[a:b]
        rest = lines[:a] + lines[b:]
        k = _find(rest, func, anchor, anchor_nth)
        if after and not rest[k].rstrip().endswith("{"):
            k = _block(rest, k)[1]
        elif after:
            k += 1
        return rest[:k] + chunk + rest[k:]
    return edit


def delete_after(func: str, anchor: str, stmt: str) -> Edit:
    """Delete the statement `stmt` that directly follows `anchor` in `func`."""
    def edit(lines: list[str]) -> list[str]:
        k = _find(lines, func, anchor) + 1
        if normalize(lines[k].strip()) != stmt:
            raise MutationError(f"{func}: {stmt!r} does not follow {anchor!r}")
        return lines[:k] + lines[k + 1:]
    return edit


def chain(*edits: Edit) -> Edit:
    def edit(lines: list[str]) -> list[str]:
        for e in edits:
            lines = e(lines)
        return lines
    return edit


@dataclass(frozen=True)
class SourceMutant:
    id: str                  # the model mutant it corresponds to (entersys.model.mutants)
    description: str
    edit: Edit


CAS_G = "casgstatus(gp, _Grunning, _Gsyscall)"
PSYSCALL_STORE = "atomic.Store(&pp.status, _Psyscall)"
FAST_IF = "if exitsyscallfast(oldp) {"
RE = "reentersyscall"

CATALOG: dict[str, SourceMutant] = {m.id: m for m in (
    SourceMutant("R1-locks-late", "reentersyscall: m.locks++ after casgstatus(_Gsyscall)",
                 move(RE, "gp.m.locks++", CAS_G)),
    SourceMutant("R2-stackguard-late", "reentersyscall: stackguard0/throwsplit after "
                 "casgstatus", chain(move(RE, "gp.throwsplit = true", CAS_G),
                                     move(RE, "gp.stackguard0 = stackPreempt", CAS_G))),
    SourceMutant("R3-syscallsp-late", "reentersyscall: syscallsp = sp after casgstatus",
                 move(RE, "gp.syscallsp = sp", CAS_G)),
    SourceMutant("R4-no-save", "reentersyscall: no save(pc, sp, bp) after "
                 "systemstack(entersyscall_sysmon)",
                 delete_after(RE, "systemstack(entersyscall_sysmon)", "save(pc, sp, bp)")),
    SourceMutant("R6-tick-late", "reentersyscall: m.syscalltick copied after the _Psyscall "
                 "store", move(RE, "gp.m.syscalltick = gp.m.p.ptr().syscalltick",
                               PSYSCALL_STORE)),
    SourceMutant("R7-store-first", "reentersyscall: _Psyscall stored before pp.m = 0",
                 move(RE, PSYSCALL_STORE, "pp.m = 0", after=False)),
    SourceMutant("R8-gcwait-early", "reentersyscall: the gcwaiting check before the "
                 "_Psyscall store", move(RE, "if sched.gcwaiting.Load() {", PSYSCALL_STORE,
                                         after=False)),
    SourceMutant("R10-running-first", "exitsyscall: casgstatus(_Gsyscall, _Grunning) before "
                 "exitsyscallfast", move("exitsyscall", "casgstatus(gp, _Gsyscall, _Grunning)",
                                         FAST_IF, after=False)),
    SourceMutant("R11-syscallsp-early", "exitsyscall: syscallsp = 0 before casgstatus",
                 move("exitsyscall", "gp.syscallsp = 0", "casgstatus(gp, _Gsyscall, _Grunning)",
                      after=False)),
    SourceMutant("R15-idlelocked-late", "retake: incidlelocked(-1) after the CAS",
                 move("retake", "incidlelocked(-1)", "if atomic.Cas(&pp.status, s, _Pidle) {")),
)}


def check_only(tree: Tree, only: list[str]) -> None:
    bad = [m for m in only if m not in CATALOG]
    if bad:
        raise GateInputError(f"unknown source mutant {bad[0]!r}; known: {', '.join(CATALOG)}")
    if tree.design != "psyscall":
        raise GateInputError(f"no source mutants for the {tree.design} design yet")


def mutated_file(tree: Tree, mid: str) -> Path:
    """The mutated proc.go, kept in entersys's cache (counterexamples cite it)."""
    src = tree.proc_go.read_text()
    text = "\n".join(CATALOG[mid].edit(src.split("\n")))
    h = hashlib.sha256(text.encode()).hexdigest()[:12]
    out = cache_dir() / "gate" / "mutants" / tree.version.replace(" ", "_") / mid / h / "proc.go"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".partial")
        tmp.write_text(text)
        tmp.rename(out)
    return out


def build_workload(tree: Tree, overlay_proc: Path | None) -> Path:
    """The workload built with `tree`'s toolchain, its runtime/proc.go replaced by
    `overlay_proc` (through -overlay) when given; cached by version, sources and mutant."""
    h = hashlib.sha256(tree.version.encode())
    for f in sorted(WORKLOAD_DIR.glob("*.go")):
        h.update(f.read_bytes())
    if overlay_proc is not None:
        h.update(overlay_proc.read_bytes())
    out = cache_dir() / "gate" / "bin" / f"workload-{h.hexdigest()[:16]}"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="entersys-gate-") as tmp:
        work = Path(tmp)
        (work / "main.go").write_bytes((WORKLOAD_DIR / "main.go").read_bytes())
        (work / "go.mod").write_text("module entersys/workload\n\ngo 1.19\n")
        args = ["build", "-o", str(out.with_suffix(".partial"))]
        if overlay_proc is not None:
            ov = work / "overlay.json"
            ov.write_text(json.dumps({"Replace": {str(tree.proc_go.resolve()):
                                                  str(overlay_proc)}}))
            args += ["-overlay", str(ov)]
        r = run_go(tree.root, [*args, "."], cwd=work, timeout=900)
        if r.returncode != 0:
            last = [ln for ln in r.stderr.splitlines() if ln.strip()][-1:] or ["?"]
            raise ToolchainError(f"cannot build the workload: {last[0]}")
    out.with_suffix(".partial").rename(out)
    return out


def run_workload(exe: Path, seconds: float = WORKLOAD_SECONDS) -> dict[str, Any]:
    """Run the workload; returns {"outcome": ok|fatal|hang|long-stw, "detail", "seconds",
    and the workload's own figures when it finished}."""
    with timed() as t:
        try:
            r = subprocess.run([str(exe), str(seconds)], capture_output=True, text=True,
                               timeout=PROBE_TIMEOUT, env={"GOMAXPROCS": "2", "PATH": "/usr/bin"})
        except subprocess.TimeoutExpired:
            return {"outcome": "hang", "detail": f"still running after {PROBE_TIMEOUT:.0f} s",
                    "seconds": round(t(), 2)}
    out: dict[str, Any] = {"seconds": round(t(), 2), "exit": r.returncode}
    fatal = re.search(r"^(fatal error: .*|panic: .*|unexpected signal.*|SIGSEGV.*)$",
                      r.stderr, re.M)
    if r.returncode != 0 or fatal:
        out.update(outcome="fatal", detail=fatal.group(1) if fatal else
                   (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[0][:200])
        return out
    figures = json.loads(r.stdout.strip().splitlines()[-1])
    out.update(figures)
    if figures["max_gc_ms"] > LONG_GC_MS:
        out.update(outcome="long-stw", detail=f"a runtime.GC() took {figures['max_gc_ms']} ms")
    else:
        out.update(outcome="ok", detail=f"{figures['gcs']} GCs, longest "
                                        f"{figures['max_gc_ms']} ms")
    return out


def workload_record(tree: Tree) -> CheckResult:
    """The unmutated runtime under the workload: expected to finish cleanly."""
    with timed() as t:
        res = run_workload(build_workload(tree, None))
    ok = res["outcome"] == "ok"
    from entersys.results import Counterexample

    return CheckResult(f"{GROUP}.probe.workload", GROUP,
                       f"{tree.version}'s own runtime under the workload (blocking syscalls, "
                       "GC loop, LockOSThread): no fatal error, hang or long STW", "probe",
                       Verdict.HOLDS if ok else Verdict.REFUTED, Verdict.HOLDS, t(),
                       None if ok else Counterexample(summary=f"{res['outcome']}: "
                                                      f"{res.get('detail')}"), res)


def static_verdict(tree: Tree, proc: Path, mid: str) -> CheckResult:
    from entersys.gate import static

    parsed, order = static.read_tree(tree, proc_go=proc, cite=str(proc))
    assert order is not None
    rec = None
    configs: tuple[Config, ...] = (MUTANT_CONFIG, *VERIFY_CONFIGS[1:])
    # a source mutant whose model mutant is recorded as equivalent in the model
    # (entersys.model.mutants: Mutant.equivalent says why) is expected to hold
    from entersys.model.mutants import MUTANTS

    model = MUTANTS.get(mid)
    expected = Verdict.HOLDS if model is not None and model.equivalent else Verdict.REFUTED
    for cfg in configs:
        rec = static.explore_tree(
            tree, order, cfg, expected, f"{GROUP}.mutant.{mid}",
            f"entersys gate {tree.root} --mutants --only {mid}",
            f"source mutant {mid} of {tree.version}: {CATALOG[mid].description}")
        rec.details["config"] = f"{cfg.ms}m{cfg.ps}p{cfg.gs}g"
        if rec.verdict != Verdict.HOLDS:
            break
    assert rec is not None
    if order.unclassified:
        rec.details["unclassified"] = [f"{c.stmt.line}: {c.stmt.text}"
                                       for c in order.unclassified]
    return rec


def mutant_records(tree: Tree, only: list[str] | None = None,
                   dynamic: bool = True) -> list[CheckResult]:
    """The unmutated workload's record, then one record per source mutant: the static
    verdict (expected refuted) with the dynamic probe's outcome in its details."""
    if tree.design != "psyscall":
        return [CheckResult(f"{GROUP}.mutants", GROUP, "source mutants", "mutant",
                            Verdict.UNKNOWN, Verdict.HOLDS, 0.0, None,
                            {"reason": f"no source mutants for the {tree.design} design yet"})]
    out = [workload_record(tree)] if dynamic else []
    for mid in only or list(CATALOG):
        with timed() as t:
            try:
                proc = mutated_file(tree, mid)
            except MutationError as e:
                out.append(CheckResult(f"{GROUP}.mutant.{mid}", GROUP, f"source mutant {mid}",
                                       "mutant", Verdict.ERROR, Verdict.REFUTED, t(), None,
                                       {"reason": f"cannot apply to this tree: {e}"}))
                continue
            rec = static_verdict(tree, proc, mid)
        rec.kind = "mutant"
        rec.details["static_seconds"] = round(t(), 2)
        rec.details["file"] = str(proc)
        if dynamic:
            with timed() as t:
                try:
                    res = run_workload(build_workload(tree, proc))
                except ToolchainError as e:
                    res = {"outcome": "build-failed", "detail": str(e)}
            res["seconds_with_build"] = round(t(), 2)
            rec.details["dynamic"] = res
            rec.title += f" [dynamic: {res['outcome']}]"
        out.append(rec)
    return out
