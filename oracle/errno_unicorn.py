"""Concrete cross-check of the per-arch errno proofs: the same bytes of Go's Syscall6 run in
the unicorn emulator on boundary values of the kernel's result, compared with what the
proved terms (entersys.proofs.errno_arch) say at those inputs.

The trap instruction is patched to the arch's no-op and a code hook on it writes the kernel's
results (and error flag), so no emulated kernel is involved. unicorn has no LoongArch and no
little-endian ppc64, and its big-endian ppc64 stops before the stub runs: those three arches
are proved but not emulated (UNSUPPORTED says why, in the table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from entersys.proofs import errno_arch as EA
from entersys.proofs import machine as MC

STACK_TOP = 0x7F00_0000
STACK_SIZE = 0x10000


@dataclass(frozen=True)
class EmuArch:
    arch: str      # unicorn UC_ARCH_* name suffix
    mode: tuple[str, ...]
    prefix: str    # register constant prefix (X86, ARM, ...)
    sp: str
    nop: bytes     # replaces the trap instruction (same length)
    big: bool = False


EMU: dict[str, EmuArch] = {
    "amd64": EmuArch("X86", ("64",), "X86", "rsp", b"\x66\x90"),
    "386": EmuArch("X86", ("32",), "X86", "esp", b"\x66\x90"),
    "arm": EmuArch("ARM", ("ARM",), "ARM", "sp", bytes.fromhex("0000a0e1")),
    "arm64": EmuArch("ARM64", ("ARM",), "ARM64", "sp", bytes.fromhex("1f2003d5")),
    "riscv64": EmuArch("RISCV", ("RISCV64",), "RISCV", "sp", bytes.fromhex("13000000")),
    "s390x": EmuArch("S390X", ("BIG_ENDIAN",), "S390X", "r15", bytes.fromhex("0700"), True),
    "mips": EmuArch("MIPS", ("MIPS32", "BIG_ENDIAN"), "MIPS", "sp", bytes(4), True),
    "mipsle": EmuArch("MIPS", ("MIPS32", "LITTLE_ENDIAN"), "MIPS", "sp", bytes(4)),
    "mips64": EmuArch("MIPS", ("MIPS64", "BIG_ENDIAN"), "MIPS", "sp", bytes(4), True),
    "mips64le": EmuArch("MIPS", ("MIPS64", "LITTLE_ENDIAN"), "MIPS", "sp", bytes(4)),
}
UNSUPPORTED = {"loong64": "unicorn has no LoongArch",
               "ppc64le": "unicorn has no little-endian ppc64",
               # measured with unicorn 2.1.4: UC_ERR_EXCEPTION before the first instruction
               "ppc64": "unicorn 2.1.4's ppc64 stops with a CPU exception before the stub runs"}


def boundary_inputs(bits: int, flagged: bool) -> list[tuple[int, int]]:
    """(raw, flag) pairs: both ends, 2^(N-1), and every value from 2^N-4097 to 2^N-4093."""
    top = 1 << bits
    raws = [0, 1, 4095, 4096, top >> 1, top - 4097, top - 4096, top - 4095, top - 4094,
            top - 4093, top - 2, top - 1]
    flags = (0, 1) if flagged else (0,)
    return [(r, f) for r in raws for f in flags]


def _reg(uc_mod: Any, prefix: str, name: str) -> int:
    for cand in (name.upper(), name[1:] if name[0] in "rx" and name[1:].isdigit() else None,
                 "LR" if name in ("lr", "x30") else None):
        if cand is None:
            continue
        c = getattr(uc_mod, f"UC_{prefix}_REG_{cand}", None)
        if c is not None:
            return int(c)
    raise KeyError(f"no unicorn register {name} for {prefix}")


def emulate(sr: EA.StubRun, table: EA.ArchTable) -> tuple[bool, dict[str, Any]]:
    """Run the stub's bytes under unicorn on boundary_inputs; (all agree, details).

    Compares (r1, r2, errno) with the proved terms and the kernel's registers at the trap
    with the inputs. Raises KeyError for an arch unicorn lacks."""
    import importlib

    import unicorn as U

    spec, ea, bits = sr.spec, EMU[sr.spec.goarch], sr.bits
    consts = importlib.import_module(f"unicorn.{ea.prefix.lower()}_const")
    mode = 0
    for m in ea.mode:
        mode |= getattr(U, f"UC_MODE_{m}")
    proj = MC.load(str(sr.binary))
    fn = sr.fn
    traps = MC.trap_sites(proj, fn)
    w = bits // 8
    order: Literal["big", "little"] = "big" if ea.big else "little"
    mask = (1 << bits) - 1
    page0 = fn.addr & ~0xFFF
    page1 = (fn.addr + fn.size + 0x1040 + 0xFFF) & ~0xFFF
    code = bytearray(proj.loader.memory.load(page0, page1 - page0))
    for t in traps:
        code[t.addr - page0:t.addr - page0 + t.size] = ea.nop
    args = {n: (0x1111 * (i + 1)) & mask for i, n in enumerate(EA.ARG_NAMES)}
    raw2 = 0x5A5A5A5A5A5A5A5A & mask
    rows, bad = [], []

    def r(name: str) -> int:
        return _reg(consts, ea.prefix, name)

    for raw, flag in boundary_inputs(bits, spec.flag is not None):
        uc = U.Uc(getattr(U, f"UC_ARCH_{ea.arch}"), mode)
        uc.mem_map(page0, page1 - page0)
        uc.mem_write(page0, bytes(code))
        uc.mem_map(STACK_TOP - STACK_SIZE, STACK_SIZE)
        # The return lands on no-ops in the mapped code pages, past the function, whose first
        # one stops the run (some unicorn targets fetch `until` before checking it).
        ret = page1 - 0x40
        uc.mem_write(ret, ea.nop * (0x40 // len(ea.nop)))
        uc.hook_add(U.UC_HOOK_CODE, lambda uc, *_: uc.emu_stop(), begin=ret, end=ret)
        sp = STACK_TOP - STACK_SIZE // 2
        for z in spec.zero:
            uc.reg_write(r(z), 0)
        if spec.link:
            uc.reg_write(r(spec.link), ret)
        else:
            sp -= w
            uc.mem_write(sp, ret.to_bytes(w, order))
        uc.reg_write(r(ea.sp), sp)
        fp = sp + w
        if spec.abi == "internal":
            for n, reg in zip(EA.ARG_NAMES, spec.in_regs, strict=True):
                uc.reg_write(r(reg), args[n])
        else:
            for i, n in enumerate(EA.ARG_NAMES):
                uc.mem_write(fp + i * w, args[n].to_bytes(w, order))
        seen: dict[str, int] = {}

        def on_trap(uc: Any, _addr: int, _size: int, _ud: Any, raw: int = raw,
                    flag: int = flag, seen: dict[str, int] = seen) -> None:
            for name, reg in zip(EA.ARG_NAMES, spec.kernel_regs, strict=False):
                seen[name] = uc.reg_read(r(reg)) & mask
            spv = uc.reg_read(r(ea.sp))
            for i, off in enumerate(spec.kernel_stack):
                seen[EA.ARG_NAMES[5 + i]] = int.from_bytes(uc.mem_read(spv + off, w), order)
            uc.reg_write(r(spec.raw), raw)
            uc.reg_write(r(spec.raw2), raw2)
            if spec.flag:
                uc.reg_write(r(spec.flag), flag)

        for t in traps:
            uc.hook_add(U.UC_HOOK_CODE, on_trap, begin=t.addr, end=t.addr)
        uc.emu_start(fn.addr, ret, count=1000)
        pc = uc.reg_read(getattr(consts, f"UC_{ea.prefix}_REG_PC", None) or
                         getattr(consts, f"UC_{ea.prefix}_REG_{'RIP' if bits == 64 else 'EIP'}"))
        if spec.abi == "internal":
            got = {n: uc.reg_read(r(reg)) & mask
                   for n, reg in zip(EA.OUT_NAMES, spec.out_regs, strict=True)}
        else:
            got = {n: int.from_bytes(uc.mem_read(fp + (7 + i) * w, w), order)
                   for i, n in enumerate(EA.OUT_NAMES)}
        want = EA.evaluate(table, sr, raw, raw2, flag, args)
        row = {"raw": f"{raw:#x}", "flag": flag, **{k: f"{v:#x}" for k, v in got.items()}}
        problems = []
        if pc != ret:
            problems.append(f"stopped at {pc:#x}, not at the return")
        if got != want:
            problems.append("proof says " + ", ".join(f"{k}={v:#x}" for k, v in want.items()))
        wrong_args = [n for n, v in seen.items() if v != args[n]]
        if wrong_args:
            problems.append(f"kernel registers {wrong_args} differ from the arguments")
        if problems:
            row["problems"] = "; ".join(problems)
            bad.append(row)
        rows.append(row)
    return not bad, {"inputs": len(rows), "disagreements": bad[:5]}
