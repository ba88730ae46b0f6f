"""The protocol group's load-independent figures: every obligation's CPU time, and the
wall time those CPU times would take on 2 idle cores (bench_proofs.lpt_makespan)."""

from __future__ import annotations

import time

from entersys import bench_proofs
from entersys.proofs import protocol_suite
from entersys.results import CheckResult, Verdict
from hypothesis import given, settings
from hypothesis import strategies as st


def test_lpt_makespan_small_cases() -> None:
    assert bench_proofs.lpt_makespan([], 2) == 0.0
    assert bench_proofs.lpt_makespan([5.0], 2) == 5.0
    # longest first: 7 | 5 then 3 goes beside 5, 2 beside 7 -> 9, 8
    assert bench_proofs.lpt_makespan([3.0, 5.0, 7.0, 2.0], 2) == 9.0
    assert bench_proofs.lpt_makespan([3.0, 5.0, 7.0, 2.0], 1) == 17.0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1000), max_size=12), st.integers(1, 4))
def test_lpt_makespan_bounds(costs: list[float], cores: int) -> None:
    got = bench_proofs.lpt_makespan(costs, cores)
    lower = max([sum(costs) / cores, *costs], default=0.0)
    assert got >= lower - 1e-6
    # Graham's bound for any list schedule: the last job starts no later than the mean load
    assert got <= sum(costs) / cores + max(costs, default=0.0) * (1 - 1 / cores) + 1e-6


def test_discharge_names_the_obligation_and_its_cpu_time(monkeypatch) -> None:
    def burn(args):
        end = time.process_time() + 0.3
        while time.process_time() < end:
            pass
        return [CheckResult(f"protocol.go1.27.x.{k}", "protocol", "t", "bmc", Verdict.HOLDS,
                            Verdict.HOLDS, 0.3, None, {}) for k in range(2)]

    monkeypatch.setattr(protocol_suite, "_discharge_one", burn)
    recs = protocol_suite._discharge((("1.27", "tso", 3), 12, 1, 1000))
    assert {r.details["obligation"] for r in recs} == {"go1.27.tso.3"}
    assert all(0.25 <= r.details["cpu_seconds"] < 5 for r in recs)
    recs = protocol_suite._discharge((("1.25", "induction", None), 12, 1, 1000))
    assert recs[0].details["obligation"] == "go1.25.induction"


def test_bench_reports_the_idle_cores_estimate(monkeypatch) -> None:
    def fake_run(opts):
        return [CheckResult(f"protocol.go{opts.go}.{name}", "protocol", "t", "bmc",
                            Verdict.HOLDS, Verdict.HOLDS, 1.0, None,
                            {"obligation": f"go{opts.go}.{name}", "cpu_seconds": cpu})
                for name, cpu in (("a", 100.0), ("b", 60.0), ("c", 50.0))]

    monkeypatch.setattr(protocol_suite, "run", fake_run)
    recs, figures = bench_proofs.protocol_proofs()
    for r in recs:
        assert r.details["cpu_seconds"] == 210.0
        assert r.details["idle_cores_estimate_seconds"] == 110.0  # 100 | 60 + 50
    assert all("210 CPU, 110 on 2 idle cores" in v for v in figures.values())
