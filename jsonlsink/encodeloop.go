// This file holds a table's encoder goroutine: Write checks a batch's values
// and copies them (the interface values, not what they point to) into a
// snapshot, and the goroutine encodes the snapshot into the table's buffers
// while the extractor reads its next page, so the encoding overlaps the
// reading instead of adding to it (BENCHMARKS.md, "jsonlsink: session 4").

package jsonlsink

import (
	"fmt"
)

const (
	// snapshots is how many batches Write can hand to the encoder before it
	// waits: one, being encoded while the extractor reads the next, so
	// memory does not grow when the encoding is slower than the reading.
	// Two (one more queued) took no less of the reader's time in Write in
	// the benchmark but 7 MiB more peak RSS in examples/basic (BENCHMARKS.md,
	// "jsonlsink: session 4"); the code works with any number.
	snapshots = 1
	// syncBatchBytes bounds the text a batch may hold and still be encoded
	// after its Write returns: a batch of wider values (documents, blobs,
	// up to the extractor's batch_bytes) is encoded before Write returns,
	// as if the encoder were not there, so a pipelined batch never keeps
	// more than this alive beyond the extractor's own batch.
	syncBatchBytes = 4 << 20
	// maxKeptValues caps the capacity of a snapshot kept after its encoding
	// (in values; 16 bytes each): one grown by a very large batch is
	// dropped rather than held for the rest of the run.
	maxKeptValues = 1 << 20
)

// snapshot holds the values of the rows of one batch, back to back: row i
// is vals[i*w : (i+1)*w] for a table of w columns. The values are the
// batch's own (strings, []byte and the like are never reused by the
// extractor, redshiftsync.Batch says so); only the Rows slices are.
type snapshot struct {
	vals []any
	rows int
}

// encodeLoop runs a table's encoder goroutine. Exactly snapshots snapshots
// exist: the caller (the one goroutine calling for the table) takes a free
// one, fills it and queues it in work; the goroutine encodes it into the
// fileWriter's buffer (handing full buffers to the writer) and gives it back
// in free.
//
// Ownership of the encoder and of the fileWriter's cur moves with the
// snapshots: while one is queued or being encoded, only the goroutine
// touches them; once idle has returned (every snapshot back in free), only
// the caller does, until it queues the next. So every method other than
// Write (Flush, Open, Delete, the control lines, ListKeys, Close) calls idle
// before it touches them.
//
// A failed encoding (a panic in it, which Write's check leaves no known way
// to reach) is kept as the fileWriter's error: Write, Flush and Close
// return it as they return a failed write.
type encodeLoop struct {
	enc  *encoder
	w    *fileWriter
	work chan *snapshot // to the goroutine; cap snapshots
	free chan *snapshot // encoded snapshots, back to the caller; cap snapshots
	done chan struct{}  // closed when the goroutine has returned
}

// newEncodeLoop starts the encoder goroutine of enc and w; stop ends it.
func newEncodeLoop(enc *encoder, w *fileWriter) *encodeLoop {
	l := &encodeLoop{
		enc:  enc,
		w:    w,
		work: make(chan *snapshot, snapshots),
		free: make(chan *snapshot, snapshots),
		done: make(chan struct{}),
	}
	for range snapshots {
		l.free <- new(snapshot)
	}
	go l.run()
	return l
}

// run encodes the snapshots handed to it, in order, and gives each back.
func (l *encodeLoop) run() {
	defer close(l.done)
	for sn := range l.work {
		if l.w.failed() == nil {
			l.encode(sn)
		}
		clear(sn.vals) // let the values go now, not when the snapshot is next filled
		if cap(sn.vals) > maxKeptValues {
			sn.vals = nil
		}
		sn.vals, sn.rows = sn.vals[:0], 0
		l.free <- sn
	}
}

// encode appends the lines of sn's rows to the writer's buffer, handing it
// to the writer whenever it is full. An error (or a panic) stops it and
// is kept as the writer's error; the lines before the failed row stay.
func (l *encodeLoop) encode(sn *snapshot) {
	defer func() {
		if r := recover(); r != nil {
			l.w.fail(fmt.Errorf("encoding a row panicked: %v", r))
		}
	}()
	width := len(l.enc.cols)
	for i := range sn.rows {
		b, err := l.enc.appendRow(l.w.cur, sn.vals[i*width:(i+1)*width])
		if err != nil {
			l.w.fail(err)
			return
		}
		l.w.cur = b
		if len(b) >= handOffSize {
			l.w.handOff()
		}
	}
}

// write checks rows and hands their values to the goroutine; the Rows
// slices are free for the caller to reuse when it returns. It waits for a
// free snapshot (the goroutine holds at most the snapshots batches before
// this one: the one before it), and, for a batch of more than syncBatchBytes of text, until the
// batch is encoded. A row that fails the check fails the call: the rows
// before it are handed over, it and the rows after it are not.
func (l *encodeLoop) write(rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	sn := <-l.free
	vals := sn.vals
	var err error
	n, size := 0, 0
	for _, row := range rows {
		var sz int
		if sz, err = l.enc.check(row); err != nil {
			break
		}
		vals = append(vals, row...)
		size += sz
		n++
	}
	sn.vals, sn.rows = vals, n
	if n == 0 {
		l.free <- sn
		return err
	}
	l.work <- sn
	if size > syncBatchBytes {
		l.idle()
	}
	return err
}

// idle waits until the goroutine holds no snapshot: every one is back in
// free, so the caller owns the encoder and the writer's cur again.
func (l *encodeLoop) idle() {
	var held [snapshots]*snapshot
	for i := range held {
		held[i] = <-l.free
	}
	for _, sn := range held {
		l.free <- sn
	}
}

// stop waits for the goroutine to encode what it was given and ends it.
// The loop cannot be used afterwards.
func (l *encodeLoop) stop() {
	l.idle()
	close(l.work)
	<-l.done
}
