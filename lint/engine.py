"""The linter: finds the packages under a path, reads their `//sys`/`//sysnb` lines with
the generator that builds them, checks each against the generated zsyscall files and the
blocking catalog, and finds hand-written raw calls (via goscan) whose trap may block.
Pure analysis: `lint_path` returns a LintReport; rendering is entersys.lint.records."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from entersys.lint import grammar
from entersys.lint.catalog import Catalog, Entry, read_zsysnum
from entersys.lint.findings import Finding
from entersys.lint.scan import Call, Package, scan

#: Entry points that make the call without entersyscall (the Raw path).
RAW_ENTRIES = {"RawSyscall", "RawSyscall6", "RawSyscall9", "RawSyscallNoError",
               "rawSyscallNoError", "rawVforkSyscall"}
#: Traps that fork: what follows them in the same function runs in the child too.
FORK_TRAPS = {"clone", "clone3", "fork", "vfork"}
#: In a GOROOT, the packages linted: std syscall and the vendored x/sys/unix.
GOROOT_PACKAGES = ("src/syscall", "src/cmd/vendor/golang.org/x/sys/unix")
_HEADER = re.compile(r"^//\s*(?:go run\s+)?(mksyscall\.pl|mksyscall\.go)\b(.*)$")


class LintError(Exception):
    """The path cannot be linted (not a directory, no Go files); one line for the user."""


@dataclass
class FileCount:
    file: str
    generator: str
    sys: int = 0
    sysnb: int = 0
    entries: Counter = field(default_factory=Counter)


@dataclass
class PackageReport:
    """One package directory: the generator and its inputs (from the zsyscall header, or
    guessed from the package name), per-file annotation counts, and consistency figures."""

    dir: str
    name: str
    generator: str
    from_header: bool
    inputs: list[str]
    generated: list[str]
    counts: list[FileCount]
    annotations: int = 0
    mismatches: int = 0
    raw_calls: int = 0


@dataclass
class LintReport:
    root: str
    packages: list[PackageReport]
    findings: list[Finding]


def targets(path: Path) -> list[Path]:
    """Package directories to lint: a GOROOT gives its std syscall and vendored x/sys/unix;
    any other directory, every directory under it holding .go files (testdata and hidden
    directories skipped). Raises LintError when there is none."""
    if not path.is_dir():
        raise LintError(f"{path}: not a directory")
    if (path / "src" / "runtime" / "proc.go").is_file():
        dirs = [path / p for p in GOROOT_PACKAGES if (path / p).is_dir()]
    else:
        dirs = sorted({p.parent for p in path.rglob("*.go")
                       if not any(part in ("testdata",) or part.startswith(".")
                                  for part in p.relative_to(path).parts[:-1])})
    if not dirs:
        raise LintError(f"{path}: no Go package directories")
    return dirs


def lint_path(path: Path) -> LintReport:
    """Lint every package under `path` (see targets). Raises LintError, ScanError or
    CatalogError (one-line messages) when it cannot run."""
    path = path.resolve()
    pkgs = scan(targets(path))
    report = LintReport(str(path), [], [])
    for pkg in pkgs:
        if not pkg.files:
            continue
        pr, fs = _lint_package(pkg)
        report.packages.append(pr)
        report.findings.extend(fs)
    report.findings.sort(key=lambda f: (f.file, f.line, f.rule, f.message))
    return report


def _generator(pkg: Package) -> tuple[str, bool, list[str], list[str]]:
    d = Path(pkg.dir)
    z = d / "zsyscall_linux_amd64.go"
    if z.is_file():
        first = z.read_text(errors="replace").splitlines()[:1]
        m = _HEADER.match(first[0]) if first else None
        if m:
            gen = grammar.PERL if m[1] == "mksyscall.pl" else grammar.GO
            toks = m[2].split()
            inputs, i = [], 0
            while i < len(toks):
                if toks[i] == "-tags":
                    i += 2
                    continue
                if toks[i].endswith(".go"):
                    inputs.append(str(d / toks[i]))
                i += 1
            generated = [str(z)] + ([str(d / "zsyscall_linux.go")]
                                    if (d / "zsyscall_linux.go").is_file() else [])
            return gen, True, inputs, generated
    gen = grammar.PERL if pkg.name == "syscall" else grammar.GO
    inputs = [f for f in pkg.files if not Path(f).name.startswith("zsyscall_")]
    return gen, False, inputs, []


def _lint_package(pkg: Package) -> tuple[PackageReport, list[Finding]]:
    gen, from_header, inputs, generated = _generator(pkg)
    zsysnum = Path(pkg.dir) / "zsysnum_linux_amd64.go"
    catalog = Catalog(extra=read_zsysnum(zsysnum) if zsysnum.is_file() else None)
    other = grammar.GO if gen == grammar.PERL else grammar.PERL
    findings: list[Finding] = []
    anns: list[grammar.Annotation] = []
    counts: list[FileCount] = []
    for f in inputs:
        try:
            text = Path(f).read_text(errors="replace")
        except OSError:
            findings.append(Finding("generator-reject", "high", f, 0,
                                    f"{gen} input {Path(f).name} is missing"))
            continue
        fc = FileCount(f, gen)
        for line, raw, readings in grammar.read_file_lines(text, f):
            r, o = readings[gen], readings[other]
            if r.action == "skip":
                findings.append(Finding("generator-skip", "medium", f, line,
                                        f"{gen} skips `{raw.strip()}`: no wrapper is generated",
                                        reason=_skip_reason(gen)))
                continue
            if r.action == "reject":
                findings.append(Finding("generator-reject", "high", f, line,
                                        f"{gen} rejects `{raw.strip()}`: {r.error}"))
                continue
            ann = r.annotation
            assert ann is not None
            anns.append(ann)
            fc.sysnb += ann.nonblock
            fc.sys += not ann.nonblock
            fc.entries[ann.entry] += 1
            for p in ann.problems:
                findings.append(Finding("generator-warning", "medium", f, line,
                                        f"{gen} on {ann.keyword} {ann.func}: {p}"))
            if o.action != "accept":
                what = "skips" if o.action == "skip" else f"rejects ({o.error})"
                findings.append(Finding("generator-portability", "info", f, line,
                                        f"{other} {what} {ann.keyword} {ann.func}",
                                        reason=_skip_reason(other) if o.action == "skip"
                                        else ""))
            if ann.nonblock:
                e = catalog.classify(ann.trap)
                if e.category != "never":
                    findings.append(_blocking(
                        "sysnb-may-block", e, f, line,
                        f"//sysnb {ann.func} = {ann.trap}: {e.name} {e.category}"))
        counts.append(fc)
    pr = PackageReport(pkg.dir, pkg.name, gen, from_header, inputs, generated, counts,
                       annotations=len(anns))
    if generated:
        ms = _consistency(pkg, anns, generated)
        pr.mismatches = len(ms)
        findings += ms
    findings += _raw_calls(pkg, catalog, set(generated), pr)
    return pr, findings


def _skip_reason(gen: str) -> str:
    if gen == grammar.GO:
        return "x/sys mksyscall.go selects only lines starting `//sys<TAB>` or `//sysnb<TAB>`"
    return "mksyscall.pl selects only lines that start `//sys ` or `//sysnb ` once trimmed"


def _blocking(rule: str, e: Entry, file: str, line: int, message: str) -> Finding:
    return Finding(rule, e.severity if e.severity != "none" else "info", file, line, message,
                   reason=e.reason, syscall=e.name, category=e.category,
                   debatable=e.debatable, raw_path=rule != "raw-call-in-child")


def _consistency(pkg: Package, anns: list[grammar.Annotation],
                 generated: list[str]) -> list[Finding]:
    gen_funcs = {}
    for g in reversed(generated):                        # the arch file wins
        gen_funcs.update({f.name: f for f in pkg.funcs if f.file == g})
    out: list[Finding] = []
    for a in anns:
        gf = gen_funcs.get(a.func)
        if gf is None:
            out.append(Finding("zsyscall-missing", "medium", a.file, a.line,
                               f"{a.keyword} {a.func} has no generated function in "
                               + ", ".join(Path(g).name for g in generated)))
            continue
        rel = [{"file": gf.file, "line": gf.line, "message": f"generated func {gf.name}"}]
        calls = sorted(gf.calls, key=lambda c: (c.line, c.col))
        if not calls:
            out.append(Finding("zsyscall-mismatch", "high", a.file, a.line,
                               f"{a.keyword} {a.func}: the generated function makes no "
                               "syscall", related=rel))
            continue
        c = calls[0]
        diffs = []
        if c.callee != a.entry:
            diffs.append(f"calls {c.callee}, the annotation generates {a.entry}")
        if c.args[:1] != (a.trap,):
            diffs.append(f"trap {c.args[0] if c.args else '?'}, the annotation gives {a.trap}")
        if list(c.args[1:]) != a.args:
            diffs.append(f"{len(c.args) - 1} arguments ({', '.join(c.args[1:])}), the "
                         f"annotation generates {len(a.args)} ({', '.join(a.args)})")
        if diffs:
            raw_changed = (c.callee in RAW_ENTRIES) != (a.entry in RAW_ENTRIES)
            rel[0]["line"] = c.line
            out.append(Finding("zsyscall-mismatch", "high" if raw_changed else "medium",
                               a.file, a.line, f"{a.keyword} {a.func}: " + "; ".join(diffs),
                               related=rel))
    annotated = {a.func for a in anns}
    for name, gf in sorted(gen_funcs.items()):
        if name not in annotated and gf.calls:
            out.append(Finding("zsyscall-extra", "low", gf.file, gf.line,
                               f"generated func {name} has no annotation in the inputs"))
    return out


def resolve_trap(expr: str, consts: dict[str, str], depth: int = 0) -> str | None:
    """A trap expression as classify() reads it: a number (as a decimal string) or a
    `SYS_`-style name, following the package's constants; None if not static."""
    e = expr.strip()
    while e.startswith("(") and e.endswith(")"):
        e = e[1:-1].strip()
    if m := re.fullmatch(r"uintptr\((.*)\)", e):
        return resolve_trap(m[1], consts, depth + 1)
    if re.fullmatch(r"\d+", e):
        return str(int(e))
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", e):
        return str(int(e, 16))
    m = re.fullmatch(r"(?:(\w+)\.)?(\w+)", e)
    if m is None:
        return None
    qual, name = m[1], m[2]
    if qual is None and name in consts and depth < 8:
        got = resolve_trap(consts[name], consts, depth + 1)
        if got is not None:
            return got
    if re.fullmatch(r"_?(?i:sys)_\w+", name):
        return name
    return None


