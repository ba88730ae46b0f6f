"""Unbounded and parameterized protocol proofs: the old design's I1 and I8 close by plain
induction on the core configuration; T# (other objects and aggregates made free)
over-approximates T; the locality checks see a planted non-local read and a family that a
parked M breaks; the parameterized targets hold at the cutoff, a mutant that breaks I7 is
not proved, and the records name their method."""

from __future__ import annotations

from dataclasses import replace

import pytest
import z3
from entersys.model.state import Config
from entersys.oracle.explore import Explorer
from entersys.oracle.protocol import PART_SETS, build_program, with_parts
from entersys.proofs.induction import prove
from entersys.proofs.param import CUTOFFS, pad_failures, prove_param, reads, sharp, target_family
from entersys.proofs.param_families import Family
from entersys.proofs.transition import Transition, solver, successors


def _prog(go: str, size: tuple[int, int, int]):  # type: ignore[no-untyped-def]
    return build_program(replace(with_parts(Config(*size), PART_SETS["core"]), go=go), go)


@pytest.mark.slow
def test_go114_i1_and_i8_close_by_induction() -> None:
    prog = _prog("1.14", (1, 1, 1))
    run = prove(prog, ["I1", "I8"], max_k=1)
    assert run.status == "inductive"
    assert set(run.proved) == {"I1", "I8"} and not run.k_inductive
    # independent re-check of the strengthening's closure under T
    tr = Transition(prog)
    conj = [tr.inv_terms[i] for i in run.proved] + [c.term for c in run.auxiliary]
    pre, post, t = tr.one_step()
    s = solver()
    s.add(*[tr.at(c, pre) for c in conj], t, z3.Not(z3.And(*[tr.at(c, post) for c in conj])))
    assert s.check() == z3.unsat
    assert any(c.name.endswith("pairs)") for c in run.auxiliary)


@pytest.mark.parametrize("go", ["1.25", "1.27"])
def test_t_sharp_admits_every_step_of_t(go: str) -> None:
    prog = _prog(go, (2, 2, 1))
    exact, (tsharp, abstracted) = Transition(prog), sharp(prog)
    assert abstracted  # some aggregate over the Ms or Ps was made free
    res = Explorer(prog, symmetry=False).run(max_states=3000, progress=False,
                                             stop_at_first=False)
    states = list(res.parents)[::150][:12]
    pre, post, t = tsharp.one_step()
    checked = 0
    for s0 in states:
        for s1 in successors(exact, s0):
            sol = solver()
            sol.add(t, *[v == x for v, x in zip(pre.vars, s0)],
                    *[v == x for v, x in zip(post.vars, s1)])
            assert sol.check() == z3.sat, (s0, s1)
            checked += 1
    assert checked >= 12


def test_reads_sees_a_planted_direct_read() -> None:
    tr, _ = sharp(_prog("1.25", (1, 2, 1)))
    before = reads(tr)
    k = next(k for k, i in enumerate(tr.instances) if i.m == 0 and not i.step.params)
    label = tr.instances[k].label
    assert not before[label].direct
    p1 = tr.sym.vars[tr.prog.layout.pname[1]["status"]]
    tr.guards[k] = z3.And(tr.guards[k], p1 == 0)  # M0's step now reads P1 directly
    assert ("p", 1) in reads(tr)[label].direct


def test_a_planted_non_local_step_leaves_every_target_unknown() -> None:
    def plant(tr: Transition) -> None:
        k = next(k for k, i in enumerate(tr.instances) if i.m == 0 and not i.step.params)
        p1 = tr.sym.vars[tr.prog.layout.pname[1]["status"]]
        tr.guards[k] = z3.And(tr.guards[k], p1 == 0)

    run = prove_param("1.25", cutoff=(1, 2, 1), plant=plant)
    assert not run.proved and set(run.unproved) == {"I1", "I4", "I7"}
    assert all("too small" in why for t, why in run.unproved.items() if t != "I1")


def test_pad_check_drops_a_family_a_parked_m_breaks() -> None:
    tr, _ = sharp(_prog("1.25", (2, 1, 1)))
    idle = tr.prog.labels["idle"]
    pcs = [tr.sym.vars[tr.prog.layout.mname[i]["pc"]] for i in range(2)]
    busy = Family("m.pc != idle", "planted", z3.And(*[pc != idle for pc in pcs]),
                  arity={"m": 1}, parts=[((("m", i),), pc != idle) for i, pc in enumerate(pcs)])
    i4 = target_family(tr, "I4", {"p": 1})
    assert pad_failures(tr, [busy, i4], 10_000) == {"m.pc != idle"}


