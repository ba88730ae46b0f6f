"""Real execution traces through the model: the trace parser and episode cutter on
synthetic `go tool trace -d=parsed` lines (a stolen P that the trace says was kept must
diverge), and a real go1.25.5 trace of thousands of syscall events replayed with no
divergence."""

from __future__ import annotations

import pytest
from entersys.gate import traces
from entersys.gate.detect import detect
from entersys.gotoolchain import goroot
from entersys.results import Verdict

BEGIN = ('M=10 P=0 G=-1 StateTransition Time=1 Resource=Goroutine(7) Reason="" GoID=7 '
         'Running->Syscall')
STEAL = 'M=2 P=-1 G=-1 StateTransition Time=2 Resource=Proc(0) Reason="" ProcID=0 Running->Idle'
KEPT = ('M=10 P=0 G=7 StateTransition Time=3 Resource=Goroutine(7) Reason="" GoID=7 '
        'Syscall->Running')
LOST = ('M=10 P=-1 G=7 StateTransition Time=3 Resource=Goroutine(7) Reason="" GoID=7 '
        'Syscall->Runnable')


def _shapes(*lines: str) -> list[list[str]]:
    eps, cut = traces.episodes(traces.parse("\n".join(lines)))
    assert cut == 0
    return [e.shape for e in eps]


def test_episodes_are_cut_from_the_parsed_text() -> None:
    assert _shapes(BEGIN, KEPT) == [["begin", "end:kept"]]
    assert _shapes(BEGIN, STEAL, LOST) == [["begin", "steal", "end:lost"]]
    self_stop = STEAL.replace("M=2 ", "M=10 ")
    assert _shapes(BEGIN, self_stop, LOST) == [["begin", "gcwait", "end:lost"]]
    stw = ('M=2 P=1 G=1 RangeBegin Time=1 Name="stop-the-world (GC sweep termination)" '
           'Scope=Goroutine(1)')
    assert _shapes(stw, BEGIN, STEAL, LOST) == [["begin", "stw", "end:lost"]]


def test_the_model_agrees_with_consistent_episodes_and_rejects_the_rest() -> None:
    drv = traces.Driver("1.25")
    for shape in (["begin", "end:kept"], ["begin", "steal", "end:lost"],
                  ["begin", "steal", "other", "end:lost"], ["begin", "gcwait", "end:lost"],
                  ["begin", "stw", "end:lost"]):
        err, labels, _ = drv.run(tuple(shape))
        assert err is None and labels, shape
    for shape, why in ((["begin", "steal", "end:kept"], "model says the P was lost"),
                       (["begin", "end:lost"], "model says the P was kept"),
                       (["begin", "stw", "end:kept"], "model says the P was lost"),
                       (["begin", "steal", "steal", "end:lost"], "not enabled")):
        err, _, _ = drv.run(tuple(shape))
        assert err is not None and why in err, (shape, err)


@pytest.mark.slow
def test_a_real_trace_replays_with_no_divergence() -> None:
    rec = traces.trace_record(detect(goroot("1.25.5")))
    assert rec.verdict == Verdict.HOLDS, rec.counterexample
    assert rec.details["syscall_events"] >= 3000 and rec.details["divergences"] == 0
    assert rec.details["shapes"].get("begin steal end:lost", 0) > 0   # sysmon retook Ps


def test_new_design_trace_replay_is_not_faked() -> None:
    rec = traces.trace_record(detect(goroot("1.27.3")))
    assert rec.verdict == Verdict.UNKNOWN and rec.counterexample.summary.startswith("not run")
