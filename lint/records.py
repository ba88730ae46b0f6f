"""A LintReport as result records: one inventory record per package (annotation counts per
file, generator, mismatches), one refuted record per finding, and, when any finding is on
the raw path, the model witness's two records (Raw path refuted, Syscall path holds)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from entersys.lint.engine import LintReport, PackageReport
from entersys.lint.findings import GROUP, to_record
from entersys.lint.witness import Witness
from entersys.results import CheckResult, Verdict

ENTRY_COLUMNS = ("Syscall", "Syscall6", "SyscallNoError", "RawSyscall", "RawSyscall6",
                 "RawSyscallNoError", "rawSyscallNoError")


def inventory_record(p: PackageReport, root: str) -> CheckResult:
    """Counts for one package; holds (it is a census, its findings are separate records)."""
    rel = _rel(p.dir, root) or "."
    rows: list[dict[str, Any]] = []
    for c in p.counts:
        if not p.from_header and not c.sys + c.sysnb:
            continue                    # a package without generator inputs: only its users
        row: dict[str, Any] = {"file": Path(c.file).name, "//sys": c.sys, "//sysnb": c.sysnb}
        row.update({e: c.entries.get(e, 0) for e in ENTRY_COLUMNS
                    if any(cc.entries.get(e) for cc in p.counts)})
        rows.append(row)
    details = {
        "package": p.name, "dir": rel, "generator": p.generator,
        "generator_from": "zsyscall header" if p.from_header else "package name",
        "inputs": [Path(i).name for i in p.inputs],
        "generated": [Path(g).name for g in p.generated],
        "annotations": p.annotations, "mismatches": p.mismatches,
        "consistency_checked": bool(p.generated), "raw_calls": p.raw_calls,
        "tables": {"annotations": rows} if rows else {},
    }
    title = (f"{p.name} ({rel}): {p.annotations} annotations read with {p.generator}, "
             + (f"{p.mismatches} mismatches against " + ", ".join(details["generated"])
                if p.generated else "no generated file to check against")
             + f", {p.raw_calls} hand-written raw calls")
    return CheckResult(f"{GROUP}.inventory.{rel}", GROUP, title, "inventory", Verdict.HOLDS,
                       Verdict.HOLDS, details=details)


def to_records(report: LintReport, fail_on: str, witness: Witness | None,
               seconds: float = 0.0) -> list[CheckResult]:
    """Inventory records, finding records (ids made unique), then the witness records."""
    out = [inventory_record(p, report.root) for p in report.packages]
    if out:
        out[0].seconds = seconds
    seen: dict[str, int] = {}
    for f in report.findings:
        rec = to_record(f, fail_on, witness, report.root)
        n = seen.get(rec.id, 0)
        seen[rec.id] = n + 1
        if n:
            rec.id += f"#{n + 1}"
        out.append(rec)
    if witness is not None and any(f.raw_path for f in report.findings):
        out += [witness.raw, witness.syscall]
    return out


def _rel(path: str, root: str) -> str:
    if path == root:
        return ""
    if path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")) + 1:]
    return path
