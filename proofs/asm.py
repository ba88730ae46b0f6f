"""A reader for the small GNU-as (AT&T) subset of entersys' own stubs, and a symbolic
executor that runs it in Z3.

The reader expands our `.macro`s (with `\\arg`, `\\@`, `.if`), resolves `#include` and the
`#define`d offsets of es_abi.h; the executor forks at conditional jumps and returns every
path with its condition, the block fields written, and the ordered events (hook calls,
`syscall`, stores). An instruction outside the subset is an AsmError, never a guess.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import z3

MASK64 = (1 << 64) - 1


class AsmError(ValueError):
    """The text uses something this reader does not understand."""


@dataclass(frozen=True)
class Insn:
    op: str
    args: tuple[str, ...]
    line: str


@dataclass(frozen=True)
class Label:
    name: str


@dataclass
class Macro:
    params: list[str]
    defaults: dict[str, str]
    body: list[str]


@dataclass
class Program:
    """Expanded top-level items; functions are the spans between `.globl` labels."""

    items: list[Insn | Label]
    globals: list[str]
    defines: dict[str, int]
    macros: dict[str, Macro]

    def function(self, name: str) -> list[Insn | Label]:
        if name not in self.globals:
            raise AsmError(f"no global function {name!r} in the stub source")
        start = self.items.index(Label(name))
        end = len(self.items)
        for j in range(start + 1, len(self.items)):
            it = self.items[j]
            if isinstance(it, Label) and it.name in self.globals:
                end = j
                break
        return self.items[start + 1:end]


_DEFINE = re.compile(r"^\s*#\s*define\s+(\w+)\s+(-?(?:0x[0-9a-fA-F]+|\d+))\s*$")
_SKIP_DIRECTIVES = (".cfi_", ".text", ".section", ".type", ".size", ".p2align", ".align")


def _strip(line: str) -> str:
    line = line.split("//", 1)[0]
    return line.strip()


def _split_operands(s: str) -> tuple[str, ...]:
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return tuple(out)


class Reader:
    def __init__(self, include_map: dict[str, Path]) -> None:
        self.include_map = include_map
        self.defines: dict[str, int] = {}
        self.macros: dict[str, Macro] = {}
        self.globals: list[str] = []
        self._unique = itertools.count()

    # -- pass 1: lines, includes, macros ----------------------------------------------------
    def load(self, path: Path) -> list[str]:
        top: list[str] = []
        lines = path.read_text().splitlines()
        i = 0
        while i < len(lines):
            raw = lines[i]
            i += 1
            st = raw.strip()
            if st.startswith("#"):
                m = _DEFINE.match(st)
                if m:
                    self.defines[m.group(1)] = int(m.group(2), 0)
                inc = re.match(r"#\s*include\s+(\S+)", st)
                if inc:
                    target = inc.group(1).strip('"<>')
                    if target in self.include_map:
                        inc_path = self.include_map[target]
                    else:
                        inc_path = path.parent / target
                    if inc_path.suffix == ".h":
                        self._load_header(inc_path)
                    else:
                        top.extend(self.load(inc_path))
                continue
            line = _strip(raw)
            if line.startswith(".macro"):
                parts = line[len(".macro"):].replace(",", " ").split()
                name, params = parts[0], parts[1:]
                defaults = {}
                clean = []
                for p in params:
                    k, _, v = p.partition("=")
                    clean.append(k)
                    if v:
                        defaults[k] = v
                body = []
                while i < len(lines) and _strip(lines[i]) != ".endm":
                    body.append(lines[i])
                    i += 1
                if i == len(lines):
                    raise AsmError(f"{path.name}: .macro {name} has no .endm")
                i += 1
                self.macros[name] = Macro(clean, defaults, body)
                continue
            if line:
                top.append(line)
        return top

    def _load_header(self, path: Path) -> None:
        for line in path.read_text().splitlines():
            m = _DEFINE.match(line.strip())
            if m:
                self.defines[m.group(1)] = int(m.group(2), 0)

    # -- pass 2: expansion ------------------------------------------------------------------
    def expand(self, lines: list[str], depth: int = 0) -> list[Insn | Label]:
        if depth > 20:
            raise AsmError("macro expansion too deep")
        out: list[Insn | Label] = []
        cond: list[bool] = []
        for raw in lines:
            line = _strip(raw)
            if not line:
                continue
            if line.startswith(".if"):
                cond.append(self._eval(line[3:].strip()) != 0)
                continue
            if line == ".else":
                cond[-1] = not cond[-1]
                continue
            if line == ".endif":
                cond.pop()
                continue
            if not all(cond):
                continue
            if line.endswith(":"):
                out.append(Label(line[:-1]))
                continue
            if line.startswith(".globl"):
                self.globals.append(line.split()[1])
                continue
            if line.startswith(_SKIP_DIRECTIVES):
                continue
            head, _, rest = line.partition(" ")
            head, _, rest2 = head.partition("\t")
            rest = (rest2 + " " + rest).strip()
            if head in self.macros:
                out.extend(self._expand_macro(head, rest, depth))
                continue
            if head.startswith("."):
                raise AsmError(f"unsupported directive: {line}")
            out.append(Insn(head, _split_operands(rest), line))
        return out

    def _expand_macro(self, name: str, argtext: str, depth: int) -> list[Insn | Label]:
        mac = self.macros[name]
        args = [a for a in re.split(r"\s*,\s*|\s+", argtext.strip()) if a]
        values = dict(mac.defaults)
        for p, a in zip(mac.params, args):
            values[p] = a
        missing = [p for p in mac.params if p not in values]
        if missing:
            raise AsmError(f"macro {name} lacks arguments {missing}")
        uniq = str(next(self._unique))
        body = []
        for line in mac.body:
            line = line.replace("\\@", uniq)
            for p in sorted(values, key=len, reverse=True):
                line = line.replace("\\" + p, values[p])
            body.append(line)
        return self.expand(body, depth + 1)

    def _eval(self, expr: str) -> int:
        expr = expr.strip()
        if expr in self.defines:
            return self.defines[expr]
        try:
            return int(expr, 0)
        except ValueError:
            raise AsmError(f"cannot evaluate {expr!r}") from None


def read_program(source: Path, include_map: dict[str, Path] | None = None) -> Program:
    """Read `source` (stubs.S); `include_map` redirects an `#include` (GOMAP_INC)."""
    r = Reader(include_map or {})
    top = r.load(Path(source))
    items = r.expand(top)
    return Program(items, r.globals, r.defines, r.macros)


def read_macro(path: Path, name: str) -> list[Insn | Label]:
    """The expanded body of one macro of a file (e.g. GO_ERRNO_MAP of gomap.inc)."""
    r = Reader({})
    r.load(Path(path))
    if name not in r.macros:
        raise AsmError(f"{Path(path).name}: no .macro {name}")
    return r.expand(r.macros[name].body)


# ---- symbolic execution -------------------------------------------------------------------

REGS64 = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
          "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
_REG32 = {"eax": "rax", "ebx": "rbx", "ecx": "rcx", "edx": "rdx", "esi": "rsi", "edi": "rdi",
          "ebp": "rbp", "esp": "rsp", **{f"r{i}d": f"r{i}" for i in range(8, 16)}}
CALLER_SAVED = ["rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11"]
FLAGS = ("CF", "ZF", "SF", "OF")


@dataclass
class Event:
    kind: str          # "call", "syscall", "store"
    what: Any          # call target, the register snapshot at syscall, or the field name


@dataclass
class PathState:
    pc: int
    regs: dict[str, Any]
    flags: dict[str, Any]
    cond: list[Any] = field(default_factory=list)
    mem: dict[str, Any] = field(default_factory=dict)
    stack: list[Any] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    steps: int = 0

    def fork(self) -> PathState:
        return PathState(self.pc, dict(self.regs), dict(self.flags), list(self.cond),
                         dict(self.mem), list(self.stack), list(self.events), self.steps)


@dataclass
class Path_:
    cond: Any
    regs: dict[str, Any]
    mem: dict[str, Any]
    events: list[Event]


class SymExec:
    """Runs a list of Insn/Label symbolically. Memory operands must address the block
    pointer passed in %rdi; they read `in_<field>` and write `mem[<field>]`."""

    def __init__(self, body: list[Insn | Label], defines: dict[str, int],
                 regs: dict[str, Any] | None = None, max_paths: int = 256) -> None:
        self.body = body
        self.labels = {it.name: i for i, it in enumerate(body) if isinstance(it, Label)}
        self.defines = defines
        self.fields = {v: k[len("ES_OFF_"):].lower() for k, v in defines.items()
                       if k.startswith("ES_OFF_")}
        self.block = z3.BitVec("block", 64)
        self.inputs: dict[str, Any] = {}
        self._fresh = itertools.count()
        self.initial = regs or {r: z3.BitVec(f"{r}0", 64) for r in REGS64}
        self.max_paths = max_paths

    def fresh(self, name: str) -> Any:
        return z3.BitVec(f"{name}#{next(self._fresh)}", 64)

    def input(self, fld: str) -> Any:
        if fld not in self.inputs:
            self.inputs[fld] = z3.BitVec(f"in_{fld}", 64)
        return self.inputs[fld]

    def run(self, block_in: str = "rdi") -> list[Path_]:
        regs = dict(self.initial)
        regs[block_in] = self.block
        init = PathState(0, regs, {f: z3.Bool(f"{f}0") for f in FLAGS})
        work, done = [init], []
        while work:
            st = work.pop()
            while True:
                if st.pc >= len(self.body) or st.steps > 10_000:
                    done.append(Path_(z3.And(*st.cond) if st.cond else z3.BoolVal(True),
                                      st.regs, st.mem, st.events))
                    break
                it = self.body[st.pc]
                st.steps += 1
                if isinstance(it, Label):
                    st.pc += 1
                    continue
                nxt = self.step(st, it)
                if nxt == "ret":
                    done.append(Path_(z3.And(*st.cond) if st.cond else z3.BoolVal(True),
                                      st.regs, st.mem, st.events))
                    break
                if isinstance(nxt, PathState):
                    work.append(nxt)
                    if len(work) + len(done) > self.max_paths:
                        raise AsmError("too many paths")
        return done

    # -- operands -----------------------------------------------------------------------
    def _reg(self, name: str) -> tuple[str, int]:
        name = name.lstrip("%")
        if name in REGS64:
            return name, 64
        if name in _REG32:
            return _REG32[name], 32
        raise AsmError(f"unsupported register %{name}")

    def _imm(self, text: str) -> int:
        t = text[1:] if text.startswith("$") else text
        if t in self.defines:
            return self.defines[t]
        try:
            return int(t, 0)
        except ValueError:
            raise AsmError(f"unsupported immediate {text!r}") from None

    def _field(self, st: PathState, text: str) -> str:
        m = re.fullmatch(r"(-?\w*)\(%(\w+)\)", text)
        if not m:
            raise AsmError(f"unsupported memory operand {text!r}")
        off = self._imm(m.group(1)) if m.group(1) else 0
        base, _ = self._reg(m.group(2))
        if not z3.eq(z3.simplify(st.regs[base]), self.block):
            raise AsmError(f"memory operand {text!r}: base is not the block pointer")
        if off not in self.fields:
            raise AsmError(f"offset {off} names no es_block field")
        return self.fields[off]

    def read(self, st: PathState, text: str, width: int) -> Any:
        if text.startswith("$"):
            return z3.BitVecVal(self._imm(text) & MASK64, 64)
        if text.startswith("%"):
            r, w = self._reg(text)
            v = st.regs[r]
            return z3.ZeroExt(32, z3.Extract(31, 0, v)) if w == 32 else v
        fld = self._field(st, text)
        return st.mem.get(fld, self.input(fld))

    def write(self, st: PathState, text: str, value: Any) -> None:
        if text.startswith("%"):
            r, w = self._reg(text)
            st.regs[r] = z3.ZeroExt(32, z3.Extract(31, 0, value)) if w == 32 else value
            return
        fld = self._field(st, text)
        st.mem[fld] = value
        st.events.append(Event("store", fld))

    def _width(self, op: str) -> int:
        return 32 if op.endswith("l") else 64

    def _set_logic_flags(self, st: PathState, res: Any, width: int) -> None:
        r = z3.Extract(width - 1, 0, res)
        st.flags.update(CF=z3.BoolVal(False), OF=z3.BoolVal(False),
                        ZF=r == 0, SF=z3.Extract(width - 1, width - 1, r) == 1)

    # -- one instruction ----------------------------------------------------------------
    def step(self, st: PathState, it: Insn) -> Any:
        op, a = it.op, it.args
        base = op.rstrip("ql") if op not in ("jl", "call", "ret", "syscall") else op
        if op in ("movq", "movl"):
            self.write(st, a[1], self.read(st, a[0], self._width(op)))
        elif op in ("xorq", "xorl", "andq", "andl", "orq", "orl", "testq", "testl"):
            x, y = self.read(st, a[0], 64), self.read(st, a[1], 64)
            res = {"xor": x ^ y, "and": x & y, "or": x | y, "test": x & y}[base]
            if base != "test":
                self.write(st, a[1], res)
            self._set_logic_flags(st, res, self._width(op))
        elif op in ("cmpq", "subq", "addq"):
            src, dst = self.read(st, a[0], 64), self.read(st, a[1], 64)
            res = dst + src if base == "add" else dst - src
            if base == "add":
                st.flags["CF"] = z3.ULT(res, dst)
                st.flags["OF"] = z3.And((src < 0) == (dst < 0), (res < 0) != (dst < 0))
            else:
                st.flags["CF"] = z3.ULT(dst, src)
                st.flags["OF"] = z3.And((src < 0) != (dst < 0), (res < 0) != (dst < 0))
            st.flags["ZF"], st.flags["SF"] = res == 0, res < 0
            if base != "cmp":
                self.write(st, a[1], res)
        elif op == "negq":
            x = self.read(st, a[0], 64)
            res = -x
            self.write(st, a[0], res)
            st.flags.update(CF=x != 0, ZF=res == 0, SF=res < 0,
                            OF=x == z3.BitVecVal(1 << 63, 64))
        elif op == "pushq":
            st.stack.append(self.read(st, a[0], 64))
        elif op == "popq":
            if not st.stack:
                raise AsmError(f"pop from an empty stack: {it.line}")
            self.write(st, a[0], st.stack.pop())
        elif op == "syscall":
            st.events.append(Event("syscall", dict(st.regs)))
            st.regs["rax"] = z3.BitVec("k_rax", 64)
            st.regs["rdx"] = z3.BitVec("k_rdx", 64)
            st.regs["rcx"], st.regs["r11"] = self.fresh("rcx"), self.fresh("r11")
        elif op == "call":
            if not a[0].startswith("*%"):
                raise AsmError(f"only indirect calls through a register: {it.line}")
            st.events.append(Event("call", self.read(st, a[0][1:], 64)))
            for r in CALLER_SAVED:
                st.regs[r] = self.fresh(r)
            for f in FLAGS:
                st.flags[f] = z3.Bool(f"{f}#{next(self._fresh)}")
        elif op == "ret":
            return "ret"
        elif op == "jmp":
            st.pc = self._target(a[0])
            return None
        elif op in _JCC:
            c = _JCC[op](st.flags)
            other = st.fork()
            other.cond.append(z3.Not(c))
            other.pc += 1
            st.cond.append(c)
            st.pc = self._target(a[0])
            return other
        else:
            raise AsmError(f"unsupported instruction: {it.line}")
        st.pc += 1
        return None

    def _target(self, name: str) -> int:
        if name not in self.labels:
            raise AsmError(f"jump to unknown label {name!r}")
        return self.labels[name]


_JCC = {
    "jbe": lambda f: z3.Or(f["CF"], f["ZF"]), "jna": lambda f: z3.Or(f["CF"], f["ZF"]),
    "jb": lambda f: f["CF"], "jc": lambda f: f["CF"], "jnae": lambda f: f["CF"],
    "ja": lambda f: z3.And(z3.Not(f["CF"]), z3.Not(f["ZF"])),
    "jnbe": lambda f: z3.And(z3.Not(f["CF"]), z3.Not(f["ZF"])),
    "jae": lambda f: z3.Not(f["CF"]), "jnb": lambda f: z3.Not(f["CF"]),
    "jnc": lambda f: z3.Not(f["CF"]),
    "je": lambda f: f["ZF"], "jz": lambda f: f["ZF"],
    "jne": lambda f: z3.Not(f["ZF"]), "jnz": lambda f: z3.Not(f["ZF"]),
    "jl": lambda f: f["SF"] != f["OF"], "jge": lambda f: f["SF"] == f["OF"],
    "jle": lambda f: z3.Or(f["ZF"], f["SF"] != f["OF"]),
    "jg": lambda f: z3.And(z3.Not(f["ZF"]), f["SF"] == f["OF"]),
    "js": lambda f: f["SF"], "jns": lambda f: z3.Not(f["SF"]),
}
