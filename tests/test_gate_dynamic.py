"""entersys gate against real runtimes: the dynamic probes compared with the model's
predictions on an old-design and a new-design tree, and one source mutant built with
`go build -overlay` and run under the workload. Toolchains come from entersys.gotoolchain;
a missing one fails."""

from __future__ import annotations

import json

import pytest
from entersys.cli import main
from entersys.gate import probes
from entersys.gate.detect import detect
from entersys.gotoolchain import goroot
from entersys.results import Verdict


@pytest.mark.slow
@pytest.mark.parametrize("v", ["1.25.5", "1.27.3"])
def test_probes_match_the_model_on_real_runtimes(v: str) -> None:
    recs = {r.id: r for r in probes.probe_records(detect(goroot(v)))}
    errno = recs["gate.probe.errno-4095"]
    assert errno.verdict == Verdict.HOLDS, errno.details
    assert errno.details["go"]["Syscall e=4095"] == [0xFFFFFFFFFFFFF001, 0, 0]
    assert errno.details["go"]["RawSyscall e=1"][2] == 1
    raw, sys_ = recs["gate.probe.raw-gomaxprocs1"], recs["gate.probe.syscall-gomaxprocs1"]
    assert raw.details["model_other_g_runs"] is False
    assert sys_.details["model_other_g_runs"] is True
    assert raw.details["counter_during_call"] == 0 and raw.details["call_ms"] >= 100
    assert sys_.details["counter_during_call"] > 0
    assert raw.verdict == sys_.verdict == Verdict.HOLDS


@pytest.mark.slow
def test_a_source_mutant_built_with_overlay_crashes_the_runtime(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    root = str(goroot("1.25.5"))
    out = tmp_path / "m.json"
    assert main(["gate", root, "--mutants", "--only", "R6-tick-late", "--format", "json",
                 "--out", str(out)]) == 0
    recs = {r["id"]: r for r in json.loads(out.read_text())["results"]}
    base, r6 = recs["gate.probe.workload"], recs["gate.mutant.R6-tick-late"]
    assert base["verdict"] == "holds" and base["details"]["gcs"] > 0, base["details"]
    assert base["details"]["syscalls"] > 0
    assert r6["verdict"] == "refuted" and r6["status"] == "pass"
    assert r6["details"]["dynamic"]["outcome"] == "fatal", r6["details"]["dynamic"]
    assert "reentersyscall step 10 is reentersyscall.11.release" in \
        r6["counterexample"]["summary"]
    assert main(["gate", root, "--mutants", "--only", "R99-none"]) == 2
    assert "known: R1-locks-late" in capsys.readouterr().err


def test_gate_bench_judges_warm_against_cold(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from entersys.gate import bench as gate_bench

    times = iter([10.0, 2.0, 2.0, 3.0, 3.0, 9.5])
    monkeypatch.setattr(gate_bench, "_timed_gate", lambda root: (next(times), []))
    fast, figures = gate_bench.gate_timing()
    assert fast[0].verdict == Verdict.HOLDS and fast[0].details["ratio"] == 0.2
    assert "cold 10.0; warm 2.0" in next(iter(figures.values()))
    slow, _ = gate_bench.gate_timing()
    assert slow[0].verdict == Verdict.REFUTED and slow[0].counterexample is not None
