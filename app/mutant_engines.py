"""Which engines `entersys mutants` runs on the catalog: the explorer, the Hypothesis
machine, Z3 bounded model checking, or all of them; each record names its engine."""

from __future__ import annotations

from argparse import Namespace

from entersys.results import CheckResult

ENGINES = ("explore", "hypothesis", "z3")


class EngineError(ValueError):
    """An unknown --engine."""


def engines(opts: Namespace) -> list[str]:
    name = getattr(opts, "engine", None)
    if name is None:
        return ["explore"] + (["hypothesis"] if opts.hypothesis else [])
    if name == "all":
        return list(ENGINES)
    if name not in ENGINES:
        raise EngineError(f"unknown --engine {name!r}; known: {', '.join(ENGINES)}, all")
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
