"""JUnit XML rendering of result records, for CI systems' test tabs: one <testsuite> per
check group and one <testcase> per check. A refutation or an error that was not expected
is a <failure> (an <error> for a check that could not run) carrying the counterexample; an
inconclusive check (a solver "unknown", a cut-off exploration) is <skipped> with its
reason, never a pass; an expected counterexample goes to the case's <system-out>."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import groupby

from entersys.report.text import render_counterexample
from entersys.results import CheckResult, Status, Verdict


def _case(r: CheckResult) -> ET.Element:
    case = ET.Element("testcase", name=r.id, classname=f"entersys.{r.group}",
                      time=f"{r.seconds:.6f}")
    cex = r.counterexample
    body = "\n".join(render_counterexample(cex, indent="")) if cex else ""
    head = f"{r.verdict.label} (expected {r.expected.label})"
    if cex:
        head += f": {cex.summary}"
    if r.status == Status.FAIL:
        ET.SubElement(case, "failure", message=head, type=r.verdict.label).text = body
    elif r.status == Status.ERROR:
        ET.SubElement(case, "error", message=head, type=r.verdict.label).text = body
    elif r.status == Status.INCONCLUSIVE:
        ET.SubElement(case, "skipped", message=f"inconclusive: {head}").text = body
    elif r.verdict == Verdict.NOT_APPLICABLE:
        ET.SubElement(case, "skipped", message=f"not applicable: {r.title}").text = body
    elif body:
        ET.SubElement(case, "system-out").text = body
    return case


def junit_tree(results: list[CheckResult], command: str = "") -> ET.Element:
    root = ET.Element("testsuites", name=command or "entersys")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    secs = 0.0
    for group, recs in groupby(sorted(results, key=lambda r: r.group), key=lambda r: r.group):
        rs = list(recs)
        n = {"tests": len(rs),
             "failures": sum(r.status == Status.FAIL for r in rs),
             "errors": sum(r.status == Status.ERROR for r in rs),
             "skipped": sum(r.status == Status.INCONCLUSIVE
                            or r.verdict == Verdict.NOT_APPLICABLE for r in rs)}
        t = sum(r.seconds for r in rs)
        suite = ET.SubElement(root, "testsuite", {"name": group, "time": f"{t:.6f}",
                                                  **{k: str(v) for k, v in n.items()}})
        suite.extend(_case(r) for r in rs)
        for k in totals:
            totals[k] += n[k]
        secs += t
    root.attrib.update({k: str(v) for k, v in totals.items()}, time=f"{secs:.6f}")
    return root


def render_junit(results: list[CheckResult], command: str = "",
                 extra: dict | None = None) -> str:
    tree = junit_tree(results, command)
    ET.indent(tree)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(tree, encoding="unicode") \
        + "\n"
