//go:build !unix

package main

import "os"

// maxRSSKiB is unknown (-1) where there is no rusage.
func maxRSSKiB(*os.ProcessState) int64 { return -1 }
