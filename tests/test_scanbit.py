"""The Go 1.26+ design (the syscall G's scan bit as the lock): the faithful model holds for
both versions, its mutants are killed, fusing private runs changes no verdict, the engines
agree on its steps, its status graphs match spec 2.2, and the stop-the-world gap it opens
(no store->load handshake, R8) is found when sysmon cannot wake during a stop."""

from __future__ import annotations

import random

import pytest
import z3
from entersys.model import invariants as old_invariants
from entersys.model import status as st
from entersys.model.invariants import Invariant
from entersys.model.invariants_scanbit import RETIRED
from entersys.model.mutants import CORE_2M1P2G, for_version
from entersys.model.ops import CONCRETE
from entersys.model.program import Program
from entersys.model.state import Config, View
from entersys.oracle import graphs
from entersys.oracle.compiled import CompiledProgram
from entersys.oracle.explore import Explorer
from entersys.oracle.machine import SCANBIT_LADDER
from entersys.oracle.protocol import PART_SETS, explore, with_parts
from entersys.proofs.protocol_z3 import SymbolicState, evaluate_at, symbolic_step
from entersys.results import Verdict

CORE_212 = with_parts(Config(2, 1, 2), PART_SETS["core"])


@pytest.mark.slow
def test_faithful_model_holds_with_two_gs() -> None:
    rec = explore(CORE_212, "1.27", progress=True).result
    assert rec.verdict == Verdict.HOLDS, rec.counterexample and rec.counterexample.summary


def test_design_switch() -> None:
    """1.26/1.27 run the scanbit steps, 1.25 the old ones; only 1.27 has the secret
    erasure (the version parameter inside the design)."""
    p25, p26, p27 = (Program(Config(1, 1, 1, go=g), go=g) for g in ("1.25", "1.26", "1.27"))
    assert (p25.design, p26.design, p27.design) == ("psyscall", "scanbit", "scanbit")
    assert "reentersyscall.11.Psyscall" in p25.steps and "retake.cas" in p25.steps
    assert "reentersyscall.11.Psyscall" not in p26.steps and "retake.takeP" in p26.steps
    assert "exitsyscallTryGetP.stealOldP" not in p25.steps
    only27 = {"reentersyscall27.2.eraseSecrets", "user.secretSignal"}
    assert only27 <= set(p27.steps) and not only27 & set(p26.steps)
    assert "reentersyscall27.2.eraseSecrets" in p27.routines["reentersyscall"][0]
    # no step of the new design ever stores _Psyscall
    assert "_Psyscall" not in {n for e in graphs.status_graphs("1.26")[1].edges() for n in e}


def test_version_only_mutant_has_teeth() -> None:
    assert "V27-no-erase" in for_version("1.27") and "V27-no-erase" not in for_version("1.26")
    rec = explore(Config(1, 1, 1), "1.27", "V27-no-erase", progress=True).result
    assert rec.verdict == Verdict.REFUTED and rec.details["violated"] == ["SECRET"]


@pytest.mark.parametrize("go", ["1.26", "1.27"])
def test_fusion_changes_no_verdict(go: str) -> None:
    """The fused blocks only leave out interleavings inside private runs: the unfused
    program reaches the same verdicts (more states), faithful and mutated."""
    cfg = Config(1, 1, 1, go=go)
    fused = Explorer(Program(cfg, go=go)).run(progress=True)
    plain = Explorer(Program(cfg, go=go, fuse=False)).run(progress=True)
    assert fused.complete and plain.complete
    assert not fused.violations and not plain.violations
    assert plain.states > fused.states
    from entersys.model.mutants import apply

    for mid in ("R16-no-recheck", "N9-switch-first"):
        prog = apply(Program(cfg, go=go, fuse=False), mid)
        assert Explorer(prog).run(progress=True).violations, mid


@pytest.mark.slow
def test_stop_the_world_waits_for_sysmon() -> None:
    """Finding: reentersyscall reads gcwaiting (step 9) before its G switches to _Gsyscall
    (step 10), while stopTheWorldWithSema stores gcwaiting before it tries the G's scan
    bit; there is no store->load handshake as in the old design (R8). If the G switches
    after W visited its P, only sysmon's retake can stop that P. Without sysmon's timed
    wake-up during a stop, the explorer finds the world never stopping; the old design
    holds at the same size without it."""
    from entersys.model.mutants import apply

    prog = apply(Program(CORE_212, go="1.27"), "Y-no-timed-wake")
    res = Explorer(prog).run(progress=True)
    assert res.violations and res.violations[0].property in ("DEADLOCK", "P-STW")
    trace = [lab for lab, _ in Explorer(prog).trace_to(res, res.violations[0].state)][1:]
    names = [lab.split(":", 1)[1] for lab in trace]
    gcwait = names.index("reentersyscall26.9.gcwait")
    begin = names.index("stw.begin26")
    switch = names.index("reentersyscall.5.casgstatus")
    assert gcwait < begin < switch  # read gcwaiting, W begins and scans, then the switch
    rec = explore(CORE_212, "1.25", progress=True).result
    assert rec.verdict == Verdict.HOLDS


