"""The order of a tree's syscall path as the model sees it: each model routine's steps in
the order the tree's statements put them (entersys.gate.mapping), and the Program built
from that order: the model's own step definitions, with the routines reordered, a step
the tree lacks made a no-op, and a step the tree has twice present twice. Every step keeps
the file:line of the statements it came from, so a counterexample can cite the tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from entersys.gate.extract import linearize
from entersys.gate.mapping import AUX, CALL, Classified, Design, classify
from entersys.model.program import Ctx, Program, Step


@dataclass
class Occurrence:
    step: str                      # the step's (owner) name in the new routine
    base: str                      # the model step it is a copy of
    stmts: list[Classified]

    @property
    def pos(self) -> float:        # where the step acts in its entry's statement list
        return self._pos

    _pos: float = 0


@dataclass
class TreeOrder:
    """Classified statements per entry and the tree's routine orders."""

    file: str                                      # the proc.go path cited in reports
    entries: dict[str, list[Classified]]
    routines: dict[str, list[Occurrence]] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)   # routine -> steps
    split: list[str] = field(default_factory=list)                # steps split apart
    misplaced: list[Classified] = field(default_factory=list)

    @property
    def unclassified(self) -> list[Classified]:
        return [c for cl in self.entries.values() for c in cl if not c.cls]

    def where(self, step: str) -> str:
        """`file:line[,line...]` of the statements a step of the tree program came from
        ("" for a step that is not read from the tree, such as the scheduler's)."""
        for occs in self.routines.values():
            for o in occs:
                if o.step == step:
                    return f"{self.file}:" + ",".join(str(c.stmt.line) for c in o.stmts)
        for cl in self.entries.values():
            lines = [str(c.stmt.line) for c in cl if c.cls == step]
            if lines:
                return f"{self.file}:" + ",".join(lines)
        return ""

    def sequence(self, routine: str) -> list[str]:
        return [o.step for o in self.routines.get(routine, [])]


def read_order(design: Design, parsed: dict, file: str,
               model_routines: dict[str, tuple[list[str], str]],
               alternatives: dict[str, str]) -> TreeOrder:
    """Classify every entry of `design` in `parsed` (goparse output) and order each model
    routine's steps by the tree's statements."""
    entries = {e: classify(design, linearize(parsed, e, inl))
               for e, inl in design.entries.items() if e in parsed["funcs"]}
    out = TreeOrder(file, entries)
    owner_routine = {s: r for r, (seq, _) in model_routines.items() for s in seq}
    for routine, (seq, _) in model_routines.items():
        entry = design.routine_entry.get(routine)
        if entry is None or entry not in entries:
            continue
        cl = entries[entry]
        # runs: maximal stretches of one owner step, broken by any other step's statement
        runs: list[tuple[str, list[int]]] = []
        for k, c in enumerate(cl):
            if c.cls in ("", AUX, CALL):
                continue
            owner = alternatives.get(c.cls, c.cls)
            if runs and runs[-1][0] == owner:
                runs[-1][1].append(k)
            else:
                runs.append((owner, [k]))
        occs: list[Occurrence] = []
        for step in seq:
            mine = [r for o, r in runs if o == step]
            if not mine:
                out.missing.setdefault(routine, []).append(step)
                continue
            kinds = [frozenset(cl[k].stmt.norm for k in r) for r in mine]
            if len(mine) > 1 and all(kd == kinds[0] for kd in kinds):
                for n, r in enumerate(mine):     # the same statements again: a duplicate
                    name = step if n == 0 else f"{step}#{n + 1}"
                    occs.append(Occurrence(name, step, [cl[k] for k in r], _pos=r[-1]))
            else:
                if len(mine) > 1:
                    out.split.append(step)
                ks = [k for r in mine for k in r]
                # a step led by an `if` acts at its condition (a CAS, a flag test);
                # otherwise it is complete only once its last write is done
                at = ks[0] if cl[ks[0]].stmt.kind == "if" else ks[-1]
                occs.append(Occurrence(step, step, [cl[k] for k in ks], _pos=at))
        for o in occs:   # a branch continuation runs right after the step it continues
            anchor = design.anchors.get(o.step)
            after = next((a.pos for a in occs if a.step == anchor), None)
            if after is not None:
                o._pos = after + 0.5
        occs.sort(key=lambda o: o.pos)
        out.routines[routine] = occs
    for entry, cl in entries.items():
        for c in cl:
            if c.cls in ("", AUX, CALL):
                continue
            rt = owner_routine.get(alternatives.get(c.cls, c.cls))
            if rt is not None and design.routine_entry.get(rt) != entry:
                out.misplaced.append(c)
    return out


def _noop(old: Step) -> Step:
    def fn(c: Ctx) -> Any:
        yield True

    return Step(old.name, old.actor, old.at, old.rule, "missing in the tree: no-op", fn,
                old.params)


def tree_program(base: Program, order: TreeOrder) -> Program:
    """`base` (the faithful Program of the design's model version) with its routines in
    the tree's order; a step the tree lacks is a no-op at its model place, a duplicated
    step runs again where the tree repeats it. Returns `base` itself when nothing
    differs."""
    routines = {k: (list(s), c) for k, (s, c) in base.routines.items()}
    steps = dict(base.steps)
    changed = False
    for routine, occs in order.routines.items():
        faithful, cont = routines[routine]
        seq = [o.step for o in occs]
        for o in occs:
            if o.step != o.base:
                old = steps[o.base]
                steps[o.step] = Step(o.step, old.actor, None, old.rule,
                                     f"{old.source} (again)", old.fn, old.params)
        for i, step in enumerate(faithful):
            if step in order.missing.get(routine, []):
                prev = next((p for p in reversed(faithful[:i]) if p in seq), None)
                seq.insert(seq.index(prev) + 1 if prev else 0, step)
                steps[step] = _noop(steps[step])
        if seq != faithful:
            changed = True
        routines[routine] = (seq, cont)
    if not changed and not any(order.missing.values()):
        return base
    prog = base.mutated("tree", routines=routines, steps=steps)
    prog.finish()
    return prog
