"""`entersys mutants` with its default engine, `all`: a portfolio that stops at the first
engine giving a mutant its expected verdict (app/mutant_engines.py)."""

from __future__ import annotations

import json

from entersys import mutant_engines
from entersys.oracle import protocol
from entersys.results import Verdict


def test_default_all_settles_on_the_explorer(cli) -> None:
    """A mutant the explorer kills and an equivalent one it shows holding: one explore
    record each, naming the engines it did not need; exit 0."""
    r = cli("mutants", "--go", "1.25", "--only", "R3-syscallsp-late", "--only",
            "R4-no-save", "--format", "json")
    assert r.returncode == 0, r.stderr
    recs = json.loads(r.stdout)["results"]
    assert [x["details"]["portfolio_engine"] for x in recs] == ["explore", "explore"]
    assert [x["verdict"] for x in recs] == ["refuted", "holds"]
    for x in recs:
        assert set(x["details"]["engines_not_run"]) == {"hypothesis", "z3"}


def test_a_mutant_the_explorer_misses_goes_to_the_next_engine(monkeypatch) -> None:
    """When the explorer's record misses (here: forced to "holds"), the machine hunts the
    mutant, and Z3 runs only if the machine misses too."""
    real = protocol.mutant_results

    def missed(go: str, only: list[str] | None = None, **kw: object) -> list:
        recs = real(go, only=only)
        for r in recs:
            r.verdict = Verdict.HOLDS
        return recs

    monkeypatch.setattr(protocol, "mutant_results", missed)
    recs = mutant_engines.portfolio("1.25", ["R3-syscallsp-late"])
    engines = [r.details["portfolio_engine"] for r in recs]
    assert engines[:2] == ["explore", "hypothesis"], engines
    hyp = recs[1]
    assert "engines_not_run" not in recs[0].details
    if hyp.verdict == Verdict.REFUTED:
        assert len(recs) == 2, engines  # settled by the machine: no Z3 record
    else:
        assert "z3" in engines[2:], engines
