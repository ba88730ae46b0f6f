"""Bounded stalls: a pending property that only sysmon's timer ends (a P left in
_Psyscall while its M blocks, a G queued behind it, forEachP waiting on it) is reported
as a latency finding of Go's design (kind `latency`, verdict holds as expected, with the
number of sysmon periods and the lasso that exists without the timer), never as a
deadlock or a liveness failure, and it leaves the exit code at 0."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from entersys.model.state import Config
from entersys.oracle import liveness as live
from entersys.oracle.protocol import PART_SETS, build_program, explore, with_parts
from entersys.oracle.replay import replay

CORE_1 = with_parts(Config(1, 1, 1), PART_SETS["core"])


@pytest.mark.parametrize("go", ["1.25", "1.14"])
def test_blocked_syscall_p_is_a_bounded_stall(go: str) -> None:
    run = explore(CORE_1, go)
    assert run.result.verdict.label == "holds"
    assert all(r.verdict.label == "holds" for r in run.liveness)
    lat = {r.details["property"]: r for r in run.latency}
    rec = lat["LIVE-RETAKE"]
    assert rec.kind == "latency" and rec.verdict == rec.expected
    assert rec.details["sysmon_periods"] >= 1
    assert rec.details["latency"].startswith("bounded stall: ends after ")
    trace = rec.details["trace"]
    assert trace[-1] == "M0:syscall.block"
    # the lasso replays through the steps, violating nothing
    prog = build_program(CORE_1, go)
    rep = replay(prog, trace)
    assert rep.violated == []
    # at its end only sysmon's timer (or a new round of the environment) can step
    from entersys.oracle.explore import Explorer

    ex = Explorer(prog, symmetry=False)
    last = tuple(rep.states[-1])
    names = {inst.step.name for inst, _ in ex.successors(last)}
    assert names and names <= set(live.SYSMON_P_STEPS) | set(live.ENV_STEPS), names


def test_timer_edges_are_what_ends_the_stall() -> None:
    """Without its timer edges the stall has a fair lasso; with them it has none."""
    lr = live.check(build_program(CORE_1, "1.25"))
    assert all(la is None for _, la in lr.lassos)
    stalls = dict(live.bounded_stalls(lr))
    retake = next(p for p in stalls if p.id == "LIVE-RETAKE")
    untimed = replace(lr.run, edge_actors=live._timer_edges(lr.explorer, lr.run))
    found = dict(live.find_lassos(lr.explorer, untimed, [retake]))
    assert found[retake] is not None
    assert stalls[retake].periods >= 1


def test_cli_reports_latency_and_exits_0(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("explore", "--go", "1.25", "--ms", "1", "--ps", "1", "--gs", "1", "--format",
            "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    lat = [x for x in doc["results"] if x["kind"] == "latency"]
    assert lat and all(x["status"] == "pass" for x in lat)
    assert all("sysmon period" in x["details"]["latency"] for x in lat)


def test_native_graph_finds_the_same_stalls() -> None:
    """The timer's edges of a native run's graph (numpy over its CSR) give the same bounded
    stalls, with the same number of periods, as the Python graph."""
    py = explore(CORE_1, "1.25", engine="python")
    nat = explore(CORE_1, "1.25", engine="native")

    def got(run: object) -> dict[str, int]:
        return {r.details["property"]: r.details["sysmon_periods"]
                for r in run.latency}  # type: ignore[attr-defined]

    assert got(py) == got(nat) and "LIVE-RETAKE" in got(py)
