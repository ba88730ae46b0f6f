"""Which Go tree the gate was given: its version (from VERSION or `go version`) and the
protocol design its `runtime/proc.go` implements, read from the source itself (a patched
or developer tree is judged by its code, not by its version string).

Designs: `psyscall` (Go 1.14-1.25: the P goes `_Psyscall` in reentersyscall) and
`scanbit` (Go 1.26+: no `_Psyscall`; exitsyscallTryGetP/exitsyscallNoP)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from entersys.gotoolchain import ToolchainError, tree_version

PROC_GO = "src/runtime/proc.go"

#: design -> (first, last) Go minor versions the gate knows for it.
BANDS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "psyscall": ((1, 19), (1, 25)),
    "scanbit": ((1, 26), (1, 27)),
}


def model_version(design: str, minor: tuple[int, int]) -> str | None:
    """The model version (entersys.model.program.VERSIONS) a tree's statements map onto:
    1.25 for every _Psyscall tree from 1.19 on, the tree's own minor for the Go 1.26+
    design; None while the model has no steps for it."""
    from entersys.model.program import VERSIONS

    if design == "psyscall":
        return "1.25"
    v = f"{minor[0]}.{minor[1]}"
    return v if v in VERSIONS else None
DESIGN_TITLES = {"psyscall": "_Psyscall design", "scanbit": "Go 1.26+ design (no _Psyscall)"}


class GateInputError(Exception):
    """The GOROOT cannot be gated; the message is one line for the user (exit 2)."""


def supported() -> str:
    """One line naming what the gate accepts."""
    parts = []
    for d, (lo, hi) in BANDS.items():
        note = "" if model_version(d, hi) else "; model check not yet available"
        parts.append(f"go{lo[0]}.{lo[1]}-go{hi[0]}.{hi[1]} ({DESIGN_TITLES[d]}{note})")
    return "supported: " + ", ".join(parts)


@dataclass(frozen=True)
class Tree:
    root: Path
    version: str              # "go1.25.5" or "devel go1.26-abcdef"
    minor: tuple[int, int]    # (1, 25)
    design: str               # key of BANDS
    model_go: str | None      # model version to check against, None if not available

    @property
    def proc_go(self) -> Path:
        return self.root / PROC_GO


def design_of(proc_go_text: str) -> str | None:
    """The design a proc.go implements, or None if it is neither."""
    body = _func_text(proc_go_text, "reentersyscall")
    if body is None:
        return None
    if re.search(r"atomic\.Store\(&\w+\.status, _Psyscall\)", body):
        return "psyscall"
    if "_Psyscall" not in proc_go_text and "func exitsyscallTryGetP(" in proc_go_text:
        return "scanbit"
    return None


def _func_text(src: str, name: str) -> str | None:
    m = re.search(rf"^func {name}\(.*?^}}", src, re.S | re.M)
    return m.group(0) if m else None


def detect(root: Path) -> Tree:
    """Version and design of the Go tree at `root`.

    Raises GateInputError (one line, ending with the supported list) when `root` is
    missing, is not a Go tree, or has a version or design the gate does not know."""
    root = Path(root)
    if not root.is_dir():
        raise GateInputError(f"{root}: no such directory; {supported()}")
    proc = root / PROC_GO
    if not proc.is_file():
        raise GateInputError(f"{root} is not a Go tree (no {PROC_GO}); {supported()}")
    try:
        version = tree_version(root)
    except ToolchainError as e:
        raise GateInputError(f"{e}; {supported()}") from None
    m = re.search(r"go(\d+)\.(\d+)", version)
    if not m:
        raise GateInputError(f"{root}: cannot read the Go version from {version!r}; "
                             f"{supported()}")
    minor = (int(m.group(1)), int(m.group(2)))
    design = design_of(proc.read_text(errors="replace"))
    if design is None:
        raise GateInputError(f"{root} ({version}): its runtime/proc.go implements no "
                             f"syscall design the gate knows; {supported()}")
    lo, hi = BANDS[design]
    model_go = model_version(design, minor)
    if not lo <= minor <= hi:
        raise GateInputError(f"{root}: {version} with the {DESIGN_TITLES[design]} is not "
                             f"supported; {supported()}")
    return Tree(root, version, minor, design, model_go)
