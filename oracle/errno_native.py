"""Concrete oracle for Go's errno mapping: runs the native stubs (the assembly mapping alone,
real system calls through every variant, seccomp-injected kernel results) and compares each
observation with entersys.model.errno.

Every check is one record with a stable id `errno.native.<name>`, expected to hold; a failure
carries the concrete RAX/RDX and both sides' values, and a crash becomes an ERROR record."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from errno import EBADF, EFAULT, ENOSYS
from typing import Any, NamedTuple

from entersys.model import errno as M
from entersys.native import (
    SYS_INVALID,
    VARIANTS,
    Caller,
    Library,
    Recorder,
    SYS_close,
    SYS_getpid,
    SYS_getppid,
    SYS_gettid,
    SYS_read,
    SYS_write,
    library,
)
from entersys.oracle import seccomp
from entersys.results import CheckResult, Counterexample, Verdict, guarded, timed

GROUP = "errno"
MASK64 = M.MASK64
TOP = 1 << 64
# 2^64-4095: where Go (JLS, unsigned <=) and Linux/glibc disagree. Written out here rather
# than taken from the model so that a wrong model constant cannot move the oracle's edges.
MINUS_4095 = TOP - 4095


class Outcome(NamedTuple):
    verdict: Verdict
    cex: Counterexample | None = None
    details: dict[str, Any] | None = None


def hex64(v: int) -> str:
    """`0x%016x (signed)`: the format the proofs use, so reports line up."""
    return f"0x{v & MASK64:016x} ({M.to_signed(v)})"


def model_triple(mapping: str, rax: int, rdx: int) -> tuple[int, int, int]:
    m = M.MAPPINGS[mapping](rax, rdx)
    return m.r1, m.r2, m.err


def _triple_values(prefix: str, t: tuple[int, int, int]) -> dict[str, Any]:
    return {f"{prefix}.r1": hex64(t[0]), f"{prefix}.r2": hex64(t[1]), f"{prefix}.err": t[2]}


# ---- a. Hypothesis: es_map against go_map ---------------------------------------------------

def _u64s() -> Any:
    """Edge-biased u64s: the ends, 2^63, the whole top 4096, a band around 2^64-4095."""
    from hypothesis import strategies as st

    edges = [0, 1, 2, (1 << 63) - 1, 1 << 63, (1 << 63) + 1, MASK64 - 1, MASK64,
             MINUS_4095 - 1, MINUS_4095, MINUS_4095 + 1]
    return st.one_of(st.sampled_from(edges), st.integers(TOP - 4096, MASK64),
                     st.integers(MINUS_4095 - 256, MINUS_4095 + 256), st.integers(0, MASK64))


def check_map_hypothesis(lib: Library, examples: int) -> Outcome:
    from hypothesis import Verbosity, example, given, settings

    failures: list[tuple[int, int, tuple, tuple]] = []

    # Quiet: Hypothesis must not print into a JSON report; the failure is kept below.
    @settings(max_examples=examples, database=None, deadline=None, verbosity=Verbosity.quiet)
    @given(_u64s(), _u64s())
    @example(MINUS_4095, 0)
    def native_equals_model(rax: int, rdx: int) -> None:
        native, model = lib.map(rax, rdx), model_triple("go", rax, rdx)
        if native != model:
            failures.append((rax, rdx, native, model))
        assert native == model

    try:
        native_equals_model()
    except Exception:
        if not failures:
            raise  # not a disagreement but a broken check: guarded() reports ERROR
        # Hypothesis replays the shrunk falsifying example last.
        rax, rdx, native, model = failures[-1]
        return Outcome(Verdict.REFUTED, Counterexample(
            summary=f"es_map and the model's go_map disagree at RAX={hex64(rax)}",
            values={"RAX": hex64(rax), "RDX": hex64(rdx), **_triple_values("native", native),
                    **_triple_values("model", model)},
            replay=f"python -c 'from entersys.native import library; "
                   f"print(library().map({rax:#x}, {rdx:#x}))'"),
            {"examples": examples, "library": str(lib.path)})
    return Outcome(Verdict.HOLDS, None, {"examples": examples, "library": str(lib.path)})


# ---- b. exhaustive windows: map_scan / map_many against the model ---------------------------

SCAN = 1 << 20
SCAN_WINDOWS = [  # (name, start, count): map_scan counts errors natively
    ("[0, 2^20)", 0, SCAN),
    ("2^63 +- 2^19", (1 << 63) - SCAN // 2, SCAN),
    ("top 2^20", TOP - SCAN, SCAN),
    ("2^64-4096-2^16 up", TOP - 4096 - (1 << 16), 4096 + (1 << 16)),
]
EXACT_WINDOWS = [  # (name, start, count): map_many, compared value by value with go_map
    ("[0, 1024)", 0, 1024),
    ("2^63 +- 512", (1 << 63) - 512, 1024),
    ("top 8192", TOP - 8192, 8192),
]


def _model_is_error(rax: int) -> bool:
    # es_map_scan passes rdx = ~rax; the model gets the same input.
    return M.go_map(rax, ~rax & MASK64).err != 0


def model_scan(start: int, count: int) -> tuple[int, int | None, int | None]:
    """The model's (errors, first, last) over [start, start+count), from go_map alone.

    The model's error set is upward-closed (Z3 proof errno.go-error-range), so its lower edge
    inside the window is found by bisection on go_map instead of restating the rule here."""
    end = start + count - 1
    if not _model_is_error(end):
        if _model_is_error(start):
            raise ValueError("the model's error set is not upward-closed; update this oracle")
        return 0, None, None
    lo, hi = start, end
    while lo < hi:
        mid = (lo + hi) // 2
        if _model_is_error(mid):
            hi = mid
        else:
            lo = mid + 1
    return end - lo + 1, lo, end


def check_map_scan(lib: Library) -> Outcome:
    windows: list[dict[str, Any]] = []
    bad_inputs: list[int] = []
    for name, start, count in EXACT_WINDOWS:
        raxs = list(range(start, start + count))
        rdxs = [~x & MASK64 for x in raxs]
        native = lib.map_many(raxs, rdxs)
        diff = [x for x, d, got in zip(raxs, rdxs, native, strict=True)
                if got != model_triple("go", x, d)]
        bad_inputs += diff
        windows.append({"window": name, "mode": "map_many", "values": count,
                        "disagreements": len(diff)})
    for name, start, count in SCAN_WINDOWS:
        got, want = lib.map_scan(start, count), model_scan(start, count)
        windows.append({"window": name, "mode": "map_scan", "values": count,
                        "native": _scan_text(got), "model": _scan_text(want)})
        if got != want:
            # Locate one disagreeing input among the window edges the two sides report.
            edges = sorted({x for x in (*got[1:], *want[1:]) if x is not None})
            bad_inputs += [x for x in edges
                           if lib.map(x, ~x & MASK64) != model_triple("go", x, ~x & MASK64)]
            windows[-1]["mismatch"] = True
    mismatched = [w["window"] for w in windows if w.get("disagreements") or w.get("mismatch")]
    details = {"windows": windows, "library": str(lib.path)}
    if not mismatched:
        return Outcome(Verdict.HOLDS, None, details)
    values: dict[str, Any] = {"windows": mismatched}
    if bad_inputs:
        x = min(bad_inputs)
        values = {"RAX": hex64(x), "RDX": hex64(~x & MASK64),
                  **_triple_values("native", lib.map(x, ~x & MASK64)),
                  **_triple_values("model", model_triple("go", x, ~x & MASK64)), **values}
    for w in windows:
        if w.get("mismatch"):
            values[f"scan {w['window']}"] = f"native {w['native']}; model {w['model']}"
    where = f"RAX={values['RAX'].split()[0]}" if bad_inputs else "a window"
    return Outcome(Verdict.REFUTED, Counterexample(
        summary=f"native mapping and model disagree at {where}", values=values,
        replay="entersys check --only errno"), details)


def _scan_text(s: tuple[int, int | None, int | None]) -> str:
    n, first, last = s
    return f"{n} errors" + (f" in [{first:#x}, {last:#x}]" if n else "")


# ---- c. real system calls through every variant ---------------------------------------------

def _error_result(mapping: str, e: int) -> dict[str, int]:
    """What a failed call with kernel errno `e` must look like for a stub with `mapping`."""
    raw = -e & MASK64
    if mapping == "none":  # rawSyscallNoError: the raw RAX, never an errno
        return {"raw_rax": raw, "r1": raw, "err": 0}
    return {"raw_rax": raw, "r1": MASK64, "err": e}


def check_real_syscalls(lib: Library) -> Outcome:
    caller = Caller(lib)
    problems: list[dict[str, Any]] = []
    calls = 0
    payload = b"entersys"  # 8 bytes through the pipe and back
    src = ctypes.create_string_buffer(payload, len(payload))

    def expect(variant: str, what: str, res: Any, want: dict[str, int]) -> None:
        nonlocal calls
        calls += 1
        spec = VARIANTS[variant][1]
        for field, value in want.items():
            if getattr(res, field) != value:
                problems.append({"variant": variant, "call": what, "field": field,
                                 "got": getattr(res, field), "want": value,
                                 "RAX": hex64(res.raw_rax)})
        model = model_triple(spec.mapping, res.raw_rax, res.raw_rdx)
        if (res.r1, res.r2, res.err) != model:
            problems.append({"variant": variant, "call": what, "field": "(r1, r2, err)",
                             "got": (res.r1, res.r2, res.err), "want": model,
                             "RAX": hex64(res.raw_rax), "model": spec.mapping})

    for variant, (_, spec) in VARIANTS.items():
        ok = {"err": 0}
        expect(variant, "getpid", caller.call(variant, SYS_getpid), {"r1": os.getpid(), **ok})
        expect(variant, "gettid", caller.call(variant, SYS_gettid),
               {"r1": threading.get_native_id(), **ok})
        r, w = caller.pipe(variant)
        open_fds = {r, w}
        try:
            dst = ctypes.create_string_buffer(len(payload))
            expect(variant, "write(pipe)", caller.call(variant, SYS_write, w,
                                                       ctypes.addressof(src), 8), {"r1": 8, **ok})
            res = caller.call(variant, SYS_read, r, ctypes.addressof(dst), 8)
            expect(variant, "read(pipe)", res, {"r1": 8, **ok})
            if dst.raw != payload:
                problems.append({"variant": variant, "call": "read(pipe)", "field": "bytes",
                                 "got": dst.raw, "want": payload, "RAX": hex64(res.raw_rax)})
            # Address 1 is never mapped: the kernel answers EFAULT before writing a byte.
            expect(variant, "write(pipe, 0x1)", caller.call(variant, SYS_write, w, 1, 8),
                   _error_result(spec.mapping, EFAULT))
            for fd in (r, w):
                expect(variant, "close", caller.call(variant, SYS_close, fd), {"r1": 0, **ok})
                open_fds.discard(fd)
            expect(variant, "read(closed fd)",
                   caller.call(variant, SYS_read, r, ctypes.addressof(dst), 8),
                   _error_result(spec.mapping, EBADF))
        finally:
            for fd in open_fds:
                os.close(fd)
        expect(variant, "invalid trap", caller.call(variant, SYS_INVALID),
               _error_result(spec.mapping, ENOSYS))
    details = {"variants": list(VARIANTS), "calls": calls, "library": str(lib.path)}
    if not problems:
        return Outcome(Verdict.HOLDS, None, details)
    p = problems[0]
    return Outcome(Verdict.REFUTED, Counterexample(
        summary=f"{p['variant']} {p['call']}: {p['field']} is {p['got']!r}, want {p['want']!r}",
        values={**p, "problems": len(problems)}, replay="entersys check --only errno"), details)


# ---- c2. every argument register, with distinct values ---------------------------------------

ECHO_ARGS = tuple(0x101 + 0x111 * i for i in range(6))  # distinct, non-zero, below 4096


def _echo_child(lib: Library, k: int) -> dict[str, tuple[int, int, int, int, int]]:
    """In a disposable child: getppid echoes argument k as its errno; every variant's view."""
    rc = lib.dll.es_seccomp_echo_arg(SYS_getppid, k)
    if rc != 0:
        raise OSError(-rc, f"es_seccomp_echo_arg(getppid, {k}) failed")
    caller = Caller(lib)
    out = {}
    for variant in VARIANTS:
        r = caller.call(variant, SYS_getppid, *ECHO_ARGS)
        out[variant] = (r.r1, r.r2, r.err, r.raw_rax, r.raw_rdx)
    return out


