"""`entersys report FILE.json [--html OUT.html] [--format F] [--out FILE]`: renders a saved
JSON run (`--format json` of any command) again, as an HTML page, SARIF, JUnit or text; and
the side outputs every checking command shares (`--html FILE`, `--itf DIR`), written whole
or not at all.

Exit codes: 0 written; 2 unreadable input or output (one line on stderr)."""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from entersys.results import (
    EXIT_OK,
    CheckResult,
    Counterexample,
    TraceStep,
    Verdict,
)


class ReportInputError(ValueError):
    """The input is not an entersys JSON run; the message is one line."""


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all (a temp file in the same folder, then
    rename). Raises OSError."""
    fd, tmp = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def load_results(doc: dict[str, Any]) -> list[CheckResult]:
    """The result records of a JSON document (the inverse of json_out.result_json).
    Raises ReportInputError on a record of another shape."""
    out = []
    for i, r in enumerate(doc["results"]):
        try:
            out.append(CheckResult(
                str(r["id"]), str(r["group"]), str(r["title"]), str(r["kind"]),
                Verdict[str(r["verdict"]).upper()], Verdict[str(r["expected"]).upper()],
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


def write_side_outputs(opts: argparse.Namespace, results: list[CheckResult], command: str,
                       extra: dict | None = None) -> None:
    """`--html FILE` (the page) and `--itf DIR` (one ITF file per protocol counterexample)
    of a checking command. Raises OSError."""
    html = getattr(opts, "html", None)
    if html is not None:
        from entersys.report.html import render_html

        write_atomic(Path(html), render_html(results, command, extra))
    itf_dir = getattr(opts, "itf_dir", None)
    if itf_dir is not None:
        d = Path(itf_dir)
        d.mkdir(parents=True, exist_ok=True)
        for r in results:
            itf = itf_with_meta(r)
            if itf is not None:
                write_atomic(d / _itf_name(r.id), json.dumps(itf, indent=1) + "\n")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("report", help="render a saved JSON run as HTML, SARIF, JUnit or text")
    p.add_argument("file", type=Path, metavar="FILE.json", help="output of --format json")
    p.add_argument("--html", type=Path, metavar="OUT.html", help="write the HTML page here")
    p.add_argument("--format", default=None, help="text, json, sarif, junit or html "
                   "(to --out or stdout; default text when no --html is given)")
    p.add_argument("--out", type=Path, help="write --format's output to FILE")


def run(opts: argparse.Namespace, command: str) -> int:
    from entersys.cli import UsageError
    from entersys.report import RENDERERS
    from entersys.report.html import render_html_doc

    fmt = opts.format or (None if opts.html else "text")
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
    try:
        if opts.html is not None:
            write_atomic(opts.html, render_html_doc(doc))
        if fmt is not None:
            text = RENDERERS[fmt](results, src_command, extra or None)
            if opts.out is not None:
                write_atomic(opts.out, text)
            else:
                import sys

                sys.stdout.write(text)
    except OSError as e:
        raise UsageError(f"cannot write: {e.strerror}: {e.filename}") from None
    return EXIT_OK
