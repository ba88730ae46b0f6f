"""Our own amd64 stubs proved on the bytes that run: the built stub library is loaded with
angr, each entry point is executed symbolically (entersys.proofs.machine) with the
`syscall` instruction returning symbolic kernel results and the enter/exit hooks replaced by
stand-ins that may clobber every caller-saved register, and every feasible path is checked:

- the stored (r1, r2, err) equal the model's mapping (entersys.model.errno) of the kernel's
  RAX/RDX, and the raw registers are recorded;
- the kernel sees the trap number and the spec's argument registers, the rest zeroed;
- hooked stubs (Go 1.14 placement, src/syscall/asm_linux_amd64.s) call a non-NULL enter hook
  before SYSCALL and a non-NULL exit hook after the three stores, each with hook_ctx as its
  argument and a 16-byte aligned stack; Raw stubs and es_map call nothing;
- the SysV ABI the ctypes layer relies on: rbx, rbp, r12-r15 and rsp are preserved.

A failing path is reported with concrete values and its source lines (DWARF)."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import z3
from entersys.model import errno as M
from entersys.model.stubs import StubSpec
from entersys.proofs import machine as MC
from entersys.proofs.z3ops import Z3
from entersys.results import CheckResult, Counterexample, Verdict

GROUP = "errno"
BLOCK = 0x1000_0000  # address of the es_block the stub receives in %rdi
HOOKS = {"enter": 0x2000_0000, "exit": 0x2000_1000}
# es_abi.h offsets
FIELDS = {"trap": 0, "a1": 8, "a2": 16, "a3": 24, "a4": 32, "a5": 40, "a6": 48, "r1": 56,
          "r2": 64, "err": 72, "raw_rax": 80, "raw_rdx": 88, "enter": 96, "exit": 104,
          "hook_ctx": 112}
BLOCK_SIZE = 120
CALLEE_SAVED = ("rbx", "rbp", "r12", "r13", "r14", "r15")
CALLER_SAVED = ("rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11")
KERNEL_ARGS = ("rdi", "rsi", "rdx", "r10", "r8", "r9")
SYSCALL_CLOBBERS = ("rcx", "r11")


class StubSourceError(Exception):
    """The given stub or mapping source does not build (one line for the user)."""


def build_library(map_include: Path | None, stubs: Path | None, out_dir: Path) -> Path:
    """Assemble a temporary library from the given sources (entersys.native.build)."""
    from entersys.native import build as B

    try:
        return B.build(out_dir / "libentersys_proved.so", map_include, stubs=stubs)
    except subprocess.CalledProcessError as e:
        raise StubSourceError(f"gcc cannot build it: {B.first_error(e.stderr)}") from None
    except RuntimeError as e:
        raise StubSourceError(str(e)) from None


def _callee(which: str) -> Any:
    """A SimProcedure standing in for a C hook: it notes the call (argument, stack pointer)
    and leaves every caller-saved register unknown, as the SysV ABI allows."""
    import angr
    import claripy

    class Hook(angr.SimProcedure):
        def run(self) -> None:  # type: ignore[override]
            st: Any = self.state
            ev = ("call", which, {"rdi": st.regs.rdi, "rsp": st.regs.rsp})
            st.globals["events"] = (*st.globals["events"], ev)
            for r in CALLER_SAVED:
                setattr(st.regs, r, claripy.BVS(f"clobbered_{which}_{r}", 64))

    return Hook(display_name=f"{which}_hook")


@dataclass
class StubPaths:
    symbol: str
    run: MC.Run
    block: dict[str, z3.ExprRef]    # the block's fields at entry
    kernel: tuple[z3.ExprRef, z3.ExprRef]  # (RAX, RDX) the kernel returns
    regs: dict[str, z3.ExprRef]     # callee-saved registers and rsp at entry


def symexec_stub(lib: Path, symbol: str, max_steps: int = 200) -> StubPaths:
    """Run `symbol` of the library at `lib` from entry to return, on a symbolic block."""
    import angr
    import claripy

    proj = MC.load(str(lib))
    fn = MC.find_function(proj, [symbol])
    k_rax, k_rdx = (claripy.BVS(n, 64, explicit_name=True) for n in ("k_rax", "k_rdx"))
    block = {f: claripy.BVS(f"block.{f}" if f not in ("r1", "r2", "err") else f"old.{f}", 64,
                            explicit_name=True) for f in FIELDS}
    entry: dict[str, Any] = {}

    def setup(st: Any) -> dict[str, Any]:
        st.regs.rdi = claripy.BVV(BLOCK, 64)
        for f, off in FIELDS.items():
            st.memory.store(BLOCK + off, block[f], endness="Iend_LE")
        for h, addr in HOOKS.items():
            st.add_constraints(claripy.Or(block[h] == 0, block[h] == addr))
        for r in CALLEE_SAVED:
            entry[r] = claripy.BVS(f"entry.{r}", 64, explicit_name=True)
            setattr(st.regs, r, entry[r])
        entry["rsp"] = st.regs.rsp  # 8 mod 16 here: the caller's call pushed 8 bytes
        st.inspect.b("mem_write", when=angr.BP_AFTER, action=_note_store)
        return {}

    def on_trap(st: Any, _n: int) -> None:
        st.regs.rax, st.regs.rdx = k_rax, k_rdx
        for r in SYSCALL_CLOBBERS:  # SYSCALL itself overwrites RCX and R11
            setattr(st.regs, r, claripy.BVS(f"syscall_{r}", 64))

    def outputs(st: Any) -> dict[str, Any]:
        out = {f: st.memory.load(BLOCK + FIELDS[f], 8, endness="Iend_LE")
               for f in ("r1", "r2", "err", "raw_rax", "raw_rdx")}
        out.update({f"exit.{r}": getattr(st.regs, r) for r in (*CALLEE_SAVED, "rsp")})
        return out

    run = MC.symexec(proj, fn, setup=setup, on_trap=on_trap, outputs=outputs,
                     sp=0x7FFF_0000,  # 16-byte aligned before the call, as SysV requires
                     trap_regs=("rax", *KERNEL_ARGS),
                     callees={a: _callee(h) for h, a in HOOKS.items()}, max_steps=max_steps)
    z = MC.to_z3
    return StubPaths(symbol, run, {f: z(v) for f, v in block.items()}, (z(k_rax), z(k_rdx)),
                     {r: z(v) for r, v in entry.items()})


def _note_store(st: Any) -> None:
    addr = st.inspect.mem_write_address
    if addr is None or addr.symbolic:
        return
    a = st.solver.eval(addr)
    if BLOCK <= a < BLOCK + BLOCK_SIZE:
        name = next((f for f, off in FIELDS.items() if off == a - BLOCK), f"+{a - BLOCK}")
        st.globals["events"] = (*st.globals["events"], ("store", name, {}))


def _hex(v: int) -> str:
    return f"0x{v & M.MASK64:016x} ({M.to_signed(v)})"


def claims(sp: StubPaths, spec: StubSpec | None) -> list[tuple[str, z3.BoolRef, MC.PathEnd]]:
    """(title, claim, path) for every property of every returned path; `spec` None is the
    mapping-only entry es_map."""
    out: list[tuple[str, z3.BoolRef, MC.PathEnd]] = []
    b = sp.block
    mapping = spec.mapping if spec else "go"
    for e in sp.run.ends:
        c = e.cond
        traps = [ev for ev in e.events if ev[0] == "trap"]
        calls = [(i, ev) for i, ev in enumerate(e.events) if ev[0] == "call"]
        stores = {ev[1]: i for i, ev in enumerate(e.events) if ev[0] == "store"}
        if spec is None:
            rax, rdx = b["raw_rax"], b["raw_rdx"]
            out.append(("makes no system call and calls no hook",
                        z3.Implies(c, z3.BoolVal(not traps and not calls)), e))
        else:
            rax, rdx = sp.kernel
            out.append(("one SYSCALL on the path", z3.Implies(c, z3.BoolVal(len(traps) == 1)),
                        e))
            if len(traps) == 1:
                seen = traps[0][2]
                out.append(("RAX at SYSCALL is the trap number",
                            z3.Implies(c, seen["rax"] == b["trap"]), e))
                for n, r in enumerate(KERNEL_ARGS, 1):
                    want = b[f"a{n}"] if n <= spec.nargs else z3.BitVecVal(0, 64)
                    out.append((f"%{r} at SYSCALL is {f'a{n}' if n <= spec.nargs else 0}",
                                z3.Implies(c, seen[r] == want), e))
                out.append(("the kernel's RAX/RDX are recorded",
                            z3.Implies(c, z3.And(e.outputs["raw_rax"] == rax,
                                                 e.outputs["raw_rdx"] == rdx)), e))
        trap_i = next((i for i, ev in enumerate(e.events) if ev[0] == "trap"), None)
        for i, (_, which, vals) in calls:
            out.append((f"{which} hook called with hook_ctx in %rdi",
                        z3.Implies(c, vals["rdi"] == b["hook_ctx"]), e))
            out.append((f"stack 16-byte aligned at the {which} hook call",
                        z3.Implies(c, z3.Extract(3, 0, vals["rsp"]) == 8), e))
            if spec is None or not spec.hooks:
                out.append((f"{'es_map' if spec is None else 'a Raw stub'} calls no hook "
                            f"({which} called)", z3.Implies(c, z3.BoolVal(False)), e))
            elif which == "enter":
                out.append(("enter hook called before SYSCALL",
                            z3.Implies(c, z3.BoolVal(trap_i is not None and i < trap_i)), e))
            else:
                last = max(stores.get(f, 10**9) for f in ("r1", "r2", "err"))
                out.append(("exit hook called after r1, r2 and err are stored",
                            z3.Implies(c, z3.BoolVal(last < i)), e))
        if spec is not None and spec.hooks:
            for h in ("enter", "exit"):
                called = any(which == h for _, (_, which, _) in calls)
                out.append((f"the {h} hook is called exactly when it is not NULL",
                            z3.Implies(c, (b[h] != 0) == z3.BoolVal(called)), e))
        for r in (*CALLEE_SAVED,):
            out.append((f"callee-saved %{r} preserved",
                        z3.Implies(c, e.outputs[f"exit.{r}"] == sp.regs[r]), e))
        out.append(("%rsp restored at return",
                    z3.Implies(c, e.outputs["exit.rsp"] == sp.regs["rsp"] + 8), e))
        want = M.MAPPINGS[mapping](rax, rdx, Z3)
        out.append((f"(r1, r2, err) is the model's {mapping} mapping of RAX/RDX",
                    z3.Implies(c, z3.And(e.outputs["r1"] == want.r1, e.outputs["r2"] == want.r2,
                                         e.outputs["err"] == want.err)), e))
    if sp.run.ends:
        # every block whose hook pointers are NULL or our stand-ins' addresses
        pre = z3.And(*[z3.Or(b[h] == 0, b[h] == z3.BitVecVal(a, 64)) for h, a in HOOKS.items()])
        out.append(("every input takes a returning path",
                    z3.Implies(pre, z3.Or(*[e.cond for e in sp.run.ends])), sp.run.ends[0]))
    return out


def prove_stub(lib: Path, symbol: str, spec: StubSpec | None, timeout_ms: int,
               replay: str, max_steps: int = 200,
               ) -> tuple[Verdict, Counterexample | None, dict[str, Any]]:
    """Verdict of one entry point: holds, refuted (first failing claim, with a model and
    the path's source lines) or unknown (a solver timeout, or a path cut off)."""
    sp = symexec_stub(lib, symbol, max_steps)
    details: dict[str, Any] = {"paths": len(sp.run.ends), "capped": sp.run.capped}
    unknown = []
    if sp.run.capped or sp.run.errored:
        unknown.append(f"{sp.run.capped} path(s) cut off by the step cap; "
                       + "; ".join(sp.run.errored[:2]))
    if not sp.run.ends:
        return Verdict.UNKNOWN, Counterexample(summary=f"{symbol}: no path returned; "
                                               + "; ".join(unknown)), details
    cl = claims(sp, spec)
    # One query for the whole conjunction; claim by claim only to name what fails.
    if not unknown and MC.prove(z3.And(*[c for _, c, _ in cl]), timeout_ms)[0] == "holds":
        return Verdict.HOLDS, None, details
    refuted: list[str] = []
    cex = None
    for title, claim, path in cl:
        v, model = MC.prove(claim, timeout_ms)
        if v == "refuted" and model is not None:
            if cex is None:
                cex = _cex(lib, sp, path, model, f"{symbol}: {title} is refuted", replay)
            if title not in refuted:
                refuted.append(title)
        if v == "unknown":
            unknown.append(f"{title}: solver unknown within {timeout_ms} ms")
    if cex is not None:
        cex.values["refuted claims"] = refuted
        return Verdict.REFUTED, cex, details
    if unknown:
        details["unknown"] = unknown
        return Verdict.UNKNOWN, Counterexample(summary=f"{symbol}: " + unknown[0]), details
    return Verdict.HOLDS, None, details


def _cex(lib: Path, sp: StubPaths, path: MC.PathEnd, model: z3.ModelRef, summary: str,
         replay: str) -> Counterexample:
    def val(t: z3.ExprRef) -> int:
        return model.eval(t, model_completion=True).as_long()  # type: ignore[attr-defined]

    rax, rdx = sp.kernel if any(k == "trap" for k, _, _ in path.events) else (
        sp.block["raw_rax"], sp.block["raw_rdx"])  # es_map maps the block's raw fields
    vals: dict[str, Any] = {"RAX": _hex(val(rax)), "RDX": _hex(val(rdx))}
    for f in ("r1", "r2", "err"):
        vals[f"stub.{f}"] = _hex(val(path.outputs[f]))
    for h in ("enter", "exit"):
        vals[f"block.{h}"] = f"{val(sp.block[h]):#x}"
    vals["events"] = " -> ".join(f"{k} {n}" for k, n, _ in path.events)
    obj = MC.load(str(lib)).loader.main_object
    rel = [a - obj.mapped_base + obj.linked_base for a in path.trace]
    lines = MC.source_lines(lib, rel)
    vals["blocks"] = " -> ".join(f"{a:#x}" for a in rel if a < obj.max_addr - obj.mapped_base)
    if lines:  # the source lines of the blocks the path ran, in order
        vals["path"] = " -> ".join(dict.fromkeys(lines[a] for a in rel if a in lines))
    return Counterexample(summary=summary, values=vals, replay=replay)


def library_sha256(lib: Path) -> str:
    return hashlib.sha256(lib.read_bytes()).hexdigest()


def stub_proofs(map_include: Path | None = None, stubs: Path | None = None,
                timeout_ms: int = 10_000, lib: Path | None = None,
                only: list[str] | None = None) -> list[CheckResult]:
    """One record per entry point (errno.stub.<symbol>; `only` these symbols), proved on
    `lib`, or on the loaded library when no source is given, or on a temporary build of the
    given sources. Raises StubSourceError when those do not build or lack an entry point."""
    import time

    from entersys.native import ASM_STUBS, NativeLibraryMissing, find_library

    replay = "entersys verify --only errno" + (f" --asm {map_include}" if map_include else "") \
        + (f" --stubs {stubs}" if stubs else "")
    with tempfile.TemporaryDirectory(prefix="entersys-proof-") as tmp:
        if lib is None and map_include is None and stubs is None:
            try:
                lib = find_library()
            except NativeLibraryMissing:
                lib = None
        entries: list[tuple[str, StubSpec | None]] = [*ASM_STUBS.items(), ("es_map", None)]
        entries = [(s, spec) for s, spec in entries if only is None or s in only]
        if lib is None:
            lib = build_library(map_include, stubs, Path(tmp))
            try:
                for symbol, _ in entries:
                    MC.find_function(MC.load(str(lib)), [symbol])
            except MC.MachineError:
                raise StubSourceError(f"the built library has no entry point {symbol}") from None
        sha = library_sha256(lib)
        out = []
        for symbol, spec in entries:
            t0 = time.perf_counter()
            try:
                verdict, cex, details = prove_stub(lib, symbol, spec, timeout_ms, replay)
            except MC.MachineError as e:
                verdict, cex, details = (Verdict.ERROR, Counterexample(summary=str(e)), {})
            details.update(library=str(lib), sha256=sha)
            title = (f"{symbol}: the bytes store Go's {spec.mapping if spec else 'go'} mapping"
                     + (f"; {spec.nargs} args; "
                        + ("enter/exit hooks in Go 1.14 placement" if spec.hooks else "no hooks")
                        if spec else "; mapping-only entry") + "; SysV ABI kept")
            out.append(CheckResult(f"errno.stub.{symbol}", GROUP, title, "proof", verdict,
                                   Verdict.HOLDS, time.perf_counter() - t0, cex, details))
        return out
