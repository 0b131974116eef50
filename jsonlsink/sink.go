package jsonlsink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/durable"
	"github.com/seed2085993a/redshiftsync/internal/lockfile"
	"github.com/seed2085993a/redshiftsync/internal/opentables"
)

// Sink writes each table to a JSON Lines file in one directory; see the
// package documentation for the files and the line format.
//
// Open, Write and Flush follow the [redshiftsync.Sink] contract, BeginResync
// and EndResync the [redshiftsync.ResyncSink] one: calls for different tables
// may run concurrently, calls for one table come from one goroutine at a
// time. Close must not run concurrently with the other methods.
type Sink struct {
	dir      string
	mode     fs.FileMode
	lockWait time.Duration
	lock     *lockfile.Lock // of the directory, from New to Close

	tables *opentables.Registry[*tableFile]
}

var _ redshiftsync.Sink = (*Sink)(nil)

// tableFile is the open file of one table. It is used by one goroutine at a
// time (the one calling for that table), so it needs no lock of its own; its
// writer's goroutine shares only what fileWriter guards, its encoder's
// goroutine the encoder and the writer's cur, by the hand-off encodeLoop
// describes.
type tableFile struct {
	path string
	f    *os.File
	w    *fileWriter
	enc  encoder
	loop *encodeLoop // encodes what Write hands it into w

	// Delete detection (keyindex.go, tombstone.go): the key index, loaded
	// by the first ListKeys, and the primary key it is of.
	idx      *keyIndex
	keyNames []string
	keyCols  []redshiftsync.Column
}

// An Option configures a Sink. An Option that is given a value it cannot
// use returns an error naming it, which New returns.
type Option func(*Sink) error

// WithFileMode sets the permission bits of the table files the sink creates
// (before the umask); the default is 0o644. Existing files keep theirs. The
// mode holds permission bits only, and must let the owner read and write
// (the sink appends to its files on the next run).
func WithFileMode(mode fs.FileMode) Option {
	return func(s *Sink) error {
		if mode != mode.Perm() || mode&0o600 != 0o600 {
			return fmt.Errorf("jsonlsink: WithFileMode(%#o): give permission bits that let the owner read and write, such as 0o640", uint32(mode))
		}
		s.mode = mode
		return nil
	}
}

