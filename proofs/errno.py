"""Z3 proofs of the errno mapping: Go's rule over all 2^64 RAX values and its one divergence
from Linux/glibc (entersys.model.errno), then our own stubs proved on the bytes of the
library that runs (entersys.proofs.errno_stubs), and the library's provenance."""

from __future__ import annotations

import hashlib
from pathlib import Path

import z3
from entersys.model import errno as M
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
            shipped = map_include.resolve() == (NATIVE_DIR / "gomap.inc").resolve()
            # a stale build of the shipped text is fixed by rebuilding; a mapping given
            # with --asm was proved on a temporary build and is not the loaded library's
            # until it replaces native/gomap.inc and the library is rebuilt
            fix = ("pip install -e .  # rebuild, then: entersys verify --only errno"
                   if shipped else
                   f"cp {map_include} {NATIVE_DIR / 'gomap.inc'} && pip install -e .  "
                   "# the loaded library is built from native/gomap.inc only")
            cex = None if got == want else Counterexample(
                summary=f"{lib.path.name} was built from another mapping text"
                        + ("" if shipped else f" than {map_include.name} (the --asm "
                           "mapping was proved on a temporary build)"),
                values={"library": str(lib.path), "library_sha256": got, "proved_sha256": want},
                replay=fix)
        except NativeLibraryMissing as e:
            verdict, cex = Verdict.ERROR, Counterexample(summary=str(e))
    return CheckResult("errno.build-provenance", GROUP,
                       "the native library was assembled from the proved mapping text",
                       "provenance", verdict, Verdict.HOLDS, t(), cex)


def run(map_include: Path | None = None, timeout_ms: int = 10_000,
        stubs: Path | None = None) -> list[CheckResult]:
    """The model proofs, every stub proved on the bytes of the loaded library (or of a
    temporary build of `map_include` / `stubs`), and the library's provenance.

    Raises errno_stubs.StubSourceError when the given sources do not build."""
    from entersys.proofs.errno_stubs import stub_proofs

    results = model_proofs(timeout_ms)
    results += stub_proofs(map_include, stubs, timeout_ms=timeout_ms)
    if stubs is None:
        results.append(provenance_check(map_include))
    return results


__all__: list[str] = ["run", "model_proofs", "provenance_check"]
