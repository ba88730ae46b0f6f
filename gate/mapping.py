"""Statement -> model step mapping, per design: which statements of Go's syscall path are
which step of entersys.model.steps, which are known and deliberately outside the model
(tracing, sanity throws, locals: "aux", with the reason), and which are calls the
extraction inlines. A statement no rule covers stays unclassified and is reported; the
gate never guesses.

Rules are matched in order on the normalised statement text (entersys.gate.extract.Stmt
.norm), optionally only inside an enclosing statement whose header matches `within`, or
only at the top level of the entry (`top`). The children of an aux statement are aux."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from entersys.gate.extract import Inline, Stmt, normalize

AUX, CALL = "aux", "call"


@dataclass(frozen=True)
class Rule:
    func: str
    pattern: str
    step: str                 # a model step name, AUX or CALL
    reason: str = ""          # why an AUX statement is outside the model
    within: str | None = None
    top: bool = False

    def matches(self, st: Stmt) -> bool:
        if st.func != self.func or not re.fullmatch(self.pattern, st.norm):
            return False
        if self.top and st.depth != 0:
            return False
        return self.within is None or any(re.search(self.within, normalize(a))
                                          for a in st.ancestors)


@dataclass(frozen=True)
class Classified:
    stmt: Stmt
    cls: str                  # step name, AUX, CALL or "" (unclassified)
    reason: str = ""
    rule: int = -1            # index of the rule that matched (-1: none or inherited)


@dataclass(frozen=True)
class Design:
    name: str
    entries: dict[str, list[Inline]]   # entry function -> its inlined callees
    routine_entry: dict[str, str]      # model routine -> entry function it is read from
    rules: list[Rule]
    anchors: dict[str, str] = field(default_factory=dict)  # step -> step it directly follows


TRACE = "execution tracer (not modelled)"
SANITY = "sanity check that throws on an inconsistent frame (not modelled)"
LOCAL = "local variable"
TRACE_IF = r"if trace\.ok\(\)|if trace\.enabled"
SYSMONWAIT_IF = r"if sched\.sysmonwait\.Load\(\)|if atomic\.Load\(&sched\.sysmonwait\) != 0"
SAFEPOINT_IF = r"if gp\.m\.p\.ptr\(\)\.runSafePointFn != 0"
GCWAIT_IF = (r"if sched\.gcwaiting\.Load\(\)|if sched\.gcwaiting != 0"
             r"|if atomic\.Load\(&sched\.gcwaiting\) != 0")
SAVE = r"save\(pc, sp(, bp)?\)"
FAST_IF = r"if exitsyscallfast\(oldp\)"
CAS_IF = (r"if oldp != nil && oldp\.status == _Psyscall && "
          r"atomic\.Cas\(&oldp\.status, _Psyscall, _Pidle\)")
PIDLE_IF = r"if sched\.pidle != 0"


def _r(func: str, pattern: str, step: str, reason: str = "", within: str | None = None,
       top: bool = False) -> Rule:
    return Rule(func, pattern, step, reason, within, top)


def _common_aux(func: str) -> list[Rule]:
    return [_r(func, r"gp := getg\(\)", AUX, LOCAL),
            _r(func, r"(var )?trace( traceLocker)?( :?= traceAcquire\(\))?", AUX, TRACE),
            _r(func, TRACE_IF, AUX, TRACE),
            _r(func, r"trace(Exiting|Exited)Syscall\(\)", AUX, TRACE),
            _r(func, r"gp\.sysblocktraced = true", AUX, TRACE)]


RE, EX, EXF, EX0, EB, EBH, RT = ("reentersyscall", "exitsyscall", "exitsyscallfast",
                                 "exitsyscall0", "entersyscallblock",
                                 "entersyscallblock_handoff", "retake")

PSYSCALL_RULES: list[Rule] = [
    # ---- reentersyscall (Go 1.19-1.25) ----
    *_common_aux(RE),
    _r(RE, r"gp\.m\.locks\+\+", "reentersyscall.1.locks"),
    _r(RE, r"gp\.stackguard0 = stackPreempt|gp\.throwsplit = true",
       "reentersyscall.2.stackguard"),
    _r(RE, SAVE, "reentersyscall.8.save", within=SYSMONWAIT_IF),
    _r(RE, SAVE, "reentersyscall.9.save", within=SAFEPOINT_IF),
    _r(RE, SAVE, "reentersyscall.12.gcwait", within=GCWAIT_IF),
    _r(RE, SAVE, "reentersyscall.3.save", top=True),
    _r(RE, r"gp\.syscall(sp|pc|bp) = (sp|pc|bp)", "reentersyscall.4.syscallsp"),
    _r(RE, r"casgstatus\(gp, _Grunning, _Gsyscall\)", "reentersyscall.5.casgstatus"),
    _r(RE, r"if staticLockRanking", AUX, "static lock ranking builds only"),
    _r(RE, r"if gp\.syscall(sp|bp) .*", AUX, SANITY),
    _r(RE, SYSMONWAIT_IF, "reentersyscall.8.sysmon"),
    _r(RE, r"systemstack\(entersyscall_sysmon\)", "reentersyscall.8.sysmon"),
    _r(RE, SAFEPOINT_IF, "reentersyscall.9.safepoint"),
    _r(RE, r"systemstack\(runSafePointFn\)", "reentersyscall.9.safepoint"),
    _r(RE, r"gp\.m\.syscalltick = gp\.m\.p\.ptr\(\)\.syscalltick",
       "reentersyscall.10.syscalltick"),
    _r(RE, r"pp := gp\.m\.p\.ptr\(\)", AUX,
       "local copy of m.p (the model keeps it in m.pp from step 1)"),
    _r(RE, r"pp\.m = 0|gp\.m\.oldp\.set\(pp\)|gp\.m\.p = 0", "reentersyscall.11.release"),
    _r(RE, r"atomic\.Store\(&pp\.status, _Psyscall\)", "reentersyscall.11.Psyscall"),
    _r(RE, GCWAIT_IF, "reentersyscall.12.gcwait"),
    _r(RE, r"systemstack\(entersyscall_gcwait\)", "reentersyscall.12.gcwait"),
    _r(RE, r"gp\.m\.locks--", "reentersyscall.13.locks"),
    # ---- exitsyscall, fast path ----
    *_common_aux(EX),
    _r(EX, r"gp\.m\.locks\+\+", "exitsyscall.1.locks"),
    _r(EX, r"if (sys\.GetCallerSP|getcallersp)\(\) > gp\.syscallsp", AUX, SANITY),
    _r(EX, r"gp\.waitsince = 0", AUX, "blocking-profile bookkeeping"),
    _r(EX, r"oldp := gp\.m\.oldp\.ptr\(\)|gp\.m\.oldp = 0", AUX,
       "m.oldp moved to a local (the model reads m.oldp in exitsyscallfast.cas and clears "
       "it once the P is decided)"),
    _r(EX, FAST_IF, CALL),
    _r(EX, r"if goroutineProfile\.active", AUX, "goroutine profiler"),
    _r(EX, r"gp\.m\.p\.ptr\(\)\.syscalltick\+\+", "exitsyscall.5.tick", within=FAST_IF),
    _r(EX, r"casgstatus\(gp, _Gsyscall, _Grunning\)", "exitsyscall.5.casgstatus",
       within=FAST_IF),
    _r(EX, r"casgstatus\(gp, _Gsyscall, _Grunning\)", "exitsyscall.5.casgstatus"),
    _r(EX, r"gp\.syscallsp = 0", "exitsyscall.5.syscallsp", within=FAST_IF),
    _r(EX, r"gp\.m\.locks--", "exitsyscall.5.locks", within=FAST_IF),
    _r(EX, r"if gp\.preempt|gp\.stackguard0 = .*|gp\.throwsplit = false",
       "exitsyscall.5.stackguard", within=FAST_IF),
    _r(EX, r"if sched\.disable\.user && !schedEnabled\(gp\)", AUX,
       "scheduling of user Gs disabled (not modelled)"),
    _r(EX, r"return", AUX, "end of the fast path", within=FAST_IF),
    # ---- exitsyscall, slow path ----
    _r(EX, r"gp\.sysexitticks = (0|cputicks\(\))", AUX, TRACE),
    _r(EX, r"gp\.m\.locks--", "exitsyscall.6.locks", top=True),
    _r(EX, r"mcall\(exitsyscall0\)", CALL),
    _r(EX, r"gp\.syscallsp = 0|gp\.m\.p\.ptr\(\)\.syscalltick\+\+|gp\.throwsplit = false",
       "exitsyscall.8.resume", top=True),
    # ---- exitsyscallfast ----
    *_common_aux(EXF),
    _r(EXF, r"if sched\.stopwait == freezeStopWait", AUX, "freezetheworld (not modelled)"),
    _r(EXF, CAS_IF, "exitsyscallfast.cas"),
    _r(EXF, r"wirep\(oldp\)|exitsyscallfast_reacquired\(.*\)|return true",
       "exitsyscallfast.wirep", within=CAS_IF),
    _r(EXF, PIDLE_IF, "exitsyscallfast.pidle"),
    _r(EXF, r"var ok bool|systemstack\(func\(\) \{ ok = exitsyscallfast_pidle\(\).*\}\)"
       r"|if ok|return true", "exitsyscallfast.pidle", within=PIDLE_IF),
    _r(EXF, r"return false", "exitsyscallfast.nopidle", top=False),
    # ---- exitsyscall0 ----
    *_common_aux(EX0),
    _r(EX0, r"casgstatus\(gp, _Gsyscall, _Grunnable\)|dropg\(\)",
       "exitsyscall0.casgstatus"),
    _r(EX0, r"var pp \*p", AUX, LOCAL),
    _r(EX0, r"var locked bool|locked = gp\.lockedm != 0|if locked", AUX,
       "LockOSThread/lockedm (not modelled: gap R14)"),
    _r(EX0, r"globrunqput\(gp\)", "exitsyscall0.globrunqput", within=r"if pp == nil"),
    _r(EX0, r"if pp == nil|stopm\(\)|schedule\(\)", "exitsyscall0.globrunqput"),
    _r(EX0, r"lock\(&sched\.lock\)|unlock\(&sched\.lock\)|if schedEnabled\(gp\)"
       r"|pp, _ = pidleget\(0\)|pp = pidleget\(\)|if pp != nil|acquirep\(pp\)"
       r"|execute\(gp, false\)|" + SYSMONWAIT_IF +
       r"|sched\.sysmonwait\.Store\(false\)|atomic\.Store\(&sched\.sysmonwait, 0\)"
       r"|notewakeup\(&sched\.sysmonnote\)", "exitsyscall0.pidleget"),
    # ---- entersyscallblock ----
    *_common_aux(EB),
    _r(EB, r"gp\.m\.locks\+\+|gp\.throwsplit = true|gp\.stackguard0 = stackPreempt"
       r"|gp\.m\.syscalltick = gp\.m\.p\.ptr\(\)\.syscalltick"
       r"|gp\.m\.p\.ptr\(\)\.syscalltick\+\+", "entersyscallblock.1"),
    _r(EB, r"(pc|sp|bp|sp1|sp2|sp3) := .*", AUX, LOCAL),
    _r(EB, r"save\((sys\.GetCallerPC|getcallerpc)\(\), (sys\.GetCallerSP|getcallersp)\(\)"
       r"(, getcallerfp\(\))?\)", AUX,
       "re-save for tracebacks during the blocked call (the model's handoff does not "
       "clobber g.sched)"),
    _r(EB, SAVE + r"|gp\.syscall(sp|pc|bp) = gp\.sched\.(sp|pc|bp)", "entersyscallblock.save"),
    _r(EB, r"if gp\.syscall(sp|bp) .*", AUX, SANITY),
    _r(EB, r"casgstatus\(gp, _Grunning, _Gsyscall\)", "entersyscallblock.casgstatus"),
    _r(EB, r"systemstack\(entersyscallblock_handoff\)", CALL),
    _r(EB, r"gp\.m\.locks--", "entersyscallblock.locks"),
    *_common_aux(EBH),
    _r(EBH, r"handoffp\(releasep\(\)\)", "entersyscallblock.handoff"),
    # ---- retake ----
    *_common_aux(RT),
    _r(RT, r"n := 0|n\+\+|return uint32\(n\)", AUX, "count of retaken Ps (sysmon's backoff)"),
    _r(RT, r"(lock|unlock)\(&allpLock\)", AUX, "allpLock (procresize; not modelled)"),
    _r(RT, r"for i := 0; i < len\(allp\); i\+\+", CALL),
    _r(RT, r"pp := allp\[i\]|if pp == nil|pd := &pp\.sysmontick|s := pp\.status"
       r"|sysretake := false", AUX, "sysmon's loop over allp (the model's retake steps "
       "are per P)", within=r"for i := 0"),
    _r(RT, r"if s == _Prunning \|\| s == _Psyscall", AUX,
       "preemption of long-running Gs (not modelled)"),
    _r(RT, r"if s == _Psyscall", "retake.decide"),
    _r(RT, r"if runqempty\(pp\) && .*", "retake.decide"),
    _r(RT, r"continue", "retake.decide", within=r"if runqempty\(pp\)"),
    _r(RT, r"t := int64\(pp\.syscalltick\)|if !sysretake && int64\(pd\.syscalltick\) != t"
       r"|pd\.syscalltick = uint32\(t\)|pd\.syscallwhen = now|continue", "retake.sample",
       within=r"if s == _Psyscall"),
    _r(RT, r"incidlelocked\(-1\)", "retake.incidlelocked-"),
    _r(RT, r"if atomic\.Cas\(&pp\.status, s, _Pidle\)|pp\.syscalltick\+\+", "retake.cas"),
    _r(RT, r"handoffp\(pp\)", "retake.handoffp"),
    _r(RT, r"incidlelocked\(1\)", "retake.incidlelocked+"),
]

PSYSCALL = Design(
    name="psyscall",
    entries={RE: [], EX: [Inline(FAST_IF, EXF), Inline(r"mcall\(exitsyscall0\)", EX0)],
             EB: [Inline(r"systemstack\(entersyscallblock_handoff\)", EBH)], RT: []},
    routine_entry={"reentersyscall": RE, "exitsyscall": EX, "exitsyscall.slow": EX,
                   "entersyscallblock": EB, "retake": RT},
    rules=PSYSCALL_RULES,
)



def designs() -> dict[str, Design]:
    """Every design's rules (the Go 1.26+ rules live in entersys.gate.mapping_scanbit)."""
    from entersys.gate.mapping_scanbit import SCANBIT

    return {"psyscall": PSYSCALL, "scanbit": SCANBIT}


def functions(design: Design) -> list[str]:
    """Every function the extraction needs for `design`."""
    names = list(design.entries)
    for inl in design.entries.values():
        names += [i.func for i in inl]
    return names


def classify(design: Design, stmts: list[Stmt]) -> list[Classified]:
    """Classify one entry's linearised statements (pre-order, so headers come first)."""
    out: list[Classified] = []
    aux_stack: list[tuple[int, str]] = []   # (depth, reason) of enclosing aux headers
    for st in stmts:
        while aux_stack and aux_stack[-1][0] >= st.depth:
            aux_stack.pop()
        if aux_stack:
            out.append(Classified(st, AUX, f"inside: {aux_stack[-1][1]}"))
            continue
        for k, rule in enumerate(design.rules):
            if rule.matches(st):
                out.append(Classified(st, rule.step, rule.reason, k))
                if rule.step == AUX and st.kind != "simple":
                    aux_stack.append((st.depth, rule.reason))
                break
        else:
            out.append(Classified(st, ""))
    return out
