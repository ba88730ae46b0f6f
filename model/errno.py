"""Go's linux/amd64 errno mapping and the kernel/glibc error rule, written once over a
small value interface so that the same functions run on Python ints and on Z3 bit-vectors.

Go (src/syscall/asm_linux_amd64.s V14; internal/runtime/syscall/linux Syscall6 V26/V27):
`CMPQ AX, $0xfffffffffffff001; JLS ok` — success iff RAX <=u 0xfffffffffffff001.
Linux `IS_ERR_VALUE` / glibc `INTERNAL_SYSCALL_ERROR_P`: error iff RAX >=u 2^64-4095.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

MASK64 = (1 << 64) - 1
GO_CUTOFF = 0xFFFFFFFFFFFFF001  # -4095: the largest RAX Go still calls success
LINUX_ERR_LO = (1 << 64) - 4095  # the smallest RAX Linux and glibc call an error
DIVERGENCE = GO_CUTOFF  # == LINUX_ERR_LO: the one input where they disagree


class Ops(Protocol):
    """The few operations the mapping needs; ConcreteOps and the Z3 ops implement them."""

    def ule(self, a: Any, b: Any) -> Any: ...
    def ite(self, c: Any, a: Any, b: Any) -> Any: ...
    def neg(self, a: Any) -> Any: ...
    def const(self, v: int) -> Any: ...
    def not_(self, c: Any) -> Any: ...


class ConcreteOps:
    def ule(self, a: int, b: int) -> bool:
        return (a & MASK64) <= (b & MASK64)

    def ite(self, c: bool, a: Any, b: Any) -> Any:
        return a if c else b

    def neg(self, a: int) -> int:
        return (-a) & MASK64

    def const(self, v: int) -> int:
        return v & MASK64

    def not_(self, c: bool) -> bool:
        return not c


CONCRETE = ConcreteOps()


@dataclass(frozen=True)
class Mapped:
    r1: Any
    r2: Any
    err: Any


def go_is_success(rax: Any, ops: Ops = CONCRETE) -> Any:
    """JLS: unsigned RAX <= 0xfffffffffffff001."""
    return ops.ule(rax, ops.const(GO_CUTOFF))


def go_map(rax: Any, rdx: Any, ops: Ops = CONCRETE) -> Mapped:
    """Syscall/Syscall6/RawSyscall/RawSyscall6 (and rawVforkSyscall's compare)."""
    ok = go_is_success(rax, ops)
    return Mapped(
        r1=ops.ite(ok, rax, ops.const(MASK64)),
        r2=ops.ite(ok, rdx, ops.const(0)),
        err=ops.ite(ok, ops.const(0), ops.neg(rax)),
    )


def no_error_map(rax: Any, rdx: Any, ops: Ops = CONCRETE) -> Mapped:
    """rawSyscallNoError: no compare at all (golang/go #22924); err is always 0."""
    return Mapped(r1=rax, r2=rdx, err=ops.const(0))


def linux_is_error(rax: Any, ops: Ops = CONCRETE) -> Any:
    """Linux IS_ERR_VALUE and glibc: (unsigned long)rax >= (unsigned long)-4095."""
    return ops.ule(ops.const(LINUX_ERR_LO), rax)


def glibc_syscall(rax: Any, ops: Ops = CONCRETE) -> tuple[Any, Any]:
    """glibc syscall(2): (return value, errno) — -1 and -rax on error, else (rax, 0)."""
    err = linux_is_error(rax, ops)
    return ops.ite(err, ops.const(MASK64), rax), ops.ite(err, ops.neg(rax), ops.const(0))


MAPPINGS = {"go": go_map, "none": no_error_map}


def to_signed(v: int) -> int:
    v &= MASK64
    return v - (1 << 64) if v >> 63 else v
