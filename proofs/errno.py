"""Z3 proofs of the errno mapping: Go's rule over all 2^64 RAX values, its one divergence
from Linux/glibc, and the equivalence of our own assembly (read and executed symbolically
by entersys.proofs.asm) with the model, stub by stub."""

from __future__ import annotations

import hashlib
from pathlib import Path

import z3
from entersys.model import errno as M
from entersys.model.stubs import StubSpec
from entersys.proofs.asm import AsmError, Path_, SymExec, read_macro, read_program
from entersys.proofs.z3ops import Z3, bv
from entersys.results import CheckResult, Counterexample, Verdict, timed

GROUP = "errno"
NATIVE_DIR = Path(__file__).resolve().parent.parent / "native"


def _hex(v: int) -> str:
    return f"0x{v & M.MASK64:016x} ({M.to_signed(v)})"


def _prove(claim: z3.BoolRef, timeout_ms: int) -> tuple[Verdict, z3.ModelRef | None]:
    s = z3.Solver()
    s.set("timeout", timeout_ms)
    s.add(z3.Not(claim))
    r = s.check()
    if r == z3.unsat:
        return Verdict.HOLDS, None
    if r == z3.sat:
        return Verdict.REFUTED, s.model()
    return Verdict.UNKNOWN, None


def _val(m: z3.ModelRef, e: z3.ExprRef) -> int:
    return m.eval(e, model_completion=True).as_long()


def _mapping_cex(m: z3.ModelRef, rax: z3.ExprRef, rdx: z3.ExprRef, what: str) -> Counterexample:
    r, d = _val(m, rax), _val(m, rdx)
    mapped = M.go_map(r, d)
    return Counterexample(
        summary=f"{what} fails at RAX={_hex(r)}",
        values={"RAX": _hex(r), "RDX": _hex(d), "go.r1": _hex(mapped.r1),
                "go.r2": _hex(mapped.r2), "go.err": mapped.err,
                "linux_error": M.linux_is_error(r)},
        replay=("python -c 'from entersys.model.errno import go_map; "
                f"print(go_map({r:#x}, {d:#x}))'"),
    )


def model_proofs(timeout_ms: int = 10_000) -> list[CheckResult]:
    """The properties of entersys.model.errno.go_map over all 2^64 (RAX, RDX)."""
    rax, rdx = bv("RAX"), bv("RDX")
    go = M.go_map(rax, rdx, Z3)
    err_range = z3.UGE(rax, z3.BitVecVal(M.LINUX_ERR_LO + 1, 64))
    is_err = go.err != 0
    lin = M.linux_is_error(rax, Z3)
    claims: list[tuple[str, str, z3.BoolRef, Verdict]] = [
        ("errno.go-error-range", "Go's mapping is an error exactly for RAX in [2^64-4094, 2^64-1]",
         is_err == err_range, Verdict.HOLDS),
        ("errno.go-error-values", "on error: err in [1, 4094], r1 = 2^64-1, r2 = 0",
         z3.Implies(is_err, z3.And(z3.UGE(go.err, 1), z3.ULE(go.err, 4094),
                                   go.r1 == z3.BitVecVal(M.MASK64, 64), go.r2 == 0)),
         Verdict.HOLDS),
        ("errno.go-success-values", "on success: r1 = RAX, r2 = RDX",
         z3.Implies(z3.Not(is_err), z3.And(go.r1 == rax, go.r2 == rdx)), Verdict.HOLDS),
        ("errno.r1-max-iff-err", "r1 = 2^64-1 iff err != 0",
         (go.r1 == z3.BitVecVal(M.MASK64, 64)) == is_err, Verdict.HOLDS),
        ("errno.go-agrees-with-linux",
         "Go's error test agrees with Linux/glibc for every RAX (expected: refuted at -4095)",
         is_err == lin, Verdict.REFUTED),
        ("errno.divergence-unique", "Go and Linux disagree only at RAX = 2^64-4095",
         z3.Implies(is_err != lin, rax == z3.BitVecVal(M.DIVERGENCE, 64)), Verdict.HOLDS),
    ]
    out = []
    for cid, title, claim, expected in claims:
        with timed() as t:
            verdict, model = _prove(claim, timeout_ms)
        cex = _mapping_cex(model, rax, rdx, title) if model is not None else None
        if cid == "errno.go-agrees-with-linux" and model is not None and cex is not None:
            cex.summary = (f"expected divergence: RAX={_hex(_val(model, rax))} is success for Go "
                           "(JLS: unsigned <=) and an error (errno 4095) for Linux and glibc")
        out.append(CheckResult(cid, GROUP, title, "proof", verdict, expected, t(), cex))
    return out


# ---- our assembly -------------------------------------------------------------------------

