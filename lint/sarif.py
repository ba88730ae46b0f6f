"""SARIF 2.1.0 for lint records: one result per finding record (ruleId, level, message,
file:line location, related locations, a stable partialFingerprint) and, where the model
witness backs it, its trace as a codeFlow. Lint's own writer, because findings carry
source locations in their details; other records (inventory, witness) go to the run's
properties, not results."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from entersys import __version__
from entersys.lint.findings import RULES
from entersys.results import CheckResult

SCHEMA = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
          "sarif-schema-2.1.0.json")
LEVEL = {"info": "note", "low": "note", "medium": "warning", "high": "error"}
MAX_FLOW_STEPS = 100      # well inside GitHub code scanning's limits


def _location(file: str, line: int, message: str | None = None) -> dict[str, Any]:
    loc: dict[str, Any] = {"physicalLocation": {
        "artifactLocation": {"uri": file, "uriBaseId": "SRCROOT"},
        "region": {"startLine": max(line, 1)}}}
    if message:
        loc["message"] = {"text": message}
    return loc


def _result(r: CheckResult) -> dict[str, Any]:
    d = r.details
    text = d["message"] + (f". {d['reason']}" if d.get("reason") else "")
    res: dict[str, Any] = {
        "ruleId": d["rule"], "level": LEVEL[d["severity"]], "message": {"text": text},
        "locations": [_location(d["file"], d["line"])],
        "partialFingerprints": {"entersysLint/v1": hashlib.sha256(
            f"{d['rule']}|{d['file']}|{d['message']}".encode()).hexdigest()[:32]},
        "properties": {"severity": d["severity"], "expected": r.expected.label,
                       **{k: d[k] for k in ("syscall", "category", "debatable") if k in d}},
    }
    if d.get("related"):
        res["relatedLocations"] = [dict(_location(x["file"], x["line"], x.get("message")),
                                        id=i) for i, x in enumerate(d["related"])]
    w = d.get("witness")
    cex = r.counterexample
    if w and cex is not None and cex.trace:
        steps = [{"location": {"message": {"text": f"{st.index}. [{st.actor}] {st.step}"
                                            + (f" ({st.rule})" if st.rule else "")}},
                  "nestingLevel": 0} for st in cex.trace[:MAX_FLOW_STEPS]]
        res["codeFlows"] = [{"message": {"text": f"model witness {w['raw']['id']}: "
                                         f"{w['raw']['verdict']}; replay: {cex.replay}"},
                             "threadFlows": [{"locations": steps}]}]
    return res


def render_sarif(results: list[CheckResult], command: str = "",
                 extra: dict | None = None) -> str:
    """The SARIF log (a JSON string) for `entersys lint`'s records."""
    findings = [r for r in results if r.kind == "finding"]
    others = [{"id": r.id, "verdict": r.verdict.label, "expected": r.expected.label,
               "title": r.title} for r in results if r.kind != "finding"]
    log = {
        "$schema": SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "entersys-lint", "version": __version__,
                "rules": [{"id": k, "shortDescription": {"text": v}}
                          for k, v in RULES.items()]}},
            "invocations": [{"executionSuccessful": True, "commandLine": command}],
            "results": [_result(r) for r in findings],
            "properties": {"records": others},
        }],
    }
    return json.dumps(log, indent=2) + "\n"
