"""The protocol commands end to end: explore, mutants, graph, verify's protocol groups;
exit codes and one-line errors."""

from __future__ import annotations

import json

import pytest


def test_explore_json_counts(cli) -> None:
    r = cli("explore", "--go", "1.25", "--ms", "2", "--ps", "1", "--gs", "1", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    rec = doc["results"][0]
    assert rec["verdict"] == "holds" and rec["status"] == "pass"
    assert rec["details"]["states"] > 1000 and rec["details"]["transitions"] > 1000
    assert doc["summary"]["fail"] == 0


def test_explore_mutant_exits_0_as_expected_and_writes_itf(cli, tmp_path) -> None:
    itf = tmp_path / "trace.itf.json"
    r = cli("explore", "--go", "1.25", "--ms", "1", "--parts", "full", "--mutant",
            "R8-gcwait-early",
            "--itf", str(itf))
    assert r.returncode == 0, r.stderr  # refuted, as expected for a mutant
    assert "COUNTEREXAMPLE" not in r.stdout and "expected counterexample" in r.stdout
    assert "replay: entersys explore" in r.stdout
    doc = json.loads(itf.read_text())
    assert doc["states"][-1]["#meta"]["index"] == len(doc["states"]) - 1


def test_mutants_json(cli) -> None:
    r = cli("mutants", "--engine", "explore", "--go", "1.14", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert len(doc["results"]) >= 12
    # every mutant is killed, except those recorded as equivalent in the model (they hold,
    # as expected, and say why)
    killed = [x for x in doc["results"] if not x["details"].get("equivalent")]
    assert all(x["verdict"] == "refuted" for x in killed)
    assert all(x["verdict"] == x["expected"] == "holds" for x in doc["results"]
               if x["details"].get("equivalent"))
    ids = [x["id"].rsplit(".", 1)[1] for x in doc["results"]]
    # R14 is now expressible (LockOSThread) and killed by Go's own throw
    assert "R14-lockedm-late" in ids and "R14" not in doc["model_gaps"]
    kinds = {x["details"]["kill_kind"] for x in killed}
    assert None not in kinds and "liveness" in kinds and "go-throw" in kinds


def test_graph_writes_dot(cli, tmp_path) -> None:
    out = tmp_path / "p.dot"
    r = cli("graph", "--go", "1.14", "--of", "p-status", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "_Psyscall" in out.read_text()


@pytest.mark.parametrize("args,needle", [
    (("explore", "--ps", "0"), "--ps"),
    (("explore", "--go", "1.99"), "unknown Go version"),
    (("explore", "--mutant", "R99-nope"), "unknown mutant"),
    (("explore", "--without", "nothing"), "unknown --without"),
    (("explore", "--parts", "most"), "unknown --parts"),
    (("mutants", "--go", "2.0"), "unknown Go version"),
    (("graph", "--of", "colors", "--out", "x.dot"), "unknown --of"),
    (("verify", "--only", "protocol-nope"), "unknown group"),
])
def test_bad_input_is_one_line_and_exit_2(cli, args, needle) -> None:
    r = cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr


def test_verify_protocol_model_group(cli) -> None:
    r = cli("verify", "--only", "protocol-model", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    from entersys.model.program import VERSIONS
    from entersys.oracle.protocol import VERIFY_CONFIGS

    safety = [x["id"] for x in doc["results"] if x["kind"] == "explore"]
    assert len(safety) == len(VERSIONS) * len(VERIFY_CONFIGS) == 16
    assert all(any(f"go{v}." in i for i in safety) for v in ("1.14", "1.25", "1.26", "1.27"))
    live = [x for x in doc["results"] if x["kind"] == "liveness"]
    assert {x["id"].rsplit(".", 1)[1] for x in live} >= {"LIVE-RUN", "LIVE-RETAKE"}
    assert all(x["verdict"] == "holds" for x in doc["results"])


def test_user_invariants_file_runs_and_can_fail(cli) -> None:  # type: ignore[no-untyped-def]
    """The README's example file: both invariants hold with one G; the second fails as
    soon as two Gs can be in system calls, with a replay command naming the file."""
    import json
    from pathlib import Path

    example = str(Path(__file__).resolve().parent.parent / "examples" / "invariants.py")
    ok = cli("explore", "--ms", "1", "--ps", "1", "--gs", "1", "--liveness", "off",
             "--invariants", example, "--format", "json")
    assert ok.returncode == 0, ok.stderr
    rec = json.loads(ok.stdout)["results"][0]
    assert rec["details"]["user_invariants"] == ["PSYSCALL-UNOWNED", "ONE-SYSCALL-AT-A-TIME"]
    bad = cli("explore", "--ms", "2", "--ps", "2", "--gs", "2", "--liveness", "off",
              "--invariants", example, "--format", "json")
    assert bad.returncode == 1
    rec = json.loads(bad.stdout)["results"][0]
    assert rec["details"]["violated"] == ["ONE-SYSCALL-AT-A-TIME"]
    assert f"--invariants {example}" in rec["counterexample"]["replay"]
    missing = cli("explore", "--invariants", "/nonexistent/inv.py")
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