def check_arg_registers(lib: Library) -> Outcome:
    """Each variant passes a1..a6 = ECHO_ARGS; a seccomp filter makes the kernel echo the
    register of argument k: the spec's arguments must arrive, the others be 0."""
    from entersys.oracle.errno_child import run_isolated

    problems: list[dict[str, Any]] = []
    table = []
    for k in range(6):
        how, seen, last = run_isolated(lambda k=k: _echo_child(lib, k), 60.0)
        if how != "ok":
            problems.append({"argument": f"a{k + 1}", "child": f"{how}: {seen}",
                             "last stub call": last})
            continue
        row: dict[str, Any] = {"argument": f"a{k + 1}"}
        for variant, (r1, r2, err, raw, rdx) in seen.items():
            spec = VARIANTS[variant][1]
            want_raw = (-ECHO_ARGS[k]) & MASK64 if k < spec.nargs else 0
            want = (want_raw, *model_triple(spec.mapping, want_raw, rdx))
            row[variant] = f"{(-raw) & 0xFFF:#x}" if raw else "0"
            if (raw, r1, r2, err) != want:
                problems.append({"variant": variant, "argument": f"a{k + 1}",
                                 "kernel saw": f"{(-raw) & MASK64:#x}" if raw else "0",
                                 "want": f"{ECHO_ARGS[k]:#x}" if k < spec.nargs else "0",
                                 "r1/err": f"{r1:#x}/{err}"})
        table.append(row)
    details = {"args": [f"{a:#x}" for a in ECHO_ARGS], "tables": {"argument echo": table}}
    if not problems:
        return Outcome(Verdict.HOLDS, None, details)
    p = problems[0]
    return Outcome(Verdict.REFUTED, Counterexample(
        summary=(f"{p.get('variant', 'a child')}: argument {p['argument']} reached the kernel "
                 f"as {p.get('kernel saw', '?')}, want {p.get('want', '?')}" if "variant" in p
                 else f"argument {p['argument']}: {p['child']}"),
        values={**p, "problems": len(problems)}, replay="entersys check --only errno"), details)


