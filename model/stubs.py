"""Go's linux/amd64 system-call entry points as a specification: how many arguments each
loads, whether it tells the scheduler (entersyscall/exitsyscall), and which errno mapping
it applies. The native stubs and the assembly proofs are both checked against this table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StubSpec:
    name: str
    nargs: int          # argument registers loaded; the rest are zeroed
    hooks: bool         # entersyscall before SYSCALL, exitsyscall after the results
    mapping: str        # key of entersys.model.errno.MAPPINGS
    source: str         # where Go defines it


STUBS: dict[str, StubSpec] = {s.name: s for s in (
    StubSpec("Syscall", 3, True, "go", "go1.14 src/syscall/asm_linux_amd64.s Syscall"),
    StubSpec("Syscall6", 6, True, "go", "go1.14 src/syscall/asm_linux_amd64.s Syscall6"),
    StubSpec("RawSyscall", 3, False, "go", "go1.14 src/syscall/asm_linux_amd64.s RawSyscall"),
    StubSpec("RawSyscall6", 6, False, "go", "go1.14 src/syscall/asm_linux_amd64.s RawSyscall6"),
    StubSpec("Syscall6_core", 6, False, "go",
             "go1.19 runtime/internal/syscall Syscall6 (go1.26 internal/runtime/syscall/linux)"),
    StubSpec("rawSyscallNoError", 3, False, "none",
             "go1.14 src/syscall/asm_linux_amd64.s rawSyscallNoError"),
)}
