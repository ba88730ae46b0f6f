"""One machine-code engine for the errno proofs: load an ELF with angr (cle), find one
function by symbol, lift its bytes (pyvex, or pypcode for loong64) and execute them
symbolically to its return, with the system-call instruction hooked to hand back symbolic
kernel results.

The engine knows nothing about errno: it returns, for every path that reached the caller,
the path condition and the values of the requested output locations, as Z3 terms (through
claripy's Z3 backend), so the callers state and prove their claims with their own timeouts.
A path cut off by the step cap is reported (`Run.capped`), never silently dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import z3

#: Mnemonics of the trap instruction, as capstone/sleigh print them, for every Go GOARCH.
TRAP_MNEMONICS = frozenset({"syscall", "int", "svc", "swi", "ecall", "sc"})
SENTINEL_RET = 0x5E5E_0000  # where the function "returns to": an unmapped address


class MachineError(Exception):
    """The ELF or the function cannot be analysed (no such symbol, no trap, bad file)."""


def quiet_angr() -> None:
    """angr logs warnings for every unconstrained register read; keep reports clean."""
    for name in ("angr", "cle", "pyvex", "claripy", "archinfo", "pypcode"):
        logging.getLogger(name).setLevel(logging.ERROR)


@lru_cache(maxsize=32)
def load(path: str) -> Any:
    """angr.Project of the ELF at `path` (no shared libraries). Raises MachineError."""
    import angr

    quiet_angr()
    try:
        return angr.Project(path, auto_load_libs=False, load_debug_info=False)
    except Exception as e:  # noqa: BLE001 - cle raises many kinds for a bad file
        raise MachineError(f"{path}: not a loadable ELF ({type(e).__name__}: {e})") from None


@dataclass(frozen=True)
class Function:
    """One function of a loaded ELF: its symbol, address, size and bytes."""

    name: str
    addr: int
    size: int


def find_function(proj: Any, names: list[str]) -> Function:
    """The first symbol of `names` (exact names) that the ELF defines, with its extent."""
    syms = {s.name: s for s in proj.loader.main_object.symbols if s.is_function or s.size}
    for n in names:
        s = syms.get(n)
        if s is not None and s.size:
            return Function(n, s.rebased_addr, s.size)
    raise MachineError(f"none of {', '.join(names)} is a function symbol of "
                       f"{proj.loader.main_object.binary}")


@dataclass(frozen=True)
class Insn:
    addr: int
    size: int
    mnemonic: str
    op_str: str


def instructions(proj: Any, fn: Function) -> list[Insn]:
    """The function's instructions in address order (capstone, or sleigh for loong64)."""
    out: list[Insn] = []
    addr, end = fn.addr, fn.addr + fn.size
    while addr < end:
        try:
            insns = proj.factory.block(addr, size=end - addr).disassembly.insns
        except Exception:  # noqa: BLE001 - padding or a literal pool after the last return
            insns = []
        if not insns:
            if not out:
                raise MachineError(f"{fn.name}: cannot decode at {addr:#x}")
            break  # the symbolic run reports any path that reaches undecodable bytes
        for i in insns:
            if i.address < end:
                out.append(Insn(i.address, i.size, i.mnemonic, i.op_str))
        addr = insns[-1].address + insns[-1].size
    return out


def trap_sites(proj: Any, fn: Function) -> list[Insn]:
    """The system-call instructions of `fn` (x86 `int` only with 0x80)."""
    return [i for i in instructions(proj, fn) if i.mnemonic in TRAP_MNEMONICS
            and (i.mnemonic != "int" or i.op_str.strip() in ("0x80", "128"))]


@dataclass
class PathEnd:
    """One path that returned: its condition and the requested outputs, as Z3 terms."""

    cond: z3.BoolRef
    outputs: dict[str, z3.ExprRef]
    traps: list[dict[str, z3.ExprRef]]  # registers seen at each trap, in order
    trace: list[int]  # block addresses, in order
    events: list[tuple[str, str, dict[str, z3.ExprRef]]] = field(default_factory=list)


@dataclass
class Run:
    """All paths of one symbolic run: those that returned, and how many were cut off."""

    ends: list[PathEnd]
    capped: int = 0
    errored: list[str] = field(default_factory=list)
    inputs: dict[str, z3.ExprRef] = field(default_factory=dict)


def to_z3(ast: Any) -> Any:
    import claripy

    return claripy.backends.z3.convert(ast)


