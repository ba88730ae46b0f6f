"""The G- and P-status graphs derived from the steps match the spec's allowed-transition
table both ways, and DOT export works for them and for a small state graph."""

from __future__ import annotations

import networkx as nx
import pytest
from entersys.model import status as st
from entersys.model.program import DESIGN_OF, VERSIONS
from entersys.oracle import graphs


@pytest.fixture(scope="module", params=[v for v in VERSIONS if DESIGN_OF[v] == "psyscall"])
def derived(request):
    return graphs.status_graphs(request.param)


def test_derived_graphs_match_the_spec(derived) -> None:
    g, p = derived
    for kind, gr in (("g", g), ("p", p)):
        check = graphs.check_against_spec(gr, kind)
        assert check.unexpected == [], check.unexpected
        assert check.missing == [], check.missing


def test_psyscall_is_left_only_by_cas_steps(derived) -> None:
    _, p = derived
    out_steps = set().union(*(d["steps"] for _, _, d in p.out_edges("_Psyscall", data=True)))
    assert out_steps == {"exitsyscallfast.cas", "retake.cas", "stw.stop",
                         "reentersyscall.12.gcwait", "forEachP.take"}


def test_a_spec_edge_no_step_produces_is_reported(derived, monkeypatch) -> None:
    g, _ = derived
    monkeypatch.setattr(st, "REQUIRED_G_OLD", st.REQUIRED_G_OLD | {(st._Gsyscall,
                                                                     st._Gwaiting)})
    assert graphs.check_against_spec(g, "g").missing == [("_Gsyscall", "_Gwaiting")]


def test_an_edge_the_spec_forbids_is_reported(derived, monkeypatch) -> None:
    _, p = derived
    monkeypatch.setattr(st, "ALLOWED_P_OLD", st.ALLOWED_P_OLD - {(st._Psyscall, st._Pidle)})
    bad = graphs.check_against_spec(p, "p").unexpected
    assert [(a, b) for a, b, _ in bad] == [("_Psyscall", "_Pidle")]


def test_dot_export(derived, tmp_path) -> None:
    _, p = derived
    dot = graphs.to_dot(p, "p-status")
    assert dot.startswith('digraph "p-status"')
    assert '"_Prunning" -> "_Psyscall"' in dot


def test_state_graph_of_a_small_configuration() -> None:
    from entersys.model.program import Program
    from entersys.model.state import Config
    from entersys.oracle.explore import Explorer

    cfg = Config(1, 1, 1, stw=False, foreachp=False, gc=False, blockhint=False, raw=False)
    ex = Explorer(Program(cfg))
    full = Explorer(Program(cfg)).run(progress=False)
    g = graphs.state_graph(ex, max_states=100_000)
    assert g.number_of_nodes() == full.states  # every explored state, nothing invented
    assert not nx.is_directed_acyclic_graph(g)  # Gs make syscalls again and again
    assert nx.has_path(g, 0, g.number_of_nodes() - 1)  # BFS numbering: all from the start


@pytest.mark.parametrize("go", ["1.14", "1.25", "1.27"])
def test_state_graph_with_defaults(cli, tmp_path, go) -> None:
    """`graph --of states` with its defaults (1/1/1, core parts) writes a DOT state graph
    for every design; a new user's first try (found by a README trial) used to be refused
    as too large."""
    out = tmp_path / "s.dot"
    r = cli("graph", "--go", go, "--of", "states", "--out", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert text.startswith("digraph") and text.count("->") > 100
