"""Text rendering of result records: a table (check, verdict, expected, status, time), then
one block per failed or noteworthy check with its counterexample, for a person to read."""

from __future__ import annotations

from typing import Any

from entersys.results import CheckResult, Counterexample, Status, summary


def _fmt(v: Any) -> str:
    return v if isinstance(v, str) else repr(v)


def _extra_lines(key: str, value: Any) -> list[str]:
    """A run-level note as text: a dict or list one entry a line, never a Python repr."""
    title = key.replace("_", " ")
    if isinstance(value, (dict, list, tuple)) and not value:
        return []  # an empty note gets no heading
    if isinstance(value, dict):
        return [f"{title}:"] + [f"  {k}: {v}" for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [f"{title}:"] + [f"  - {v}" for v in value]
    return [f"{title}: {value}"]


def render_counterexample(cex: Counterexample, indent: str = "    ",
                          trace: bool = True) -> list[str]:
    lines = [f"{indent}{cex.summary}"]
    for k, v in cex.values.items():
        lines.append(f"{indent}  {k:<14} {_fmt(v)}")
    if cex.trace and not trace:
        lines.append(f"{indent}  ({len(cex.trace)}-step trace: --format json, or replay it)")
    for st in cex.trace if trace else ():
        lines.append(f"{indent}  {st.index:>3}. [{st.actor}] {st.step}"
                     + (f"  ({st.rule})" if st.rule else ""))
        for k, (old, new) in st.changes.items():
            lines.append(f"{indent}         {k}: {_fmt(old)} -> {_fmt(new)}")
    if cex.replay:
        lines.append(f"{indent}  replay: {cex.replay}")
    return lines


def render_text(results: list[CheckResult], command: str = "", extra: dict | None = None) -> str:
    w = max([len(r.id) for r in results] + [5])
    v = max([len(x.label) for r in results for x in (r.verdict, r.expected)] + [8])
    out = [f"{'check':<{w}}  {'verdict':<{v}} {'expected':<{v}} {'status':<12} seconds"]
    for r in results:
        out.append(f"{r.id:<{w}}  {r.verdict.label:<{v}} {r.expected.label:<{v}} "
                   f"{r.status.label:<12} {r.seconds:7.3f}")
    # an explorer's size, where the records are few enough to read (explore, one mutant)
    sized = [r for r in results if r.kind in ("explore", "mutant") and "states" in r.details]
    if sized and len(results) <= 12:
        out.append("")
        for r in sized:
            d = r.details
            out.append(f"{r.id}: {d['states']:,} states, {d.get('transitions', 0):,} "
                       f"transitions, depth {d.get('depth', '?')}"
                       + (f", {d['states_per_second']:,} states/s"
                          if d.get("states_per_second") else ""))
    blocks = [r for r in results if r.counterexample is not None]
    for r in blocks:
        tag = "COUNTEREXAMPLE" if r.status != Status.PASS else "expected counterexample"
        out.append("")
        out.append(f"{r.id} - {r.title}")
        out.append(f"  {tag} ({r.status.label}):")
        # an expected refutation among many checks gets its summary; failures, and a lone
        # check (explore --mutant), get the whole trace
        full = r.status != Status.PASS or len(results) == 1
        out.extend(render_counterexample(r.counterexample, trace=full))  # type: ignore[arg-type]
    for r in results:
        for key, table in r.details.get("tables", {}).items():
            out.append("")
            out.append(f"{r.id} - {key}")
            if table:
                cols = list(table[0])
                widths = [max(len(c), *(len(str(row[c])) for row in table)) for c in cols]
                out.append("  " + "  ".join(c.ljust(wd) for c, wd in zip(cols, widths)))
                for row in table:
                    out.append("  " + "  ".join(str(row[c]).ljust(wd)
                                                for c, wd in zip(cols, widths)))
    for r in results:
        if r.verdict.label == "not-applicable" and "reason" in r.details:
            out.append(f"{r.id}: not applicable ({r.details['reason']})")
    notes = [line for k, v in (extra or {}).items() for line in _extra_lines(k, v)]
    if notes:
        out.append("")
        out.extend(notes)
    s = summary(results)
    out.append("")
    out.append("summary: " + ", ".join(f"{n} {k}" for k, n in s.items()))
    return "\n".join(out) + "\n"
