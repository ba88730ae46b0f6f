"""Lint findings and how they become result records: one `CheckResult` per finding
(verdict refuted; the severity, rule, file and line in its details), so the text, JSON and
SARIF renderers all show them. A finding below `--fail-on` is expected (exit 0); at or
above it, it is a failure (exit 1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from entersys.lint.witness import Witness
from entersys.results import CheckResult, Counterexample, Verdict

SEVERITIES = ("info", "low", "medium", "high")
GROUP = "lint"

#: rule id -> what it means (one line); the ids appear in records, SARIF and the README.
RULES = {
    "sysnb-may-block": "a //sysnb annotation on a syscall that may block (RawSyscall path)",
    "raw-call-may-block": "a hand-written RawSyscall* call whose trap may block",
    "raw-call-in-child": "a raw call in the child after a raw fork (no runtime there: "
                         "RawSyscall is required)",
    "generator-reject": "the generator rejects the line: generation fails",
    "generator-skip": "the generator silently skips a line that reads as an annotation",
    "generator-warning": "the generator warns, or its output would not compile",
    "generator-portability": "the other generator (std mksyscall.pl vs x/sys mksyscall.go) "
                             "would skip or reject the line",
    "zsyscall-mismatch": "the generated zsyscall function differs from what the annotation "
                         "generates",
    "zsyscall-missing": "no generated function for an annotation",
    "zsyscall-extra": "a generated function with no annotation",
}


def severity_rank(s: str) -> int:
    """Position of a severity in SEVERITIES (info=0 .. high=3); ValueError if unknown."""
    return SEVERITIES.index(s)


@dataclass
class Finding:
    """One finding at file:line. `related` are other locations (the zsyscall function of a
    mismatch); `syscall`/`category`/`reason` come from the blocking catalog; `raw_path`
    marks findings the model witness backs (a call made without entersyscall)."""

    rule: str
    severity: str
    file: str
    line: int
    message: str
    reason: str = ""
    syscall: str | None = None
    category: str | None = None
    debatable: bool = False
    raw_path: bool = False
    related: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> tuple:
        return (self.file, self.line, self.rule, self.message)


def to_record(f: Finding, fail_on: str, witness: Witness | None, root: str) -> CheckResult:
    """The finding as a CheckResult: refuted, expected refuted below `fail_on` (tolerated)
    and holds at or above it (a failure). The witness's trace, if any, is the
    counterexample; paths in details are relative to `root` where possible."""
    rel = _rel(f.file, root)
    fails = severity_rank(f.severity) >= severity_rank(fail_on)
    details: dict[str, Any] = {
        "rule": f.rule, "severity": f.severity, "file": rel, "line": f.line,
        "message": f.message,
    }
    if f.reason:
        details["reason"] = f.reason
    if f.syscall:
        details.update(syscall=f.syscall, category=f.category, debatable=f.debatable)
    if f.related:
        details["related"] = [dict(r, file=_rel(r["file"], root)) for r in f.related]
    cex = None
    if f.raw_path and witness is not None:
        details["witness"] = {"raw": witness_summary(witness.raw),
                              "syscall": witness_summary(witness.syscall),
                              "backs_finding": witness.backs_findings}
        if witness.raw.counterexample is not None:
            w = witness.raw.counterexample
            cex = Counterexample(summary=f"{rel}:{f.line}: {f.message}. Model witness: "
                                 + w.summary, values=dict(w.values), trace=list(w.trace),
                                 replay=w.replay, itf=None)
    if cex is None:
        cex = Counterexample(summary=f"{rel}:{f.line}: {f.message}",
                             values={"reason": f.reason} if f.reason else {},
                             replay=f"entersys lint {root} --fail-on info")
    return CheckResult(
        id=f"{GROUP}.{f.rule}.{rel}:{f.line}", group=GROUP,
        title=f"{f.severity}: {f.message}", kind="finding", verdict=Verdict.REFUTED,
        expected=Verdict.HOLDS if fails else Verdict.REFUTED, counterexample=cex,
        details=details)


def witness_summary(w: CheckResult) -> dict[str, Any]:
    return {"id": w.id, "verdict": w.verdict.label, "expected": w.expected.label,
            "title": w.title,
            "replay": w.counterexample.replay if w.counterexample else None}


def _rel(path: str, root: str) -> str:
    if root and path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")) + 1:]
    return path
