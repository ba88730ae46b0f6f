"""Liveness in SPIN (entersys.oracle.spin_live): the LIVE-* pending predicates are the
same liveness.Cond formulas in Python and in the never claim; each fairness actor is a
Promela process and the environment one that owes no fairness; SPIN's verdicts agree with
oracle/liveness.py on small configurations, and an acceptance-cycle trail becomes a lasso
record (prefix + loop) that `entersys replay` reproduces through our interpreter."""

from __future__ import annotations

import json
import random

import pytest
from entersys.model.state import Config
from entersys.oracle import liveness as live
from entersys.oracle.explore import Explorer
from entersys.oracle.protocol import PART_SETS, build_program, with_parts
from entersys.oracle.spin_live import check_live, generate_live


def core(ms: int, ps: int, gs: int) -> Config:
    return with_parts(Config(ms, ps, gs), PART_SETS["core"])


def test_cond_text_and_call_agree() -> None:
    prog = build_program(core(2, 1, 2), "1.25", None)
    ex = Explorer(prog, symmetry=False)
    conds = [c for p in live.PROPERTIES for j in range({"p": 1}.get(p.per, 2))
             if (c := p.make(ex, j))]
    conds.append(live._m_exhausted(ex))
    rnd = random.Random(7)
    for _ in range(300):
        s = tuple(rnd.randrange(0, 4) for _ in range(len(prog.layout)))
        for c in conds:
            text = c.text(lambda pos: f"s[{pos}]", "and", "or", "not ")
            assert eval(text, {"s": s}) == c(s)  # noqa: S307


def test_processes_are_the_fairness_actors_and_the_environment() -> None:
    prog = build_program(core(2, 1, 2), "1.25", None)
    src, claims, procs = generate_live(prog, Explorer(prog, symmetry=False))
    assert sorted(procs) == sorted(["M0", "M1", "sysmon", "W", "env"])
    env = src[src.index("active proctype env()"):]
    env = env[:env.index("od\n}")]
    assert "stw.begin" in env and "STUTTER" in env and "user.Syscall" not in env
    # one claim branch per property and G / P it is about, each accepting
    assert len(claims) == 2 + 2 + 1 + 1  # LIVE-RUN x2, LIVE-EXIT x2, LIVE-STW, LIVE-RETAKE
    assert src.count("accept_") == 2 * len(claims)


@pytest.mark.slow
def test_faithful_1_25_holds_in_spin_and_in_our_checker() -> None:
    prog = build_program(core(1, 1, 1), "1.25", None)
    v = check_live(prog)
    assert v.run.complete and not v.run.found
    ours = live.check(build_program(core(1, 1, 1), "1.25", None))
    assert all(la is None for _, la in ours.lassos)


def test_the_claim_enforces_the_fairness_classes_it_is_given() -> None:
    # generate_live's `fair`: each step stores its class in `last`; a weak class owes
    # "taken or disabled", a strong class is guessed disabled or owed "taken": 2^k
    # branches per claim for k strong classes, each with a counter over the rest
    prog = build_program(core(1, 1, 1), "1.26", None)
    ex = Explorer(prog, symmetry=False)
    live.prepare(ex)
    weak, strong, _ = live._masks(ex)
    sc = [a for a in range(len(ex.actor_names)) if (1 << a) & strong][:2]
    wc = [a for a in range(len(ex.actor_names)) if (1 << a) & weak][:1]
    fair = (*sc, *wc)
    src, cl, procs = generate_live(prog, Explorer(prog, symmetry=False), fair=fair)
    plain, _, _ = generate_live(prog, Explorer(prog, symmetry=False))
    assert src.count("guess_0:") == 1 and plain.count("EN_") == 0
    for i in range(len(cl)):
        assert src.count(f"accept_{i}_") == 2 * 4  # 4 subsets: its label and the goto
    for a in fair:
        assert f"#define EN_{a} " in src
    # every step of a class in `fair` records its code, the environment 255
    assert src.count(f"last = {len(sc) + 1}") == sum(1 for i in prog.instances()
                                                     if ex.actor_of[i] == wc[0])
    assert "last = 255" in src and f"(last == {len(sc) + 1} || !EN_{wc[0]})" in src


@pytest.mark.slow
def test_go_1_27_holds_in_spin_with_the_environment_process() -> None:
    # stw.begin26 is the environment's (liveness.env_steps): SPIN no longer restarts
    # stop-the-world forever on W's behalf; g.status is a short from the start (the old
    # "acceptance trail has no cycle" was the RANGE assertion of its byte overflowing)
    prog = build_program(core(1, 1, 1), "1.27", None)
    src, _, procs = generate_live(prog, Explorer(prog, symmetry=False))
    env = src[src.index("active proctype env()"):]
    assert "stw.begin26" in env[:env.index("od\n}")]
    v = check_live(prog)
    assert v.run.complete and not v.run.found, v.why
    assert "short f_g0_status" in src and not v.run.widened  # 0x1000 + status: a short
    ours = live.check(build_program(core(1, 1, 1), "1.27", None))
    assert all(la is None for _, la in ours.lassos)


