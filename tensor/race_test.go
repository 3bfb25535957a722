//go:build race

package tensor

// raceEnabled is set under -race, whose instrumentation allocates.
const raceEnabled = true
