"""Statement -> step rules of the Go 1.26+ design (no `_Psyscall`; go1.26.0 and go1.27.3
runtime/proc.go), onto the step names of entersys.model.steps_scanbit. Same rule language
as entersys.gate.mapping; `anchors` place a step that the model runs as the continuation
of another step's success branch (acquirepNoTrace after exitsyscallTryGetP returned the
old P) right after that step, whatever its place in the source."""

from __future__ import annotations

from entersys.gate.extract import Inline
from entersys.gate.mapping import (
    AUX,
    CALL,
    LOCAL,
    SANITY,
    SAVE,
    SYSMONWAIT_IF,
    TRACE,
    Design,
    Rule,
    _common_aux,
    _r,
)

RE, EX, TG, NOP, EB, RT = ("reentersyscall", "exitsyscall", "exitsyscallTryGetP",
                           "exitsyscallNoP", "entersyscallblock", "retake")
GCWAIT_IF = r"if sched\.gcwaiting\.Load\(\)"
CASG_IN = r"if gp\.bubble != nil \|\| !gp\.atomicstatus\.CompareAndSwap\(_Grunning, _Gsyscall\)"
CASG_OUT = r"if gp\.bubble != nil \|\| !gp\.atomicstatus\.CompareAndSwap\(_Gsyscall, _Grunning\)"
TRYGETP = r"systemstack\(func\(\) \{ if pp := exitsyscallTryGetP\(oldp\); pp != nil .*\}\)"
DEBUG = "debug hook (debugExtendGrunningNoP)"
NOP_G = "count of syscalling Ms without a P (the model's releaseP/handoff accounts for it)"

