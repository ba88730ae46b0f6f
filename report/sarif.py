"""SARIF 2.1.0 rendering of result records, for CI systems that ingest static-analysis
results (GitHub code scanning and others): one result per refuted property or finding,
each counterexample trace as a codeFlow with one threadFlow per actor (M0, sysmon, ...),
ordered across threads by `executionOrder`, and a `partialFingerprints` entry that depends
only on the check and the property, so the same finding matches across runs.

Locations: the model step where the property broke (model/steps.py, in this repository);
each flow step points into Go's source at the release tag through `originalUriBaseIds`.
Sizes are capped at GitHub code scanning's limits (MAX_* below)."""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from entersys import __version__
from entersys.report.sources import RELEASE_TAGS, source_link
from entersys.results import CheckResult, Counterexample, Status, Verdict

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "sarif-schema-2.1.0.json"
# GitHub code scanning's documented upload limits.
MAX_RESULTS = 25_000
MAX_THREADFLOW_LOCATIONS = 10_000
MAX_RULES = 25_000
_PROP_RE = re.compile(r"^(\S+) \((\w+)\) violated: ([^;]*)")
_GO_RE = re.compile(r"\bgo(\d+\.\d+)\b")


def _base_id(go: str) -> str:
    return "GOROOT_" + go.replace(".", "_")


@cache
def _step_lines() -> dict[str, int]:
    """step name -> line of its `@step("name"` decorator in model/steps.py."""
    from entersys.model import steps

    out = {}
    path = Path(steps.__file__)
    try:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = re.match(r'@step\("([^"]+)"', line)
            if m:
                out[m.group(1)] = n
    except OSError:
        pass
    return out


def _property(r: CheckResult) -> tuple[str, str]:
    """(rule id, its description) for a finding: the violated property where the
    counterexample names one (I1, DEADLOCK, ...), else the check itself."""
    cex = r.counterexample
    m = _PROP_RE.match(cex.summary) if cex else None
    if m:
        return m.group(1), f"{m.group(1)} ({m.group(2)}): {m.group(3).strip()}"
    return r.id, r.title


def _is_finding(r: CheckResult) -> bool:
    if r.verdict == Verdict.NOT_APPLICABLE:
        return False
    return r.verdict != Verdict.HOLDS or r.status != Status.PASS


def _level(r: CheckResult) -> str:
    if r.status in (Status.FAIL, Status.ERROR):
        return "error"
    if r.status == Status.INCONCLUSIVE:
        return "warning"
    return "note"   # an expected refutation (a killed mutant, the -4095 divergence)


def _fingerprint(r: CheckResult, rule: str) -> str:
    return hashlib.sha256(f"{r.id}\0{rule}".encode()).hexdigest()[:32]


def _message(r: CheckResult) -> str:
    head = f"{r.id}: {r.verdict.label} (expected {r.expected.label}; {r.status.label})."
    if r.counterexample:
        head += " " + r.counterexample.summary
        if r.counterexample.replay:
            head += f" Replay: {r.counterexample.replay}"
    return head


def _location(r: CheckResult) -> dict[str, Any]:
    cex = r.counterexample
    lines = _step_lines()
    if cex and cex.trace:
        name = cex.trace[-1].step.split("(")[0]
        if name in lines:
            return {"physicalLocation": {"artifactLocation": {"uri": "model/steps.py"},
                                         "region": {"startLine": lines[name]}},
                    "message": {"text": f"the step after which it failed: {cex.trace[-1].actor}:"
                                        f"{cex.trace[-1].step}"}}
    uri = "native/gomap.inc" if r.group == "errno" else "model/invariants.py"
    return {"physicalLocation": {"artifactLocation": {"uri": uri},
                                 "region": {"startLine": 1}}}


def _code_flow(cex: Counterexample, go: str | None, steps: dict[str, Any]) -> dict[str, Any]:
    flows: dict[str, list[dict[str, Any]]] = {}
    for st in cex.trace[:MAX_THREADFLOW_LOCATIONS]:
        name = st.step.split("(")[0]
        changes = "; ".join(f"{k}: {o} -> {n}" for k, (o, n) in st.changes.items())
        text = f"{st.index}. {st.actor}:{st.step}" + (f" ({st.rule})" if st.rule else "") \
            + (f": {changes}" if changes else "")
        tfl: dict[str, Any] = {"executionOrder": st.index, "location": {"message": {"text": text}},
                               "state": {k: {"text": str(n)} for k, (_o, n) in st.changes.items()}}
        link = source_link(steps[name].source, go) if go and name in steps else None
        if link is not None:
            phys: dict[str, Any] = {"artifactLocation": {"uri": f"src/{link.path}",
                                                         "uriBaseId": _base_id(go or "")}}
            if link.line:
                phys["region"] = {"startLine": link.line}
            tfl["location"]["physicalLocation"] = phys
        flows.setdefault(st.actor, []).append(tfl)
    text = cex.summary
    if len(cex.trace) > MAX_THREADFLOW_LOCATIONS:
        text += (f" (the first {MAX_THREADFLOW_LOCATIONS} of {len(cex.trace)} steps; "
                 "the whole trace is in --format json)")
    return {"message": {"text": text},
            "threadFlows": [{"id": actor, "locations": locs} for actor, locs in flows.items()]}


def sarif_doc(results: list[CheckResult], command: str = "") -> dict[str, Any]:
    """The SARIF log (a dict) for a list of result records."""
    from entersys.model.program import _default_steps

    steps = _default_steps()
    rules: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    gos: set[str] = set()
    for r in results:
        if not _is_finding(r) or len(out) >= MAX_RESULTS:
            continue
        rule, desc = _property(r)
        if rule not in rules and len(rules) < MAX_RULES:
            rules[rule] = {"id": rule, "name": re.sub(r"\W", "", rule.title()) or rule,
                           "shortDescription": {"text": desc},
                           "properties": {"group": r.group}}
        m = _GO_RE.search(r.id)
        go = m.group(1) if m else None
        res: dict[str, Any] = {
            "ruleId": rule, "level": _level(r), "message": {"text": _message(r)},
            "locations": [_location(r)],
            "partialFingerprints": {"entersysFinding/v1": _fingerprint(r, rule)},
            "properties": {"check": r.id, "kind": r.kind, "verdict": r.verdict.label,
                           "expected": r.expected.label, "status": r.status.label,
                           "seconds": round(r.seconds, 6)},
        }
        if rule in rules:
            res["ruleIndex"] = list(rules).index(rule)
        cex = r.counterexample
        if cex is not None and cex.trace:
            res["codeFlows"] = [_code_flow(cex, go, steps)]
            if go in RELEASE_TAGS:
                gos.add(go)  # type: ignore[arg-type]
        if cex is not None and cex.values:
            res["properties"]["values"] = {k: str(v) for k, v in cex.values.items()}
        out.append(res)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "entersys", "version": __version__,
                            "semanticVersion": __version__, "rules": list(rules.values())}},
        "invocations": [{"commandLine": command, "executionSuccessful": True}],
        "results": out,
        "columnKind": "unicodeCodePoints",
    }
    if gos:
        run["originalUriBaseIds"] = {
            _base_id(g): {"uri": f"https://go.googlesource.com/go/+/refs/tags/{RELEASE_TAGS[g]}/"}
            for g in sorted(gos)}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render_sarif(results: list[CheckResult], command: str = "",
                 extra: dict | None = None) -> str:
    return json.dumps(sarif_doc(results, command), indent=1) + "\n"
