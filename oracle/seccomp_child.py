"""Disposable child for the seccomp fault-injection check: installs a filter that makes
getppid return -E, calls getppid through every stub variant and glibc, prints one JSON line.

Run only as `python -m entersys.oracle.seccomp_child --errno E` in a process that may be
thrown away: the filter cannot be removed and stays on every thread created afterwards."""

from __future__ import annotations

import argparse
import ctypes
import json
import sys

from entersys.native import VARIANTS, Caller, NativeLibraryMissing, SYS_getppid, library


def observe(errno_value: int) -> dict:
    """Install the filter, then collect each stub's and glibc's view of one getppid."""
    lib = library()
    rc = lib.dll.es_seccomp_errno(SYS_getppid, errno_value)
    if rc != 0:
        raise OSError(-rc, f"es_seccomp_errno(getppid, {errno_value}) failed")
    caller = Caller(lib)
    stubs = {}
    for variant in VARIANTS:
        # getppid is on the allowlist: the fault injector needs no unsafe call.
        res = caller.call(variant, SYS_getppid, unsafe=False)
        stubs[variant] = {"r1": res.r1, "r2": res.r2, "err": res.err,
                          "raw_rax": res.raw_rax, "raw_rdx": res.raw_rdx}
    err = ctypes.c_int(0)
    ret = lib.dll.es_libc_syscall(SYS_getppid, 0, 0, 0, ctypes.byref(err))
    return {"errno": errno_value, "raw_rax": stubs["RawSyscall"]["raw_rax"], "stubs": stubs,
            "glibc": {"ret": ret, "errno": err.value}, "library": str(lib.path)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--errno", type=int, required=True, help="SECCOMP_RET_ERRNO data (0..65535)")
    args = ap.parse_args(argv)
    if not 0 <= args.errno <= 0xFFFF:
        ap.error("--errno must be within 0..65535 (SECCOMP_RET_DATA)")
    try:
        doc = observe(args.errno)
    except (OSError, NativeLibraryMissing) as e:
        print(f"seccomp_child: {e}", file=sys.stderr)
        return 2
    print(json.dumps(doc), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