def _asm_cex(m: z3.ModelRef, p: Path_, inputs: tuple[z3.ExprRef, z3.ExprRef], symbol: str,
             mapping: str, map_include: Path) -> Counterexample:
    r, d = (_val(m, x) for x in inputs)
    want = M.MAPPINGS[mapping](r, d)
    got = {k: _val(m, p.mem[k]) if k in p.mem else None for k in ("r1", "r2", "err")}
    return Counterexample(
        summary=f"{symbol}: assembly and model disagree at RAX={_hex(r)}",
        values={"RAX": _hex(r), "RDX": _hex(d),
                "asm.r1": _hex(got["r1"]) if got["r1"] is not None else "not stored",
                "asm.r2": _hex(got["r2"]) if got["r2"] is not None else "not stored",
                "asm.err": got["err"],
                "model.r1": _hex(want.r1), "model.r2": _hex(want.r2), "model.err": want.err},
        replay=f"entersys verify --only errno --asm {map_include}",
    )


def _shape_problems(paths: list[Path_], spec: StubSpec | None, sx: SymExec) -> list[str]:
    """Go 1.14 placement: enter hook before SYSCALL; results stored before the exit hook,
    on every path; no hook at all for Raw; argument registers as the spec says."""
    problems = []
    enter, exitp = sx.input("enter"), sx.input("exit")
    for p in paths:
        kinds = [e.kind for e in p.events]
        calls = [(i, e.what) for i, e in enumerate(p.events) if e.kind == "call"]
        sys_i = [i for i, k in enumerate(kinds) if k == "syscall"]
        if spec is None:  # mapping-only entry
            if sys_i or calls:
                problems.append("the mapping entry must make no system call and call no hook")
            continue
        if len(sys_i) != 1:
            problems.append(f"{len(sys_i)} SYSCALL instructions on one path")
            continue
        si = sys_i[0]
        regs = p.events[si].what
        want = {"rax": sx.input("trap")}
        for n, r in enumerate(["rdi", "rsi", "rdx", "r10", "r8", "r9"], 1):
            want[r] = sx.input(f"a{n}") if n <= spec.nargs else z3.BitVecVal(0, 64)
        for r, v in want.items():
            if _prove(z3.Implies(p.cond, regs[r] == v), 5000)[0] != Verdict.HOLDS:
                problems.append(f"%{r} at SYSCALL is not {v}")
        stores = [i for i, e in enumerate(p.events) if e.kind == "store" and e.what in
                  ("r1", "r2", "err")]
        if not spec.hooks:
            if calls:
                problems.append("a Raw stub calls a hook")
            continue
        for i, target in calls:
            is_enter = _prove(z3.Implies(p.cond, target == enter), 5000)[0] == Verdict.HOLDS
            is_exit = _prove(z3.Implies(p.cond, target == exitp), 5000)[0] == Verdict.HOLDS
            if is_enter and i > si:
                problems.append("enter hook called after SYSCALL")
            if is_exit and (not stores or i < max(stores)):
                problems.append("exit hook called before the results are stored")
            if not (is_enter or is_exit):
                problems.append(f"call to an unknown target {target}")
        for hook, name in ((enter, "enter"), (exitp, "exit")):
            called = any(_prove(z3.Implies(p.cond, t == hook), 5000)[0] == Verdict.HOLDS
                         for _, t in calls)
            if not called:
                s = z3.Solver()
                s.add(p.cond, hook != 0)
                if s.check() == z3.sat:
                    problems.append(f"a path with a non-NULL {name} hook does not call it")
    return sorted(set(problems))


