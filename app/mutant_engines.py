"""Which engines `entersys mutants` runs on the catalog: the explorer, the Hypothesis
machine, Z3 bounded model checking, or all of them (the default); each record names its
engine and carries its own time, so a run shows which engine killed each mutant and how
fast."""

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
