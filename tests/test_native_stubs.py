"""Tests of the concrete layer itself (entersys.native): the loaded library, the assembly
mapping on hand-picked values, real calls through every stub variant, the allowlist, hooks.

Expected values here are written out as numbers, not taken from the model, so that a model
and a library that are wrong in the same way still fail."""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading

import pytest
from entersys import native
from entersys.native import (
    SYS_INVALID,
    VARIANTS,
    Block,
    Caller,
    NativeLibraryMissing,
    NotAllowed,
    Recorder,
    SYS_close,
    SYS_getpid,
    SYS_getppid,
    SYS_read,
    SYS_write,
    library,
)

MASK64 = (1 << 64) - 1
TOP = 1 << 64
GO_VARIANTS = [v for v, (_, spec) in VARIANTS.items() if spec.mapping == "go"]
HOOKED = [v for v, (_, spec) in VARIANTS.items() if spec.hooks]


@pytest.fixture(scope="module")
def lib() -> native.Library:
    return library()


def test_block_layout_matches_c(lib: native.Library) -> None:
    assert lib.dll.es_block_size() == ctypes.sizeof(Block) == 120


@pytest.mark.skipif(bool(os.environ.get(native.LIB_ENV)), reason="another library was chosen")
def test_library_was_built_from_gomap_inc(lib: native.Library) -> None:
    assert lib.gomap_sha256 == hashlib.sha256(native.MAP_INCLUDE.read_bytes()).hexdigest()


def test_missing_library_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv(native.LIB_ENV, str(tmp_path / "nope.so"))
    with pytest.raises(NativeLibraryMissing, match=native.LIB_ENV):
        native.find_library()


@pytest.mark.parametrize(("rax", "want"), [
    (0, (0, 7, 0)),
    (1, (1, 7, 0)),
    (1 << 63, (1 << 63, 7, 0)),
    (TOP - 4096, (TOP - 4096, 7, 0)),
    (TOP - 4095, (TOP - 4095, 7, 0)),   # Go's JLS: -4095 is still success
    (TOP - 4094, (MASK64, 0, 4094)),
    (TOP - 38, (MASK64, 0, 38)),
    (MASK64, (MASK64, 0, 1)),
])
def test_map_on_edges(lib: native.Library, rax: int, want: tuple[int, int, int]) -> None:
    assert lib.map(rax, 7) == want


def test_map_many_agrees_with_map(lib: native.Library) -> None:
    raxs = [0, 5, TOP - 4096, TOP - 4095, TOP - 4094, MASK64]
    rdxs = [9, 8, 7, 6, 5, 4]
    assert lib.map_many(raxs, rdxs) == [lib.map(a, d) for a, d in zip(raxs, rdxs, strict=True)]


def test_map_scan_counts_the_error_window(lib: native.Library) -> None:
    assert lib.map_scan(TOP - 8192, 8192) == (4094, TOP - 4094, MASK64)
    assert lib.map_scan(0, 1 << 16) == (0, None, None)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_getpid_through_every_variant(lib: native.Library, variant: str) -> None:
    res = Caller(lib).call(variant, SYS_getpid)
    assert (res.r1, res.err, res.raw_rax) == (os.getpid(), 0, os.getpid())


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_invalid_trap_is_enosys(lib: native.Library, variant: str) -> None:
    res = Caller(lib).call(variant, SYS_INVALID)
    assert res.raw_rax == TOP - 38
    if variant in GO_VARIANTS:
        assert (res.r1, res.r2, res.err) == (MASK64, 0, 38)
    else:  # rawSyscallNoError hands back the raw RAX
        assert (res.r1, res.err) == (TOP - 38, 0)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_pipe_round_trip_and_ebadf(lib: native.Library, variant: str) -> None:
    c = Caller(lib)
    r, w = c.pipe(variant)
    src, dst = ctypes.create_string_buffer(b"abcdefgh", 8), ctypes.create_string_buffer(8)
    assert c.call(variant, SYS_write, w, ctypes.addressof(src), 8).r1 == 8
    assert c.call(variant, SYS_read, r, ctypes.addressof(dst), 8).r1 == 8
    assert dst.raw == b"abcdefgh"
    assert c.call(variant, SYS_close, r).r1 == 0
    assert c.call(variant, SYS_close, w).r1 == 0
    res = c.call(variant, SYS_read, r, ctypes.addressof(dst), 8)
    assert res.raw_rax == TOP - 9
    assert (res.r1, res.err) == ((MASK64, 9) if variant in GO_VARIANTS else (TOP - 9, 0))


def test_allowlist_refuses_foreign_descriptors_and_traps(lib: native.Library) -> None:
    c = Caller(lib)
    with pytest.raises(NotAllowed):
        c.call("Syscall", SYS_write, 1, 0, 0)      # stdout was not created by this Caller
    with pytest.raises(NotAllowed):
        c.call("Syscall", 62, os.getpid(), 0)      # kill
    with pytest.raises(ValueError, match="unknown stub variant"):
        c.call("NoSuchStub", SYS_getpid)
    with pytest.raises(ValueError, match="at most 6"):
        c.call("Syscall6", SYS_getppid, 1, 2, 3, 4, 5, 6, 7)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_c_recorder_sees_enter_then_exit_only_on_hooked_stubs(lib: native.Library,
                                                              variant: str) -> None:
    c, rec = Caller(lib), Recorder(lib)
    c.set_hooks(rec.enter, rec.exit, rec.ctx)
    c.call(variant, SYS_getpid)
    events = rec.events()
    if variant in HOOKED:
        assert [k for _, k, _ in events] == ["enter", "exit"]
        assert events[0][0] < events[1][0]
        assert {t for _, _, t in events} == {threading.get_native_id()}
    else:
        assert events == []


def test_python_hooks_run_around_the_system_call(lib: native.Library) -> None:
    c = Caller(lib)
    seen: list[tuple[str, int]] = []
    c.set_hooks(lambda _ctx: seen.append(("enter", c.block.raw_rax)),
                lambda _ctx: seen.append(("exit", c.block.r1)))
    c.block.raw_rax = 12345
    c.call("Syscall", SYS_getpid)
    assert seen == [("enter", 12345), ("exit", os.getpid())]
