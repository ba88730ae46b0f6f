"""Unbounded and parameterized protocol proofs: the old design's I1 and I8 close by plain
induction on the core configuration (mined value-pair tables in the strengthening), the
cutoff configuration's T# over-approximates T (aggregates over the Ps made free), and I7
holds by local induction at the cutoff with the argument's premise checked."""

from __future__ import annotations

from dataclasses import replace

import pytest
import z3
from entersys.model.state import Config, initial_state
from entersys.oracle.protocol import PART_SETS, build_program, with_parts
from entersys.proofs.induction import prove
from entersys.proofs.param import abstract_aggregates, cutoff_config, object_sources, prove_param
from entersys.proofs.transition import Transition, solver, successors


@pytest.mark.slow
def test_go114_i1_and_i8_close_by_induction() -> None:
    prog = build_program(replace(with_parts(Config(1, 1, 1), PART_SETS["core"]), go="1.14"),
                         "1.14")
    run = prove(prog, ["I1", "I8"], max_k=1)
    assert run.status == "inductive"
    assert set(run.proved) == {"I1", "I8"} and not run.k_inductive
    # independent re-check of the whole strengthening: closed under T, true initially
    tr = Transition(prog)
    conj = [tr.inv_terms[i] for i in run.proved] + [c.term for c in run.auxiliary]
    pre, post, t = tr.one_step()
    s = solver()
    s.add(*[tr.at(c, pre) for c in conj], t, z3.Not(z3.And(*[tr.at(c, post) for c in conj])))
    assert s.check() == z3.unsat
    assert any(c.name.endswith("pairs)") for c in run.auxiliary)


def test_t_sharp_over_approximates_t_at_the_cutoff() -> None:
    prog = build_program(replace(cutoff_config("p"), go="1.25"), "1.25")
    exact, sharp = Transition(prog), Transition(prog)
    abstracted = abstract_aggregates(sharp, "p")
    assert abstracted and any(lab.startswith("W:stw") for lab in abstracted)
    s0 = initial_state(prog.layout, prog.labels)
    succ, succ_sharp = successors(exact, s0), successors(sharp, s0)
    assert succ and succ <= succ_sharp
    assert object_sources(sharp, "p") <= prog.cfg.ps


@pytest.mark.slow
def test_i7_holds_for_any_number_of_ps_by_cutoff() -> None:
    run = prove_param("1.25")
    assert run.status == "inductive" and run.proved == ["I7"]
    assert run.cfg is not None and (run.cfg.ms, run.cfg.ps) == (2, 2)
    assert 1 <= run.sources <= 2
    # every auxiliary invariant reads one P, or one M and the P it names
    assert run.local and all(c.name.startswith(("p", "m")) for c in run.local)


def test_param_refuses_a_design_without_targets() -> None:
    with pytest.raises(ValueError, match="no parameterized target"):
        prove_param("1.27")


def test_param_obligation_only_where_the_design_has_a_target() -> None:
    from entersys.proofs import protocol_suite

    assert ("1.25", "param", None) in protocol_suite.obligations("1.25", 1)
    assert all(k != "param" for _, k, _ in protocol_suite.obligations("1.27", 1))


def test_param_record_names_its_method(monkeypatch: pytest.MonkeyPatch) -> None:
    from entersys.proofs import param, protocol_suite

    def fake(go: str, timeout_ms: int = 0) -> param.ParamRun:
        return param.ParamRun("inductive", [], [], cfg=param.cutoff_config("p"), sources=2)

    monkeypatch.setattr(param, "prove_param", fake)
    (rec,) = protocol_suite.param_records("1.25", 1000)
    assert rec.details["method"] == "cutoff N=2" and rec.verdict.name == "UNKNOWN"
    assert rec.details["objects_read_per_step_max"] == 2
