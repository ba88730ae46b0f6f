"""`entersys lint`: checks Go trees for system calls made without telling the scheduler
(`//sysnb` annotations and hand-written `RawSyscall*` calls) on syscalls that may block,
and checks the annotations against both generators and the generated zsyscall files.

Public surface: `lint_path` (engine), `records` (result records), the catalog in
`entersys.lint.catalog`."""

from entersys.lint.engine import LintError, LintReport, lint_path

__all__ = ["LintError", "LintReport", "lint_path"]
