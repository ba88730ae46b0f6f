"""Liveness of the Go 1.26+ design: its fairness is derived from the steps as the old
design's is (sysmon's per-P visits, the 10 ms bit, the winning scan-bit CAS strongly fair,
stw.begin26 part of the environment), every LIVE-* property holds at the sizes the Python
checker can do, each fairness rule has teeth (without it a property fails), and the
stop-the-world finding is reported as a bounded stall that only sysmon's timer ends."""

from __future__ import annotations

import pytest
from conftest import program
from entersys.model import steps_scanbit
from entersys.model.state import Config
from entersys.oracle import liveness as live
from entersys.oracle.explore import Explorer
from entersys.oracle.protocol import PART_SETS, explore, with_parts
from entersys.results import Verdict

LIVE = ["LIVE-RUN", "LIVE-EXIT", "LIVE-STW", "LIVE-RETAKE"]


def _core(ms: int, ps: int, gs: int, go: str):  # type: ignore[no-untyped-def]
    return program(ms, ps, gs, go, **{p: p in PART_SETS["core"] for p in
                                      ("stw", "foreachp", "gc", "sysmon", "blockhint", "raw")})


def test_fairness_classes_are_derived_from_the_steps() -> None:
    old, new = program(1, 1, 1, "1.25"), program(1, 1, 1, "1.27")
    assert live.sysmon_p_steps(old) == live.SYSMON_P_STEPS
    assert set(live.sysmon_p_steps(new)) == {"retake.pick", "sysmon.timeout",
                                             "retake.preempt26", "retake.block.recheck"}
    assert live.timed_steps(old) == ("retake.decide",)
    assert live.timed_steps(new) == ("retake.block.recheck",)
    assert live.env_steps(new) == tuple(n for n in new.steps
                                        if n in ("stw.begin26", "forEachP.begin", "gc.scan"))
    assert "stw.begin26" in live.env_steps(new)
    ex = live.check(_core(1, 1, 2, "1.27")).explorer
    assert {"sysmon.P0.pick", "sysmon.P0.timeout", "sysmon.P0.block.recheck.10ms",
            "retake.block.cas.fair"} <= set(ex.actor_names)
    # only the 10 ms instance of the re-check is owed strong fairness, one class per P
    by_args = {inst.args: ex.actor_names[a] for inst, a in ex.actor_of.items()
               if inst.step.name == "retake.block.recheck"}
    assert by_args == {(1, 0): "sysmon.P0.block.recheck", (1, 1): "sysmon.P0.block.recheck.10ms"}
    two = Explorer(_core(2, 2, 1, "1.27"), symmetry=False)  # the numbering only
    live.prepare(two)
    names = {two.actor_names[a] for inst, a in two.actor_of.items()
             if inst.step.name == "retake.block.recheck" and inst.args[1] == 1}
    assert names == {"sysmon.P0.block.recheck.10ms", "sysmon.P1.block.recheck.10ms"}


@pytest.mark.parametrize("go", ["1.26", "1.27"])
def test_every_live_property_holds_and_the_stall_is_a_finding(go: str) -> None:
    run = explore(with_parts(Config(1, 1, 2), PART_SETS["core"]), go, progress=False)
    assert run.result.verdict == Verdict.HOLDS
    by = {r.id.rsplit(".", 1)[1]: r for r in run.liveness}
    assert list(by) == LIVE                              # liveness runs by default now
    assert all(by[p].verdict == Verdict.HOLDS == by[p].expected for p in LIVE)
    # the stop-the-world finding is a bounded stall (the one latency search both designs
    # share, liveness.bounded_stalls): LIVE-STW holds only because sysmon's timer fires
    lat = {r.details["property"]: r for r in run.latency}
    stall = lat["LIVE-STW"]
    assert stall.kind == "latency" and stall.verdict == stall.expected == Verdict.HOLDS
    assert stall.details["sysmon_periods"] >= 1
    steps = [lab.split(":", 1)[1] for lab in stall.details["trace"]]
    # W scanned the P before its G switched to _Gsyscall: the G is then in a syscall and
    # the world waits (nothing but sysmon's timer can end it)
    scan = steps.index("stw.stopP(p0)")
    assert "reentersyscall.5.casgstatus" in steps[scan:]


