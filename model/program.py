"""The machinery that runs protocol steps: the Step record and its registry, the context a
step sees (Ctx), step instances bound to actors, and Program, which orders steps into
routines, numbers their labels and evaluates an instance over any Ops (concrete or Z3).

The Go protocol itself (the step definitions and their routines) is in
entersys.model.steps; a mutant is a Program whose routines or steps were changed."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import Any

from entersys.model.state import Config, Layout, Update, View

StepFn = Callable[["Ctx"], Generator[Any, None, None]]

M, SYSMON, W, F, GC = "M", "sysmon", "W", "F", "GC"
PC_FIELD = {SYSMON: "y.pc", W: "w.pc", F: "f.pc"}

# Go's throws, recorded in m.throw (the invariant I0 says no M ever throws).
THROWS = {1: "wirep: invalid p state", 2: "lost mcache", 3: "checkdead: runnable g",
          4: "nil P dereference", 5: "stopTheWorld: not stopped",
          6: "stopwait underflow", 7: "releasep: invalid arg"}

VERSIONS = ("1.14", "1.25")


@dataclass(frozen=True)
class Step:
    name: str
    actor: str
    at: str | None          # program label the actor must be at (None: any time)
    rule: str               # spec ids: transitions (T1..), ordering rules (R1..)
    source: str             # Go version, file, function
    fn: StepFn
    params: tuple[str, ...] = ()   # "p", "g", "bit": instantiated over these


STEPS: dict[str, Step] = {}


def _design() -> Any:
    """The step definitions and routines (imported on first use: they register into
    STEPS through the `step` decorator defined here)."""
    from entersys.model import steps

    return steps


def _default_steps() -> dict[str, Step]:
    _design()
    return dict(STEPS)


def step(name: str, actor: str, at: str | None, rule: str, source: str,
         params: tuple[str, ...] = ()) -> Callable[[StepFn], StepFn]:
    def deco(fn: StepFn) -> StepFn:
        if name in STEPS:
            raise ValueError(f"step {name} defined twice")
        STEPS[name] = Step(name, actor, at, rule, source, fn, params)
        return fn
    return deco


class Ctx:
    """What a step sees: the pre-state view `v`, the update `u`, the ops `X`, its actor
    (`m` for an M) and parameters, and the program (for labels and version flags)."""

    __slots__ = ("prog", "v", "u", "X", "m", "args", "step", "pc_set")

    def __init__(self, prog: Program, v: View, u: Update, m: int, args: tuple[int, ...],
                 step: Step) -> None:
        self.prog, self.v, self.u, self.X = prog, v, u, v.X
        self.m, self.args, self.step, self.pc_set = m, args, step, False

    # -- own M ---------------------------------------------------------------------------
    def me(self, f: str) -> Any:
        return self.v.m(self.m, f)

    def set_me(self, **kw: Any) -> None:
        self.u.m(self.m, **kw)

    @property
    def go114(self) -> bool:
        return self.prog.go == "1.14"

    # -- control flow ----------------------------------------------------------------------
    def goto(self, label: str) -> None:
        self._set_pc(self.prog.label(label))

    def branch(self, cond: Any, then: str, other: str) -> None:
        self._set_pc(self.X.ite(cond, self.prog.label(then), self.prog.label(other)))

    def next_label(self) -> str:
        """The step after this one in its (possibly mutated) routine."""
        return self.prog.succ[self.prog.at_label(self.step)]

    def _set_pc(self, value: Any) -> None:
        self.pc_set = True
        if self.step.actor == M:
            self.set_me(pc=value)
        else:
            self.u.s(PC_FIELD[self.step.actor], value)

    def throw(self, cond: Any, code: int) -> None:
        """Go would throw (or fault) here when cond holds."""
        X = self.X
        cur = self.u.writes.get(self.v.L.mname[self.m]["throw"], self.me("throw"))
        self.set_me(throw=X.ite(X.and_(cond, cur == 0), code, cur))

    # -- shared sub-steps --------------------------------------------------------------------
    def any_g(self, pred: Callable[[int], Any]) -> Any:
        return self.X.or_(*[pred(j) for j in range(self.v.cfg.gs)])

    def all_p(self, pred: Callable[[int], Any]) -> Any:
        return self.X.and_(*[pred(j) for j in range(self.v.cfg.ps)])


@dataclass(frozen=True)
class Instance:
    """One step bound to its actor and parameters."""

    step: Step
    m: int           # M index for M steps, -1 otherwise
    args: tuple[int, ...]

    @property
    def label(self) -> str:
        who = f"M{self.m}" if self.m >= 0 else self.step.actor
        a = ",".join(str(x) for x in self.args)
        return f"{who}:{self.step.name}" + (f"({a})" if a else "")


@dataclass
class Program:
    """The protocol for one Go version, possibly mutated: routines, steps and labels."""

    cfg: Config
    go: str = "1.25"
    routines: dict[str, tuple[list[str], str]] = field(default_factory=lambda: {
        k: (list(seq), cont) for k, (seq, cont) in _design().ROUTINES.items()})
    steps: dict[str, Step] = field(default_factory=lambda: _default_steps())
    mutant: str | None = None

    def __post_init__(self) -> None:
        if self.go not in VERSIONS:
            raise ValueError(f"unknown Go version {self.go!r}; supported: {', '.join(VERSIONS)}")
        self.cfg.validate()
        self.layout = Layout(self.cfg)
        self.finish()

    def finish(self) -> None:
        """(Re)compute labels, successors and instances after the routines changed."""
        names = list(_design().PLACES)
        self.routine_of: dict[str, str] = {}
        for r, (seq, _) in self.routines.items():
            for n in seq:
                names.append(n)
                self.routine_of[n] = r
        self.labels = {n: i for i, n in enumerate(names)}
        self.label_names = names
        self.succ: dict[str, str] = {}
        for _r, (seq, cont) in self.routines.items():
            for i, n in enumerate(seq):
                self.succ[n] = seq[i + 1] if i + 1 < len(seq) else cont
        self.layout = Layout(self.cfg)
        self._instances = self._build_instances()

    # -- labels ------------------------------------------------------------------------------
    def label(self, name: str) -> int:
        if name.startswith("@"):
            seq, cont = self.routines[name[1:]]
            return self.labels[seq[0]] if seq else self.labels[cont]
        return self.labels[name]

    def at_label(self, st_: Step) -> str:
        if st_.at is not None:
            return st_.at
        return _design().ALTERNATIVES.get(st_.name, st_.name)

    def enabled_actors(self) -> set[str]:
        c = self.cfg
        return {M} | ({SYSMON} if c.sysmon else set()) | ({W} if c.stw else set()) | \
            ({F} if c.foreachp else set()) | ({GC} if c.gc else set())

    def _build_instances(self) -> list[Instance]:
        out: list[Instance] = []
        actors = self.enabled_actors()
        in_program = {n for seq, _ in self.routines.values() for n in seq}
        optional = {"user.entersyscallblock": self.cfg.blockhint,
                    "user.RawSyscall.block": self.cfg.raw}
        for s in self.steps.values():
            if s.actor not in actors or not optional.get(s.name, True):
                continue
            if s.at is None and s.actor != GC and \
                    _design().ALTERNATIVES.get(s.name, s.name) not in in_program:
                continue  # not part of any routine of this program
            ranges = [self._range(k) for k in s.params]
            combos: list[tuple[int, ...]] = [()]
            for r in ranges:
                combos = [c + (x,) for c in combos for x in r]
            ms = range(self.cfg.ms) if s.actor == M else [-1]
            out.extend(Instance(s, m, a) for m in ms for a in combos)
        return out

    def _range(self, kind: str) -> range:
        return {"p": range(1, self.cfg.ps + 1), "g": range(1, self.cfg.gs + 1),
                "bit": range(0, 2)}[kind]

    def instances(self) -> list[Instance]:
        return self._instances

    # -- evaluation ------------------------------------------------------------------------
    def pc_field(self, inst: Instance) -> int | None:
        if inst.step.actor == M:
            return self.layout.mname[inst.m]["pc"]
        if inst.step.actor in PC_FIELD:
            return self.layout.index[PC_FIELD[inst.step.actor]]
        return None

    def apply(self, inst: Instance, view: View, want_effect: Callable[[Any], bool] | None = None,
              atomic: dict[int, Any] | None = None) -> tuple[Any, dict[int, Any]]:
        """(guard, writes) of one instance on `view`. With a concrete view pass
        `want_effect=bool` to skip computing the effect of a disabled step. `atomic`, if
        given, receives the positions written by Go atomics and when (Update.locked)."""
        X = view.X
        s = inst.step
        u = Update(view)
        c = Ctx(self, view, u, inst.m, inst.args, s)
        pcf = self.pc_field(inst)
        here = self.at_label(s)
        at_ok = view.get(pcf) == self.labels[here] if pcf is not None else True
        if want_effect is not None and not want_effect(at_ok):
            return False, {}
        gen = s.fn(c)
        g = next(gen)
        guard = X.and_(at_ok, g)
        if want_effect is not None and not want_effect(guard):
            return False, {}
        for _ in gen:
            pass
        if not c.pc_set and pcf is not None and s.at is None:
            nxt = self.succ[here]
            target = self.label("@" + nxt[1:]) if nxt.startswith("@") else self.labels[nxt]
            u._set(pcf, target)
        if atomic is not None:
            atomic.update(u.atomic)
        return guard, u.writes

    def mutated(self, name: str, routines: dict[str, tuple[list[str], str]] | None = None,
                steps: dict[str, Step] | None = None) -> Program:
        p = replace(self, routines=routines or {k: (list(s), c) for k, (s, c) in
                                                self.routines.items()},
                    steps=steps or dict(self.steps), mutant=name)
        return p