SCANBIT_RULES: list[Rule] = [
    # ---- reentersyscall (go1.26.0, go1.27.3) ----
    *_common_aux(RE),
    _r(RE, r"gp\.m\.locks\+\+", "reentersyscall.1.locks"),
    _r(RE, r"if goexperiment\.RuntimeSecret|eraseSecretsSignalStk\(\)",
       "reentersyscall27.2.eraseSecrets"),
    _r(RE, r"gp\.stackguard0 = stackPreempt|gp\.throwsplit = true",
       "reentersyscall.2.stackguard"),
    _r(RE, r"gp\.m\.syscalltick = gp\.m\.p\.ptr\(\)\.syscalltick",
       "reentersyscall26.4.syscalltick"),
    _r(RE, r"pp := gp\.m\.p\.ptr\(\)", AUX, LOCAL),
    _r(RE, r"if pp\.runSafePointFn != 0|systemstack\(runSafePointFn\)",
       "reentersyscall26.5.safepoint"),
    _r(RE, r"gp\.m\.oldp\.set\(pp\)", "reentersyscall26.6.oldp"),
    _r(RE, SAVE, "reentersyscall26.9.save", within=GCWAIT_IF),
    _r(RE, SAVE, "reentersyscall.8.save", within=SYSMONWAIT_IF),
    _r(RE, SAVE, "reentersyscall.3.save", top=True),
    _r(RE, r"gp\.syscall(sp|pc|bp) = (sp|pc|bp)", "reentersyscall.4.syscallsp"),
    _r(RE, r"if gp\.syscall(sp|bp) .*", AUX, SANITY),
    _r(RE, GCWAIT_IF + r"|systemstack\(func\(\) \{ entersyscallHandleGCWait\(trace\) \}\)",
       "reentersyscall26.9.gcwait"),
    _r(RE, CASG_IN + r"|casgstatus\(gp, _Grunning, _Gsyscall\)", "reentersyscall.5.casgstatus"),
    _r(RE, r"if staticLockRanking", AUX, "static lock ranking builds only"),
    _r(RE, SYSMONWAIT_IF + r"|systemstack\(entersyscallWakeSysmon\)",
       "reentersyscall.8.sysmon"),
    _r(RE, r"gp\.m\.locks--", "reentersyscall.13.locks"),
    # ---- exitsyscall ----
    *_common_aux(EX),
    _r(EX, r"gp\.m\.locks\+\+", "exitsyscall.1.locks"),
    _r(EX, r"if (sys\.GetCallerSP|getcallersp)\(\) > gp\.syscallsp", AUX, SANITY),
    _r(EX, r"gp\.waitsince = 0", AUX, "blocking-profile bookkeeping"),
    _r(EX, r"if sched\.stopwait == freezeStopWait", AUX, "freezetheworld (not modelled)"),
    _r(EX, CASG_OUT + r"|casgstatus\(gp, _Gsyscall, _Grunning\)", "exitsyscall.5.casgstatus"),
    _r(EX, r"if debugExtendGrunningNoP", AUX, DEBUG),
    _r(EX, r"oldp := gp\.m\.oldp\.ptr\(\)|gp\.m\.oldp\.set\(nil\)|pp := gp\.m\.p\.ptr\(\)",
       "exitsyscall26.7.mp"),
    _r(EX, r"if pp != nil", CALL),
    _r(EX, r"if trace := traceAcquire\(\); trace\.ok\(\)", AUX, TRACE),
    _r(EX, TRYGETP + r"|pp = gp\.m\.p\.ptr\(\)", "exitsyscallTryGetP.acquirep"),
    _r(EX, r"if goroutineProfile\.active", AUX, "goroutine profiler"),
    _r(EX, r"pp\.syscalltick\+\+", "exitsyscall26.8.tick"),
    _r(EX, r"gp\.syscallsp = 0", "exitsyscall.5.syscallsp", within=r"if pp != nil"),
    _r(EX, r"gp\.m\.locks--", "exitsyscall.5.locks", within=r"if pp != nil"),
    _r(EX, r"if gp\.preempt|gp\.stackguard0 = .*|gp\.throwsplit = false",
       "exitsyscall.5.stackguard", within=r"if pp != nil"),
    _r(EX, r"if sched\.disable\.user && !schedEnabled\(gp\)", AUX,
       "scheduling of user Gs disabled (not modelled)"),
    _r(EX, r"return", AUX, "end of the fast path", within=r"if pp != nil"),
    _r(EX, r"gp\.m\.locks--", "exitsyscall.6.locks", top=True),
    _r(EX, r"mcall\(exitsyscallNoP\)", CALL),
    _r(EX, r"gp\.syscallsp = 0|gp\.m\.p\.ptr\(\)\.syscalltick\+\+|gp\.throwsplit = false",
       "exitsyscall.8.resume", top=True),
    # ---- exitsyscallTryGetP ----
    _r(TG, r"if oldp != nil|if thread, ok := setBlockOnExitSyscall\(oldp\); ok"
       r"|thread\.takeP\(\)|decGSyscallNoP\(getg\(\)\.m\)|thread\.resume\(\)|return oldp",
       "exitsyscallTryGetP.stealOldP", within=r"if oldp != nil"),
    _r(TG, r"if oldp != nil", "exitsyscallTryGetP.stealOldP"),
    _r(TG, r"if sched\.pidle != 0", "exitsyscallTryGetP.pidle"),
    _r(TG, r"lock\(&sched\.lock\)|unlock\(&sched\.lock\)|pp, _ := pidleget\(0\)"
       r"|if pp != nil && sched\.sysmonwait\.Load\(\)|sched\.sysmonwait\.Store\(false\)"
       r"|notewakeup\(&sched\.sysmonnote\)|if pp != nil|decGSyscallNoP\(getg\(\)\.m\)"
       r"|return pp", "exitsyscallTryGetP.pidle", within=r"if sched\.pidle != 0"),
    _r(TG, r"return nil", "exitsyscallTryGetP.nopidle"),
    # ---- exitsyscallNoP ----
    *_common_aux(NOP),
    _r(NOP, r"casgstatus\(gp, _Grunning, _Grunnable\)|decGSyscallNoP\(getg\(\)\.m\)|dropg\(\)",
       "exitsyscallNoP.casgstatus"),
    _r(NOP, r"var pp \*p", AUX, LOCAL),
    _r(NOP, r"var locked bool|locked = gp\.lockedm != 0|if locked", AUX,
       "LockOSThread/lockedm (not modelled: gap R14)"),
    _r(NOP, r"globrunqput\(gp\)", "exitsyscall0.globrunqput", within=r"if pp == nil"),
    _r(NOP, r"if pp == nil|stopm\(\)|schedule\(\)", "exitsyscall0.globrunqput"),
    _r(NOP, r"lock\(&sched\.lock\)|unlock\(&sched\.lock\)|if schedEnabled\(gp\)"
       r"|pp, _ = pidleget\(0\)|if pp != nil|acquirep\(pp\)|execute\(gp, false\)|"
       + SYSMONWAIT_IF + r"|sched\.sysmonwait\.Store\(false\)|notewakeup\(&sched\.sysmonnote\)",
       "exitsyscall0.pidleget"),
    # ---- entersyscallblock ----
    *_common_aux(EB),
    _r(EB, r"gp\.m\.locks\+\+|gp\.throwsplit = true|gp\.stackguard0 = stackPreempt"
       r"|gp\.m\.syscalltick = gp\.m\.p\.ptr\(\)\.syscalltick"
       r"|gp\.m\.p\.ptr\(\)\.syscalltick\+\+", "entersyscallblock.1"),
    _r(EB, r"addGSyscallNoP\(gp\.m\)", "entersyscallblock.handoff"),
    _r(EB, r"(pc|sp|bp) := .*", AUX, LOCAL),
    _r(EB, r"save\(sys\.GetCallerPC\(\), sys\.GetCallerSP\(\), getcallerfp\(\)\)", AUX,
       "re-save for tracebacks during the blocked call (the model's handoff does not "
       "clobber g.sched)"),
    _r(EB, SAVE + r"|gp\.syscall(sp|pc|bp) = gp\.sched\.(sp|pc|bp)", "entersyscallblock.save"),
    _r(EB, r"if gp\.syscall(sp|bp) .*", AUX, SANITY),
    _r(EB, r"systemstack\(func\(\) \{ if trace\.ok\(\) \{ trace\.GoSysCall\(\) \} "
       r"handoffp\(releasep\(\)\) \}\)", "entersyscallblock.handoff"),
    _r(EB, r"if debugExtendGrunningNoP", AUX, DEBUG),
    _r(EB, r"casgstatus\(gp, _Grunning, _Gsyscall\)", "entersyscallblock.casgstatus"),
    _r(EB, r"gp\.m\.locks--", "entersyscallblock.locks"),
    # ---- retake ----
    *_common_aux(RT),
    _r(RT, r"n := 0|n\+\+|return uint32\(n\)", AUX, "count of retaken Ps (sysmon's backoff)"),
    _r(RT, r"(lock|unlock)\(&allpLock\)", AUX, "allpLock (procresize; not modelled)"),
    _r(RT, r"for i := 0; i < len\(allp\); i\+\+", CALL),
    _r(RT, r"pp := allp\[i\]|pd := &pp\.sysmontick|sysretake := false"
       r"|schedt := int64\(pp\.schedtick\)", AUX, "sysmon's loop over allp"),
    _r(RT, r"if int64\(pd\.schedtick\) != schedt", AUX,
       "preemption of long-running Gs (not modelled)"),
    _r(RT, r"if pp == nil \|\| atomic\.Load\(&pp\.status\) != _Prunning|continue"
       r"|incidlelocked\(-1\)", "retake.pick"),
    _r(RT, r"goto done", "retake.block.cas", within=r"if !ok"),
    _r(RT, r"thread, ok := setBlockOnExitSyscall\(pp\)|if !ok", "retake.block.cas"),
    _r(RT, r"if syst := int64\(pp\.syscalltick\); !sysretake && .*|if runqempty\(pp\) && .*",
       "retake.block.recheck"),
    _r(RT, r"pd\.syscalltick = uint32\(syst\)|pd\.syscallwhen = now|thread\.resume\(\)"
       r"|goto done", "retake.block.recheck",
       within=r"if syst := |if runqempty\(pp\)"),
    _r(RT, r"thread\.takeP\(\)|thread\.resume\(\)", "retake.takeP"),
    _r(RT, r"handoffp\(pp\)", "retake.handoffp"),
    _r(RT, r"done:", AUX, "label"),
    _r(RT, r"incidlelocked\(1\)", "retake.incidlelocked+"),
]

SCANBIT = Design(
    name="scanbit",
    entries={RE: [], EX: [Inline(TRYGETP, TG), Inline(r"mcall\(exitsyscallNoP\)", NOP)],
             EB: [], RT: []},
    routine_entry={"reentersyscall": RE, "exitsyscall": EX, "exitsyscallTryGetP": EX,
                   "exitsyscall.slow": EX, "entersyscallblock": EB, "retake": RT},
    rules=SCANBIT_RULES,
    anchors={"exitsyscallTryGetP.acquirep": "exitsyscallTryGetP.stealOldP"},
)
