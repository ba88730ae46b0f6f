"""`entersys report FILE.json [--html OUT.html] [--format F] [--out FILE]`: renders a saved
JSON run (`--format json` of any command) again, as an HTML page, SARIF, JUnit or text; and
the side outputs every checking command shares (`--html FILE`, `--itf DIR`), written whole
or not at all.

Exit codes: 0 written; 2 unreadable input or output (one line on stderr)."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from entersys.output import OutputError, write_text
from entersys.results import (
    EXIT_OK,
    CheckResult,
    Counterexample,
    TraceStep,
    Verdict,
)


class ReportInputError(ValueError):
    """The input is not an entersys JSON run; the message is one line."""


def load_doc(path: Path) -> dict[str, Any]:
    """The JSON document of a saved run. Raises ReportInputError."""
    try:
        doc = json.loads(path.read_text())
    except OSError as e:
        raise ReportInputError(f"cannot read {path}: {e.strerror}") from None
    except ValueError as e:
        raise ReportInputError(f"{path} is not JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ReportInputError(f"{path} is not an entersys JSON run (no \"results\" list)")
    return doc


def _cex(d: dict[str, Any] | None) -> Counterexample | None:
    if d is None:
        return None
    trace = [TraceStep(int(s["index"]), str(s["actor"]), str(s["step"]), str(s.get("rule", "")),
                       {k: (c["from"], c["to"]) for k, c in s.get("changes", {}).items()},
                       dict(s.get("state", {})))
             for s in d.get("trace", [])]
    return Counterexample(str(d.get("summary", "")), dict(d.get("values") or {}), trace,
                          d.get("replay"), d.get("itf"))


def _verdict(label: object) -> Verdict:
    return Verdict[str(label).upper().replace("-", "_")]


def load_results(doc: dict[str, Any]) -> list[CheckResult]:
    """The result records of a JSON document (the inverse of json_out.result_json).
    Raises ReportInputError on a record of another shape."""
    out = []
    for i, r in enumerate(doc["results"]):
        try:
            out.append(CheckResult(
                str(r["id"]), str(r["group"]), str(r["title"]), str(r["kind"]),
                _verdict(r["verdict"]), _verdict(r["expected"]),
                float(r.get("seconds", 0.0)), _cex(r.get("counterexample")),
                dict(r.get("details") or {})))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ReportInputError(f"result {i} is not an entersys result record: "
                                   f"{type(e).__name__}: {e}") from None
    return out


def _itf_name(check_id: str) -> str:
    return re.sub(r"[^\w.-]", "_", check_id) + ".itf.json"


def itf_with_meta(r: CheckResult) -> dict[str, Any] | None:
    """The counterexample's ITF trace with the check, the property and the replay command
    in its "#meta" (so `entersys replay` can rebuild the program), or None."""
    cex = r.counterexample
    if cex is None or not cex.itf:
        return None
    itf = dict(cex.itf)
    meta = dict(itf.get("#meta", {}))
    meta.update(check=r.id, summary=cex.summary)
    if cex.replay:
        meta["replay"] = cex.replay
    itf["#meta"] = meta
    return itf


def side_preflight(opts: argparse.Namespace) -> dict[str, str | None]:
    """The side outputs' paths for entersys.output.preflight (checked before a run).
    Raises OutputError when --itf DIR cannot be a directory."""
    d = getattr(opts, "itf_dir", None)
    if d is not None:
        p = Path(d)
        if p.exists() and not p.is_dir():
            raise OutputError(f"cannot write --itf {p}: not a directory")
        if not p.exists() and not (p.parent if str(p.parent) else Path(".")).is_dir():
            raise OutputError(f"cannot write --itf {p}: no such directory {p.parent}")
    return {"--html": getattr(opts, "html", None)}


def side_outputs(opts: argparse.Namespace, results: list[CheckResult], command: str,
                 extra: dict | None = None) -> dict[str, tuple[str | None, str | None]]:
    """`--html FILE` (the page) and `--itf DIR` (one ITF file per protocol counterexample)
    as outputs for the CLI's _emit: option -> (path, text). Creates DIR; raises
    OutputError when it cannot."""
    out: dict[str, tuple[str | None, str | None]] = {}
    html = getattr(opts, "html", None)
    if html is not None:
        from entersys.report.html import render_html

        out["--html"] = (str(html), render_html(results, command, extra))
    itf_dir = getattr(opts, "itf_dir", None)
    if itf_dir is not None:
        d = Path(itf_dir)
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot write --itf {d}: {e.strerror or e}") from None
        for r in results:
            itf = itf_with_meta(r)
            if itf is not None:
                path = d / _itf_name(r.id)
                out[f"--itf {path}"] = (str(path), json.dumps(itf, indent=1) + "\n")
    return out


def add_parser(sub: Any) -> None:
    p = sub.add_parser("report", help="render a saved JSON run as HTML, SARIF, JUnit or text")
    p.add_argument("file", type=Path, metavar="FILE.json", help="output of --format json")
    p.add_argument("--html", metavar="OUT.html", help="write the HTML page here")
    p.add_argument("--format", dest="report_format", default=None,
                   help="text, json, sarif, junit or html (to --out or stdout; default text "
                        "when no --html is given)")
    p.add_argument("--out", metavar="FILE", help="write --format's output to FILE; - is stdout")


def run(opts: argparse.Namespace, command: str) -> int:
    from entersys.cli import UsageError
    from entersys.output import preflight
    from entersys.report import RENDERERS
    from entersys.report.html import render_html_doc

    preflight({"--html": opts.html, "--out": opts.out})
    fmt = opts.report_format or (None if opts.html else "text")
    if fmt is not None and fmt not in RENDERERS:
        raise UsageError(f"unknown format {fmt!r}; known: {', '.join(RENDERERS)}")
    try:
        doc = load_doc(opts.file)
        results = load_results(doc)
    except ReportInputError as e:
        raise UsageError(str(e)) from None
    extra = {k: v for k, v in doc.items()
             if k not in ("tool", "version", "command", "results", "summary")}
    src_command = str(doc.get("command", ""))
    html = render_html_doc(doc) if opts.html is not None else None
    text = RENDERERS[fmt](results, src_command, extra or None) if fmt is not None else None
    if html is not None:
        write_text(opts.html, html, "--html")
    if text is not None:
        write_text(opts.out or "-", text, "--out")
    return EXIT_OK
