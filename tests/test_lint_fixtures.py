"""`entersys lint` on the fixtures of tests/fixtures/lint (one historical case each, see its
README): every expected finding at its file:line with its severity and reason, the model
witness on raw-path findings, the CLI's exit codes and formats, SARIF against the schema."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
from entersys.lint.engine import lint_path
from entersys.lint.findings import Finding
from entersys.lint.records import to_records
from entersys.lint.witness import model_witness
from entersys.results import Status, Verdict

FIX = Path(__file__).parent / "fixtures" / "lint"


@functools.cache
def findings(name: str) -> list[Finding]:
    return lint_path(FIX / name).findings


def line_of(name: str, file: str, needle: str) -> int:
    """The 1-based line of `file` in fixture `name` that contains `needle` (exactly one)."""
    hits = [i for i, ln in enumerate((FIX / name / file).read_text().splitlines(), 1)
            if needle in ln]
    assert len(hits) == 1, (name, file, needle, hits)
    return hits[0]


def got(name: str) -> set[tuple[str, str, str, int]]:
    return {(f.rule, f.severity, Path(f.file).name, f.line) for f in findings(name)}


def test_dup_on_fuse_10202() -> None:
    f = "syscall_linux.go"
    assert got("dup_fuse") == {
        ("sysnb-may-block", "high", f, line_of("dup_fuse", f, "Dup2(")),
        ("sysnb-may-block", "high", f, line_of("dup_fuse", f, "Dup3(")),
    }                                      # Dup never closes anything: no finding
    for x in findings("dup_fuse"):
        assert x.raw_path and x.category == "depends" and "#10202" in x.reason


def test_clone_in_fork_exec_11155() -> None:
    f = "forkexec_linux.go"
    clone = line_of("clone_forkexec", f, "SYS_CLONE")
    assert got("clone_forkexec") == {
        ("raw-call-may-block", "high", f, clone),
        ("raw-call-in-child", "info", f, line_of("clone_forkexec", f, "SYS_DUP3")),
        ("raw-call-in-child", "info", f, line_of("clone_forkexec", f, "SYS_EXECVE")),
    }                                      # exit never returns: no finding
    parent = next(x for x in findings("clone_forkexec") if x.line == clone)
    assert "#11155" in parent.message and parent.raw_path
    assert not any(x.raw_path for x in findings("clone_forkexec") if x.line != clone)


def test_epoll_ctl_and_socket_are_debatable() -> None:
    f = "syscall_linux.go"
    assert got("epoll_socket") == {
        ("sysnb-may-block", "medium", f, line_of("epoll_socket", f, "EpollCtl(")),
        ("sysnb-may-block", "medium", f, line_of("epoll_socket", f, "socket(")),
    }
    by = {x.syscall: x for x in findings("epoll_socket")}
    assert by["epoll_ctl"].debatable and "FUSE" in by["epoll_ctl"].reason
    assert by["socket"].debatable and "request_module" in by["socket"].reason


def test_raw_read_of_go_sandbox() -> None:
    f = "sync_linux.go"
    assert got("sandbox_read") == {
        ("raw-call-may-block", "high", f, line_of("sandbox_read", f, "RawSyscall(unix.SYS_READ"))}


def test_zsyscall_mismatches_cite_both_files() -> None:
    f, z = "syscall_linux.go", "zsyscall_linux_amd64.go"
    assert got("mismatch") == {
        ("zsyscall-mismatch", "high", f, line_of("mismatch", f, "Fsync(")),
        ("zsyscall-mismatch", "medium", f, line_of("mismatch", f, "Fdatasync(")),
        ("zsyscall-mismatch", "medium", f, line_of("mismatch", f, "Write(")),
        ("zsyscall-missing", "medium", f, line_of("mismatch", f, "Missing(")),
        ("zsyscall-extra", "low", z, line_of("mismatch", z, "func Extra(")),
    }
    fsync = next(x for x in findings("mismatch") if "Fsync" in x.message)
    assert "calls RawSyscall, the annotation generates Syscall" in fsync.message
    (rel,) = fsync.related
    assert Path(rel["file"]).name == z
    assert rel["line"] == line_of("mismatch", z, "RawSyscall(SYS_FSYNC")


def test_generator_skips_rejects_and_warnings() -> None:
    f = "syscall_linux.go"
    g = got("grammar")
    for rule, sev, needle in (("generator-skip", "medium", "Getppid"),
                              ("generator-skip", "medium", "Indented"),
                              ("generator-reject", "high", "Shorthand"),
                              ("generator-reject", "high", "_SYS_LEADING"),
                              ("generator-warning", "medium", "Open("),
                              ("generator-warning", "medium", "Prctl4")):
        assert (rule, sev, f, line_of("grammar", f, needle)) in g
    assert not any(x.line == line_of("grammar", f, "Fine(") for x in findings("grammar"))


def test_raw_path_findings_carry_the_model_witness() -> None:
    w = model_witness("1.25")
    assert (w.raw.verdict, w.syscall.verdict) == (Verdict.REFUTED, Verdict.HOLDS)
    assert w.backs_findings and w.raw.counterexample and w.raw.counterexample.trace
    raw_rules = {"sysnb-may-block", "raw-call-may-block"}
    for name in ("dup_fuse", "clone_forkexec", "epoll_socket", "sandbox_read"):
        recs = to_records(lint_path(FIX / name), "high", w)
        fs = [r for r in recs if r.kind == "finding" and r.details["rule"] in raw_rules]
        assert fs, name
        for r in fs:
            assert r.details["witness"]["raw"]["verdict"] == "refuted"
            assert r.details["witness"]["syscall"]["verdict"] == "holds"
            assert r.counterexample is not None and r.counterexample.trace
            assert f"{r.details['file']}:{r.details['line']}" in r.counterexample.summary
            assert r.counterexample.replay and "--with rawwait" in r.counterexample.replay
            assert (r.status == Status.FAIL) == (r.details["severity"] == "high")
        others = [r for r in recs if r.kind == "finding" and r not in fs]
        assert all("witness" not in r.details and r.counterexample.replay  # type: ignore
                   for r in others)
        assert {r.id for r in recs if r.kind == "witness"} == {w.raw.id, w.syscall.id}


def test_cli_exit_codes_and_fail_on(cli) -> None:
    d = str(FIX / "epoll_socket")
    assert cli("lint", d, "--no-witness").returncode == 0          # medium < high
    assert cli("lint", d, "--no-witness", "--fail-on", "medium").returncode == 1
    assert cli("lint", str(FIX / "dup_fuse"), "--no-witness").returncode == 1
    for bad in (["lint"], ["lint", d, "--format", "xml"], ["lint", str(FIX / "nope")],
                ["lint", str(FIX / "README.md")], ["lint", d, "--go", "1.25.5"],
                ["lint", d, "--fail-on", "fatal"], ["lint", d, "--model-go", "1.99"]):
        r = cli(*bad)
        assert r.returncode == 2 and r.stdout == "", bad
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, bad


def test_cli_json_and_sarif_with_witness(cli, tmp_path) -> None:
    import jsonschema  # the reports branch's pin (test extra)
    from entersys.report.sarif import SCHEMA_FILE  # the vendored OASIS SARIF 2.1.0 schema

    d = str(FIX / "clone_forkexec")
    out = tmp_path / "lint.sarif"
    r = cli("lint", d, "--format", "sarif", "--out", str(out), "--fail-on", "info")
    assert r.returncode == 1, r.stderr
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA_FILE.read_text()))
    res = doc["runs"][0]["results"]
    assert {(x["ruleId"], x["locations"][0]["physicalLocation"]["region"]["startLine"])
            for x in res} == {(x.rule, x.line) for x in findings("clone_forkexec")}
    flows = [x for x in res if "codeFlows" in x]
    assert len(flows) == 1 and flows[0]["level"] == "error"
    j = json.loads(cli("lint", d, "--format", "json").stdout)
    wit = {x["id"]: x for x in j["results"] if x["kind"] == "witness"}
    assert [x["verdict"] for x in sorted(wit.values(), key=lambda x: x["id"])] == \
        ["refuted", "holds"]


@pytest.mark.parametrize("name", sorted(p.name for p in FIX.iterdir() if p.is_dir()))
def test_every_fixture_has_a_finding(name: str) -> None:
    assert findings(name)
