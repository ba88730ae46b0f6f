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
          6: "stopwait underflow", 7: "releasep: invalid arg",
          8: "stoplockedm: inconsistent locking", 9: "stoplockedm: not runnable",
          10: "startlockedm: m has p", 11: "wirep: already in go"}

VERSIONS = ("1.14", "1.25", "1.26", "1.27")
# The protocol design each version runs, and the modules that define it: its steps (with
# ROUTINES, ALTERNATIVES, PLACES, LOCKED_ROUTINES) and its invariants (INVARIANTS,
# intended_terminal). "psyscall": Go 1.14-1.25, the P goes _Psyscall; "scanbit": Go 1.26+,
# the P stays _Prunning and the syscall G's _Gscan bit is the lock.
DESIGN_OF = {"1.14": "psyscall", "1.25": "psyscall", "1.26": "scanbit", "1.27": "scanbit"}
DESIGNS = {"psyscall": ("entersys.model.steps", "entersys.model.invariants"),
           "scanbit": ("entersys.model.steps_scanbit", "entersys.model.invariants_scanbit")}


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


def _design(design: str = "psyscall") -> Any:
    """The step definitions and routines of a design (imported on first use: they register
    into STEPS through the `step` decorator defined here)."""
    import importlib

    return importlib.import_module(DESIGNS[design][0])


def design_steps(design: str, go: str) -> dict[str, Step]:
    """The steps of one design for one Go version: the scanbit design lists which steps it
    shares with the old one (`SHARED`) and which exist only in some versions
    (`VERSION_ONLY`); the old design is every step no other design module defined."""
    mod = _design(design)
    own = {n for n, s in STEPS.items() if s.fn.__module__ == mod.__name__}
    if design == "psyscall":
        for d in DESIGNS:
            _design(d)
        others = {DESIGNS[d][0] for d in DESIGNS if d != design}
        return {n: s for n, s in STEPS.items() if s.fn.__module__ not in others}
    only = getattr(mod, "VERSION_ONLY", {})
    names = (own | set(getattr(mod, "SHARED", ()))) - {
        n for n, vs in only.items() if go not in vs}
    return {n: STEPS[n] for n in STEPS if n in names}


def _default_steps() -> dict[str, Step]:
    return {}


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
        """`actor:step(args)`, e.g. `M0:startm(p0)`: a P or G parameter (a 1-based
        reference inside the state) is named as counterexample values name it (p0, g1);
        a `bit` parameter is shown as 0 or 1."""
        who = f"M{self.m}" if self.m >= 0 else self.step.actor
        a = ",".join(f"{k}{x - 1}" if k in ("p", "g") else str(x)
                     for k, x in zip(self.step.params, self.args, strict=True))
        return f"{who}:{self.step.name}" + (f"({a})" if a else "")


@dataclass
class Program:
    """The protocol for one Go version, possibly mutated: routines, steps and labels."""

    cfg: Config
    go: str = "1.25"
    routines: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    steps: dict[str, Step] = field(default_factory=_default_steps)
    mutant: str | None = None
    fuse: bool = True   # run the design's FUSED blocks as one transition each

    def __post_init__(self) -> None:
        if self.go not in VERSIONS:
            raise ValueError(f"unknown Go version {self.go!r}; supported: {', '.join(VERSIONS)}")
        if not self.steps:
            self.steps = design_steps(self.design, self.go)
        if not self.routines:  # a version's routines hold the steps that version has
            self.routines = {k: ([n for n in seq if n in self.steps], cont)
                             for k, (seq, cont) in self.module.ROUTINES.items()}
        self.cfg.validate()
        self.layout = Layout(self.cfg)
        self.finish()

    @property
    def design(self) -> str:
        """The protocol design of this program's Go version ("psyscall" or "scanbit")."""
        return DESIGN_OF[self.go]

    @property
    def module(self) -> Any:
        """The module defining this design's steps, routines and places."""
        return _design(self.design)

    @property
    def invariants(self) -> list[Any]:
        """The design's invariants (entersys.model.invariants.Invariant records)."""
        import importlib

        return list(importlib.import_module(DESIGNS[self.design][1]).INVARIANTS)

    def intended_terminal(self, s: Any) -> bool:
        """The design's predicate for a deadlock of the program, not of the runtime."""
        import importlib

        return bool(importlib.import_module(DESIGNS[self.design][1])
                    .intended_terminal(self, s))

    def finish(self) -> None:
        """(Re)compute labels, successors and instances after the routines changed."""
        names = list(self.module.PLACES)
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
        self.fused = self._fused_blocks()
        self._instances = self._build_instances()

    def _fused_blocks(self) -> dict[str, list[str]]:
        """head step -> the steps after it in its block. A design's FUSED blocks are runs of
        steps of which at most one is visible to another actor, only the first has a guard
        and only the last may branch; a block is fused only where its steps (those this
        program has) still stand consecutively in a routine, so a mutant that reorders
        them runs them one by one."""
        out: dict[str, list[str]] = {}
        if not self.fuse:
            return out
        for block in getattr(self.module, "FUSED", ()):
            names = [n for n in block if n in self.steps]
            if len(names) < 2 or names[0] not in self.routine_of:
                continue
            seq = self.routines[self.routine_of[names[0]]][0]
            k = seq.index(names[0])
            if seq[k:k + len(names)] == names:
                out[names[0]] = names[1:]
        return out

    # -- labels ------------------------------------------------------------------------------
    def label(self, name: str) -> int:
        if name.startswith("@"):
            seq, cont = self.routines[name[1:]]
            return self.labels[seq[0]] if seq else self.labels[cont]
        return self.labels[name]

    def at_label(self, st_: Step) -> str:
        if st_.at is not None:
            return st_.at
        return self.module.ALTERNATIVES.get(st_.name, st_.name)

    def enabled_actors(self) -> set[str]:
        c = self.cfg
        return {M} | ({SYSMON} if c.sysmon else set()) | ({W} if c.stw else set()) | \
            ({F} if c.foreachp else set()) | ({GC} if c.gc else set())

    def _build_instances(self) -> list[Instance]:
        out: list[Instance] = []
        actors = self.enabled_actors()
        in_program = {n for seq, _ in self.routines.values() for n in seq}
        optional = {"user.entersyscallblock": self.cfg.blockhint,
                    "user.RawSyscall.block": self.cfg.raw,
                    "user.RawSyscall.wait": self.cfg.rawwait,
                    "user.LockOSThread": self.cfg.locked,
                    "user.UnlockOSThread": self.cfg.locked,
                    "schedule.startlockedm": self.cfg.locked,
                    "schedule.stoplockedm": self.cfg.locked,
                    "stoplockedm.wake": self.cfg.locked,
                    "exitsyscall0.stopm": self.cfg.locked,
                    "user.secretSignal": self.cfg.secret}
        for s in self.steps.values():
            if s.actor not in actors or not optional.get(s.name, True):
                continue
            if s.at is None and s.actor != GC and \
                    self.module.ALTERNATIVES.get(s.name, s.name) not in in_program:
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
        for name in self.fused.get(s.name, ()):  # the rest of a fused block
            s = self.steps[name]
            here = name
            after = View(view.L, X, lambda pos, u=u: u.writes.get(pos, view.get(pos)))
            c = Ctx(self, after, u, inst.m, inst.args, s)
            gen = s.fn(c)
            guard = X.and_(guard, next(gen))
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

