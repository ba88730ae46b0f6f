"""Progress display for long runs (explore, mutants, verify, gate): a one-line rich live
display on stderr showing whatever counters the caller reports (states, depth, states/s,
RSS) and an ETA when the caller knows the total. Silent when stderr is not a terminal,
when quiet (`--quiet`, or ENTERSYS_QUIET=1), and never on stdout, so JSON on stdout stays
clean.

    tick = reporter("explore go1.25 2m2p2g")
    tick({"states": n, "depth": d, "states_per_s": x, "rss_mb": m})   # as often as liked
    tick.close()

A dict may carry "done" and "total" (units of work, e.g. mutants run of all) for a bar and
an ETA. Callers need not care whether anything is shown."""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO

_QUIET = False
# Redraws at most this often (seconds): callers may tick on every state.
MIN_INTERVAL = 0.1


def set_quiet(quiet: bool) -> None:
    """Turn every reporter made from now on silent (the CLI's --quiet)."""
    global _QUIET
    _QUIET = quiet


def _fmt(key: str, v: Any) -> str:
    if isinstance(v, float):
        v = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}"
    elif isinstance(v, int):
        v = f"{v:,}"
    return f"{key.replace('_per_s', '/s').replace('_', ' ')} {v}"


class Reporter:
    """A callable taking one dict of counters; `close()` ends the display. `shown` says
    whether anything goes to the terminal; `last` keeps the newest dict either way."""

    def __init__(self, label: str, stream: TextIO | None = None, quiet: bool | None = None,
                 force: bool = False) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        if quiet is None:
            quiet = _QUIET or os.environ.get("ENTERSYS_QUIET") == "1"
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.shown = not quiet and (tty or force) and self.stream is not sys.stdout
        self.last: dict[str, Any] = {}
        self.updates = 0
        self._t0 = time.monotonic()
        self._drawn = 0.0
        self._progress: Any = None
        self._task: Any = None

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(file=self.stream, force_terminal=True if self.shown else None)
        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                                  TextColumn("{task.fields[stats]}"), TimeElapsedColumn(),
                                  TextColumn("eta"), TimeRemainingColumn(),
                                  console=console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task(self.label, total=None, stats="")

    def __call__(self, counters: dict[str, Any]) -> None:
        self.last = dict(counters)
        self.updates += 1
        if not self.shown:
            return
        now = time.monotonic()
        if now - self._drawn < MIN_INTERVAL and self._progress is not None:
            return
        self._drawn = now
        self._draw(counters)

    def _draw(self, counters: dict[str, Any]) -> None:
        if self._progress is None:
            self._start()
        stats = "  ".join(_fmt(k, v) for k, v in counters.items() if k not in ("done", "total"))
        kw: dict[str, Any] = {"stats": stats}
        if "total" in counters:
            kw["total"] = counters["total"]
        if "done" in counters:
            kw["completed"] = counters["done"]
        self._progress.update(self._task, **kw)

    def close(self) -> None:
        """Draw the newest counters once more, then end the display."""
        if self._progress is not None:
            self._draw(self.last)
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def reporter(label: str, stream: TextIO | None = None, quiet: bool | None = None) -> Reporter:
    """A progress callback for one long task; see the module docstring."""
    return Reporter(label, stream, quiet)
