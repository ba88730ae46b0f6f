// Command starve measures, under GOMAXPROCS=1, how far a counting goroutine gets while the
// main goroutine blocks ~200 ms in read(2) on a blocking pipe, through syscall.Syscall
// (the P is handed off) or syscall.RawSyscall (no entersyscall: the P stays taken). The
// writer is another process (this program re-run with "writer"). Prints JSON
// {"mode", "during", "ms"}. Used by entersys's gate.
//
// Usage: starve raw|syscall
package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	if os.Args[1] == "writer" {
		time.Sleep(200 * time.Millisecond)
		syscall.Write(3, []byte{1})
		return
	}
	runtime.GOMAXPROCS(1)
	var fds [2]int
	if err := syscall.Pipe2(fds[:], 0); err != nil {
		panic(err)
	}
	w := os.NewFile(uintptr(fds[1]), "w")
	cmd := exec.Command(os.Args[0], "writer")
	cmd.ExtraFiles = []*os.File{w}
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	var n int64
	go func() {
		for {
			atomic.AddInt64(&n, 1)
		}
	}()
	time.Sleep(20 * time.Millisecond) // let the counter run
	buf := make([]byte, 1)
	p := uintptr(unsafe.Pointer(&buf[0]))
	c0, t0 := atomic.LoadInt64(&n), time.Now()
	if os.Args[1] == "raw" {
		syscall.RawSyscall(syscall.SYS_READ, uintptr(fds[0]), p, 1)
	} else {
		syscall.Syscall(syscall.SYS_READ, uintptr(fds[0]), p, 1)
	}
	c1, ms := atomic.LoadInt64(&n), time.Since(t0).Milliseconds()
	cmd.Wait()
	json.NewEncoder(os.Stdout).Encode(map[string]any{"mode": os.Args[1], "during": c1 - c0, "ms": ms})
}
