"""Run a piece of the native errno oracle in a forked child, so that a stub that crashes
(SIGSEGV, SIGILL, ...) or hangs becomes a result for the parent to report, never a dead
`entersys check` with exit 139.

The child inherits the loaded stub library; the last stub call it started is noted in a
shared page (entersys.native.CALL_NOTE) so that a crash names its culprit."""

from __future__ import annotations

import mmap
import os
import pickle
import select
import signal
import time
from collections.abc import Callable
from typing import Any

NOTE_SIZE = 256


def run_isolated(fn: Callable[[], Any], timeout_s: float) -> tuple[str, Any, str]:
    """(kind, value, last stub call) where kind is "ok" (value = fn's result, pickled
    across), "error" (value = the exception's text), "signal" (value = the signal's name),
    "exit" (value = an exit code without a result) or "timeout" (the child was killed)."""
    from entersys import native

    note = mmap.mmap(-1, NOTE_SIZE)  # MAP_SHARED | MAP_ANONYMOUS: the child writes, we read
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's stack
        code = 0
        try:
            os.close(r)
            native.CALL_NOTE = note
            try:
                payload = pickle.dumps(("ok", fn()))
            except BaseException as e:  # noqa: BLE001 - reported by the parent
                payload = pickle.dumps(("error", f"{type(e).__name__}: {e}"))
            view = memoryview(payload)
            while view:
                view = view[os.write(w, view):]
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            os._exit(code)
    os.close(w)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([r], [], [], left)
            if not ready:
                continue
            data = os.read(r, 1 << 16)
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(r)
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    last = note[:].split(b"\0", 1)[0].decode(errors="replace")
    note.close()
    if timed_out:
        return "timeout", f"no answer within {timeout_s:.0f} s", last
    if os.WIFSIGNALED(status):
        return "signal", signal.Signals(os.WTERMSIG(status)).name, last
    if chunks:
        kind, value = pickle.loads(b"".join(chunks))
        return kind, value, last
    return "exit", os.WEXITSTATUS(status), last
