// Command errnoprobe installs a seccomp filter (raw BPF, on every thread with
// SECCOMP_FILTER_FLAG_TSYNC) that makes getpgid return -ERRNO and getsid return -1 (EPERM),
// then calls them through syscall.Syscall and syscall.RawSyscall and prints what Go
// reports as JSON: {"Syscall": [r1, r2, errno], "RawSyscall": [...], "control": [...]}.
// Used by entersys's gate to compare Go's errno mapping on linux/amd64 with the model.
//
// Usage: errnoprobe ERRNO
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

type sockFilter struct {
	Code uint16
	Jt   uint8
	Jf   uint8
	K    uint32
}

type sockFprog struct {
	Len    uint16
	Filter *sockFilter
}

const (
	bpfLdWAbs = 0x20
	bpfJeqK   = 0x15
	bpfRetK   = 0x06
	auditArch = 0xc000003e // AUDIT_ARCH_X86_64
	retAllow  = 0x7fff0000
	retErrno  = 0x00050000
	retKill   = 0x80000000
)

func main() {
	e, _ := strconv.Atoi(os.Args[1])
	prog := []sockFilter{
		{bpfLdWAbs, 0, 0, 4}, // arch
		{bpfJeqK, 1, 0, auditArch},
		{bpfRetK, 0, 0, retKill},
		{bpfLdWAbs, 0, 0, 0}, // nr
		{bpfJeqK, 0, 1, uint32(syscall.SYS_GETPGID)},
		{bpfRetK, 0, 0, retErrno | uint32(e)},
		{bpfJeqK, 0, 1, uint32(syscall.SYS_GETSID)},
		{bpfRetK, 0, 0, retErrno | 1},
		{bpfRetK, 0, 0, retAllow},
	}
	fp := sockFprog{uint16(len(prog)), &prog[0]}
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0, 0); errno != 0 {
		fmt.Fprintln(os.Stderr, "prctl:", errno)
		os.Exit(1)
	}
	if _, _, errno := syscall.RawSyscall(317 /* SYS_SECCOMP */, 1 /* SET_MODE_FILTER */, 1, /* TSYNC */
		uintptr(unsafe.Pointer(&fp))); errno != 0 {
		fmt.Fprintln(os.Stderr, "seccomp:", errno)
		os.Exit(1)
	}
	out := map[string][3]uint64{}
	r1, r2, err := syscall.Syscall(syscall.SYS_GETPGID, 0, 0, 0)
	out["Syscall"] = [3]uint64{uint64(r1), uint64(r2), uint64(err)}
	r1, r2, err = syscall.RawSyscall(syscall.SYS_GETPGID, 0, 0, 0)
	out["RawSyscall"] = [3]uint64{uint64(r1), uint64(r2), uint64(err)}
	r1, r2, err = syscall.Syscall(syscall.SYS_GETSID, 0, 0, 0)
	out["control"] = [3]uint64{uint64(r1), uint64(r2), uint64(err)}
	json.NewEncoder(os.Stdout).Encode(out)
}
