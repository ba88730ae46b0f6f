"""Build recipe for the native stub library: one gcc call over stubs.S and es_native.c.

Used by `pip install` (setup.py loads this file by path) and, explicitly, by tests and by
`python -m entersys.native.build` to assemble a variant from another mapping include (a
sabotaged `gomap.inc`, say). Nothing here runs at import time of the entersys package.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = ("stubs.S", "es_native.c")
DEFAULT_MAP_INCLUDE = HERE / "gomap.inc"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(out: Path, map_include: Path | None = None, cc: str | None = None,
          stubs: Path | None = None) -> Path:
    """Compile the stub library to `out`, assembling the mapping from `map_include` and the
    stubs from `stubs` (default: stubs.S here). With DWARF line info (-g), so that the
    byte-level proofs can name the source line of an address. Raises CalledProcessError
    when gcc rejects the sources, RuntimeError when there is no compiler."""
    cc = cc or shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise RuntimeError("no C compiler (gcc) found: install gcc to build entersys' native stubs")
    inc = Path(map_include or DEFAULT_MAP_INCLUDE).resolve()
    sources = [Path(stubs).resolve() if stubs else HERE / "stubs.S",
               *(HERE / s for s in SOURCES[1:])]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        cc, "-shared", "-fPIC", "-O2", "-g", "-Wall", "-Wextra",
        f"-I{HERE}",
        f'-DGOMAP_INC="{inc}"',
        f'-DGOMAP_SHA256="{sha256_of(inc)}"',
        *(str(s) for s in sources),
        "-o", str(out),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


def first_error(stderr: str | None) -> str:
    """The compiler's first error line (or its first line), for a one-line message."""
    lines = [ln for ln in (stderr or "").splitlines() if ln.strip()]
    errs = [ln for ln in lines if "error" in ln.lower()]
    return (errs or lines or ["gcc failed without a message"])[0].strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", required=True, type=Path, help="shared library to write")
    ap.add_argument("--map-include", type=Path, help="mapping include (default: gomap.inc)")
    ap.add_argument("--stubs", type=Path, help="stub source (default: stubs.S)")
    args = ap.parse_args(argv)
    try:
        print(build(args.out, args.map_include, stubs=args.stubs))
    except subprocess.CalledProcessError as e:
        print(f"entersys.native.build: {first_error(e.stderr)}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as e:
        print(f"entersys.native.build: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
