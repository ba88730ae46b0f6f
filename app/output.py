"""Output files written whole or not at all, and standard output that never raises a
traceback: every report, trace and graph entersys writes goes through here.

A file is written to a temporary file beside it and renamed into place once the whole text
is on disk, so a run that fails, is interrupted or finds bad input leaves the previous file
(or none) behind, never a truncated one. `-` means standard output. Paths are checked
before a run starts, so an unwritable `--out` costs no solver or explorer time.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from pathlib import Path


class OutputError(Exception):
    """An output could not be written; the message is one line naming the option and path."""


STDOUT = "-"


def _describe(e: OSError) -> str:
    return e.strerror or str(e)


def preflight(outputs: dict[str, str | Path | None]) -> None:
    """Check, before a run, that each named output (option -> path) can be written.

    Raises OutputError for a directory, a missing parent directory, a path we cannot
    create a file beside, a device we cannot open, two options naming the same file, or
    more than one option naming standard output.
    """
    seen: dict[str, str] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        text = str(path)
        if text == "":
            raise OutputError(f"{option}: an empty path")
        key = "<stdout>" if text == STDOUT else os.path.realpath(text)
        if key in seen:
            what = "standard output" if text == STDOUT else text
            raise OutputError(f"{seen[key]} and {option} both name {what}")
        seen[key] = option
        if text == STDOUT:
            continue
        p = Path(text)
        if p.is_dir():
            raise OutputError(f"cannot write {option} {p}: it is a directory")
        parent = p.parent if str(p.parent) else Path(".")
        if not parent.is_dir():
            raise OutputError(f"cannot write {option} {p}: no such directory {parent}")
        try:
            if p.exists() and not p.is_file():
                with open(p, "a"):
                    pass
            else:
                try:
                    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{p.name}.", suffix=".tmp")
                except OSError as e:
                    raise OutputError(f"cannot write {option} {p}: cannot create a file in "
                                      f"{parent} ({_describe(e)})") from None
                os.close(fd)
                os.unlink(tmp)
                if p.exists() and not os.access(p, os.W_OK):
                    raise PermissionError(errno.EACCES, "Permission denied")
        except OSError as e:
            raise OutputError(f"cannot write {option} {p}: {_describe(e)}") from None


def write_stdout(text: str) -> None:
    """Write `text` to standard output in its encoding, with characters it cannot encode
    escaped rather than raising. Raises OutputError when standard output is closed;
    BrokenPipeError (the reader went away) is left to the caller."""
    stream = sys.stdout
    if stream is None:
        raise OutputError("standard output is closed")
    try:
        enc = getattr(stream, "encoding", None) or "utf-8"
        data = text.encode(enc, errors="backslashreplace")
        buf = getattr(stream, "buffer", None)
        if buf is not None:
            stream.flush()
            buf.write(data)
            buf.flush()
        else:
            stream.write(data.decode(enc))
            stream.flush()
    except BrokenPipeError:
        raise
    except (OSError, ValueError) as e:  # EBADF, or an already-closed file object
        detail = _describe(e) if isinstance(e, OSError) else str(e)
        raise OutputError(f"cannot write to standard output: {detail}") from None


def write_text(path: str | Path, text: str, option: str = "--out") -> None:
    """Write `text` (UTF-8) to `path` whole or not at all; `-` is standard output.

    A regular file (or a new one) is written through a temporary file in the same directory
    and renamed into place, keeping the old file's permission bits. A device or FIFO (e.g.
    /dev/null, /dev/full) is written directly, since it cannot be replaced. Raises
    OutputError with one line on any failure; the temporary file is removed.
    """
    if str(path) == STDOUT:
        write_stdout(text)
        return
    p = Path(path)
    data = text.encode("utf-8")
    try:
        if p.exists() and not p.is_file():
            if p.is_dir():
                raise IsADirectoryError(errno.EISDIR, "Is a directory")
            with open(p, "wb") as fh:
                fh.write(data)
            return
        mode = stat.S_IMODE(p.stat().st_mode) if p.exists() else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(dir=p.parent if str(p.parent) else ".",
                                   prefix=f".{p.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, p)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError as e:
        raise OutputError(f"cannot write {option} {p}: {_describe(e)}") from None


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old
