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


@pytest.mark.slow
def test_a_spin_lasso_using_the_environment_is_not_taken_as_a_kill() -> None:
    # Y-no-timed-wake (1.27): sysmon never wakes by its timeout while the world stops. Our
    # explorer kills it by DEADLOCK. SPIN's process map still gives the Go 1.26+
    # stop-the-world start (stw.begin26) to W, not to the environment (open: mapping it to
    # the env process made pan's acceptance trail lose its cycle), so SPIN's lasso restarts
    # stop-the-world forever; the replay under our fairness must refuse it, naming why.
    prog = build_program(core(1, 1, 1), "1.27", "Y-no-timed-wake")
    v = check_live(prog)
    assert v.run.found and not v.reproduces, v.why
    assert "environment's W:stw.begin26" in v.why
    assert any(p.startswith("LIVE-") for p in v.pending)


@pytest.mark.slow
def test_a_spin_lasso_our_fairness_rejects_is_inconclusive(cli, tmp_path) -> None:
    # The faithful 1.27 model at 1/1/1 is live under our fairness (every LIVE-* holds in
    # our checker). SPIN's weak fairness lets the environment restart stop-the-world
    # forever (stw.begin26), which ours forbids (liveness.env_steps): its lasso is
    # replayed, found unfair for that reason, and the record is inconclusive (exit 3),
    # never a refutation our checker would not make.
    out = tmp_path / "run.json"
    r = cli("explore", "--go", "1.27", "--ms", "1", "--ps", "1", "--gs", "1",
            "--engine", "spin", "--liveness", "on", "--format", "json", "--out", str(out))
    assert r.returncode == 3, r.stderr
    recs = json.loads(out.read_text())["results"]
    live_rec = next(x for x in recs if x["kind"] == "liveness")
    assert live_rec["verdict"] == "unknown" and live_rec["status"] == "inconclusive"
    assert "environment's W:stw.begin26" in live_rec["counterexample"]["summary"]
    ours = live.check(build_program(core(1, 1, 1), "1.27", None))
    assert all(la is None for _, la in ours.lassos)
