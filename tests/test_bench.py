"""Tests of entersys.bench that do not depend on how fast this machine is: the records and
figures it produces, and how a ratio is judged against its target.

No timing threshold appears here; the benchmark's own targets are judged by `entersys bench`."""

from __future__ import annotations

from entersys import bench
from entersys.results import Verdict

TINY = bench.Plan(c_calls=2_000, py_calls=2_000, map_values=1 << 12, model_values=500, rounds=3)


def test_ratio_within_target_holds_and_beyond_is_refuted() -> None:
    ok = bench._record("bench.x", "t", 1.05, 1.1, True, 0.0, {"ns_per_call": 1.0})
    bad = bench._record("bench.x", "t", 1.2, 1.1, True, 0.0, {"ns_per_call": 1.0})
    fast = bench._record("bench.y", "t", 400.0, 10, False, 0.0, {})
    slow = bench._record("bench.y", "t", 3.0, 10, False, 0.0, {})
    assert (ok.verdict, bad.verdict) == (Verdict.HOLDS, Verdict.REFUTED)
    assert (fast.verdict, slow.verdict) == (Verdict.HOLDS, Verdict.REFUTED)
    assert ok.counterexample is None
    assert bad.counterexample.values["target"] == "<= 1.1x"
    assert bad.details["ratio"] == 1.2


def test_run_produces_every_record_and_figure(monkeypatch) -> None:
    monkeypatch.setattr(bench, "QUICK", TINY)
    results, extra = bench.run(quick=True, explore=False, errno_arch=False, gate=False)
    assert [r.id for r in results] == ["bench.c.RawSyscall", "bench.c.Syscall",
                                       "bench.c.Syscall+nop-hooks", "bench.ctypes.RawSyscall",
                                       "bench.map.scan"]
    for r in results:
        assert r.group == "bench" and r.kind == "benchmark"
        assert r.verdict in (Verdict.HOLDS, Verdict.REFUTED), r.counterexample
        assert r.details["ratio"] > 0
    assert {"C getpid loop, ns/call", "ctypes fast path, ns/call",
            "mapping, values/s"} <= set(extra)


def test_a_crashing_measurement_is_one_error_record(monkeypatch) -> None:
    def boom(*_args: object) -> dict:
        raise RuntimeError("no library")

    monkeypatch.setattr(bench, "QUICK", TINY)
    monkeypatch.setattr(bench, "c_loops", boom)
    results, _ = bench.run(quick=True, explore=False, errno_arch=False, gate=False)
    [err] = [r for r in results if r.verdict == Verdict.ERROR]
    assert err.id == "bench.c" and "no library" in err.counterexample.summary
    assert len(results) == 3


def test_explorer_benchmark_records() -> None:
    from entersys.bench_protocol import explorer_throughput

    recs, extra = explorer_throughput(quick=True)
    assert [r.id for r in recs] == ["bench.explore.throughput", "bench.explore.symmetry",
                                    "bench.explore.engines", "bench.explore.liveness"]
    thr, sym, eng, liv = recs
    assert liv.details["same_verdicts"] is True and liv.details["states"] > 0
    assert liv.details["native_states_per_second"] > 0
    assert liv.details["python_states_per_second"] > 0
    assert eng.verdict in (Verdict.HOLDS, Verdict.REFUTED), eng.counterexample
    for engine in ("native", "python", "spin"):
        assert eng.details[engine]["states"] > 0
        assert eng.details[engine]["states_per_second"] > 0
        assert eng.details[engine]["bytes_per_state"] > 0
    assert eng.details["native"]["packed_bytes_per_state"] < 69  # below a byte a field
    assert eng.details["speedup_over_python"] > 0
    assert thr.details["states"] > 0 and thr.details["states_per_second"] > 0
    assert thr.details["speedup_over_interpreter"] > 0
    assert sym.details["states_without"] > sym.details["states_with_symmetry"]
    assert {"explorer", "symmetry"} <= set(extra)