@pytest.mark.slow
def test_old_design_targets_hold_for_any_number_of_ms_and_ps() -> None:
    run = prove_param("1.25")
    assert run.status == "inductive" and run.proved == ["I7"]
    assert run.cti["I4"]["step"]  # I4 is not closed: its counterexample to induction
    assert "I1" in run.unproved and "I1" not in run.proved
    assert run.cfg is not None and (run.cfg.ms, run.cfg.ps, run.cfg.gs) == CUTOFFS["psyscall"]
    cut = dict(zip("mpg", CUTOFFS["psyscall"], strict=True))
    assert all(run.need[k] <= cut[k] for k in "mpg")
    assert run.local and all(isinstance(c, Family) and c.reason for c in run.local)


@pytest.mark.slow
def test_a_mutant_breaking_i7_is_not_proved() -> None:
    run = prove_param("1.25", targets=["I7"], mutant="T4-plain-store")
    assert "I7" not in run.proved and "I7" in run.unproved


def test_param_refuses_a_target_the_design_lacks() -> None:
    with pytest.raises(ValueError, match="no parameterized target"):
        prove_param("1.27", targets=["I7"])


def test_protocol_group_has_the_closed_targets_and_protocol_param_every_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from entersys import registry
    from entersys.proofs import param, protocol_suite

    # `protocol` gets a param obligation where the design has a closed target, and asks
    # for those targets only; the opt-in `protocol-param` asks for every target
    assert ("1.25", "param", None) in protocol_suite.obligations("1.25", 1)
    assert ("1.27", "param", None) not in protocol_suite.obligations("1.27", 1)
    asked: list[tuple[str, list[str] | None]] = []

    def fake(go: str, targets: list[str] | None = None, timeout_ms: int = 0
             ) -> param.ParamRun:
        asked.append((go, targets))
        return param.ParamRun("inductive", ["I7"], [], {}, cfg=Config(3, 2, 2))

    monkeypatch.setattr(param, "prove_param", fake)
    recs = protocol_suite._discharge((("1.25", "param", None), 12, 1, 1000))
    assert asked == [("1.25", list(param.CLOSED["psyscall"]))]
    assert [r.id for r in recs] == ["protocol.go1.25.param.I7"]
    assert "protocol-param" in registry.VERIFY_GROUPS
    assert "protocol-param" not in registry.VERIFY_DEFAULT
    [rec] = protocol_suite.param_job(("1.27", 1000))
    assert asked[-1] == ("1.27", None) and rec.group == "protocol-param"
    assert rec.id == "protocol-param.go1.27.param.I7"


def test_param_records_name_their_method(monkeypatch: pytest.MonkeyPatch) -> None:
    from entersys.proofs import param, protocol_suite

    def fake(go: str, targets: list[str] | None = None, timeout_ms: int = 0
             ) -> param.ParamRun:
        return param.ParamRun("inductive", ["I7"], [], {"I1": "existential"},
                              need={"m": 2, "p": 3, "g": 2}, sizes=[(3, 3, 2)],
                              cfg=with_parts(Config(3, 3, 2), PART_SETS["core"]))

    monkeypatch.setattr(param, "prove_param", fake)
    recs = {r.id: r for r in protocol_suite.param_records("1.25", 1000)}
    ok, no = recs["protocol.go1.25.param.I7"], recs["protocol.go1.25.param.I1"]
    assert ok.details["method"].startswith("cutoff 3 M / 3 P / 2 G")
    assert ok.verdict.name == "HOLDS" and ok.details["depth"] == "unbounded"
    assert no.verdict.name == "UNKNOWN" and no.details["reason"] == "existential"


def test_canonical_instances_cover_every_instance_up_to_renaming() -> None:
    from entersys.proofs.param import canonical

    tr = Transition(_prog("1.25", (3, 2, 1)))
    reps = canonical(tr)
    assert 0 < len(reps.instances) < len(tr.instances)
    names = {(i.step.name, tuple(k for k in i.step.params if k == "bit")) for i in tr.instances}
    assert names == {(i.step.name, tuple(k for k in i.step.params if k == "bit"))
                     for i in reps.instances}
    assert all(i.m <= 0 for i in reps.instances)
    # re-indexed writers point at the kept instances' own writes
    k = next(n for n, i in enumerate(reps.instances) if i.m == 0)
    orig = tr.instances.index(reps.instances[k])
    assert {p for p, ws in reps.writers.items() for kk, _ in ws if kk == k} == \
        {p for p, ws in tr.writers.items() for kk, _ in ws if kk == orig}