# ---- d. hook order ----------------------------------------------------------------------------

SENTINEL = 0x5E5E5E5E5E5E5E5E  # stored in the block before a call: "not written yet"


def _python_hook_trace(caller: Caller, variant: str,
                       trap: int = SYS_getpid) -> list[tuple[str, int, int]]:
    """`trap` (getpid) through `variant` with Python hooks noting (event, raw_rax, r1)."""
    seen: list[tuple[str, int, int]] = []
    b = caller.block
    caller.set_hooks(lambda _ctx: seen.append(("enter", b.raw_rax, b.r1)),
                     lambda _ctx: seen.append(("exit", b.raw_rax, b.r1)), 0)
    b.raw_rax = b.r1 = SENTINEL
    caller.call(variant, trap)
    return seen


def check_hook_order(lib: Library) -> Outcome:
    caller, rec = Caller(lib), Recorder(lib)
    problems: list[str] = []
    tid, pid = threading.get_native_id(), os.getpid()
    try:
        caller.set_hooks(rec.enter, rec.exit, rec.ctx)
        for variant, (_, spec) in VARIANTS.items():
            rec.clear()
            caller.call(variant, SYS_getpid)
            events = rec.events()
            kinds = [k for _, k, _ in events]
            want = ["enter", "exit"] if spec.hooks else []
            if kinds != want:
                problems.append(f"{variant}: C recorder saw {kinds}, want {want}")
            seqs = [s for s, _, _ in events]
            if seqs != sorted(set(seqs)):
                problems.append(f"{variant}: sequence numbers not increasing: {seqs}")
            if any(t != tid for _, _, t in events):
                problems.append(f"{variant}: hook ran on another thread than the caller")
        # A Python callable as hook: enter must run before SYSCALL stores anything, exit
        # after Go's results are stored.
        for variant, (_, spec) in VARIANTS.items():
            if not spec.hooks:
                continue
            seen = _python_hook_trace(caller, variant)
            want_seen = [("enter", SENTINEL, SENTINEL), ("exit", pid, pid)]
            if seen != want_seen:
                problems.append(f"{variant}: Python hooks saw {seen}, want {want_seen}")
            # The error path: exit runs after Go's results (r1 = -1) are stored.
            seen = _python_hook_trace(caller, variant, SYS_INVALID)
            enosys = (-ENOSYS) & MASK64
            want_seen = [("enter", SENTINEL, SENTINEL), ("exit", enosys, MASK64)]
            if seen != want_seen:
                problems.append(f"{variant} (ENOSYS): Python hooks saw {seen}, want {want_seen}")
    finally:
        caller.set_hooks(None, None, 0)
    details = {"library": str(lib.path)}
    if not problems:
        return Outcome(Verdict.HOLDS, None, details)
    return Outcome(Verdict.REFUTED, Counterexample(
        summary=problems[0], values={"problems": problems},
        replay="entersys check --only errno"), details)