@pytest.mark.slow
def test_refinement_adds_the_strong_classes_spin_starves_then_holds() -> None:
    # Go 1.26 at 1/1/1: SPIN's first lassos starve sysmon's per-P steps (strongly fair
    # for us, plain steps of sysmon's process for SPIN); replay names those classes, the
    # claim enforces them, and the next search finds no cycle, as our checker says
    prog = build_program(core(1, 1, 1), "1.26", None)
    v = check_live(prog)
    assert v.run.complete and not v.run.found
    assert v.rounds >= 2 and v.run.fair and all(n.startswith("sysmon.") for n in v.run.fair)
    assert v.history[0]["lassos"] > 0 and v.history[0]["learned"]
    ours = live.check(build_program(core(1, 1, 1), "1.26", None))
    assert all(la is None for _, la in ours.lassos)


@pytest.mark.slow
@pytest.mark.parametrize(("go", "mutant"), [("1.27", "Y-no-timed-wake"),
                                            ("1.25", "T5-no-sysretake")])
def test_a_liveness_mutant_gets_a_spin_lasso_that_replays(go, mutant) -> None:
    from entersys.cmd_replay import reproduces
    from entersys.model.mutants import MUTANTS

    cfg = MUTANTS[mutant].config or core(1, 1, 1)
    prog = build_program(cfg, go, mutant)
    v = check_live(prog)
    assert v.run.found and v.reproduces, v.why
    prop = v.pending[0].split()[0]
    assert prop.startswith("LIVE-")
    assert reproduces(prog, v.labels, prop, v.loop)[0]
    # the faithful model does not reproduce it (the lasso needs the mutant's step)
    faithful = build_program(cfg, go, None)
    assert not reproduces(faithful, v.labels, prop, v.loop)[0]


@pytest.mark.slow
def test_spin_explore_gives_the_native_verdicts_with_liveness_auto(cli, tmp_path) -> None:
    # --liveness auto runs SPIN's liveness search on a small configuration, and every
    # verdict equals the native explorer's (safety, and every LIVE-* holding)
    runs = {}
    for engine in ("spin", "native"):
        out = tmp_path / f"{engine}.json"
        r = cli("explore", "--go", "1.27", "--ms", "1", "--ps", "1", "--gs", "1",
                "--engine", engine, "--format", "json", "--out", str(out))
        assert r.returncode == 0, r.stderr
        runs[engine] = json.loads(out.read_text())["results"]
    # one record per LIVE-* property in both, with the native id plus `.spin`
    spin_live = {x["id"].replace(".spin.", "."): x for x in runs["spin"]
                 if x["kind"] == "liveness"}
    native_live = {x["id"]: x for x in runs["native"] if x["kind"] == "liveness"}
    assert spin_live.keys() == native_live.keys() and native_live
    for rid, x in spin_live.items():
        assert x["verdict"] == native_live[rid]["verdict"] == "holds", rid
        assert x["details"]["complete"] and x["details"]["searches"] >= 1
    safety = {e: next(x for x in runs[e] if x["kind"] == "explore") for e in runs}
    assert safety["spin"]["verdict"] == safety["native"]["verdict"] == "holds"


@pytest.mark.slow
def test_a_spin_liveness_kill_replays_through_entersys_replay(cli, tmp_path) -> None:
    # T5-no-sysretake (1.25, 2/1/2): SPIN's safety search holds, its acceptance cycle
    # kills the mutant, and `entersys replay` reproduces the saved lasso
    out = tmp_path / "run.json"
    r = cli("explore", "--go", "1.25", "--ms", "2", "--ps", "1", "--gs", "2",
            "--mutant", "T5-no-sysretake", "--engine", "spin", "--liveness", "on",
            "--format", "json", "--out", str(out))
    assert r.returncode == 0, r.stderr  # killed, as expected
    [rec] = json.loads(out.read_text())["results"]  # the kill is the mutant's record
    assert rec["verdict"] == "refuted" and rec["details"]["violated"] == ["LIVE-RUN"]
    assert "loop" in rec["counterexample"]["itf"]
    assert "is fair" in rec["counterexample"]["summary"]
    rp = cli("replay", str(out), "--format", "json")
    assert rp.returncode == 0, rp.stdout + rp.stderr
    got = json.loads(rp.stdout)["results"]
    # a replay record is refuted (as expected) when the counterexample reproduces
    assert got and all(x["verdict"] == "refuted" for x in got), got
    assert any("LIVE-" in x["details"]["outcome"] for x in got)
