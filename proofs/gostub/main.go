// Command gostub links Go's low-level Linux system-call stub (internal/runtime/syscall/linux
// Syscall6, through syscall.Syscall6 and syscall.RawSyscall6) into a tiny binary, so that
// entersys can prove the errno mapping on the machine code Go's toolchain emits for each
// GOARCH. It is cross-built with CGO_ENABLED=0 and never run by entersys.
package main

import (
	"os"
	"syscall"
)

func main() {
	r1, _, e := syscall.Syscall6(syscall.SYS_GETPID, 0, 0, 0, 0, 0, 0)
	r2, _, e2 := syscall.RawSyscall6(syscall.SYS_GETPID, 0, 0, 0, 0, 0, 0)
	if e != 0 || e2 != 0 || r1 != r2 {
		os.Exit(1)
	}
}