# ---- e. a blocking read releases the GIL ------------------------------------------------------

COUNT_S = 0.1      # how long the main thread counts while the reader is blocked
WATCHDOG_S = 2.0   # the safety-net writer's delay; normally killed long before


def check_blocking_read(lib: Library) -> Outcome:
    reader = Caller(lib)
    r, w = reader.pipe()
    entered, done = threading.Event(), threading.Event()
    out: dict[str, Any] = {}
    buf = ctypes.create_string_buffer(8)
    payload = b"unblock!"
    reader.set_hooks(lambda _ctx: entered.set(), None, 0)

    def read_blocking() -> None:
        try:
            out["res"] = reader.call("Syscall", SYS_read, r, ctypes.addressof(buf), 8)
        except BaseException as e:  # noqa: BLE001 - reported below, never lost in a thread
            out["exc"] = e
        finally:
            done.set()

    thread = threading.Thread(target=read_blocking, name="entersys-blocking-read", daemon=True)
    watchdog: subprocess.Popen | None = None
    try:
        # Safety net: another process writes after WATCHDOG_S. It needs nothing from this
        # process, so the read ends even if the stub held the GIL and the main thread stalled.
        watchdog = subprocess.Popen(
            [sys.executable, "-c", f"import os, time; time.sleep({WATCHDOG_S}); "
                                   "os.write(1, b'watchdog')"],
            stdout=w, stderr=subprocess.DEVNULL)
        thread.start()
        entered.wait(WATCHDOG_S)
        count, t_end = 0, time.perf_counter() + COUNT_S
        while time.perf_counter() < t_end:
            count += 1
        blocked_while_counting = entered.is_set() and not done.is_set()
        os.write(w, payload)  # the main thread's write is what should end the read
        returned = done.wait(WATCHDOG_S + 1.0)
    finally:
        if watchdog is not None:
            watchdog.kill()
            watchdog.wait()
        if not thread.is_alive():
            os.close(r)
        os.close(w)
    if "exc" in out:
        raise out["exc"]
    res = out.get("res")
    problems = []
    if not blocked_while_counting:
        problems.append("the read was not blocked while the main thread counted: the stub "
                        "held the GIL (or the read did not block)")
    if not returned or res is None:
        problems.append("the read did not return after the main thread wrote")
    elif (res.r1, res.err, buf.raw) != (8, 0, payload):
        problems.append(f"the read returned r1={res.r1} err={res.err} bytes={buf.raw!r}, "
                        f"want 8, 0, {payload!r}")
    details = {"counted_while_blocked": count, "count_seconds": COUNT_S}
    if not problems:
        return Outcome(Verdict.HOLDS, None, details)
    return Outcome(Verdict.REFUTED, Counterexample(
        summary=problems[0], values={"problems": problems, "count": count},
        replay="entersys check --only errno"), details)


