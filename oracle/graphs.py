"""networkx graphs derived from the step definitions: the G-status and P-status transition
graphs (every status change some explored step makes, labelled by the steps), checked
against the spec's allowed-transition table, and the state graph of a small
configuration; all exportable as DOT."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
from entersys.model import status as st
from entersys.model.program import Program
from entersys.model.state import Config
from entersys.oracle.explore import Explorer, State

# Configurations whose exhaustive exploration the status graphs are derived from.
GRAPH_CONFIGS = (Config(1, 1, 1), Config(2, 1, 1))


def _name(kind: str, v: int) -> str:
    return (st.G_NAMES if kind == "g" else st.P_NAMES).get(v, str(v))


def status_graphs(go: str = "1.25", configs: tuple[Config, ...] = GRAPH_CONFIGS
                  ) -> tuple[nx.DiGraph, nx.DiGraph]:
    """(G-status graph, P-status graph): an edge a -> b for every status change an
    explored step makes; edge attribute `steps` is the set of step names."""
    graphs = {"g": nx.DiGraph(), "p": nx.DiGraph()}
    for cfg in configs:
        prog = Program(Config(cfg.ms, cfg.ps, cfg.gs, go=go), go=go)
        ex = Explorer(prog)
        L = prog.layout
        gpos = [L.gname[j]["status"] for j in range(cfg.gs)]
        ppos = [L.pname[j]["status"] for j in range(cfg.ps)]

        def on_edge(s: State, inst: object, raw: State,
                    gpos: list[int] = gpos, ppos: list[int] = ppos) -> None:
            for kind, positions in (("g", gpos), ("p", ppos)):
                for pos in positions:
                    a, b = s[pos], raw[pos]
                    if a != b:
                        g = graphs[kind]
                        ea, eb = _name(kind, a), _name(kind, b)
                        if not g.has_edge(ea, eb):
                            g.add_edge(ea, eb, steps=set())
                        g[ea][eb]["steps"].add(inst.step.name)  # type: ignore[attr-defined]

        ex.on_edge = on_edge
        ex.run(progress=False, stop_at_first=False)
    return graphs["g"], graphs["p"]


@dataclass
class GraphCheck:
    kind: str
    unexpected: list[tuple[str, str, list[str]]]   # produced, not allowed by the spec
    missing: list[tuple[str, str]]                  # documented, produced by no step

    @property
    def ok(self) -> bool:
        return not self.unexpected and not self.missing


def check_against_spec(g: nx.DiGraph, kind: str, design: str = "psyscall") -> GraphCheck:
    """Compare a derived graph with the spec's table of a design (section 2.1 for
    "psyscall", 2.2 for "scanbit")."""
    if design == "psyscall":  # read at call time (tests patch these)
        allowed = st.ALLOWED_G_OLD if kind == "g" else st.ALLOWED_P_OLD
        required = st.REQUIRED_G_OLD if kind == "g" else st.REQUIRED_P_OLD
    else:
        ag, ap, rg, rp = st.TABLES[design]
        allowed, required = (ag, rg) if kind == "g" else (ap, rp)
    names = {(_name(kind, a), _name(kind, b)) for a, b in allowed}
    req = {(_name(kind, a), _name(kind, b)) for a, b in required}
    unexpected = [(a, b, sorted(d["steps"])) for a, b, d in g.edges(data=True)
                  if (a, b) not in names]
    missing = sorted(e for e in req if not g.has_edge(*e))
    return GraphCheck(kind, unexpected, missing)


def _dot_escape(s: object) -> str:
    return str(s).replace("\\", "\\\\").replace('"', '\\"')


def to_dot(g: nx.DiGraph, name: str) -> str:
    lines = [f'digraph "{_dot_escape(name)}" {{', "  rankdir=LR;"]
    for n, d in g.nodes(data=True):
        label = d.get("label", n)
        lines.append(f'  "{_dot_escape(n)}" [label="{_dot_escape(label)}"];')
    for a, b, d in g.edges(data=True):
        label = "\\n".join(sorted(d.get("steps", ()))) if "steps" in d else d.get("label", "")
        lines.append(f'  "{_dot_escape(a)}" -> "{_dot_escape(b)}" [label="{label}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def state_graph(ex: Explorer, max_states: int = 5000) -> nx.DiGraph:
    """The explored state graph (up to max_states nodes), node label = actor pcs."""
    g = nx.DiGraph()
    ids: dict[State, int] = {}

    def node(s: State) -> int:
        if s not in ids:
            ids[s] = len(ids)
            d = ex.describe(s)
            pcs = [f"{k}={v}" for k, v in d.items() if k.endswith(".pc")]
            g.add_node(ids[s], label=" ".join(pcs))
        return ids[s]

    def on_edge(s: State, inst: object, raw: State) -> None:
        if len(ids) >= max_states:
            return
        a, b = node(s), node(ex.sym.canon(raw))
        g.add_edge(a, b, label=inst.label)  # type: ignore[attr-defined]

    ex.on_edge = on_edge
    res = ex.run(max_states=max_states, progress=False, stop_at_first=False)
    ex.on_edge = None
    if not res.complete:
        raise StateGraphTooLarge(
            f"the state graph of {ex.prog.cfg.ms} Ms / {ex.prog.cfg.ps} Ps / "
            f"{ex.prog.cfg.gs} Gs has more than {max_states} states; use a smaller "
            "configuration or raise --max-nodes")
    return g


class StateGraphTooLarge(ValueError):
    """The explored state graph would exceed the node limit (it is never cut silently)."""


def state_graph_dot(ex: Explorer, max_states: int = 5000) -> str:
    return to_dot(state_graph(ex, max_states), f"states {ex.prog.cfg}")


def dot_for(of: str, go: str, cfg: Config, max_nodes: int = 5000) -> str:
    """DOT text of the g-status or p-status graph of version `go`, or of the symmetry-reduced
    state graph of `cfg` (raises StateGraphTooLarge past `max_nodes` states)."""
    if of == "states":
        return state_graph_dot(Explorer(Program(cfg, go=go)), max_nodes)
    gg, pg = status_graphs(go)
    return to_dot(gg if of == "g-status" else pg, f"{of} go{go}")