def asm_proofs(map_include: Path | None = None, stub_source: Path | None = None,
               stubs: dict[str, StubSpec] | None = None,
               timeout_ms: int = 10_000) -> list[CheckResult]:
    """Every assembly entry point of stubs.S, with GO_ERRNO_MAP taken from `map_include`,
    executed symbolically: its stores equal the model's mapping and its shape is Go's."""
    from entersys.native import ASM_STUBS  # the symbol -> spec table; no library load

    map_include = Path(map_include or NATIVE_DIR / "gomap.inc")
    stub_source = Path(stub_source or NATIVE_DIR / "stubs.S")
    stubs = stubs if stubs is not None else ASM_STUBS
    results: list[CheckResult] = []
    with timed() as t:
        # The macro alone, on registers: the mapping as Go writes it (r1, r2, err in AX/DX/CX).
        body = read_macro(map_include, "GO_ERRNO_MAP")
        sx = SymExec(body, {})
        paths = sx.run()
        rax0, rdx0 = sx.initial["rax"], sx.initial["rdx"]
        want = M.go_map(rax0, rdx0, Z3)
        claim = z3.And(*[z3.Implies(p.cond, z3.And(p.regs["rax"] == want.r1,
                                                  p.regs["rdx"] == want.r2,
                                                  p.regs["rcx"] == want.err)) for p in paths])
        verdict, model = _prove(claim, timeout_ms)
        cex = None
        if model is not None:
            bad = next(p for p in paths if z3.is_true(model.eval(p.cond, model_completion=True)))
            r, d = _val(model, rax0), _val(model, rdx0)
            w = M.go_map(r, d)
            cex = Counterexample(
                summary=f"GO_ERRNO_MAP and the model disagree at RAX={_hex(r)}",
                values={"RAX": _hex(r), "RDX": _hex(d),
                        "asm.r1": _hex(_val(model, bad.regs["rax"])),
                        "asm.r2": _hex(_val(model, bad.regs["rdx"])),
                        "asm.err": _val(model, bad.regs["rcx"]),
                        "model.r1": _hex(w.r1), "model.r2": _hex(w.r2), "model.err": w.err},
                replay=f"entersys verify --only errno --asm {map_include}")
    results.append(CheckResult(
        "errno.asm.GO_ERRNO_MAP", GROUP,
        f"GO_ERRNO_MAP of {map_include.name} equals the model (AX=r1, DX=r2, CX=err)",
        "proof", verdict, Verdict.HOLDS, t(), cex,
        {"source": str(map_include), "paths": len(paths),
         "sha256": hashlib.sha256(map_include.read_bytes()).hexdigest()}))

    prog = read_program(stub_source, {"GOMAP_INC": map_include})
    entries: list[tuple[str, StubSpec | None]] = [*stubs.items(), ("es_map", None)]
    for symbol, spec in entries:
        with timed() as t:
            sx = SymExec(prog.function(symbol), prog.defines)
            paths = sx.run()
            has_sys = any(e.kind == "syscall" for p in paths for e in p.events)
            inputs = ((z3.BitVec("k_rax", 64), z3.BitVec("k_rdx", 64)) if has_sys
                      else (sx.input("raw_rax"), sx.input("raw_rdx")))
            mapping = spec.mapping if spec else "go"
            want = M.MAPPINGS[mapping](*inputs, Z3)
            parts = []
            for p in paths:
                missing = [k for k in ("r1", "r2", "err") if k not in p.mem]
                if missing:
                    parts.append(z3.Not(p.cond))  # any feasible such path refutes
                    continue
                eqs = [p.mem["r1"] == want.r1, p.mem["r2"] == want.r2, p.mem["err"] == want.err]
                if has_sys:
                    eqs += [p.mem.get("raw_rax", inputs[0]) == inputs[0]]
                parts.append(z3.Implies(p.cond, z3.And(*eqs)))
            verdict, model = _prove(z3.And(*parts), timeout_ms)
            cex = None
            if model is not None:
                bad = next(p for p in paths
                           if z3.is_true(model.eval(p.cond, model_completion=True)))
                cex = _asm_cex(model, bad, inputs, symbol, mapping, map_include)
            problems = _shape_problems(paths, spec, sx)
            if problems and verdict == Verdict.HOLDS:
                verdict = Verdict.REFUTED
                cex = Counterexample(summary=f"{symbol}: " + "; ".join(problems),
                                     values={"problems": problems},
                                     replay=f"entersys verify --only errno --asm {map_include}")
        title = (f"{symbol}: stores Go's {mapping} mapping of the kernel's RAX/RDX"
                 + (f"; {spec.nargs} args; " + ("enter/exit hooks in Go 1.14 placement"
                                                if spec.hooks else "no hooks")
                    if spec else "; mapping-only entry"))
        results.append(CheckResult(f"errno.asm.{symbol}", GROUP, title, "proof", verdict,
                                   Verdict.HOLDS, t(), cex, {"paths": len(paths)}))
    return results


def provenance_check(map_include: Path | None = None) -> CheckResult:
    """The loaded native library was assembled from the mapping text that was proved."""
    from entersys.native import NativeLibraryMissing, library

    map_include = Path(map_include or NATIVE_DIR / "gomap.inc")
    with timed() as t:
        want = hashlib.sha256(map_include.read_bytes()).hexdigest()
        try:
            lib = library()
            got = lib.gomap_sha256
            verdict = Verdict.HOLDS if got == want else Verdict.REFUTED
            cex = None if got == want else Counterexample(
                summary=f"{lib.path.name} was built from another mapping text",
                values={"library": str(lib.path), "library_sha256": got, "proved_sha256": want},
                replay="pip install -e .  # rebuild, then: entersys verify --only errno")
        except NativeLibraryMissing as e:
            verdict, cex = Verdict.ERROR, Counterexample(summary=str(e))
    return CheckResult("errno.build-provenance", GROUP,
                       "the native library was assembled from the proved mapping text",
                       "provenance", verdict, Verdict.HOLDS, t(), cex)


def run(map_include: Path | None = None, timeout_ms: int = 10_000) -> list[CheckResult]:
    results = model_proofs(timeout_ms)
    results += asm_proofs(map_include, timeout_ms=timeout_ms)
    results.append(provenance_check(map_include))
    return results


__all__: list[str] = ["run", "model_proofs", "asm_proofs", "provenance_check", "AsmError"]
