//go:build unix

package service

import (
	"syscall"
	"testing"
	"time"
)

// reportCPU reports the CPU time this process spent per operation (user
// and system, the GC's included; not the database server's). On a shared
// machine it moves far less with other people's load than ns/op does.
func reportCPU(b *testing.B) func() {
	start := processCPU(b)
	return func() {
		b.ReportMetric(float64((processCPU(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
