"""Which engines `entersys mutants` runs on the catalog: the explorer, the Hypothesis
machine, Z3 bounded model checking, or all of them (the default); each record names its
engine and carries its own time, so a run shows which engine killed each mutant and how
fast.

`all` is a portfolio: every mutant goes to the engines in ENGINES order and stops at the
first that gives its expected verdict (a kill; "holds" for an equivalent mutant, which
only the exhaustive explorer can give). The explorer runs on every mutant; the machine
and Z3 run only on the mutants the engines before them did not settle, and each record
names the engines not run and why. A mutant no engine settles keeps every engine's record,
so the run exits 1 (or 3 when an engine was inconclusive). A named engine (`--engine z3`)
runs on every mutant."""

from __future__ import annotations

from argparse import Namespace

from entersys.results import CheckResult

ENGINES = ("explore", "hypothesis", "z3")


class EngineError(ValueError):
    """An unknown --engine."""


DEFAULT = "all"


def engines(opts: Namespace) -> list[str]:
    """The engines `--engine` names (default: all of them, in ENGINES order); `--hypothesis`
    adds the Hypothesis machine to a single named engine. Raises EngineError for an
    unknown name."""
    name = getattr(opts, "engine", None) or DEFAULT
    if name == "all":
        return list(ENGINES)
    if name not in ENGINES:
        raise EngineError(f"unknown --engine {name!r}; known: {', '.join(ENGINES)}, all")
    if getattr(opts, "hypothesis", False) and name != "hypothesis":
        return [e for e in ENGINES if e in (name, "hypothesis")]
    return [name]


def mutant_results(opts: Namespace, only: list[str] | None = None) -> list[CheckResult]:
    """Records of every selected engine on the mutants of opts.go (`only`: a subset)."""
    from entersys.oracle import protocol

    if (getattr(opts, "engine", None) or DEFAULT) == "all":
        return portfolio(opts.go, only)
    chosen = engines(opts)
    out: list[CheckResult] = []
    if "explore" in chosen or "hypothesis" in chosen:
        recs = protocol.mutant_results(opts.go, only=only, hypothesis="hypothesis" in chosen)
        for r in recs:
            r.details.setdefault("engine", "hypothesis" if r.kind == "hypothesis" else
                                 "explore")
        out.extend(r for r in recs if "explore" in chosen or r.kind == "hypothesis")
    if "z3" in chosen:
        from entersys.proofs import mutants_z3

        out.extend(mutants_z3.results(opts.go, only=only))
    return out


def portfolio(go: str, only: list[str] | None = None) -> list[CheckResult]:
    """`--engine all`: the explorer on every mutant of `go` (`only`: a subset), then the
    Hypothesis machine and Z3, each only on the mutants not yet settled (see the module
    docstring). Records keep catalog order per engine; a settled mutant's record names
    the engines it did not need in details["engines_not_run"]; details["portfolio_engine"]
    names the engine of each record."""
    from entersys.model.invariants import KILL_KINDS
    from entersys.model.mutants import MUTANTS, for_version
    from entersys.oracle import protocol
    from entersys.results import Verdict

    mids = list(only or for_version(go))
    explored = protocol.mutant_results(go, only=mids)
    out: list[CheckResult] = []
    pending: list[str] = []
    for mid, rec in zip(mids, explored):
        rec.details["portfolio_engine"] = "explore"
        out.append(rec)
        if rec.verdict == rec.expected:
            rec.details["engines_not_run"] = {e: "settled by explore" for e in ENGINES[1:]}
        elif rec.verdict != Verdict.NOT_APPLICABLE:
            pending.append(mid)
    # the machine checks invariants: liveness-only and equivalent mutants are not its
    hunt = [mid for mid in pending if KILL_KINDS.get(MUTANTS[mid].expect) != "liveness"
            and not MUTANTS[mid].equivalent]
    for mid in hunt:
        r = protocol.hypothesis_result(go, mid)
        r.details["portfolio_engine"] = "hypothesis"
        out.append(r)
        if r.verdict == r.expected:
            pending.remove(mid)
    if pending:
        from entersys.proofs import mutants_z3

        for r in mutants_z3.results(go, only=pending):
            r.details["portfolio_engine"] = "z3"
            out.append(r)
    return out
