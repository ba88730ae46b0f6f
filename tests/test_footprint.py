"""Footprints of the step instances (entersys.oracle.footprint, read from the Z3 terms)
against the interpreter (Program.apply on concrete states, independent of the terms): an
instance changes only fields in its write set, and its guard and written values depend
only on its read set; pairs the Z3 conditions call independent commute on every sampled
reachable state where both are enabled; the GC's stack scan depends on the save it
observes."""

from __future__ import annotations

import pytest
from conftest import program
from entersys.model.ops import CONCRETE
from entersys.model.program import Instance, Program
from entersys.model.state import Config, View
from entersys.oracle.explore import Explorer, normalize_ticks
from entersys.oracle.footprint import Footprints, ample_groups
from entersys.oracle.protocol import PART_SETS, with_parts


def _step(prog: Program, inst: Instance, s: tuple[int, ...]) -> tuple[int, ...] | None:
    """The interpreter's successor of s by inst (tick normal form applied), or None."""
    guard, writes = prog.apply(inst, View(prog.layout, CONCRETE, s.__getitem__),
                               want_effect=bool)
    if not guard:
        return None
    n = list(s)
    for pos, val in writes.items():
        n[pos] = val
    normalize_ticks(prog.layout, n)
    return tuple(n)


@pytest.fixture(scope="module")
def full111() -> tuple[Program, Footprints, list[tuple[int, ...]]]:
    cfg = with_parts(Config(1, 1, 1), PART_SETS["full"])
    prog = program(1, 1, 1, **{p: getattr(cfg, p) for p in PART_SETS["full"]})
    res = Explorer(prog, symmetry=False).run(progress=False)
    assert res.complete
    order = res.order
    sample = [order[k] for k in range(0, len(order), max(1, len(order) // 150))]
    return prog, Footprints(prog), sample


def test_writes_and_reads_cover_the_interpreter(full111) -> None:
    prog, fps, sample = full111
    insts = prog.instances()
    fired = 0
    for j, s in enumerate(sample):
        donor = sample[(j * 7 + 3) % len(sample)]
        for inst, fp in zip(insts, fps.items):
            n = _step(prog, inst, s)
            if n is not None:
                fired += 1
                changed = {i for i, (a, b) in enumerate(zip(s, n)) if a != b}
                assert changed <= fp.writes, (fp.label, changed - fp.writes)
            # every field outside the read set taken from another reachable state
            mixed = tuple(v if i in fp.reads else donor[i] for i, v in enumerate(s))
            m = _step(prog, inst, mixed)
            assert (m is None) == (n is None), fp.label
            if n is not None and m is not None:
                assert all(m[w] == n[w] for w in fp.writes), fp.label
    assert fired > len(sample)  # the sample is not made of dead ends


def test_independent_pairs_commute_on_reachable_states(full111) -> None:
    prog, fps, sample = full111
    insts = prog.instances()
    mine = [k for k, fp in enumerate(fps.items)
            if fp.label.split(":")[1] in ("reentersyscall.10.syscalltick",
                                          "exitsyscall.5.tick", "exitsyscall.5.stackguard",
                                          "reentersyscall.3.save")]
    others = [k for k, fp in enumerate(fps.items) if not fp.label.startswith("M0:")]
    assert len(mine) == 4 and others
    checked = 0
    for a in mine:
        for b in others:
            if fps.dependence(fps.items[a], fps.items[b]):
                continue
            for s in sample:
                sa, sb = _step(prog, insts[a], s), _step(prog, insts[b], s)
                if sa is None or sb is None:
                    continue
                sab, sba = _step(prog, insts[b], sa), _step(prog, insts[a], sb)
                assert sab is not None and sba is not None and sab == sba, \
                    (fps.items[a].label, fps.items[b].label, s)
                checked += 1
    assert checked > 0  # some independent pair is co-enabled in the sample


def test_the_gc_scan_depends_on_the_save_it_observes(full111) -> None:
    _, fps, _ = full111
    by = {fp.label: fp for fp in fps.items}
    save, scan = by["M0:reentersyscall.3.save"], by["GC:gc.scan(g0)"]
    assert fps.dependence(save, scan) == "does not commute with"
    assert not fps.syntactically_independent(save, scan)


@pytest.mark.slow
def test_ample_groups_at_one_m() -> None:
    """Which groups could be ample sets at 1/1/1 full: a few M-local steps qualify; a step
    that moves the G's status can end a violation, so it is visible."""
    cfg = with_parts(Config(1, 1, 1), PART_SETS["full"])
    prog = program(1, 1, 1, **{p: getattr(cfg, p) for p in PART_SETS["full"]})
    groups = {(g.pc_field, g.label): g for g in ample_groups(prog)}
    assert groups[("m0.pc", "reentersyscall.10.syscalltick")].eligible
    cas = groups[("m0.pc", "reentersyscall.5.casgstatus")]
    assert not cas.eligible and cas.reason.startswith("visible")
    assert 0 < sum(g.eligible for g in groups.values()) < len(groups)