# ---- runner -----------------------------------------------------------------------------------

CheckFn = Callable[[Library, int], Outcome]
CHECKS: dict[str, tuple[str, str, CheckFn]] = {
    "map-hypothesis": ("es_map (asm mapping) equals the model's go_map on edge-biased (RAX, RDX)",
                       "hypothesis", check_map_hypothesis),
    "map-scan": ("exhaustive windows at 0, 2^63 and the top: native error count and first/last "
                 "error input equal the model's", "oracle", lambda lib, _n: check_map_scan(lib)),
    "real-syscalls": ("every variant: real getpid, gettid, pipe2/write/read, EFAULT, EBADF, "
                      "ENOSYS; (r1, r2, err) = model mapping of the kernel's RAX/RDX", "oracle",
                      lambda lib, _n: check_real_syscalls(lib)),
    "arg-registers": ("every variant passes a1..a6 with distinct values; a seccomp filter echoes "
                      "each argument register: the spec's arguments arrive, the rest are 0",
                      "fault-injection", lambda lib, _n: check_arg_registers(lib)),
    "hook-order": ("hooked variants fire enter then exit around the call (also on the error "
                   "path), Raw variants none (C recorder and Python callback)", "oracle",
                   lambda lib, _n: check_hook_order(lib)),
    "blocking-read": ("a blocking Syscall read in a thread releases the GIL and returns after "
                      "the main thread writes", "oracle", lambda lib, _n: check_blocking_read(lib)),
    "seccomp-errno": ("SECCOMP_RET_ERRNO e in {1, 9, 4094, 4095, 4096}: stubs = model go_map, "
                      "glibc = model glibc_syscall; -4095 is success for Go, error for glibc",
                      "fault-injection",
                      lambda lib, _n: Outcome(*seccomp.check_seccomp_errno(lib))),
}