def test_old_design_stop_the_world_needs_no_timer() -> None:
    """The old design's store->load handshake (R8) leaves no window: its stop-the-world
    never waits on sysmon's timer, so it has no LIVE-STW bounded stall."""
    run = explore(with_parts(Config(1, 1, 2), PART_SETS["core"]), "1.25", progress=False)
    assert [r.id.rsplit(".", 1)[1] for r in run.liveness] == LIVE
    assert "LIVE-STW" not in {r.details["property"] for r in run.latency}


def test_without_the_fair_cas_a_g_dodges_sysmon(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without strong fairness on the winning CAS, a G that leaves each syscall inside
    sysmon's read-to-CAS window is never preempted (preemptone skips _Gsyscall Gs since Go
    1.26) nor retaken: LIVE-RUN fails. With it, it holds (previous test)."""
    monkeypatch.setattr(steps_scanbit, "STRONGLY_FAIR", ())
    lr = live.check(_core(1, 1, 2, "1.27"))
    found = dict((p.id, la) for p, la in lr.lassos)
    la = found["LIVE-RUN"]
    assert la is not None and len(la.cycle) > 2
    cex = live.lasso_counterexample(lr.explorer, lr.run, la, "replay", {})
    k = cex.values["loop_start_state"]
    assert "retake.block.lost" in [s.step for s in cex.trace[k:]]


def test_without_the_timed_steps_fairness_stw_waits_forever(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without strong fairness for sysmon's per-P visits, sysmon may sleep and wake
    forever during a stop and never retake the missed P: LIVE-STW fails."""
    monkeypatch.setattr(live, "sysmon_p_steps", lambda prog: ())
    monkeypatch.setattr(live, "timed_steps", lambda prog: ())
    lr = live.check(_core(1, 1, 2, "1.27"))
    found = dict((p.id, la) for p, la in lr.lassos)
    assert found["LIVE-STW"] is not None


@pytest.mark.slow
@pytest.mark.parametrize("go,size", [("1.27", (2, 1, 2))])  # 1.26 differs by one step
def test_live_properties_hold_at_two_ms(go: str, size: tuple[int, int, int]) -> None:
    lr = live.check(_core(*size, go))
    assert [p.id for p, _ in lr.lassos] == LIVE
    assert all(la is None for _, la in lr.lassos), [p.id for p, la in lr.lassos if la]


def test_steal_without_the_bit_is_killed() -> None:
    """exitsyscallTryGetP taking its old P back from another syscalling M without winning
    that G's scan bit: the other M exits its syscall between the racy reads and releaseP,
    runs on the P, and loses it under its feet (I10)."""
    from entersys.model.mutants import MUTANTS

    mut = MUTANTS["N7-steal-no-bit"]
    assert mut.config is not None and mut.versions == ("1.26", "1.27")
    rec = explore(mut.config, "1.27", "N7-steal-no-bit", progress=False).result
    assert rec.verdict == Verdict.REFUTED and rec.details["violated"] == ["I10"]
    trace = rec.counterexample.trace  # type: ignore[union-attr]
    steps = [(t.actor, t.step) for t in trace]
    look = next(k for k, (_, s) in enumerate(steps) if s == "exitsyscallTryGetP.stealOldP")
    rel = next(k for k, (_, s) in enumerate(steps)
               if s == "exitsyscallTryGetP.stealOldP.release")
    thief = steps[look][0]
    assert any(a != thief and s == "exitsyscall.5.casgstatus" for a, s in steps[look:rel])
    # the faithful design, whose steal wins the bit, holds in the same configuration
    assert explore(mut.config, "1.27", progress=False).result.verdict == Verdict.HOLDS