def _raw_calls(pkg: Package, catalog: Catalog, generated: set[str],
               pr: PackageReport) -> list[Finding]:
    out: list[Finding] = []
    for fn in pkg.funcs:
        if fn.file in generated or Path(fn.file).name.startswith("zsyscall_"):
            continue
        raws = [c for c in fn.calls if c.callee in RAW_ENTRIES and not c.forward]
        pr.raw_calls += len(raws)
        classified = [(c, _classify(c, pkg, catalog)) for c in raws]
        forks = [c.line for c, e in classified if e.name in FORK_TRAPS]
        for c, e in classified:
            if e.category == "never":
                continue
            call = f"{_qual(c)}({c.trap}){_via(c)} in {fn.name}"
            if e.name in FORK_TRAPS:
                out.append(_blocking("raw-call-may-block", e, fn.file, c.line,
                                     f"{call}: {e.name} {e.category}; the parent side of a "
                                     "fork made raw (golang/go#11155)"))
            elif any(fl < c.line for fl in forks):
                f = _blocking("raw-call-in-child", e, fn.file, c.line,
                              f"{call}: {e.name} {e.category}, after a raw fork in the same "
                              "function: the child has no runtime, RawSyscall is required")
                f.severity = "info"
                out.append(f)
            else:
                out.append(_blocking("raw-call-may-block", e, fn.file, c.line,
                                     f"{call}: {e.name} {e.category}"))
    return out


def _classify(c: Call, pkg: Package, catalog: Catalog) -> Entry:
    t = resolve_trap(c.trap, pkg.consts)
    if t is None:
        e = catalog.lookup(f"trap {c.trap}")
        return Entry(e.name, e.kind, e.category, e.severity,
                     f"the trap {c.trap} is not a constant: it counts as may-block")
    return catalog.classify(t)


def _qual(c: Call) -> str:
    q = {"syscall": "syscall.", "golang.org/x/sys/unix": "unix."}.get(c.pkg, "")
    return q + c.callee


def _via(c: Call) -> str:
    return f" via {c.via}" if c.via else ""
