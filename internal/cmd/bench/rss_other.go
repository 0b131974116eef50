//go:build !unix

package main

import "os"

// maxRSSMiB is unknown (-1) where there is no rusage.
func maxRSSMiB(*os.ProcessState) float64 { return -1 }
