"""The HTML report of a mutant's counterexample, opened in headless Chromium (Debian's
/usr/bin/chromium, driven by Playwright; no browser is downloaded): the page must have
rendered the lanes, the status graphs with the trace's path, and the Go source links,
checked by DOM queries in the browser. A screenshot is taken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, timeout=300_000)
        pg = browser.new_page(viewport={"width": 1500, "height": 1000})
        # a loaded 2-core CI machine: Playwright's 30 s default is too short there
        pg.set_default_timeout(180_000)
        pg.set_default_navigation_timeout(180_000)
        # the report is self-contained: any request leaving the file is a bug
        requests: list[str] = []
        pg.on("request", lambda req: requests.append(req.url))
        pg.requests = requests  # type: ignore[attr-defined]
        yield pg
        browser.close()


@pytest.mark.slow
def test_mutant_report_in_chromium(cli, tmp_path, page) -> None:
    saved, html = tmp_path / "m.json", tmp_path / "m.html"
    r = cli("mutants", "--engine", "explore",
            "--go", "1.25", "--only", "R7-store-first", "--format", "json",
            "--out", str(saved), "--html", str(html), "--quiet")
    assert r.returncode == 0, r.stderr
    trace = json.loads(saved.read_text())["results"][0]["counterexample"]["trace"]
    page.goto(html.as_uri())
    # lanes: one per M, P, G and the fixed actors, a row per step
    lanes = page.eval_on_selector_all("th.lane-head", "els => els.map(e => e.dataset.lane)")
    assert lanes[:3] == ["M0", "P0", "G0"]
    assert {"sysmon", "stw", "forEachP", "GC"} <= set(lanes)
    rows = page.query_selector_all("tr.step-row")
    assert len(rows) == len(trace)
    labels = [r.get_attribute("data-label") for r in rows]
    assert labels == [f"{s['actor']}:{s['step']}" for s in trace]
    # each step sits in its actor's lane; the fields it changed are highlighted there
    for row, st in zip(rows, trace):
        lane = row.eval_on_selector("td.actor", "e => e.dataset.lane")
        assert lane == st["actor"]
        changed = row.eval_on_selector_all(".change.changed", "es => es.map(e => e.dataset.field)")
        assert sorted(changed) == sorted(st["changes"])
        bg = row.eval_on_selector(".change.changed", "e => getComputedStyle(e).backgroundColor")
        assert bg not in ("rgba(0, 0, 0, 0)", "transparent")
    # the G and P status graphs rendered, with the trace's P path _Prunning -> _Psyscall
    for kind in ("g", "p"):
        box = page.eval_on_selector(f"figure.status-graph[data-kind={kind}] svg",
                                    "e => { const b = e.getBBox(); return [b.width, b.height] }")
        assert box[0] > 100 and box[1] > 100
    hot = page.eval_on_selector_all(
        "figure[data-kind=p] g.path-edge", "es => es.map(e => [e.dataset.from, e.dataset.to])")
    assert ["_Prunning", "_Psyscall"] in hot
    stroke = page.eval_on_selector("figure[data-kind=p] g.path-edge path",
                                   "e => getComputedStyle(e).stroke")
    assert stroke == "rgb(209, 36, 47)"
    # source links: every Go step links to Go's source at the release tag and a line
    links = page.eval_on_selector_all("a.src", "es => es.map(e => [e.href, e.textContent])")
    assert len(links) >= len(trace) - 1
    casg = next(h for h, t in links if "proc.go" in t)
    assert casg.startswith("https://go.googlesource.com/go/+/refs/tags/go1.25.5/src/runtime/")
    assert casg.rsplit("#", 1)[1].isdigit()
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert all(u.startswith("file:") for u in page.requests), page.requests  # type: ignore[attr-defined]


@pytest.mark.slow
def test_lasso_cycle_marked(page, tmp_path) -> None:
    """A lasso (a counterexample whose `loop` names the step its cycle starts at) has
    every row from that step on marked as the cycle, and no violation marker."""
    from entersys.oracle.protocol import mutant_results
    from entersys.report.html import render_html_doc
    from entersys.report.json_out import render_json

    doc = json.loads(render_json(mutant_results("1.25", only=["R7-store-first"]), "t"))
    cex = doc["results"][0]["counterexample"]
    n = len(cex["trace"])
    cex["loop"] = n - 2
    f = tmp_path / "lasso.html"
    f.write_text(render_html_doc(doc, graphs=False))
    page.goto(f.as_uri())
    cyc = page.eval_on_selector_all("tr.step-row.cycle", "es => es.map(e => +e.dataset.step)")
    assert cyc == [n - 1, n]  # the steps after the state the cycle starts at
    assert page.query_selector_all("tr.violation") == []
    assert page.query_selector(f"tr.step-row[data-step='{n - 2}'] .cycle-mark") is not None


@pytest.mark.slow
def test_model_state_beside_concrete_state(page, tmp_path) -> None:
    """A step that carries the concrete state (a native or gate trace) shows the model's
    and the concrete value of each field side by side, the differing ones highlighted."""
    from entersys.oracle.protocol import mutant_results
    from entersys.report.html import render_html_doc
    from entersys.report.json_out import render_json

    doc = json.loads(render_json(mutant_results("1.25", only=["R7-store-first"]), "t"))
    step = doc["results"][0]["counterexample"]["trace"][0]
    step["concrete"] = {"m0.locks": step["state"]["m0.locks"], "p0.status": "_Pdead"}
    f = tmp_path / "concrete.html"
    f.write_text(render_html_doc(doc, graphs=False))
    page.goto(f.as_uri())
    rows = page.eval_on_selector_all(
        "tr.step-row[data-step='1'] details.state tr",
        "rs => rs.map(r => [r.className, [...r.cells].map(c => c.textContent)])")
    assert rows[0][1] == ["field", "model", "concrete"]
    by_field = {cells[0]: (cls, cells[1:]) for cls, cells in rows[1:]}
    assert by_field["p0.status"] == ("changed", [step["state"]["p0.status"], "_Pdead"])
    assert by_field["m0.locks"][0] == ""