def symexec(proj: Any, fn: Function, *,
            setup: Callable[[Any], dict[str, Any]],
            on_trap: Callable[[Any, int], None],
            outputs: Callable[[Any], dict[str, Any]],
            trap_regs: tuple[str, ...] = (),
            link_reg: str | None = None,
            callees: dict[int, Any] | None = None,
            sp: int | None = None,
            max_steps: int = 200) -> Run:
    """Run `fn` symbolically from its entry to its return.

    `setup(state)` places the inputs (registers, stack) and returns them by name as claripy
    terms; each trap instruction is replaced by `on_trap(state, n)` (n counts the traps on
    that path) after the registers named in `trap_regs` are recorded; `outputs(state)` reads
    the results at the return. `sp`, if given, is the stack pointer in the caller before the
    call. The return address is SENTINEL_RET, in `link_reg` if the arch
    has a link register, else pushed on the stack. `callees` maps addresses to angr
    SimProcedures standing in for the functions called there (hooks of our stubs). Callers
    may append `(kind, name, {field: claripy term})` to `state.globals["events"]`; they come
    back in order on each PathEnd. Steps are basic blocks, cut at every trap
    so that its hook runs; a path still running after `max_steps` counts in `Run.capped`.
    """
    import angr
    import claripy

    o = angr.options
    state = proj.factory.blank_state(
        addr=fn.addr,
        add_options={o.SYMBOL_FILL_UNCONSTRAINED_REGISTERS, o.SYMBOL_FILL_UNCONSTRAINED_MEMORY})
    w = proj.arch.bits
    if sp is not None:  # the stack pointer before the call (x86: before the push)
        state.regs.sp = claripy.BVV(sp, w)
    if link_reg is not None:
        setattr(state.regs, link_reg, claripy.BVV(SENTINEL_RET, w))
    else:
        state.stack_push(claripy.BVV(SENTINEL_RET, w))
    inputs = setup(state)
    state.globals["traps"] = ()
    if "events" not in state.globals:
        state.globals["events"] = ()
    sites = {i.addr: i for i in trap_sites(proj, fn)}  # none: the callers' claims say

    def make_hook(site: Insn) -> Callable[[Any], None]:
        def hook(st: Any) -> None:
            seen = {r: getattr(st.regs, r) for r in trap_regs}
            n = len(st.globals["traps"])
            st.globals["traps"] = (*st.globals["traps"], seen)
            st.globals["events"] = (*st.globals["events"], ("trap", site.mnemonic, seen))
            on_trap(st, n)
        return hook

    hooked = []
    for a, site in sites.items():
        proj.hook(a, make_hook(site), length=site.size, replace=True)
        hooked.append(a)
    for a, proc in (callees or {}).items():
        proj.hook(a, proc, replace=True)
        hooked.append(a)
    try:
        stops = set(sites)
        simgr = proj.factory.simulation_manager(state)
        ends: list[PathEnd] = []
        steps = 0
        while simgr.active and steps < max_steps:
            simgr.step(extra_stop_points=stops)
            steps += 1
            done = [s for s in simgr.active if s.addr == SENTINEL_RET]
            for s in done:
                ends.append(PathEnd(
                    cond=z3.And(*[to_z3(c) for c in s.solver.constraints]) if
                    s.solver.constraints else z3.BoolVal(True),
                    outputs={k: to_z3(v) for k, v in outputs(s).items()},
                    traps=[{k: to_z3(v) for k, v in t.items()} for t in s.globals["traps"]],
                    trace=list(s.history.bbl_addrs),
                    events=[(k, n, {f: to_z3(v) for f, v in vals.items()})
                            for k, n, vals in s.globals["events"]]))
            simgr.move("active", "done", lambda s: s.addr == SENTINEL_RET)
        errored = [f"{e.state.addr:#x}: {e.error}" for e in simgr.errored]
        errored += [f"after {[hex(a) for a in s.history.bbl_addrs][-3:]}: jump to an unknown "
                    f"target {s.regs.ip}" for s in simgr.unconstrained]
        return Run(ends, capped=len(simgr.active), errored=errored,
                   inputs={k: to_z3(v) for k, v in inputs.items()})
    finally:
        for a in hooked:
            proj.unhook(a)


def prove(claim: z3.BoolRef, timeout_ms: int) -> tuple[str, z3.ModelRef | None]:
    """("holds", None), ("refuted", model) or ("unknown", None) within `timeout_ms`."""
    s = z3.Solver()
    s.set("timeout", max(1, int(timeout_ms)))
    s.add(z3.Not(claim))
    r = s.check()
    if r == z3.unsat:
        return "holds", None
    if r == z3.sat:
        return "refuted", s.model()
    return "unknown", None


def merge(ends: list[PathEnd], key: str) -> z3.ExprRef:
    """One term for output `key` over all returned paths: If(cond1, v1, If(cond2, v2, ...))."""
    term = ends[-1].outputs[key]
    for e in reversed(ends[:-1]):
        term = z3.If(e.cond, e.outputs[key], term)
    return term


def source_lines(path: Path, addrs: list[int]) -> dict[int, str]:
    """addr -> "file:line" from the DWARF line table of `path` (pyelftools); empty if none."""
    from elftools.elf.elffile import ELFFile

    out: dict[int, str] = {}
    want = sorted(set(addrs))
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        if not elf.has_dwarf_info():
            return out
        dwarf = elf.get_dwarf_info()
        for cu in dwarf.iter_CUs():
            lp = dwarf.line_program_for_CU(cu)
            if lp is None:
                continue
            files = lp["file_entry"]
            prev = None
            for ent in lp.get_entries():
                st = ent.state
                if st is None:
                    continue
                if prev is not None:
                    for a in want:
                        if prev.address <= a < st.address and a not in out:
                            idx = prev.file - 1 if lp.header.version < 5 else prev.file
                            name = files[idx].name if 0 <= idx < len(files) else b"?"
                            out[a] = f"{Path(name.decode(errors='replace')).name}:{prev.line}"
                prev = None if st.end_sequence else st
    return out
