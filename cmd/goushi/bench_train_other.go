//go:build !unix

package main

// maxRSSMB returns -1: this system has neither /proc nor getrusage.
// NOTE: Windows reports the peak working set through
// GetProcessMemoryInfo, which goushi does not call yet.
func maxRSSMB() (float64, error) { return -1, nil }
