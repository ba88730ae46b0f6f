"""The progress display: drawn on a terminal, silent when the stream is not one or when
quiet, never on stdout; commands with --format json keep stdout pure JSON."""

from __future__ import annotations

import io
import json

from entersys import progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _drive(rep: progress.Reporter) -> None:
    for n in range(3):
        rep({"states": 1000 * (n + 1), "depth": n, "states_per_s": 5e4, "rss_mb": 120.0,
             "done": n, "total": 3})
    rep.close()


def test_shown_on_a_terminal() -> None:
    s = _Tty()
    rep = progress.reporter("explore go1.25", stream=s, quiet=False)
    assert rep.shown
    _drive(rep)
    out = s.getvalue()
    assert "explore go1.25" in out and "states 3,000" in out and "states/s 50,000" in out


def test_silent_off_a_terminal_or_quiet() -> None:
    for stream, quiet in ((io.StringIO(), False), (_Tty(), True)):
        rep = progress.reporter("x", stream=stream, quiet=quiet)
        assert not rep.shown
        _drive(rep)
        assert stream.getvalue() == ""
        assert rep.last["states"] == 3000 and rep.updates == 3


def test_set_quiet_silences_new_reporters() -> None:
    try:
        progress.set_quiet(True)
        assert not progress.reporter("x", stream=_Tty()).shown
    finally:
        progress.set_quiet(False)
    assert progress.reporter("x", stream=_Tty()).shown


def test_json_stdout_stays_json(cli) -> None:
    r = cli("mutants", "--go", "1.25", "--only", "R4-no-save", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["results"][0]["id"].endswith("R4-no-save")


def test_native_liveness_reports_its_phases() -> None:
    """The liveness phase of explore (a second, unreduced exploration and the fair-cycle
    search) reports progress too: the graph's counters under "liveness graph", then the
    fair-cycle phase with the graph's final size."""
    from entersys.model.program import Program
    from entersys.model.state import Config
    from entersys.oracle import native_liveness

    seen: list[dict] = []
    run = native_liveness.check(Program(Config(1, 1, 1, go="1.27"), go="1.27"),
                                on_progress=seen.append)
    phases = [d["phase"] for d in seen]
    assert "liveness graph" in phases and phases[-1] == "fair cycles", phases
    assert seen[-1]["states"] == run.run.states > 0