def _one(name: str, lib: Library | None, examples: int) -> CheckResult:
    title, kind, fn = CHECKS[name]
    cid = f"errno.native.{name}"

    def go() -> CheckResult:
        with timed() as t:
            outcome = fn(lib or library(), examples)
        return CheckResult(cid, GROUP, title, kind, outcome.verdict, Verdict.HOLDS, t(),
                           outcome.cex, dict(outcome.details or {}))

    return guarded(GROUP, cid, title, kind, Verdict.HOLDS, go)


CHILD_TIMEOUT_S = 180.0


def _one_isolated(name: str, lib: Library, examples: int,
                  timeout_s: float = CHILD_TIMEOUT_S) -> CheckResult:
    """`_one` in a forked child: a stub that crashes is a REFUTED record naming the signal
    and the call, a hung check an ERROR record; neither takes `entersys check` down."""
    from entersys.oracle.errno_child import run_isolated

    title, kind, _ = CHECKS[name]
    cid = f"errno.native.{name}"
    t0 = time.perf_counter()
    how, value, last = run_isolated(lambda: _one(name, lib, examples), timeout_s)
    if how == "ok":
        return value
    seconds = time.perf_counter() - t0
    values = {"last stub call": last or "(none)", "library": str(lib.path)}
    if how == "signal":
        return CheckResult(cid, GROUP, title, kind, Verdict.REFUTED, Verdict.HOLDS, seconds,
                           Counterexample(summary=f"a stub crashed the process with {value} "
                                          f"during {last or 'the check'}", values=values,
                                          replay="entersys check --only errno"))
    return CheckResult(cid, GROUP, title, kind, Verdict.ERROR, Verdict.HOLDS, seconds,
                       Counterexample(summary=f"the check's child process failed ({how}: "
                                      f"{value})", values=values,
                                      replay="entersys check --only errno"))


def run(examples: int = 300, lib: Library | None = None,
        only: Iterable[str] | None = None, isolate: bool = True) -> list[CheckResult]:
    """Every check of this module (or those named in `only`), on `lib` or the built library."""
    names = list(only) if only is not None else list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check {unknown[0]!r}; known: {', '.join(CHECKS)}")
    if not isolate:
        return [_one(n, lib, examples) for n in names]
    try:
        lib = lib or library()
    except Exception as e:  # noqa: BLE001 - a missing library is one record per check
        return [guarded(GROUP, f"errno.native.{n}", CHECKS[n][0], CHECKS[n][1], Verdict.HOLDS,
                        lambda e=e: _raise(e)) for n in names]
    return [_one_isolated(n, lib, examples) for n in names]


def _raise(e: Exception) -> CheckResult:
    raise e


__all__ = ["CHECKS", "Outcome", "hex64", "model_scan", "model_triple", "run"]
