// This file holds the Linux hint that starts the write-back of a table
// file's written lines to disk while the sync goes on, so that the fsync of
// the next Flush (the extractor's checkpoint) finds little left to write.

package jsonlsink

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to start writing f's dirty pages to disk
// without waiting for them (sync_file_range(2) with SYNC_FILE_RANGE_WRITE,
// over the whole file: pages already under write-back are skipped). It is a
// hint: durability still comes from Flush's fsync alone, so its error
// (a file system or device that does not support it) is ignored.
func startWriteback(f *os.File) {
	const syncFileRangeWrite = 2 // SYNC_FILE_RANGE_WRITE
	sc, err := f.SyscallConn()
	if err != nil {
		return
	}
	sc.Control(func(fd uintptr) {
		syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, fd, 0, 0, syncFileRangeWrite, 0, 0)
	})
}
