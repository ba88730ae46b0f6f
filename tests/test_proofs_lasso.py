"""The Z3 bounded lasso search (entersys.proofs.lasso_z3) and the protocol group's
obligations: a liveness-only mutant gets a Z3 counterexample decoded into the explorer's
liveness record (numbered steps, the loop's start, ITF `loop`), confirmed by the project's
lasso replay; the faithful model has no such stall to the same depth; a lasso that does
not close is refused; the group's obligations run in a pool and come back in report order."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from entersys.model.state import Config
from entersys.oracle.protocol import build_program, with_parts
from entersys.proofs import lasso_z3, protocol_suite
from entersys.proofs.mutants_z3 import LASSO_PARTS

# Y-no-timed-wake's explorer trace is 12 steps long; the stall search reaches it at 12.
STALL_DEPTH = 12


@pytest.mark.slow
def test_liveness_mutant_killed_by_a_z3_stall(cli) -> None:
    r = cli("mutants", "--engine", "z3", "--go", "1.26", "--only", "Y-no-timed-wake",
            "--format", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    (rec,) = json.loads(r.stdout)["results"]
    assert rec["verdict"] == "refuted" and rec["details"]["engine"] == "z3"
    assert rec["details"]["kill_kind"] == "liveness"
    cex = rec["counterexample"]
    # a permanent stall in which the world never stops, and the P stays under its syscall
    # G: the first property the search reports is LIVE-STW or LIVE-RETAKE
    assert cex["summary"].split(" (liveness) violated:")[0] in {"LIVE-STW", "LIVE-RETAKE"}
    trace = cex["trace"]
    assert trace[-1]["state"]["w.pc"] != "w.stopped"
    assert [s["index"] for s in trace] == list(range(1, len(trace) + 1))
    assert cex["itf"]["loop"] == len(trace) == cex["values"]["loop_start_state"]
    assert any(s["actor"] == "W" for s in trace) and trace[-1]["changes"]
    assert "mutants --engine z3 --go 1.26 --only Y-no-timed-wake" in cex["replay"]


@pytest.mark.slow
def test_faithful_model_has_no_stall_where_the_mutant_has_one() -> None:
    cfg = replace(with_parts(Config(1, 1, 1), LASSO_PARTS), go="1.26")
    prog = build_program(cfg, "1.26")
    run = lasso_z3.LassoSearch(prog).search(lasso_z3.properties(prog), STALL_DEPTH,
                                            loops=False)
    assert run.status == "holds" and run.depth == STALL_DEPTH


def test_a_lasso_that_does_not_close_is_refused() -> None:
    prog = build_program(with_parts(Config(1, 1, 1), ()), "1.26")
    run = lasso_z3.LassoRun("refuted", 2, "LIVE-RUN", "G0", ["M0:startm(p0)",
                                                             "M0:schedule(g0)"])
    with pytest.raises(RuntimeError, match="does not replay"):
        lasso_z3.confirm(prog, run)


def test_properties_come_from_the_liveness_module() -> None:
    from entersys.oracle import liveness

    prog = build_program(replace(with_parts(Config(1, 2, 1), LASSO_PARTS), go="1.25"),
                         "1.25")
    props = lasso_z3.properties(prog)
    assert {p for p, _, _ in props} <= {p.id for p in liveness.PROPERTIES}
    assert ("LIVE-RETAKE", "P1") in [(p, a) for p, a, _ in props]
    fair = lasso_z3.fairness(prog)
    assert fair.weak & 1 and not fair.env & (fair.weak | fair.strong)


def test_obligations_and_pool_order() -> None:
    old, new = protocol_suite.obligations("1.25", 1), protocol_suite.obligations("1.27", 1)
    assert [k for _, k, _ in old].count("tso") == 6 and ("1.25", "induction", None) in old
    assert ("1.27", "bmc", "core") in new
    out = protocol_suite.parallel_map(abs, [-3, 1, -2, 5, -8], [1, 3, 2, 0, 5])
    assert out == [3, 1, 2, 5, 8]


def test_k_induction_refuses_a_false_invariant_at_its_base_case() -> None:
    from entersys.model.invariants import Invariant
    from entersys.proofs.induction import k_induction
    from entersys.proofs.transition import Transition

    prog = build_program(with_parts(Config(1, 1, 1), ()), "1.25")
    idle = prog.labels["idle"]
    stays_idle = Invariant("STAYS-IDLE", "m0 never leaves idle",
                           lambda p, v: v.m(0, "pc") == idle)
    logged: list[str] = []
    tr = Transition(prog, invariants=[stays_idle])
    assert k_induction(tr, [], "STAYS-IDLE", 3, log=logged.append) is None
    assert logged == []  # refused by the base case (one step leaves idle), no step case


@pytest.mark.slow
def test_tso_window_of_each_design() -> None:
    from entersys.proofs import tso

    old, new = tso.window_program("1.25"), tso.window_program("1.26")
    assert tso.window_of(old).at == "reentersyscall.11.release"
    assert tso.window_of(new).store_step == "reentersyscall.5.casgstatus"
    start = tso.window_start(new)
    assert start[new.layout.mname[0]["pc"]] == new.labels[tso.window_of(new).at]
    mut = tso.window_program("1.26", "N3-plain-gsyscall")
    assert mut.mutant == "N3-plain-gsyscall"
    assert [c[1] for c in tso.cases("1.26")] == ["tso", "sc", "sc", "tso"]
    run = tso.check(mut, tso=True, depth=3)
    assert run.status == "holds" and run.depth == 3


def test_two_episode_depth_follows_the_fused_program() -> None:
    old, new = protocol_suite.episode_steps("1.25"), protocol_suite.episode_steps("1.26")
    assert new[1] < old[1]  # Go 1.26+'s fused blocks make an episode fewer transitions
    for go, (prefix, episode) in (("1.25", old), ("1.26", new)):
        assert prefix >= 1 and episode >= 4
        assert protocol_suite.two_episode_depth(go, 3) == 3 * (prefix + 2 * episode)


def test_bench_proofs_entry_judges_time_and_verdicts(monkeypatch) -> None:
    from entersys import bench_proofs
    from entersys.results import CheckResult, Verdict

    def fake_run(opts):  # one proof as expected, one not (for Go 1.27 only)
        ok = CheckResult(f"protocol.go{opts.go}.bmc.x", "protocol", "t", "bmc",
                         Verdict.HOLDS, Verdict.HOLDS, 1.5, None, {})
        bad = CheckResult(f"protocol.go{opts.go}.induction.x.I1", "protocol", "t",
                          "induction", Verdict.UNKNOWN, Verdict.HOLDS, 2.0, None, {})
        return [ok] + ([bad] if opts.go == "1.27" else [])

    monkeypatch.setattr(protocol_suite, "run", fake_run)
    recs, figures = bench_proofs.protocol_proofs()
    old, new = recs
    assert (old.id, new.id) == ("bench.proofs.psyscall", "bench.proofs.scanbit")
    assert old.verdict == Verdict.HOLDS and old.details["proof_seconds"] == {"bmc.x": 1.5}
    assert new.verdict == Verdict.REFUTED
    assert new.counterexample.values["missed"] == ["protocol.go1.27.induction.x.I1"]
    assert any("Go 1.25" in k for k in figures)
