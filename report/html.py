"""HTML rendering of a run: one self-contained page (inline CSS and SVG, no script, no
network) with the run summary, every check with its verdict and time, and for each
counterexample a lane diagram (one lane per M, P, G, sysmon, stop-the-world, forEachP, GC
and the scheduler's globals; a row per step; changed fields highlighted; a lasso's cycle
marked), the G/P status graphs with the trace's path highlighted, and a link from each
step to the Go source it models.

Input is the JSON document of entersys.report.json_out (so `entersys report FILE.json`
and `--html` on a command render the same page); templates are in report/templates."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import jinja2
from entersys.report.sources import SourceLink, source_link
from entersys.results import CheckResult

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("entersys.report", "templates"),
                          autoescape=True, trim_blocks=True, lstrip_blocks=True,
                          undefined=jinja2.StrictUndefined)

# lane id -> heading, in display order after the Ms, Ps and Gs
_FIXED_LANES = (("sysmon", "sysmon"), ("stw", "stop-the-world"), ("forEachP", "forEachP"),
                ("GC", "GC"), ("sched", "sched (globals)"))
_ACTOR_LANE = {"sysmon": "sysmon", "W": "stw", "F": "forEachP", "GC": "GC"}
_PREFIX_LANE = {"y": "sysmon", "w": "stw", "f": "forEachP", "gc": "GC"}
_GO_RE = re.compile(r"\bgo(\d+\.\d+)\b")


def field_lane(name: str) -> str:
    """The lane of a state field: "m0.locks" -> "M0", "p1.status" -> "P1", "y.pc" ->
    "sysmon", "gcwaiting" -> "sched"."""
    ent, dot, _ = name.partition(".")
    if dot and ent[:1] in "mpg" and ent[1:].isdigit():
        return ent[0].upper() + ent[1:]
    if dot and ent in _PREFIX_LANE:
        return _PREFIX_LANE[ent]
    return "sched"


def actor_lane(actor: str) -> str:
    return _ACTOR_LANE.get(actor, actor)


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class Cell:
    lane: str
    step: str | None = None            # the step name, in the actor's lane
    rule: str = ""
    link: SourceLink | None = None
    changes: list[Change] = field(default_factory=list)


@dataclass
class Row:
    index: int
    actor: str
    label: str
    cells: list[Cell]
    in_cycle: bool
    cycle_start: bool
    state: list[tuple[str, str, bool]]         # (field, value, changed here)
    concrete: list[tuple[str, str, str]]       # (field, model, concrete) where both exist


def _s(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def _loop_start(cex: dict[str, Any]) -> int | None:
    """The trace step a lasso's cycle starts at (1-based), from `loop` in the
    counterexample, its values, or its ITF (state index = step number)."""
    for src in (cex, cex.get("values") or {}, cex.get("itf") or {}):
        v = src.get("loop")
        if isinstance(v, int):
            return v
    return None


def _lanes(trace: list[dict[str, Any]]) -> list[tuple[str, str]]:
    fields = list(trace[0].get("state", {})) if trace else []
    for stp in trace:
        fields.extend(stp.get("changes", {}))
    seen = {field_lane(f) for f in fields} | {actor_lane(s["actor"]) for s in trace}
    ents = sorted((x for x in seen if x[:1] in "MPG" and x[1:].isdigit()),
                  key=lambda x: ("MPG".index(x[0]), int(x[1:])))
    return [(e, e) for e in ents] + [(k, t) for k, t in _FIXED_LANES if k in seen]


def _step_name(step: str) -> str:
    return step.split("(")[0]


def trace_rows(trace: list[dict[str, Any]], go: str | None,
               loop: int | None = None) -> tuple[list[tuple[str, str]], list[Row]]:
    """(lanes as (id, heading), one Row per trace step)."""
    from entersys.model.program import _default_steps

    steps = _default_steps()
    lanes = _lanes(trace)
    rows = []
    for stp in trace:
        actor = str(stp["actor"])
        cells = {lid: Cell(lid) for lid, _ in lanes}
        name = _step_name(str(stp["step"]))
        own = cells[actor_lane(actor)]
        own.step, own.rule = str(stp["step"]), str(stp.get("rule") or "")
        if go and name in steps:
            own.link = source_link(steps[name].source, go)
        changes = stp.get("changes", {})
        for f, ch in changes.items():
            cells[field_lane(f)].changes.append(Change(f, _s(ch["from"]), _s(ch["to"])))
        state = [(f, _s(v), f in changes) for f, v in stp.get("state", {}).items()]
        concrete = [(f, _s(stp["state"].get(f)), _s(v))
                    for f, v in (stp.get("concrete") or {}).items()]
        k = int(stp["index"])
        rows.append(Row(k, actor, f"{actor}:{stp['step']}", [cells[lid] for lid, _ in lanes],
                        loop is not None and k >= loop, loop == k, state, concrete))
    return lanes, rows


def _go_of(r: dict[str, Any]) -> str | None:
    for text in (r["id"], (r.get("counterexample") or {}).get("replay") or ""):
        m = _GO_RE.search(text) or re.search(r"--go (\d+\.\d+)", text)
        if m:
            return m.group(1)
    return None


def _graphs(trace: list[dict[str, Any]], go: str) -> list[dict[str, Any]]:
    from entersys.report import svggraph

    edges = svggraph.status_edges(go)
    out = []
    for kind, title in (("g", "G status"), ("p", "P status")):
        path = svggraph.trace_path(trace, kind)
        g = svggraph.layout(kind, edges[kind], path)
        g["title"] = f"{title} (Go {go})"
        g["svg"] = _ENV.get_template("graph.svg.j2").render(g=g)
        out.append(g)
    return out


_LOCAL_RE = re.compile(r"^(/[^\s:]+\.(?:go|s|S|c|h|py|inc)):(\d+)$")


def value_rows(values: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(key, value, link) for a counterexample's values; a key that is a local source
    position ("/path/to/proc.go:4574", as a gate run reports) links to that file."""
    out = []
    for k, v in values.items():
        m = _LOCAL_RE.match(str(k))
        out.append((str(k), _s(v), f"file://{m.group(1)}#L{m.group(2)}" if m else None))
    return out


