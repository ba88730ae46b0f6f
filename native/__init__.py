"""The concrete layer: loads the amd64 stub library built by `pip install` and runs real
`syscall` instructions through it.

Only allowlisted, side-effect-contained system calls are issued unless the caller passes
`unsafe=True`. The library is never built here; if it is missing, the error names the
command that builds it.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from dataclasses import dataclass
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

from entersys.model.stubs import STUBS, StubSpec

HERE = Path(__file__).resolve().parent
MAP_INCLUDE = HERE / "gomap.inc"
LIB_ENV = "ENTERSYS_NATIVE_LIB"

# linux/amd64 trap numbers used by the allowlist.
SYS_read, SYS_write, SYS_close = 0, 1, 3
SYS_nanosleep, SYS_getpid, SYS_getppid, SYS_gettid = 35, 39, 110, 186
SYS_pipe2 = 293
SYS_INVALID = 1023  # above every real trap number: the kernel answers ENOSYS

# Stub variants: name -> (C symbol, entersys.model.stubs spec). The go119.* variants are the
# Go 1.19+ shape: C callers (es_native.c) doing enter/exit around the hook-free core.
VARIANTS: dict[str, tuple[str, StubSpec]] = {
    "Syscall": ("es_Syscall", STUBS["Syscall"]),
    "Syscall6": ("es_Syscall6", STUBS["Syscall6"]),
    "RawSyscall": ("es_RawSyscall", STUBS["RawSyscall"]),
    "RawSyscall6": ("es_RawSyscall6", STUBS["RawSyscall6"]),
    "go119.Syscall": ("es_go119_Syscall", STUBS["Syscall"]),
    "go119.Syscall6": ("es_go119_Syscall6", STUBS["Syscall6"]),
    "go119.RawSyscall": ("es_go119_RawSyscall", STUBS["RawSyscall"]),
    "go119.Syscall6_core": ("es_Syscall6_core", STUBS["Syscall6_core"]),
    "rawSyscallNoError": ("es_rawSyscallNoError", STUBS["rawSyscallNoError"]),
}
# The assembly-level entry points (what the Z3 stub proofs read): symbol -> spec.
ASM_STUBS: dict[str, StubSpec] = {
    sym: spec for sym, spec in VARIANTS.values() if not sym.startswith("es_go119_")
}

EV_ENTER, EV_EXIT = 1, 2
#: Set in an isolated child (entersys.oracle.errno_child): each Caller.call notes the stub
#: call it starts here, so that a crash can be traced to it.
CALL_NOTE: Any = None
HOOK = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class NativeLibraryMissing(RuntimeError):
    """The stub library was not built (the package was not installed with pip)."""


class NotAllowed(PermissionError):
    """A system call outside the allowlist was requested without `unsafe=True`."""


class Block(ctypes.Structure):
    _fields_ = [
        ("trap", ctypes.c_uint64),
        ("a", ctypes.c_uint64 * 6),
        ("r1", ctypes.c_uint64),
        ("r2", ctypes.c_uint64),
        ("err", ctypes.c_uint64),
        ("raw_rax", ctypes.c_uint64),
        ("raw_rdx", ctypes.c_uint64),
        ("enter", ctypes.c_void_p),
        ("exit", ctypes.c_void_p),
        ("hook_ctx", ctypes.c_void_p),
    ]


class Event(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64), ("kind", ctypes.c_uint32), ("tid", ctypes.c_uint32)]


class RecorderStruct(ctypes.Structure):
    _fields_ = [("cap", ctypes.c_uint64), ("len", ctypes.c_uint64),
                ("events", ctypes.POINTER(Event))]


@dataclass(frozen=True)
class Result:
    """What one stub call produced: Go's (r1, r2, err) and the kernel's raw registers."""

    r1: int
    r2: int
    err: int
    raw_rax: int
    raw_rdx: int


def find_library() -> Path:
    """Path of the built stub library, or NativeLibraryMissing naming the fix."""
    env = os.environ.get(LIB_ENV)
    if env:
        p = Path(env)
        if not p.is_file():
            raise NativeLibraryMissing(f"{LIB_ENV}={env} does not name a file")
        return p
    for suffix in EXTENSION_SUFFIXES:
        hits = glob.glob(str(HERE / f"_stubs{suffix}"))
        if hits:
            return Path(hits[0])
    raise NativeLibraryMissing(
        "the native stub library is not built; run `pip install -e .` (or `pip install .`) "
        "in the entersys checkout"
    )


_u64, _vp = ctypes.c_uint64, ctypes.c_void_p
_PB = ctypes.POINTER(Block)
_SIGNATURES: dict[str, tuple[list, object]] = {
    "es_gomap_sha256": ([], ctypes.c_char_p),
    "es_block_size": ([], _u64),
    "es_batch": ([_vp, _PB, _u64], _u64),
    "es_batch_libc": ([_u64, _u64], _u64),
    "es_map": ([_PB], None),
    "es_map_many": ([ctypes.POINTER(_u64), ctypes.POINTER(_u64), _u64, ctypes.POINTER(_u64)],
                    None),
    "es_map_scan": ([_u64, _u64, ctypes.POINTER(_u64), ctypes.POINTER(_u64)], _u64),
    "es_seccomp_errno": ([ctypes.c_uint32, ctypes.c_uint32], ctypes.c_int),
    "es_seccomp_echo_arg": ([ctypes.c_uint32, ctypes.c_uint32], ctypes.c_int),
    "es_libc_syscall": ([_u64, _u64, _u64, _u64, ctypes.POINTER(ctypes.c_int)],
                        ctypes.c_int64),
    "es_rec_enter": ([_vp], None),
    "es_rec_exit": ([_vp], None),
    "es_nop_hook": ([_vp], None),
}


class Library:
    """The loaded stub library with every signature declared (argtypes and restype)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else find_library()
        try:
            self.dll = ctypes.CDLL(str(self.path))
        except OSError as e:
            raise NativeLibraryMissing(f"cannot load {self.path}: {e}; unset {LIB_ENV} or "
                                       "run `pip install -e .`") from None
        missing = [s for s in [*_SIGNATURES, *(sym for sym, _ in VARIANTS.values())]
                   if not hasattr(self.dll, s)]
        if missing:
            raise NativeLibraryMissing(f"{self.path} is not entersys's stub library (no "
                                       f"symbol {missing[0]}); unset {LIB_ENV} or run "
                                       "`pip install -e .`")
        for name, (argtypes, restype) in _SIGNATURES.items():
            fn = getattr(self.dll, name)
            fn.argtypes, fn.restype = argtypes, restype
        self.stubs = {}
        for variant, (symbol, _) in VARIANTS.items():
            fn = getattr(self.dll, symbol)
            fn.argtypes, fn.restype = [_PB], None
            self.stubs[variant] = fn

    def symbol_address(self, name: str) -> int:
        return ctypes.cast(getattr(self.dll, name), ctypes.c_void_p).value or 0

    @property
    def gomap_sha256(self) -> str:
        return self.dll.es_gomap_sha256().decode()

    # -- mapping only -------------------------------------------------------------------
    def map(self, rax: int, rdx: int = 0) -> tuple[int, int, int]:
        b = Block(raw_rax=rax, raw_rdx=rdx)
        self.dll.es_map(ctypes.byref(b))
        return b.r1, b.r2, b.err

    def map_many(self, raxs: list[int], rdxs: list[int]) -> list[tuple[int, int, int]]:
        n = len(raxs)
        ain, din, out = (_u64 * n)(*raxs), (_u64 * n)(*rdxs), (_u64 * (3 * n))()
        self.dll.es_map_many(ain, din, n, out)
        flat = list(out)
        return [tuple(flat[3 * i:3 * i + 3]) for i in range(n)]  # type: ignore[misc]

    def map_scan(self, start: int, count: int) -> tuple[int, int | None, int | None]:
        """(errors, lowest error input, highest error input) over [start, start+count)."""
        first, last = _u64(0), _u64(0)
        n = self.dll.es_map_scan(start, count, ctypes.byref(first), ctypes.byref(last))
        return (n, first.value, last.value) if n else (0, None, None)