// New returns a Sink that writes its files to dir, creating the directory
// (mode 0o755) when it does not exist. It takes the lock of the directory
// (the file .jsonlsink.lock in it) until Close: while another Sink, in this
// process or another, holds it, New fails with a *redshiftsync.LockError
// naming the holder (errors.Is ErrLocked), or waits as WithLockWait allows.
func New(dir string, opts ...Option) (*Sink, error) {
	if dir == "" {
		return nil, errors.New("jsonlsink: empty directory")
	}
	s := &Sink{dir: dir, mode: 0o644, tables: opentables.New[*tableFile]("jsonlsink")}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("jsonlsink: nil Option")
		}
		if err := o(s); err != nil {
			return nil, err
		}
	}
	fi, err := os.Stat(dir)
	switch {
	case err == nil:
		if !fi.IsDir() {
			return nil, fmt.Errorf("jsonlsink: %s is not a directory", dir)
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("jsonlsink: %w", err)
		}
		if err := durable.SyncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
			return nil, fmt.Errorf("jsonlsink: %w", err)
		}
	default:
		return nil, fmt.Errorf("jsonlsink: %w", err)
	}
	if err := s.lockDir(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir returns the directory the sink writes to.
func (s *Sink) Dir() string { return s.dir }

// Open opens (or creates) the file of table, truncating a torn last line
// left by a crash, and encodes the table's column names for the lines to
// come. It writes the table's schema file (SchemaFileName) when that is
// missing or describes other columns. It refuses a table all of whose column names begin with
// ControlPrefix (its rows would look like control lines). Opening a table again, on a later run in the same process, takes
// the new columns and discards the lines buffered but not flushed since the
// last Flush (they were never checkpointed: the extractor reads them again).
func (s *Sink) Open(ctx context.Context, table *redshiftsync.Table) error {
	if table == nil {
		return errors.New("jsonlsink: Open: nil table")
	}
	if table.Schema == "" || table.Name == "" {
		return fmt.Errorf("jsonlsink: Open: table %q: empty schema or table name", table.QualifiedName())
	}
	if err := checkColumns(table); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tf, open, err := s.tables.Lookup(table)
	if err != nil {
		return err
	}
	if open {
		// A new run in the same process: drop what the last one left
		// unflushed, and whatever a failed flush left half written.
		tf.loop.idle()
		tf.w.discard()
		if err := repairTail(tf.path); err != nil {
			return fmt.Errorf("jsonlsink: table %s: %w", table.QualifiedName(), err)
		}
		tf.enc.setColumns(table)
		tf.idx, tf.keyCols = nil, nil // the discarded lines may be indexed; the key may have changed
		return s.syncSchemaFile(table)
	}

	if err := s.syncSchemaFile(table); err != nil {
		return err
	}
	tf, err = s.openFile(table)
	if err != nil {
		return fmt.Errorf("jsonlsink: table %s: %w", table.QualifiedName(), err)
	}
	tf.enc.setColumns(table)
	if err := s.tables.Put(table, tf); err != nil {
		tf.loop.stop()
		tf.w.stop()
		tf.f.Close()
		return err
	}
	return nil
}

// openFile opens the file of table for appending, creating it (and syncing
// the directory) or cutting off its torn tail.
func (s *Sink) openFile(table *redshiftsync.Table) (*tableFile, error) {
	path := filepath.Join(s.dir, FileName(table.Schema, table.Name))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, s.mode)
	switch {
	case err == nil:
		if err := durable.SyncDir(s.dir); err != nil {
			f.Close()
			return nil, err
		}
	case errors.Is(err, fs.ErrExist):
		if err := repairTail(path); err != nil {
			return nil, err
		}
		if f, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	tf := &tableFile{path: path, f: f, w: newFileWriter(f)}
	tf.loop = newEncodeLoop(&tf.enc, tf.w)
	return tf, nil
}

// Write checks the rows of batch and hands their values to the table's
// encoder goroutine, which encodes them into the table's buffer while the
// caller reads on; Flush makes them durable. Write copies the values (not
// what they point to, which the extractor never reuses), so batch.Rows is
// the caller's again when Write returns. It waits when the encoder still
// holds the batch before this one, and, for a batch holding more
// than 4 MiB of text, until the batch is encoded (so wide rows are not kept
// alive longer). A full buffer (256 KiB) goes to the table's writer
// goroutine, which writes it to the file while the encoder fills the next.
// A failed write of that goroutine (or a failed encoding) fails this Write,
// or the next Write, Flush or Close of the table, until the table is
// opened again.
//
// A value of a Go type that no logical type uses (or a time.Time in a
// column that is not a date or timestamp) fails the Write with an error
// naming the table, the column and the Go type; the lines of the rows before
// it stay buffered, and no partial line is ever written.
func (s *Sink) Write(ctx context.Context, batch redshiftsync.Batch) error {
	tf, err := s.table(batch.Table, "Write")
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Not writable's idle: Write must not wait for the encoding of the
	// batches before it.
	if err := tf.w.failed(); err != nil {
		return fmt.Errorf("jsonlsink: table %s: %w", tf.enc.table, err)
	}
	return tf.loop.write(batch.Rows)
}

// Flush writes the buffered lines of table to its file, waits until its
// writer goroutine has written everything handed to it, and fsyncs the
// file. It returns the first write error the writer met since the table
// was opened: a nil error means every line written so far is durable.
func (s *Sink) Flush(ctx context.Context, table *redshiftsync.Table) error {
	tf, err := s.table(table, "Flush")
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := tf.flush(); err != nil {
		return fmt.Errorf("jsonlsink: table %s: %w", tf.enc.table, err)
	}
	if err := tf.persistIndex(); err != nil {
		return fmt.Errorf("jsonlsink: table %s: key index: %w", tf.enc.table, err)
	}
	return nil
}

// Close flushes and fsyncs every open file, ends its writer goroutine
// (also for a table whose write failed), closes it, and releases the lock
// of the directory. It returns the errors met, joined; the sink cannot be
// used afterwards. Calling Close again does nothing.
func (s *Sink) Close() error {
	open, ok := s.tables.Close()
	if !ok {
		return nil
	}
	var errs []error
	for _, tf := range open {
		tf.loop.stop()
		if err := tf.w.stop(); err != nil {
			errs = append(errs, fmt.Errorf("jsonlsink: table %s: %w", tf.enc.table, err))
		} else if err := tf.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("jsonlsink: table %s: %w", tf.enc.table, err))
		} else if err := tf.persistIndex(); err != nil {
			errs = append(errs, fmt.Errorf("jsonlsink: table %s: key index: %w", tf.enc.table, err))
		}
		if err := tf.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("jsonlsink: table %s: %w", tf.enc.table, err))
		}
	}
	if err := s.lock.Release(); err != nil {
		errs = append(errs, fmt.Errorf("jsonlsink: release the lock of %s: %w", s.dir, err))
	}
	return errors.Join(errs...)
}

// table returns the open file of t.
func (s *Sink) table(t *redshiftsync.Table, op string) (*tableFile, error) {
	return s.tables.Get(t, op)
}

// flush waits for the encoder to encode what Write handed it, hands the
// buffered lines to the writer, waits for their write and fsyncs the file.
func (tf *tableFile) flush() error {
	tf.loop.idle()
	if err := tf.w.drain(); err != nil {
		return err
	}
	return tf.f.Sync()
}

// repairTail truncates the file at path to just after its last '\n' (to
// empty when it has none), cutting off the torn last line a crash can leave.
// A file that ends in '\n', or is empty, is left alone.
func repairTail(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if end == 0 {
		return nil
	}
	var last [1]byte
	if _, err := f.ReadAt(last[:], end-1); err != nil {
		return err
	}
	if last[0] == '\n' {
		return nil
	}
	// Scan backwards for the last '\n'.
	buf := make([]byte, 64<<10)
	keep := int64(0)
	for pos := end; pos > 0; {
		n := int64(len(buf))
		if n > pos {
			n = pos
		}
		pos -= n
		if _, err := f.ReadAt(buf[:n], pos); err != nil && err != io.EOF {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			keep = pos + int64(i) + 1
			break
		}
	}
	if err := f.Truncate(keep); err != nil {
		return err
	}
	return f.Sync()
}

// writable returns the open table of t for op, which writes to it: an error
// when ctx is done, or when the table's writer has failed (its error, again,
// until the table is opened again). It waits for the encoder goroutine to
// encode what Write handed it, so that op's lines follow those rows' and op
// may touch the encoder and the writer's buffer.
func (s *Sink) writable(ctx context.Context, t *redshiftsync.Table, op string) (*tableFile, error) {
	tf, err := s.table(t, op)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tf.loop.idle()
	if err := tf.w.failed(); err != nil {
		return nil, fmt.Errorf("jsonlsink: table %s: %w", tf.enc.table, err)
	}
	return tf, nil
}
