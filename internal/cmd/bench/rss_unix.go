//go:build unix

package main

import (
	"os"
	"runtime"
	"syscall"
)

// maxRSSMiB returns the peak resident set size of a finished process from
// its rusage (ru_maxrss: KiB on Linux, bytes on macOS); -1 when unknown.
func maxRSSMiB(ps *os.ProcessState) float64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	switch {
	case !ok || ru == nil:
		return -1
	case runtime.GOOS == "darwin" || runtime.GOOS == "ios":
		return float64(ru.Maxrss) / (1 << 20)
	}
	return float64(ru.Maxrss) / 1024
}
