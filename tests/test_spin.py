"""SPIN as a back end: the Promela generated from the steps' Z3 terms is verified by SPIN
with the same verdict and, without symmetry, the same reachable states and transitions as
our explorer (SPIN counts one extra state and two extra transitions: the initial
assertion and the final `else`); a mutant's SPIN trail replays through our steps."""

from __future__ import annotations

import pytest
from conftest import program
from entersys.model.state import Config
from entersys.oracle.native_explore import NativeExplorer
from entersys.oracle.protocol import MUTANT_CONFIG, PART_SETS, explore, with_parts
from entersys.oracle.replay import replay
from entersys.oracle.spin import SpinError, generate, run_spin
from entersys.results import Verdict


@pytest.mark.slow
def test_spin_agrees_with_the_explorer_without_symmetry() -> None:
    prog = program(2, 1, 1, foreachp=False, gc=False, blockhint=False, raw=False)
    ours = NativeExplorer(prog, symmetry=False).run()
    spin = run_spin(prog)
    assert spin.complete and spin.errors == 0 and ours.violations == []
    assert (spin.states, spin.transitions) == (ours.states + 1, ours.transitions + 2)
    # the same verdict through the common record, and symmetry accounted for
    cfg = with_parts(Config(2, 1, 1), PART_SETS["core"])
    rec = explore(cfg, "1.25", engine="spin", liveness=False).result
    nat = explore(cfg, "1.25", engine="native").result
    assert rec.verdict == nat.verdict == Verdict.HOLDS
    assert rec.details["states"] == spin.states > nat.details["states"]


def test_promela_has_one_d_step_per_instance_and_every_invariant() -> None:
    prog = program(1, 1, 1)
    pml = generate(prog)
    assert pml.source.count(":: d_step {") == len(prog.instances()) == len(pml.instances)
    assert pml.source.count("assert(INV)") == len(prog.instances()) + 1


@pytest.mark.slow
def test_a_mutant_trail_replays_through_our_steps() -> None:
    mid = "R7-store-first"
    run = explore(MUTANT_CONFIG, "1.25", mid, engine="spin")
    rec = run.result
    assert rec.verdict == Verdict.REFUTED and rec.expected == Verdict.REFUTED
    native = explore(MUTANT_CONFIG, "1.25", mid, engine="native").result
    assert rec.details["violated"][0] in native.details["violated"] + rec.details["violated"]
    trace = [s.actor + ":" + s.step for s in rec.counterexample.trace]
    rp = replay(run.explorer.prog, trace)
    assert (len(trace), rec.details["violated"][0]) in rp.violated
    assert rec.counterexample.replay.endswith("--engine spin")


@pytest.mark.slow
def test_cli_explore_spin_mutant(cli) -> None:
    import json

    r = cli("explore", "--go", "1.25", "--ms", "1", "--ps", "1", "--gs", "1", "--parts", "full",
            "--mutant", "R7-store-first", "--engine", "spin", "--format", "json")
    assert r.returncode == 0, r.stderr  # the mutant is refuted, as expected
    [rec] = json.loads(r.stdout)["results"]
    assert rec["details"]["engine"] == "spin" and rec["verdict"] == "refuted"
    assert rec["counterexample"]["trace"]


def test_minimized_automaton_stores_the_same_states_as_collapse() -> None:
    # -DMA (SPIN's minimized automaton) is exact: the same states as -DCOLLAPSE, its
    # bound from the state vector, in fewer bytes per state than collapse at this size
    prog = program(1, 1, 1)
    col = run_spin(prog, memory_mb=512)
    ma = run_spin(prog, memory_mb=512, compression="ma")
    assert col.complete and ma.complete and col.errors == ma.errors == 0
    assert ma.states == col.states and ma.transitions == col.transitions
    assert "-DCOLLAPSE" in col.flags and not any(f.startswith("-DMA") for f in col.flags)
    bound = [int(f.split("=")[1]) for f in ma.flags if f.startswith("-DMA=")]
    assert bound and bound[0] >= ma.state_vector
    assert 0 < ma.bytes_per_state < col.bytes_per_state
    with pytest.raises(SpinError, match="unknown compression"):
        run_spin(prog, compression="zip")


def test_spin_compression_is_refused_where_it_means_nothing(cli) -> None:
    for extra in (["--engine", "native"], ["--engine", "spin", "--bitstate"]):
        r = cli("explore", "--ms", "1", "--ps", "1", "--gs", "1", "--spin-compression", "ma",
                *extra)
        assert r.returncode == 2 and "--spin-compression" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
