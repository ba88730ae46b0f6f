// Command traced runs a syscall-heavy workload under the runtime's execution tracer and
// writes the trace to the file named by its first argument: goroutines in blocking
// nanosleep and pipe reads through syscall.Syscall (long enough for sysmon to retake
// their Ps), some non-blocking getpid calls, and a runtime.GC() every 100 writes
// (stop-the-world while syscalls are in flight). Std-only; used by entersys's gate to replay real traces.
//
// Usage: traced OUT SECONDS
package main

import (
	"os"
	"runtime"
	"runtime/trace"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	secs, _ := strconv.ParseFloat(os.Args[2], 64)
	if err := trace.Start(f); err != nil {
		panic(err)
	}
	var stop atomic.Bool
	done := make(chan bool)
	n := 0
	for i := 0; i < 3; i++ {
		n++
		go func(i int) {
			ts := syscall.Timespec{Nsec: int64(50_000 * (i + 1))}
			for k := 0; !stop.Load(); k++ {
				syscall.Nanosleep(&ts, nil)
				if k%8 == 0 {
					syscall.Getpid()
				}
			}
			done <- true
		}(i)
	}
	var fds [2]int
	if err := syscall.Pipe2(fds[:], 0); err != nil {
		panic(err)
	}
	n++
	go func() {
		buf := make([]byte, 1)
		for !stop.Load() {
			syscall.Read(fds[0], buf)
		}
		done <- true
	}()
	deadline := time.Now().Add(time.Duration(secs * float64(time.Second)))
	for k := 0; time.Now().Before(deadline); k++ {
		syscall.Write(fds[1], []byte{1})
		if k%100 == 0 {
			runtime.GC()
		}
		time.Sleep(500 * time.Microsecond)
	}
	stop.Store(true)
	syscall.Write(fds[1], []byte{1})
	for ; n > 0; n-- {
		<-done
	}
	trace.Stop()
	f.Close()
}
