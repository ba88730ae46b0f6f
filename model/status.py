"""Go's G and P status values (runtime2.go) and the allowed status transitions of the spec
(shared/spec/go-runtime-syscall.md sections 1-2), which the derived graphs are checked
against."""

from __future__ import annotations

# G statuses (runtime2.go; values identical V14-V27).
_Gidle, _Grunnable, _Grunning, _Gsyscall, _Gwaiting = 0, 1, 2, 3, 4
_Gdead, _Gcopystack, _Gpreempted = 6, 8, 9
_Gscan = 0x1000
_Gscanrunnable, _Gscanrunning, _Gscansyscall, _Gscanwaiting = 0x1001, 0x1002, 0x1003, 0x1004

# P statuses.
_Pidle, _Prunning, _Psyscall, _Pgcstop, _Pdead = 0, 1, 2, 3, 4

G_NAMES = {_Gidle: "_Gidle", _Grunnable: "_Grunnable", _Grunning: "_Grunning",
           _Gsyscall: "_Gsyscall", _Gwaiting: "_Gwaiting", _Gdead: "_Gdead",
           _Gcopystack: "_Gcopystack", _Gpreempted: "_Gpreempted",
           _Gscanrunnable: "_Gscanrunnable", _Gscanrunning: "_Gscanrunning",
           _Gscansyscall: "_Gscansyscall", _Gscanwaiting: "_Gscanwaiting"}
P_NAMES = {_Pidle: "_Pidle", _Prunning: "_Prunning", _Psyscall: "_Psyscall",
           _Pgcstop: "_Pgcstop", _Pdead: "_Pdead"}

# Allowed transitions touched by the syscall path (spec 2.1 old design, T1-T13, plus the
# scheduler transitions the model's coarse steps make). Edges not listed are disallowed.
ALLOWED_G_OLD = {
    (_Grunnable, _Grunning),      # execute
    (_Grunning, _Grunnable),      # gosched / preemption
    (_Grunning, _Gsyscall),       # T1 reentersyscall, entersyscallblock
    (_Gsyscall, _Grunning),       # T10 exitsyscall fast path
    (_Gsyscall, _Grunnable),      # T11 exitsyscall0
    (_Gsyscall, _Gscansyscall),   # T12 GC scan
    (_Gscansyscall, _Gsyscall),
    (_Grunnable, _Gscanrunnable),  # GC scan of a queued G
    (_Gscanrunnable, _Grunnable),
}
ALLOWED_P_OLD = {
    (_Pidle, _Prunning),      # acquirep / wirep
    (_Prunning, _Pidle),      # releasep + pidleput (stopm, handoffp)
    (_Prunning, _Psyscall),   # T2
    (_Psyscall, _Pgcstop),    # T3 (self), T6 (W)
    (_Psyscall, _Pidle),      # T4/T8 fast reacquire, T5 retake, T7 forEachP
    (_Pidle, _Pgcstop),       # W stops idle Ps
    (_Prunning, _Pgcstop),    # gcstopm, handoffp with gcwaiting
    (_Pgcstop, _Pidle),       # startTheWorld
}
# Transitions the spec documents for the syscall path that every faithful model must
# produce (a documented edge that no step produces is a finding).
REQUIRED_P_OLD = {(_Prunning, _Psyscall), (_Psyscall, _Pgcstop), (_Psyscall, _Pidle),
                  (_Pidle, _Prunning)}
REQUIRED_G_OLD = {(_Grunning, _Gsyscall), (_Gsyscall, _Grunning), (_Gsyscall, _Grunnable),
                  (_Gsyscall, _Gscansyscall), (_Gscansyscall, _Gsyscall)}

# New design (Go 1.26+, spec 2.2 N1-N9): no _Psyscall; the syscall G's scan bit is the lock.
ALLOWED_G_NEW = {
    (_Grunnable, _Grunning),      # execute
    (_Grunning, _Grunnable),      # gosched / preemption; N8 exitsyscallNoP
    (_Grunning, _Gsyscall),       # N1 reentersyscall; entersyscallblock after handoffp
    (_Gsyscall, _Grunning),       # N6 exitsyscall: first thing
    (_Gsyscall, _Gscansyscall),   # N3 setBlockOnExitSyscall; T12 GC scan
    (_Gscansyscall, _Gsyscall),   # N5 resume; the GC's release
    (_Grunnable, _Gscanrunnable),
    (_Gscanrunnable, _Grunnable),
}
ALLOWED_P_NEW = {
    (_Pidle, _Prunning),      # acquirep / wirep
    (_Prunning, _Pidle),      # releasep + pidleput; N4 takeP
    (_Prunning, _Pgcstop),    # N2 entersyscallHandleGCWait; N4 gcstopP; gcstopm; handoffp
    (_Pidle, _Pgcstop),       # W stops idle Ps; handoffp of a taken P with gcwaiting
    (_Pgcstop, _Pidle),       # startTheWorld
}
REQUIRED_G_NEW = {(_Grunning, _Gsyscall), (_Gsyscall, _Grunning), (_Grunning, _Grunnable),
                  (_Gsyscall, _Gscansyscall), (_Gscansyscall, _Gsyscall)}
REQUIRED_P_NEW = {(_Pidle, _Prunning), (_Prunning, _Pidle), (_Prunning, _Pgcstop)}
# The tables of each design: (allowed G, allowed P, required G, required P).
TABLES = {"psyscall": (ALLOWED_G_OLD, ALLOWED_P_OLD, REQUIRED_G_OLD, REQUIRED_P_OLD),
          "scanbit": (ALLOWED_G_NEW, ALLOWED_P_NEW, REQUIRED_G_NEW, REQUIRED_P_NEW)}
