"""Concrete checkers: they run the native stubs (real `syscall` instructions, the assembly
mapping, seccomp-injected kernel results) and compare what they observe with the model.

Each checker module returns entersys.results.CheckResult records; none of them renders."""