def test_retired_invariant_fails_by_design() -> None:
    """G-RUNNING-P (old design) does not hold in the new one, as RETIRED says: a _Grunning
    G lacks a P between handoffp and the switch in entersyscallblock (spec I10)."""
    assert set(RETIRED) == {"I4", "I7", "G-RUNNING-P", "STW-HANDSHAKE"}
    inv = Invariant("G-RUNNING-P", "", old_invariants.g_running_has_p)
    cfg = with_parts(Config(1, 1, 1), ("blockhint",))
    ex = Explorer(Program(replace_go(cfg, "1.27"), go="1.27"), invariants=[inv],
                  engine="interpreted")
    res = ex.run(progress=True)
    assert [v.property for v in res.violations] == ["G-RUNNING-P"]


def replace_go(cfg: Config, go: str) -> Config:
    from dataclasses import replace

    return replace(cfg, go=go)


def test_status_graphs_match_spec_2_2() -> None:
    for go in ("1.26", "1.27"):
        g, p = graphs.status_graphs(go)
        for kind, gr in (("g", g), ("p", p)):
            check = graphs.check_against_spec(gr, kind, "scanbit")
            assert check.ok, (go, kind, check.unexpected, check.missing)
        # the scan bit on a syscall G is taken by the GC and by every stealer
        takers = g["_Gsyscall"]["_Gscansyscall"]["steps"]
        assert {"gc.scan", "retake.block.cas"} <= takers
        # the old table rejects the new graph: exit no longer goes _Gsyscall -> _Grunnable
        assert (st._Gsyscall, st._Grunnable) not in st.ALLOWED_G_NEW
        assert not graphs.check_against_spec(p, "p", "psyscall").ok


# -- engines: interpreter, Z3 reading and compiled engine agree on the new steps -----------

PROG = Program(Config(2, 1, 2, go="1.27"), go="1.27")


def _reachable(walks: int = 20, steps: int = 60) -> list[tuple[int, ...]]:
    """States from random runs of the interpreter (deeper than a BFS prefix)."""
    from entersys.model.state import initial_state

    rng = random.Random(3)
    out = []
    for _ in range(walks):
        s = tuple(initial_state(PROG.layout, PROG.labels))
        for _ in range(steps):
            view = View(PROG.layout, CONCRETE, s.__getitem__)
            succ = []
            for inst in PROG.instances():
                guard, writes = PROG.apply(inst, view, want_effect=bool)
                if guard:
                    n = list(s)
                    for pos, val in writes.items():
                        n[pos] = val
                    succ.append(tuple(n))
            if not succ:
                break
            s = rng.choice(succ)
            out.append(s)
    rng.shuffle(out)
    return out[:50]


def test_engines_agree_on_the_new_steps() -> None:
    sym = SymbolicState(PROG)
    compiled = CompiledProgram(PROG)
    rng = random.Random(5)
    states = _reachable()
    perturbed = []
    for s in states[:15]:
        t = list(s)
        for _ in range(2):
            t[rng.randrange(len(t))] = rng.randrange(5)
        perturbed.append(tuple(t))
    fired = set()
    for inst in PROG.instances():
        term = symbolic_step(PROG, inst, sym)
        if not isinstance(term.guard, bool):
            solver = z3.Solver()
            solver.add(term.guard)
            assert solver.check() == z3.sat, inst.label
        for s in states + perturbed:
            view = View(PROG.layout, CONCRETE, s.__getitem__)
            guard, writes = PROG.apply(inst, view)
            assert evaluate_at(term.guard, sym, s) == bool(guard), inst.label
            comp = compiled.fns[inst](s)
            assert (comp is not None) == bool(guard), inst.label
            if guard:
                fired.add(inst.step.name)
                succ = list(s)
                for pos, val in writes.items():
                    succ[pos] = val
                assert [int(x) for x in comp] == [int(x) for x in succ], inst.label
                for pos, t in term.writes.items():
                    assert int(evaluate_at(t, sym, s)) == succ[pos], inst.label
    assert {"retake.block.cas", "exitsyscall.5.casgstatus", "stw.stopP"} <= fired
    for inv, fn in compiled.invariants:
        for s in states[:30] + perturbed[:10]:
            view = View(PROG.layout, CONCRETE, s.__getitem__)
            assert fn(s) == bool(inv.pred(PROG, view)), inv.id


