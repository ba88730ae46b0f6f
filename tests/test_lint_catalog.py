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


def test_trap_resolution_follows_constants() -> None:
    from entersys.lint.engine import resolve_trap

    consts = {"_SYS_clone3": "435", "sys_SETGID": "SYS_SETGID", "SYS_SETGID": "106",
              "fcntl64Syscall": "SYS_FCNTL", "loop": "loop"}
    assert resolve_trap("_SYS_clone3", consts) == "435"
    assert resolve_trap("uintptr(sys_SETGID)", consts) == "106"
    assert resolve_trap("fcntl64Syscall", consts) == "SYS_FCNTL"
    assert resolve_trap("unix.SYS_READ", consts) == "SYS_READ"
    assert resolve_trap("0x3c", consts) == "60"
    assert resolve_trap("loop", consts) is None          # no constant: not static
    assert resolve_trap("trap + 1", consts) is None
    c = Catalog()
    assert c.classify(resolve_trap("_SYS_clone3", consts) or "").name == "clone3"


def test_tree_table_stands_in_for_missing_headers(monkeypatch) -> None:
    from entersys.lint import catalog

    def missing() -> None:
        raise catalog.CatalogError("no asm/unistd_64.h")

    monkeypatch.setattr(catalog, "kernel_table", missing)
    zs = read_zsysnum(gotoolchain.goroot("1.25.5") / "src/syscall/zsysnum_linux_amd64.go")
    c = Catalog(extra=zs)
    assert c.classify(str(zs["epoll_ctl"])).name == "epoll_ctl"
    try:
        Catalog()
    except catalog.CatalogError:
        pass
    else:
        raise AssertionError("no table at all must raise CatalogError")
