// This file holds a table's background writer: Write encodes lines into one
// buffer while a goroutine writes the previous buffer to the file, so the
// file's write system calls overlap the caller's reading and encoding
// instead of adding to them.

package jsonlsink

import (
	"os"
	"sync"
)

const (
	// handOffSize is how full a buffer gets before Write hands it to the
	// writer: large enough that a write system call costs little per line,
	// small enough that the two buffers stay well under a MiB.
	handOffSize = 256 << 10
	// maxKeptBuffer caps the capacity of a buffer kept after its write: a
	// buffer grown by a very wide row (up to lib/pq's whole row) is dropped
	// rather than held for the rest of the run.
	maxKeptBuffer = 4 << 20
	// writebackEvery is how many bytes the writer writes between two
	// startWriteback hints: the write-back of a checkpoint's lines
	// (50,000 rows, about 15 MB, in examples/basic) starts while they are
	// written, not at the checkpoint's fsync, which the reading waits for.
	writebackEvery = 4 << 20
)

// fileWriter writes one table's encoded lines to its file from a goroutine
// of its own, through a bounded hand-off.
//
// Exactly two buffers exist. The caller (the one goroutine calling for the
// table) fills cur; the other is queued in work, being written, or back in
// free. handOff gives cur to the writer and takes the other buffer back,
// waiting for its write to end: so at most one buffer is written while the
// caller fills the next, and memory never grows with a slow disk.
//
// The first write error (or encoding error, encodeloop.go) is kept in err:
// the writer writes nothing after it
// (the file's tail may be torn; Open repairs it), and every later
// Write, Flush and Close returns it, until discard clears it on a reopen.
type fileWriter struct {
	f    *os.File
	cur  []byte        // the buffer being filled; the caller's
	work chan []byte   // to the writer; cap 1
	free chan []byte   // written buffers, back to the caller; cap 1
	done chan struct{} // closed when the writer goroutine has returned

	mu  sync.Mutex
	err error // the first write error, until discard
}

// newFileWriter starts the writer goroutine of f; stop ends it.
func newFileWriter(f *os.File) *fileWriter {
	w := &fileWriter{
		f:    f,
		cur:  make([]byte, 0, handOffSize+handOffSize/4),
		work: make(chan []byte, 1),
		free: make(chan []byte, 1),
		done: make(chan struct{}),
	}
	w.free <- make([]byte, 0, handOffSize+handOffSize/4)
	go w.run()
	return w
}

// run writes the buffers handed to it, in order, and gives each back.
func (w *fileWriter) run() {
	defer close(w.done)
	unhinted := 0 // bytes written since the last startWriteback
	for b := range w.work {
		if w.failed() == nil {
			if _, err := w.f.Write(b); err != nil {
				w.fail(err)
			} else if unhinted += len(b); unhinted >= writebackEvery {
				startWriteback(w.f)
				unhinted = 0
			}
		}
		if cap(b) > maxKeptBuffer {
			b = make([]byte, 0, handOffSize+handOffSize/4)
		}
		w.free <- b[:0]
	}
}

// fail keeps err as the writer's error, unless it has one already.
func (w *fileWriter) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// failed returns the first write error, or nil.
func (w *fileWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// handOff gives cur to the writer and takes the other buffer back, once its
// write has ended.
func (w *fileWriter) handOff() {
	w.work <- w.cur
	w.cur = <-w.free
}

// drain hands off what cur holds and waits until the writer has written
// everything handed to it; it returns the first write error.
func (w *fileWriter) drain() error {
	if len(w.cur) > 0 {
		w.handOff()
	}
	w.idle()
	return w.failed()
}

// idle waits until the writer holds no buffer: the one buffer that is not
// cur is back in free.
func (w *fileWriter) idle() {
	b := <-w.free
	w.free <- b
}

// discard drops the lines in cur (never handed off), waits for the writer
// to finish what it was given, and forgets a write error: the start of a new
// run, whose Open repairs the file's tail.
func (w *fileWriter) discard() {
	w.cur = w.cur[:0]
	w.idle()
	w.mu.Lock()
	w.err = nil
	w.mu.Unlock()
}

// stop drains the writer and ends its goroutine; it returns the first write
// error. The writer cannot be used afterwards.
func (w *fileWriter) stop() error {
	err := w.drain()
	close(w.work)
	<-w.done
	return err
}
