"""JSON rendering of result records: {"tool","version","command","results":[...],"summary"}.
Field names are the stable machine-readable interface of the CI gate."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from entersys import __version__
from entersys.results import CheckResult, Counterexample, summary


def counterexample_json(cex: Counterexample | None) -> dict[str, Any] | None:
    if cex is None:
        return None
    d = asdict(cex)
    for st in d["trace"]:
        st["changes"] = {k: {"from": o, "to": n} for k, (o, n) in st["changes"].items()}
    return d


def result_json(r: CheckResult) -> dict[str, Any]:
    return {
        "id": r.id, "group": r.group, "title": r.title, "kind": r.kind,
        "verdict": r.verdict.label, "expected": r.expected.label, "status": r.status.label,
        "seconds": round(r.seconds, 6), "counterexample": counterexample_json(r.counterexample),
        "details": r.details,
    }


def render_json(results: list[CheckResult], command: str = "", extra: dict | None = None) -> str:
    s = summary(results)
    doc: dict[str, Any] = {
        "tool": "entersys", "version": __version__, "command": command,
        "results": [result_json(r) for r in results],
        "summary": {"pass": s["pass"], "fail": s["fail"], "error": s["error"],
                    "inconclusive": s["inconclusive"], "skipped": s["skipped"]},
    }
    if extra:
        doc.update(extra)
    return json.dumps(doc, indent=2, default=str) + "\n"
