"""The G-status and P-status graphs of a counterexample's report: the networkx graphs that
entersys.oracle.graphs derives from the step definitions (cached on disk per Go version
and model source), with the counterexample's own status changes highlighted, laid out on a
circle in status order and drawn as SVG through a Jinja2 template.

Edges the trace takes that the faithful model never takes (a mutant's) are drawn too,
dashed, so the path is always whole."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
from entersys.model import status as st

_MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
_MEM: dict[str, dict[str, list[list[Any]]]] = {}


def _model_hash() -> str:
    h = hashlib.sha256()
    for f in sorted(_MODEL_DIR.glob("*.py")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


def status_edges(go: str) -> dict[str, list[list[Any]]]:
    """{"g": [[from, to, [step, ...]], ...], "p": [...]} for Go version `go`: the status
    graphs of oracle.graphs, computed once per model source and cached under
    entersys's cache dir (a few seconds of exploration otherwise)."""
    if go in _MEM:
        return _MEM[go]
    from entersys.gotoolchain import cache_dir

    path = cache_dir() / "graphs" / f"status-{go}-{_model_hash()}.json"
    try:
        data: dict[str, list[list[Any]]] = json.loads(path.read_text())
    except (OSError, ValueError):
        from entersys.oracle.graphs import status_graphs

        gg, pg = status_graphs(go)
        data = {k: [[a, b, sorted(d["steps"])] for a, b, d in g.edges(data=True)]
                for k, g in (("g", gg), ("p", pg))}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            tmp.replace(path)
        except OSError:
            pass  # a cache we cannot write only costs time
    _MEM[go] = data
    return data


def _order(kind: str, name: str) -> tuple[int, str]:
    names = st.G_NAMES if kind == "g" else st.P_NAMES
    codes = {v: k for k, v in names.items()}
    return (codes.get(name, 1 << 20), name)


@dataclass
class PathEdge:
    a: str
    b: str
    steps: list[int] = field(default_factory=list)   # trace step numbers taking this edge


@dataclass
class SvgNode:
    name: str
    x: float
    y: float
    on_path: bool


@dataclass
class SvgEdge:
    a: str
    b: str
    d: str            # SVG path data
    lx: float         # label position
    ly: float
    label: str        # step numbers of the trace taking it, or ""
    title: str        # the model steps that make this change
    on_path: bool
    trace_only: bool  # taken by the trace, never by the faithful model


def trace_path(trace: list[dict[str, Any]], kind: str) -> dict[tuple[str, str], PathEdge]:
    """The status changes of every G (kind "g") or P ("p") along a JSON trace, keyed by
    (from, to) status name."""
    out: dict[tuple[str, str], PathEdge] = {}
    for stp in trace:
        for fld, ch in stp.get("changes", {}).items():
            ent, _, f = fld.partition(".")
            if f == "status" and ent[:1] == kind and ent[1:].isdigit():
                key = (str(ch["from"]), str(ch["to"]))
                out.setdefault(key, PathEdge(*key)).steps.append(int(stp["index"]))
    return out


def layout(kind: str, edges: list[list[Any]], path: dict[tuple[str, str], PathEdge],
           width: float = 460, height: float = 340) -> dict[str, Any]:
    """Node and edge geometry: statuses on an ellipse in Go's status-code order, edges as
    quadratic curves bowed to one side (so a->b and b->a stay apart)."""
    g = nx.DiGraph()
    for a, b, steps in edges:
        g.add_edge(a, b, steps=steps)
    for (a, b) in path:
        if not g.has_edge(a, b):
            g.add_edge(a, b, steps=[])
    names = sorted(g.nodes, key=lambda n: _order(kind, n))
    cx, cy, rx, ry = width / 2, height / 2, width / 2 - 80, height / 2 - 40
    pos = {}
    for i, n in enumerate(names):
        t = -math.pi / 2 + 2 * math.pi * i / max(len(names), 1)
        pos[n] = (cx + rx * math.cos(t), cy + ry * math.sin(t))
    on_nodes = {n for e in path for n in e}
    nodes = [SvgNode(n, *pos[n], n in on_nodes) for n in names]
    out_edges = []
    for a, b, d in g.edges(data=True):
        if a == b:
            continue
        (x1, y1), (x2, y2) = pos[a], pos[b]
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        dx, dy = x2 - x1, y2 - y1
        ln = math.hypot(dx, dy) or 1.0
        bow = 0.18 * ln
        qx, qy = mx - dy / ln * bow, my + dx / ln * bow
        # stop the curve short of the target node's ellipse
        ex, ey = x2 - dx / ln * 36, y2 - dy / ln * 16
        pe = path.get((a, b))
        out_edges.append(SvgEdge(
            a, b, f"M{x1:.1f},{y1:.1f} Q{qx:.1f},{qy:.1f} {ex:.1f},{ey:.1f}",
            qx, qy, ",".join(str(s) for s in pe.steps) if pe else "",
            ", ".join(d["steps"]) or "not a transition of the faithful model",
            pe is not None, pe is not None and not d["steps"]))
    return {"kind": kind, "width": width, "height": height, "nodes": nodes,
            "edges": out_edges}
