// Command workload exercises a Go runtime's syscall path for entersys's gate: goroutines
// in blocking system calls (nanosleep and pipe reads through syscall.Syscall, one of them
// on a locked OS thread, sixteen readers fed by one writer goroutine) while the main
// goroutine runs runtime.GC() in a loop, timing each collection. It prints one JSON line: {"gcs", "max_gc_ms", "syscalls"}. Std-only.
//
// Usage: workload SECONDS
package main

import (
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	secs, _ := strconv.ParseFloat(os.Args[1], 64)
	deadline := time.Now().Add(time.Duration(secs * float64(time.Second)))
	var calls int64
	var stop atomic.Bool
	sleeper := func(lock bool) {
		if lock {
			runtime.LockOSThread()
		}
		ts := syscall.Timespec{Nsec: 300_000}
		for !stop.Load() {
			syscall.Nanosleep(&ts, nil)
			atomic.AddInt64(&calls, 1)
		}
	}
	for i := 0; i < 3; i++ {
		go sleeper(i == 0)
	}
	var fds [2]int
	if err := syscall.Pipe2(fds[:], 0); err != nil {
		panic(err)
	}
	go func() { // blocking reads; the writer below feeds them
		buf := make([]byte, 1)
		for !stop.Load() {
			syscall.Read(fds[0], buf)
			atomic.AddInt64(&calls, 1)
		}
	}()
	go func() {
		for !stop.Load() {
			time.Sleep(2 * time.Millisecond)
			syscall.Write(fds[1], []byte{1})
		}
		syscall.Write(fds[1], []byte{1})
	}()
	// many short blocking reads, each fed by the feeder goroutine: a stop-the-world that
	// misses a P entering one of them stalls until the feeder runs again
	const readers = 16
	var feeds [readers][2]int
	for i := range feeds {
		if err := syscall.Pipe2(feeds[i][:], 0); err != nil {
			panic(err)
		}
		go func(fd int) {
			buf := make([]byte, 1)
			for !stop.Load() {
				syscall.Read(fd, buf)
				atomic.AddInt64(&calls, 1)
			}
		}(feeds[i][0])
	}
	go func() {
		for !stop.Load() {
			for i := range feeds {
				syscall.Write(feeds[i][1], []byte{1})
			}
			time.Sleep(50 * time.Microsecond)
		}
		for i := range feeds {
			syscall.Write(feeds[i][1], []byte{1})
		}
	}()
	gcs, maxGC := 0, time.Duration(0)
	for time.Now().Before(deadline) {
		t0 := time.Now()
		runtime.GC()
		if d := time.Since(t0); d > maxGC {
			maxGC = d
		}
		gcs++
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	json.NewEncoder(os.Stdout).Encode(map[string]any{
		"gcs": gcs, "max_gc_ms": float64(maxGC.Microseconds()) / 1000,
		"syscalls": atomic.LoadInt64(&calls)})
}
