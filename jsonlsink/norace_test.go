//go:build !race

package jsonlsink

const raceEnabled = false