def test_design_comparison_counts_come_from_the_steps() -> None:
    """Per uncontended episode: the old design CASes the G twice and the P once and stores
    _Psyscall; the new one only CASes the G twice (Go's stated motivation: syscall
    overhead). The steps taken are those of each version's routines."""
    from entersys.model.costs import syscall_episode

    old, new = syscall_episode("1.25"), syscall_episode("1.27")
    assert (old.rmw, old.store, old.lock) == (3, 1, 0)
    assert (new.rmw, new.store, new.lock) == (2, 0, 0)
    assert "reentersyscall.11.Psyscall" in old.steps and "exitsyscallfast.cas" in old.steps
    assert "reentersyscall27.2.eraseSecrets" in new.steps
    assert not {"reentersyscall.11.Psyscall", "exitsyscallfast.cas"} & set(new.steps)
    assert "reentersyscall27.2.eraseSecrets" not in syscall_episode("1.26").steps


def test_cli_runs_the_new_design(cli) -> None:
    import json

    r = cli("explore", "--go", "1.26", "--ms", "1", "--ps", "1", "--gs", "1",
            "--parts", "full", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["results"][0]["verdict"] == "holds"
    r = cli("mutants", "--only", "R16-no-recheck", "--format", "json")  # default: Go 1.27
    assert r.returncode == 0, r.stderr
    [rec] = json.loads(r.stdout)["results"]
    assert rec["id"] == "protocol-mutants.go1.27.R16-no-recheck"
    assert rec["verdict"] == "refuted" and rec["counterexample"]["trace"]
    r = cli("mutants", "--go", "1.26", "--only", "V27-no-erase", "--format", "json")
    assert r.returncode == 0, r.stderr  # 1.26 has no runtime/secret: not applicable
    assert json.loads(r.stdout)["results"][0]["verdict"] == "not-applicable"


# -- the Hypothesis machine runs the new design and finds its mutants ----------------------

def test_machine_runs_the_new_design() -> None:
    from entersys.oracle.machine import hunt

    run = hunt(Program(Config(3, 2, 4, go="1.27"), go="1.27"), max_examples=40, steps=60)
    assert run.found is None, run.found
    assert run.examples >= 40


def test_swarm_machine_runs_the_new_design() -> None:
    """The machine's swarm modes (actors and steps switched off per run, one uniform rule,
    targeting race windows; per step, and per episode) hold on the faithful model, and
    the episode mode finds a mutant."""
    from entersys.model.mutants import apply
    from entersys.oracle.machine import hunt

    cfg = Config(2, 1, 2, go="1.27")
    run = hunt(Program(cfg, go="1.27"), max_examples=30, steps=60, swarm=True)
    assert run.found is None, run.found
    run = hunt(apply(Program(cfg, go="1.27"), "R9-mp-before-running"), max_examples=100,
               steps=EPISODES, swarm=True, episode=60)
    assert run.found is not None and run.found.inv.id == "I10", run.found


# The new design's mutants are hunted up oracle/machine.py's SCANBIT_LADDER (the mutant's
# own configuration first): episodes of swarm walks at 2/1/2 core, where each rule call is
# a whole episode from the initial state; every 1.27 mutant is found there. Measured
# (hunt seeds 0-7, this VM under load): Y-no-timed-wake on the 2/1/2 core episode rung
# (100 examples of 10 x 80 steps) found with 7 of 8 seeds, at 10-45 examples; N7-steal-
# no-bit on its own configuration (60 examples of 20 x 120 steps) with 4 of 5 seeds, at
# 12-22 examples (seed 2 not in its first 60; with 10 x 120 steps and no target on the
# changed steps, seed 0 needed 421 examples; uniform 80-step walks hit its window in
# 0.1-0.2 %). A seeded hunt's
# stream depends only on the program, settings and seed (tests/test_machine_stream.py),
# so a model change that moves a window can make a mutant unfound: the test then fails, in
# every checkout alike.
EPISODES, EPISODE_STEPS = SCANBIT_LADDER[0].steps, SCANBIT_LADDER[0].episode
CORE_212_ANY = with_parts(Config(2, 1, 2), PART_SETS["core"])


@pytest.mark.parametrize("cfg", [CORE_212_ANY, CORE_2M1P2G], ids=["core212", "own"])
def test_episode_machine_holds_on_the_faithful_model(cfg: Config) -> None:
    """The directed settings the mutants are hunted with report nothing on the faithful
    model (the own-configuration rung, a sixth of its examples)."""
    from dataclasses import replace

    from entersys.oracle.machine import OWN_CONFIG_RUNG, hunt

    prog = Program(replace(cfg, go="1.27"), go="1.27")
    run = hunt(prog, max_examples=10, steps=OWN_CONFIG_RUNG.steps, swarm=True,
               episode=OWN_CONFIG_RUNG.episode)
    assert run.found is None, run.found
    assert run.examples >= 10


@pytest.mark.slow
@pytest.mark.parametrize("mid", for_version("1.27"))
def test_machine_finds_new_design_mutant(mid: str) -> None:
    from entersys.oracle.machine import hunt_mutant

    h = hunt_mutant("1.27", mid)
    if h.found is not None:
        assert h.found.trace, "the failing run has steps"
        return
    pytest.fail(f"{mid}: not found by the machine in {h.examples} examples")
