//go:build unix

package main

import (
	"fmt"
	"runtime"
	"syscall"
)

// maxRSSMB returns getrusage's maximum resident set size of this process
// in MB (10^6 bytes).
func maxRSSMB() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return float64(ru.Maxrss) / 1e6, nil // bytes on Apple systems
	}
	return float64(ru.Maxrss) * 1024 / 1e6, nil // kilobytes elsewhere
}
