"""The explorer on the faithful model: every invariant holds, no deadlock, progress;
the compiled and interpreted engines agree; symmetry reduction keeps the verdict."""

from __future__ import annotations

import pytest
from conftest import program
from entersys.model.program import VERSIONS
from entersys.model.state import Config
from entersys.oracle.explore import Explorer
from entersys.oracle.protocol import explore
from entersys.results import Verdict


@pytest.mark.parametrize("go", VERSIONS)
def test_faithful_model_holds(go: str) -> None:
    ex = Explorer(program(1, 1, 1, go))
    res = ex.run()
    assert res.complete
    assert res.violations == []
    assert res.states > 10_000 and res.transitions > res.states


def test_compiled_and_interpreted_engines_agree() -> None:
    prog = program(1, 1, 1, blockhint=False, raw=False)
    a = Explorer(prog, engine="compiled").run()
    b = Explorer(prog, engine="interpreted").run()
    assert (a.states, a.transitions, a.depth) == (b.states, b.transitions, b.depth)


@pytest.mark.slow
def test_symmetry_reduces_without_changing_the_verdict() -> None:
    prog = program(2, 2, 1, foreachp=False, gc=False, blockhint=False, raw=False)
    sym = Explorer(prog, symmetry=True).run()
    plain = Explorer(prog, symmetry=False).run()
    assert sym.complete and plain.complete
    assert sym.violations == plain.violations == []
    assert sym.states < plain.states


def test_explore_record_counts_and_verdict() -> None:
    rec = explore(Config(2, 1, 1), "1.25").result
    assert rec.verdict == Verdict.HOLDS and rec.expected == Verdict.HOLDS
    assert rec.details["states"] > 0 and rec.details["transitions"] > 0
    assert rec.details["complete"] is True


def test_deadlock_is_detected() -> None:
    """Without startTheWorld, a stopped world never restarts: the explorer must report the
    stuck state as a deadlock with a trace to it."""
    prog = program(1, 1, 1)  # GC scans and sysmon naps must not hide the stuck runtime
    steps = dict(prog.steps)
    del steps["stw.start"]
    broken = prog.mutated("no-start-the-world", steps=steps)
    ex = Explorer(broken)
    res = ex.run()
    assert [v.property for v in res.violations] == ["DEADLOCK"]
    assert res.violations[0].kind == "progress"
    stuck = ex.describe(res.violations[0].state)
    assert stuck["w.pc"] == "w.stopped" and stuck["gcwaiting"] == 1


@pytest.mark.parametrize("go", VERSIONS)
def test_raw_wait_witness(go: str) -> None:
    """A RawSyscall that returns only after another G ran starves that G (2 Ms / 1 P /
    2 Gs): refuted with a trace; the same wait through Syscall lets sysmon retake the P."""
    from entersys.oracle.protocol import raw_wait_witness
    from entersys.results import Status

    raw = raw_wait_witness(go, "raw")
    assert raw.verdict == Verdict.REFUTED and raw.status == Status.PASS
    assert raw.details["violated"][0] == "DEADLOCK"
    cex = raw.counterexample
    assert cex is not None and cex.replay and "--with rawwait" in cex.replay
    assert any(s.step == "user.RawSyscall.wait" for s in cex.trace)
    last = cex.trace[-1].state
    waiting = [g for g in range(2) if last[f"g{g}.q"] != 0]
    assert waiting, "the other G is still queued when nothing can run any more"
    sys_ = raw_wait_witness(go, "syscall")
    assert sys_.verdict == Verdict.HOLDS and sys_.status == Status.PASS
    assert sys_.counterexample is None and sys_.details["complete"]
    with pytest.raises(ValueError):
        raw_wait_witness(go, "vdso")


@pytest.mark.slow
@pytest.mark.parametrize("go", ["1.25", "1.27"])
def test_default_configuration_holds(go: str) -> None:
    """`entersys explore` with no options (core, 2 Ms / 2 Ps / 2 Gs) holds for both
    designs. Regression: handoffp once gave two Ps to the one parked M (and a parked M
    could run off with another P), so stop-the-world waited for an M that the fixed set of
    Ms never had: a false DEADLOCK/P-STW found only at this size."""
    from entersys.oracle.protocol import EXPLORE_DEFAULT

    run = explore(EXPLORE_DEFAULT, go, engine="native", liveness=False)
    assert run.result.verdict == Verdict.HOLDS, run.result.details.get("violated")
    assert run.result.details["states"] > 1_000_000


@pytest.mark.slow
def test_new_design_default_configuration_is_live() -> None:
    """Go 1.27 at the default 2 Ms / 2 Ps / 2 Gs: every LIVE-* property holds under the
    fairness derived from the steps (native liveness, about 12.8M states without
    symmetry). Regression: the re-check's "10 ms passed" class was one class for all Ps,
    so sysmon could answer "under 10 ms" forever for one P: false LIVE-EXIT and
    LIVE-RETAKE lassos found only at this size."""
    from entersys.oracle.protocol import EXPLORE_DEFAULT

    run = explore(EXPLORE_DEFAULT, "1.27", engine="native")
    assert run.result.verdict == Verdict.HOLDS, run.result.details.get("violated")
    by = {r.id.rsplit(".", 1)[1]: r.verdict for r in run.liveness}
    assert set(by) == {"LIVE-RUN", "LIVE-EXIT", "LIVE-STW", "LIVE-RETAKE"}
    assert all(v == Verdict.HOLDS for v in by.values()), by
    assert run.result.details["liveness"].startswith("checked")
