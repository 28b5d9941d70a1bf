//go:build race

package main

// raceOn: the race detector slows bulk tests down about tenfold.
const raceOn = true
