//go:build !race

package redshiftsync

const raceEnabled = false
