//go:build !race

package model

// raceEnabled says the test binary runs under the race detector, which
// makes every run several times slower.
const raceEnabled = false
