"""The blocking catalog of Linux amd64 system calls (data in data/syscalls.toml) and the
syscall table it is read against: the installed kernel headers' asm/unistd_64.h, or a Go
tree's zsysnum_linux_amd64.go. `classify` answers, for a trap name such as `SYS_EPOLL_CTL`,
whether the call never blocks, may block or depends on its arguments, and why."""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

#: Where Go's own mkall.sh looks for the amd64 table, in order (Debian has only the second).
UNISTD_HEADERS = (Path("/usr/include/asm/unistd_64.h"),
                  Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"))

#: kind -> category (the issue's three categories).
CATEGORY = {"NB": "never", "OBSOLETE": "never", "SPECIAL": "never", "LOCK": "may-block",
            "FS": "may-block", "ALWAYS": "may-block", "DEP": "depends"}
SEVERITIES = ("none", "info", "low", "medium", "high")


class CatalogError(Exception):
    """The catalog data or a syscall table could not be read; one line for the user."""


@dataclass(frozen=True)
class Entry:
    """One syscall: kernel name ("epoll_ctl"), kind (NB, LOCK, DEP, FS, ALWAYS, OBSOLETE,
    SPECIAL or "unknown"), category (never, may-block, depends), the severity of using it
    on a non-blocking path, whether that is debatable, and a one-line reason."""

    name: str
    kind: str
    category: str
    severity: str
    reason: str
    debatable: bool = False
    number: int | None = None


@functools.cache
def _data() -> dict:
    text = resources.files("entersys.lint").joinpath("data/syscalls.toml").read_text()
    return tomllib.loads(text)


@functools.cache
def entries() -> dict[str, Entry]:
    """Every catalogued syscall by kernel name (without numbers)."""
    d = _data()
    sev = d["severity"]
    out: dict[str, Entry] = {}
    for g in d["group"]:
        for n in g["names"]:
            if n in out:
                raise CatalogError(f"syscall {n!r} is in two groups of the catalog")
            o = d.get("override", {}).get(n, {})
            out[n] = Entry(n, g["kind"], CATEGORY[g["kind"]], o.get("severity", sev[g["kind"]]),
                           o.get("reason", g["reason"]), bool(o.get("debatable", False)))
    return out


def read_unistd(path: Path) -> dict[str, int]:
    """`#define __NR_<name> <nr>` lines of an asm/unistd_64.h: name -> number.

    Raises CatalogError when the file cannot be read or has no such line."""
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        raise CatalogError(f"cannot read {path}: {e.strerror}") from None
    table = {m[1]: int(m[2]) for m in re.finditer(r"^#define\s+__NR_(\w+)\s+(\d+)\s*$", text,
                                                 re.M)}
    if not table:
        raise CatalogError(f"{path} has no __NR_ lines")
    return table


def read_zsysnum(path: Path) -> dict[str, int]:
    """`SYS_<NAME> = <nr>` constants of a Go zsysnum_linux_amd64.go: kernel name -> number
    (lower-cased, as the header spells them). Raises CatalogError as read_unistd."""
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        raise CatalogError(f"cannot read {path}: {e.strerror}") from None
    table = {m[1].lower(): int(m[2]) for m in re.finditer(r"^\s*SYS_(\w+)\s*=\s*(\d+)\b", text,
                                                         re.M)}
    if not table:
        raise CatalogError(f"{path} has no SYS_ constants")
    return table


@functools.cache
def kernel_table() -> tuple[Path, dict[str, int]]:
    """The installed kernel headers' table, from the first header that exists.

    Raises CatalogError when neither exists (Debian: apt-get install linux-libc-dev)."""
    for p in UNISTD_HEADERS:
        if p.is_file():
            return p, read_unistd(p)
    raise CatalogError("no asm/unistd_64.h (install linux-libc-dev)")


class Catalog:
    """The catalog joined with a syscall table (names and numbers).

    `table` defaults to the installed kernel headers; a Go tree's zsysnum file can be
    added with `extra` so that its SYS_ names resolve too, and stands in for the headers
    when they are not installed. Raises CatalogError when there is neither."""

    def __init__(self, table: dict[str, int] | None = None,
                 extra: dict[str, int] | None = None) -> None:
        if table is None:
            try:
                table = kernel_table()[1]
            except CatalogError:
                if not extra:
                    raise
                table = {}
        self.table = dict(table)
        for k, v in (extra or {}).items():
            self.table.setdefault(k, v)
        self.by_number = {v: k for k, v in self.table.items()}

    def lookup(self, name: str) -> Entry:
        """The entry of a kernel name; a name the catalog does not know counts as may-block."""
        e = entries().get(name)
        nr = self.table.get(name)
        if e is None:
            sev = _data()["severity"]["unknown"]
            return Entry(name, "unknown", "may-block", sev,
                         "not in the blocking catalog: an unknown syscall counts as may-block",
                         number=nr)
        return Entry(e.name, e.kind, e.category, e.severity, e.reason, e.debatable, nr)

    def classify(self, trap: str) -> Entry:
        """Entry for a Go trap name: `SYS_EPOLL_CTL`, `_SYS_setgroups`, `syscall.SYS_READ`
        or `unix.SYS_READ` (case-insensitive, leading underscore allowed); a number given as
        a decimal string is looked up in the table. Anything else is unknown (may-block)."""
        t = trap.rsplit(".", 1)[-1]
        if t.isdigit():
            name = self.by_number.get(int(t))
            if name is None:
                return self.lookup(f"#{t}")
            return self.lookup(name)
        m = re.fullmatch(r"_?(?i:sys)_(\w+)", t)
        return self.lookup(m[1].lower() if m else t)