_lib: Library | None = None
_lib_lock = threading.Lock()


def library() -> Library:
    """The process-wide stub library (loaded on first use, never built)."""
    global _lib
    with _lib_lock:
        if _lib is None:
            _lib = Library()
        return _lib


class Recorder:
    """The built-in C recorder hook: events are appended in C, read back here."""

    def __init__(self, lib: Library, capacity: int = 4096) -> None:
        self._events = (Event * capacity)()
        self.struct = RecorderStruct(cap=capacity, len=0, events=self._events)
        self.enter = lib.symbol_address("es_rec_enter")
        self.exit = lib.symbol_address("es_rec_exit")

    @property
    def ctx(self) -> int:
        return ctypes.addressof(self.struct)

    def events(self) -> list[tuple[int, str, int]]:
        n = min(self.struct.len, self.struct.cap)
        names = {EV_ENTER: "enter", EV_EXIT: "exit"}
        return [(e.seq, names[e.kind], e.tid) for e in self._events[:n]]

    def clear(self) -> None:
        self.struct.len = 0


class Caller:
    """Issues system calls through the stubs, by default only from the allowlist.

    Allowlist: getpid, getppid, gettid, pipe2, nanosleep, the invalid trap (ENOSYS), and
    read/write/close on descriptors this Caller created with pipe2 (a read on a created
    descriptor that is closed again is allowed: it is how EBADF is observed).
    """

    SAFE_TRAPS = frozenset({SYS_getpid, SYS_getppid, SYS_gettid, SYS_pipe2, SYS_nanosleep,
                            SYS_INVALID})
    FD_TRAPS = frozenset({SYS_read, SYS_write, SYS_close})

    def __init__(self, lib: Library | None = None) -> None:
        self.lib = lib or library()
        self.block = Block()
        self._pblock = ctypes.byref(self.block)
        self.created_fds: set[int] = set()
        self._pipe_buf = (ctypes.c_int * 2)()
        self._hook_refs: list[object] = []

    def check_allowed(self, trap: int, args: tuple[int, ...]) -> None:
        if trap in self.SAFE_TRAPS:
            return
        if trap in self.FD_TRAPS and args and args[0] in self.created_fds:
            return
        raise NotAllowed(f"system call {trap} with args {args} is not on the allowlist; "
                         "pass unsafe=True to issue it")

    def set_hooks(self, enter: object = None, exit: object = None, ctx: int = 0) -> None:
        """Hooks are C function pointers (ints) or Python callables taking one c_void_p."""
        def as_ptr(h: object) -> int | None:
            if h is None:
                return None
            if isinstance(h, int):
                return h
            cb = HOOK(h)  # type: ignore[arg-type,call-overload]
            self._hook_refs.append(cb)
            return ctypes.cast(cb, ctypes.c_void_p).value
        self.block.enter, self.block.exit, self.block.hook_ctx = as_ptr(enter), as_ptr(exit), ctx

    def call(self, variant: str, trap: int, *args: int, unsafe: bool = False) -> Result:
        if variant not in self.lib.stubs:
            raise ValueError(f"unknown stub variant {variant!r}; known: {', '.join(VARIANTS)}")
        if len(args) > 6:
            raise ValueError("at most 6 arguments")
        if not unsafe:
            self.check_allowed(trap, args)
        b = self.block
        b.trap = trap
        if CALL_NOTE is not None:
            CALL_NOTE[:128] = f"{variant} trap={trap} args={args}"[:127].encode().ljust(128, b"\0")
        full = (list(args) + [0] * 6)[:6]
        for i in range(6):
            b.a[i] = full[i] & 0xFFFFFFFFFFFFFFFF
        self.lib.stubs[variant](self.block)
        return Result(b.r1, b.r2, b.err, b.raw_rax, b.raw_rdx)

    def pipe(self, variant: str = "RawSyscall") -> tuple[int, int]:
        """pipe2(fds, O_CLOEXEC) through a stub; the two descriptors join `created_fds`."""
        res = self.call(variant, SYS_pipe2, ctypes.addressof(self._pipe_buf), os.O_CLOEXEC)
        if res.err:
            raise OSError(res.err, os.strerror(res.err))
        r, w = self._pipe_buf[0], self._pipe_buf[1]
        self.created_fds.update((r, w))
        return r, w
