"""The `//sys` and `//sysnb` annotation grammars of Go's two syscall-wrapper generators,
ported rule for rule: std's Perl `mksyscall.pl` (Go 1.19-1.27 src/syscall/mksyscall.pl)
and x/sys's `mksyscall.go` (golang.org/x/sys/unix/mksyscall.go), for linux/amd64: line
selection, the declaration regex, parameter lowering, trap naming and the entry point each
generator would call. A line one generator skips or rejects is reported, not guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PERL, GO = "mksyscall.pl", "mksyscall.go"
GENERATORS = (PERL, GO)

# mksyscall.pl: after `s/\s+/ /g; s/^\s+//; s/\s+$//`, a line is selected by `^//sys ` or
# `^//sysnb ` and must then match this (Perl's `(?i)` scoped to the trap group).
_PERL_DECL = re.compile(r"^//sys(nb)? (\w+)\(([^()]*)\)\s*(?:\(([^()]+)\))?\s*"
                        r"(?:=\s*((?i:_?SYS_[A-Z0-9_]+)))?$", re.ASCII)
# mksyscall.go: no trimming; a TAB must follow the keyword; no leading `_` on the trap.
_GO_DECL = re.compile(r"^//sys(nb)?\t(\w+)\(([^()]*)\)\s*(?:\(([^()]+)\))?\s*"
                      r"(?:=\s*((?i:SYS_[A-Z0-9_]+)))?$", re.ASCII)
_PARAM = re.compile(r"^(\S*) (\S*)$", re.ASCII)
_SPLIT = re.compile(r"\s*,\s*", re.ASCII)
#: A line a person would read as an annotation (the generators may still skip it).
CANDIDATE = re.compile(r"^\s*//sys(nb)?(\s|$)", re.ASCII)

#: Entry points that exist on linux/amd64, per generator's package.
ENTRY_POINTS = {PERL: {"Syscall", "Syscall6", "RawSyscall", "RawSyscall6",
                       "rawSyscallNoError"},
                GO: {"Syscall", "Syscall6", "RawSyscall", "RawSyscall6", "SyscallNoError",
                     "RawSyscallNoError"}}


@dataclass(frozen=True)
class Param:
    name: str
    type: str


@dataclass
class Annotation:
    """One accepted declaration as `generator` reads it, with the call it generates:
    `entry(trap, *args)` where args are Go expressions padded with "0" to 3, 6 or 9.
    `problems` are the generator's warnings and the compile errors its output would have."""

    file: str
    line: int
    generator: str
    nonblock: bool
    func: str
    inputs: list[Param]
    outputs: list[Param]
    trap: str
    trap_override: bool
    entry: str
    args: list[str]
    nargs: int                      # syscall arguments after lowering, before padding
    problems: list[str] = field(default_factory=list)

    @property
    def keyword(self) -> str:
        return "//sysnb" if self.nonblock else "//sys"


@dataclass
class Reading:
    """What one generator does with one line: "skip" (not an annotation to it), "reject"
    (generation fails: `error` says why) or "accept" (`annotation`)."""

    generator: str
    action: str
    error: str = ""
    annotation: Annotation | None = None


def default_trap(func: str) -> str:
    """Both generators' default trap: `SYS_` + func with `([a-z])([A-Z])` -> `$1_$2`,
    upper-cased (`EpollCreate1` -> `SYS_EPOLL_CREATE1`, `ProcessVMReadv` ->
    `SYS_PROCESS_VMREADV`)."""
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", "SYS_" + func).upper()


def _param_list(text: str | None, generator: str) -> list[str]:
    text = (text or "").strip()
    if not text:
        return []
    parts = _SPLIT.split(text)
    if generator == PERL:          # Perl's split drops trailing empty fields
        while parts and parts[-1] == "":
            parts.pop()
    return parts


def read_line(raw: str, generator: str, file: str = "", line: int = 0) -> Reading:
    """How `generator` (PERL or GO) reads one source line (without its newline)."""
    if generator == PERL:
        text = re.sub(r"\s+", " ", raw, flags=re.ASCII).strip(" ")
        nonblock = text.startswith("//sysnb ")
        if not text.startswith("//sys ") and not nonblock:
            return Reading(generator, "skip")
        m = _PERL_DECL.match(text)
    else:
        text = raw.rstrip("\r")
        nonblock = text.startswith("//sysnb\t")
        if not text.startswith("//sys\t") and not nonblock:
            return Reading(generator, "skip")
        m = _GO_DECL.match(text)
    if m is None:
        return Reading(generator, "reject", "malformed //sys declaration")
    func, ins, outs, sysname = m[2], m[3], m[4], m[5]
    params: dict[str, list[Param]] = {}
    for key, lst in (("in", ins), ("out", outs)):
        params[key] = []
        for p in _param_list(lst, generator):
            pm = _PARAM.match(p)
            if pm is None:
                return Reading(generator, "reject", f"malformed parameter: {p}")
            params[key].append(Param(pm[1], pm[2]))
    ann = _lower(file, line, generator, nonblock, func, params["in"], params["out"], sysname)
    return Reading(generator, "accept", annotation=ann)


def _lower(file: str, line: int, generator: str, nonblock: bool, func: str,
           ins: list[Param], outs: list[Param], sysname: str | None) -> Annotation:
    errvar = next((p.name for p in outs if p.type == "error"), "")
    problems: list[str] = []
    args: list[str] = []
    n = 0
    for p in ins:
        if p.type.startswith("*"):
            args.append(f"uintptr(unsafe.Pointer({p.name}))")
        elif p.type == "string":
            if not errvar:
                problems.append(f"{func} uses string arguments, but has no error return")
            args.append(f"uintptr(unsafe.Pointer(_p{n}))")
            n += 1
        elif p.type.startswith("[]"):
            args += [f"uintptr(_p{n})", f"uintptr(len({p.name}))"]
            n += 1
        else:                                      # 64-bit: int64 is one register
            args.append(f"uintptr({p.name})")
    nargs = len(args)
    if nonblock:
        entry = ("rawSyscallNoError" if generator == PERL else "RawSyscallNoError") \
            if not errvar else "RawSyscall"
    else:
        entry = "SyscallNoError" if (generator == GO and not errvar) else "Syscall"
    if nargs <= 3:
        args += ["0"] * (3 - nargs)
    elif nargs <= 6:
        entry += "6"
        args += ["0"] * (6 - nargs)
    elif nargs <= 9:
        entry += "9"
        args += ["0"] * (9 - nargs)
    else:
        problems.append("too many arguments to system call")
    if entry not in ENTRY_POINTS[generator]:
        problems.append(f"the generated call {entry} does not exist on linux/amd64: "
                        "the output would not compile")
    if generator == PERL and not nonblock and not errvar and outs:
        problems.append("a //sys line without an error result gives `r0, r1 := Syscall(...)`"
                        " (three results): the output would not compile")
    trap = sysname if sysname else default_trap(func)
    return Annotation(file, line, generator, nonblock, func, ins, outs, trap, bool(sysname),
                      entry, args, nargs, problems)


def read_file_lines(text: str, file: str) -> list[tuple[int, str, dict[str, Reading]]]:
    """Every candidate annotation line of a source text with both generators' readings:
    (1-based line, raw line, {generator: Reading})."""
    out = []
    for i, raw in enumerate(text.splitlines(), 1):
        if CANDIDATE.match(raw):
            out.append((i, raw, {g: read_line(raw, g, file, i) for g in GENERATORS}))
    return out
