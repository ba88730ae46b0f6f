"""The blocking catalog (entersys.lint.catalog, data/syscalls.toml) against the installed
kernel header table and the Go trees' zsysnum files."""

from __future__ import annotations

from entersys import gotoolchain
from entersys.lint.catalog import CATEGORY, Catalog, entries, kernel_table, read_zsysnum


def test_every_header_syscall_is_catalogued_once() -> None:
    path, table = kernel_table()
    cat = entries()                       # raises on a name in two groups
    assert set(table) == set(cat), (path, set(table) ^ set(cat))
    for e in cat.values():
        assert e.category == CATEGORY[e.kind] and e.reason and "\n" not in e.reason
        assert (e.severity == "none") == (e.category == "never")


def test_classify_and_unknown_counts_as_may_block() -> None:
    c = Catalog()
    assert c.classify("SYS_EPOLL_CTL").category == "may-block"
    assert c.classify("SYS_EPOLL_CTL").debatable
    assert c.classify("syscall.SYS_READ").category == "depends"
    assert c.classify("unix.SYS_GETPID").category == "never"
    assert c.classify("_SYS_setgroups").name == "setgroups"
    assert c.classify(str(kernel_table()[1]["dup2"])).name == "dup2"
    for unknown in ("SYS_NO_SUCH_CALL", "99999", "trapvar"):
        e = c.classify(unknown)
        assert (e.kind, e.category) == ("unknown", "may-block") and e.severity != "none"


def test_go_zsysnum_agrees_with_the_kernel_header() -> None:
    _, kernel = kernel_table()
    for v in ("1.25.5", "1.27.3"):
        root = gotoolchain.goroot(v)
        for d in ("src/syscall", "src/cmd/vendor/golang.org/x/sys/unix"):
            go = read_zsysnum(root / d / "zsysnum_linux_amd64.go")
            shared = set(go) & set(kernel)
            assert len(shared) > 300
            assert {n: go[n] for n in shared} == {n: kernel[n] for n in shared}