def check_view(r: dict[str, Any], graphs: bool = True) -> dict[str, Any]:
    """What the template shows of one JSON result record."""
    cex = r.get("counterexample")
    view: dict[str, Any] = {"r": r, "cex": cex, "lanes": [], "rows": [], "graphs": [],
                            "go": _go_of(r), "loop": None, "violated": None,
                            "anchor": re.sub(r"[^\w.-]", "_", r["id"]),
                            "values": value_rows((cex or {}).get("values") or {})}
    if cex and cex.get("trace"):
        m = re.match(r"^(\S+) \((\w+)\) violated", str(cex.get("summary", "")))
        view["violated"] = m.group(1) if m and not _loop_start(cex) else None
        loop = _loop_start(cex)
        view["loop"] = loop
        view["lanes"], view["rows"] = trace_rows(cex["trace"], view["go"], loop)
        if graphs and view["go"] and any(s.get("changes") for s in cex["trace"]):
            view["graphs"] = _graphs(cex["trace"], view["go"])
    return view


def render_html_doc(doc: dict[str, Any], graphs: bool = True) -> str:
    """The page for one JSON document ({"tool", "version", "command", "results",
    "summary", ...}). Raises KeyError/TypeError on a document of another shape."""
    checks = [check_view(r, graphs) for r in doc["results"]]
    extra = {k: v for k, v in doc.items()
             if k not in ("tool", "version", "command", "results", "summary")}
    return _ENV.get_template("report.html.j2").render(doc=doc, checks=checks, extra=extra)


def render_html(results: list[CheckResult], command: str = "",
                extra: dict | None = None) -> str:
    from entersys.report.json_out import render_json

    return render_html_doc(json.loads(render_json(results, command, extra)))
