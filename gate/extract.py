"""Statement extraction: runs the gate's Go program (gate/goparse, built with the target
tree's own toolchain, so the tree's own go/parser reads it) over a `runtime/proc.go`, and
linearises the syscall-path functions into per-entry statement lists in execution order,
inlining the callees that the model treats as part of one routine (exitsyscallfast and
exitsyscall0 into exitsyscall, entersyscallblock_handoff into entersyscallblock).

A statement keeps its own function, line and the headers of its enclosing compound
statements, so the per-design mapping (entersys.gate.mapping) can classify it in context."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from entersys.gotoolchain import ToolchainError, build_tool

GOPARSE_DIR = Path(__file__).parent / "goparse"


@dataclass(frozen=True)
class Stmt:
    func: str                  # the Go function the statement is written in
    line: int                  # first line in the file
    end: int                   # last line
    depth: int                 # nesting depth within the entry routine (after inlining)
    kind: str                  # simple, if, for, range, switch, case, select, block, label
    text: str                  # Go source, whitespace collapsed (if: "if COND")
    ancestors: tuple[str, ...]  # header texts of enclosing statements, outermost first

    @property
    def norm(self) -> str:
        """Text with the pre-1.21 receiver names (_g_, _p_) read as gp, pp."""
        return normalize(self.text)


def normalize(text: str) -> str:
    t = re.sub(r"\b_g_\b", "gp", text)
    return re.sub(r"\b_p_\b", "pp", t)


@dataclass(frozen=True)
class Inline:
    """Inline callee `func` where a statement of the entry matches `at` (regex on norm)."""

    at: str
    func: str


def goparse(root: Path, proc_go: Path, funcs: list[str]) -> dict:
    """Run goparse (built with `root`'s toolchain) on `proc_go`; returns its JSON:
    {"file", "funcs": {name: {"line", "end", "stmts": [{line, end, depth, kind, path,
    text}]}}}. Raises ToolchainError when it cannot be built or run."""
    exe = build_tool(root, GOPARSE_DIR, "goparse")
    try:
        r = subprocess.run([str(exe), str(proc_go), ",".join(funcs)], capture_output=True,
                           text=True, timeout=120)
    except subprocess.TimeoutExpired:
        raise ToolchainError("goparse timed out") from None
    if r.returncode != 0:
        raise ToolchainError(f"goparse failed on {proc_go}: "
                             f"{(r.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(r.stdout)


def _records(parsed: dict, func: str, base_depth: int, outer: tuple[str, ...]) -> list[Stmt]:
    out: list[Stmt] = []
    stack: list[str] = []          # headers by depth
    for s in parsed["funcs"][func]["stmts"]:
        d = s["depth"]
        del stack[d:]
        out.append(Stmt(func, s["line"], s["end"], base_depth + d, s["kind"], s["text"],
                        outer + tuple(stack)))
        if s["kind"] != "simple":
            stack.append(s["text"])
            while len(stack) < d + 1:  # pragma: no cover - goparse emits headers first
                stack.append("")
    return out


def linearize(parsed: dict, entry: str, inlines: list[Inline]) -> list[Stmt]:
    """The statements of `entry` in pre-order, each matching inline point followed by the
    callee's statements (one level deeper, with the call's headers as ancestors)."""
    if entry not in parsed["funcs"]:
        raise KeyError(entry)

    def walk(func: str, depth: int, outer: tuple[str, ...], seen: tuple[str, ...]
             ) -> list[Stmt]:
        res: list[Stmt] = []
        for st in _records(parsed, func, depth, outer):
            res.append(st)
            for inl in inlines:
                if inl.func not in seen and inl.func in parsed["funcs"] and \
                        re.search(inl.at, st.norm):
                    res.extend(walk(inl.func, st.depth + 1, st.ancestors + (st.text,),
                                    seen + (inl.func,)))
        return res

    return walk(entry, 0, (), (entry,))
