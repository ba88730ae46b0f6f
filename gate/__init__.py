"""The gate: checks a real Go tree (a release, a developer checkout, a patched tree)
against entersys's model: which design and version it implements, the statement order of
its syscall path explored through the model, and (optionally) its runtime under dynamic
probes, its own execution traces replayed through the model, and source-level mutants
built with `go build -overlay`."""

from __future__ import annotations

from pathlib import Path

from entersys.results import CheckResult, Verdict, guarded, timed


def run_gate(root: Path, *, probes: bool = False, mutants: bool = False,
             traces: bool = False, only: list[str] | None = None) -> list[CheckResult]:
    """Every gate record for the Go tree at `root`.

    Raises entersys.gate.detect.GateInputError (one line) for a GOROOT the gate cannot
    take; a failure while checking (a toolchain that cannot build, a crash) becomes an
    ERROR record."""
    from entersys.gate import static
    from entersys.gate.detect import detect

    with timed() as t:
        tree = detect(root)
    if only:
        from entersys.gate.mutants import check_only

        check_only(tree, only)
    out = [static.detect_record(tree, t())]
    out += _guarded_list("gate.static", "static checks of the tree",
                         lambda: static.static_records(tree))
    if probes:
        from entersys.gate import probes as probes_mod

        out += _guarded_list("gate.probe", "dynamic probes of the runtime",
                             lambda: probes_mod.probe_records(tree))
    if traces:
        from entersys.gate.traces import trace_record

        out += _guarded_list("gate.trace.replay", "a real trace through the model",
                             lambda: [trace_record(tree)])
    if mutants:
        from entersys.gate import mutants as mutants_mod

        out += _guarded_list("gate.mutants", "source mutants",
                             lambda: mutants_mod.mutant_records(tree, only))
    return out


def _guarded_list(rid: str, title: str, fn) -> list[CheckResult]:  # type: ignore[no-untyped-def]
    box: list[list[CheckResult]] = []

    def one() -> CheckResult:
        box.append(fn())
        return box[0][0] if box[0] else CheckResult(rid, "gate", title, "gate", Verdict.HOLDS,
                                                    Verdict.HOLDS)

    rec = guarded("gate", rid, title, "gate", Verdict.HOLDS, one)
    return box[0] if box else [rec]
