// This file holds the key index of a table file and ListKeys, which reads
// it: the live primary keys of the table, kept in memory while the table
// is open and in the file <table file>.keys beside it, made durable only
// after the lines it indexes are (see "Deletes and the key index" in the
// package documentation).

package jsonlsink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/durable"
)

// IndexExt ends the name of a table's key index file: public.orders.jsonl's
// index is public.orders.jsonl.keys (no table file ends so: they all end in
// .jsonl).
const IndexExt = ".keys"

var _ redshiftsync.KeyLister = (*Sink)(nil)

// keyIndex is the set of live keys of one table file, from its lines up to
// scanned. Each key is held by its canonical text: the JSON array of its
// key columns' values as the lines encode them.
type keyIndex struct {
	path      string                      // the index file
	live      map[string]redshiftsync.Key // live key text → key
	scanned   int64                       // bytes of the table file read into live
	persisted int64                       // bytes of the table file the index file covers
	records   int                         // key records in the index file
	dirty     map[string]bool             // key text → live, changed since persisted
}

// A record of the index file: a key live (D false) or deleted (D true), or
// a commit (Upto set) of the records before it.
type indexRecord struct {
	K    json.RawMessage `json:"k,omitempty"`
	D    bool            `json:"d,omitempty"`
	Upto *int64          `json:"upto,omitempty"`
}

// ListKeys calls fn for each live key of table within r (see
// [redshiftsync.KeyLister]), from the table's key index: keys whose last
// line is a row, not a tombstone. The lines written but not flushed are
// written to the file first (not fsynced), and read into the index with
// the lines written since it was last brought up to date, so they are
// listed. The first call for a table in a process loads its index file
// (or, without one, reads the whole table file). fn must not call the sink
// for the table.
func (s *Sink) ListKeys(ctx context.Context, table *redshiftsync.Table, r redshiftsync.KeyRange, fn func(redshiftsync.Key) error) error {
	tf, err := s.writable(ctx, table, "ListKeys")
	if err != nil {
		return err
	}
	if err := tf.keyed(table); err != nil {
		return err
	}
	if err := tf.w.drain(); err != nil {
		return fmt.Errorf("jsonlsink: table %s: %w", tf.enc.table, err)
	}
	idx, err := tf.index()
	if err != nil {
		return fmt.Errorf("jsonlsink: table %s: key index: %w", tf.enc.table, err)
	}
	if err := tf.catchUp(idx); err != nil {
		return fmt.Errorf("jsonlsink: table %s: key index: %w", tf.enc.table, err)
	}
	for _, k := range idx.live {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.Contains(k) {
			if err := fn(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// index returns the table's key index, loading it on first use.
func (tf *tableFile) index() (*keyIndex, error) {
	if tf.idx != nil {
		return tf.idx, nil
	}
	idx := &keyIndex{path: tf.path + IndexExt, live: map[string]redshiftsync.Key{}, dirty: map[string]bool{}}
	if err := tf.loadIndex(idx); err != nil {
		return nil, err
	}
	tf.idx = idx
	return idx, nil
}

// loadIndex reads the index file into idx: the records up to its last
// commit, which are the ones made durable whole. What follows (a crash
// while appending) is cut off. An index file that covers more of the table
// file than it holds (the table file was replaced or cut by hand) is
// discarded: the table file is read again from its start.
func (tf *tableFile) loadIndex(idx *keyIndex) error {
	data, err := os.ReadFile(idx.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	pending := map[string]*redshiftsync.Key{}
	var committed int // bytes of data up to the last commit
	records := 0
	for off := 0; off < len(data); {
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 {
			break
		}
		line := data[off : off+nl]
		off += nl + 1
		var rec indexRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			break
		}
		if rec.Upto != nil {
			for text, k := range pending {
				if k == nil {
					delete(idx.live, text)
				} else {
					idx.live[text] = *k
				}
			}
			clear(pending)
			idx.persisted, committed = *rec.Upto, off
			continue
		}
		records++
		if rec.D {
			pending[string(rec.K)] = nil
			continue
		}
		k, err := tf.decodeKey(rec.K)
		if err != nil {
			return fmt.Errorf("%s: %w", idx.path, err)
		}
		pending[string(rec.K)] = &k
	}
	fi, err := os.Stat(tf.path)
	if err != nil {
		return err
	}
	if idx.persisted > fi.Size() {
		clear(idx.live)
		idx.persisted, committed, records = 0, 0, 0
	}
	idx.scanned, idx.records = idx.persisted, records
	if committed < len(data) {
		if err := os.Truncate(idx.path, int64(committed)); err != nil {
			return err
		}
	}
	return nil
}

// catchUp reads the whole lines of the table file from idx.scanned on into
// idx: a row makes its key live, a tombstone deletes it, control lines are
// skipped.
func (tf *tableFile) catchUp(idx *keyIndex) error {
	f, err := os.Open(tf.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(idx.scanned, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, 1<<20)
	var obj map[string]json.RawMessage
	var text []byte
	for {
		line, err := br.ReadBytes('\n')
		if err == io.EOF {
			return nil // a partial line is read once whole
		}
		if err != nil {
			return err
		}
		idx.scanned += int64(len(line))
		if IsControl(line[:len(line)-1]) {
			continue
		}
		clear(obj)
		if err := json.Unmarshal(line, &obj); err != nil {
			return fmt.Errorf("%s at byte %d: %w", tf.path, idx.scanned-int64(len(line)), err)
		}
		text = append(text[:0], '[')
		ok := true
		for i, name := range tf.keyNames {
			v, has := obj[name]
			if !has {
				ok = false // a line of another shape of the table
				break
			}
			if i > 0 {
				text = append(text, ',')
			}
			text = append(text, v...)
		}
		if !ok {
			continue
		}
		text = append(text, ']')
		if string(obj[DeletedKey]) == "true" {
			if _, had := idx.live[string(text)]; had {
				delete(idx.live, string(text))
			}
			idx.dirty[string(text)] = false
			continue
		}
		k, err := tf.decodeKey(text)
		if err != nil {
			return fmt.Errorf("%s at byte %d: %w", tf.path, idx.scanned-int64(len(line)), err)
		}
		idx.live[string(text)] = k
		idx.dirty[string(text)] = true
	}
}

// persistIndex makes the index's changes durable once the table file has
// been fsynced (Flush, Close): the records of the keys changed, then a
// commit record of the bytes they cover, appended and fsynced; or, when
// the file holds more than twice as many records as live keys (plus 1024),
// the file is replaced (atomically) by the live keys alone. The index only
// ever covers lines the fsync made durable: lines read since (scanned) are
// in the file before the fsync that precedes this call.
func (tf *tableFile) persistIndex() error {
	idx := tf.idx
	if idx == nil || (len(idx.dirty) == 0 && idx.scanned == idx.persisted) {
		return nil
	}
	var b []byte
	rec := func(text string, deleted bool) {
		b = append(b, `{"k":`...)
		b = append(b, text...)
		if deleted {
			b = append(b, `,"d":true`...)
		}
		b = append(b, "}\n"...)
	}
	commit := func() { b = append(b, `{"upto":`+strconv.FormatInt(idx.scanned, 10)+"}\n"...) }
	if idx.records+len(idx.dirty) > 2*len(idx.live)+1024 {
		for text := range idx.live {
			rec(text, false)
		}
		commit()
		if err := durable.WriteFile(idx.path, b); err != nil {
			return err
		}
		idx.records = len(idx.live)
	} else {
		for text, live := range idx.dirty {
			rec(text, !live)
		}
		commit()
		if err := appendSynced(idx.path, b); err != nil {
			return err
		}
		idx.records += len(idx.dirty)
	}
	clear(idx.dirty)
	idx.persisted = idx.scanned
	return nil
}

// appendSynced appends b to the file at path and fsyncs it, creating it
// (mode 0600, as durable.WriteFile makes its compacted form: the index is
// the sink's own) and syncing its directory when it does not exist.
func appendSynced(path string, b []byte) error {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		return durable.SyncDir(filepath.Dir(path))
	}
	return nil
}

// decodeKey decodes the canonical text of a key (a JSON array of its
// columns' values) into the Go values of the key columns' logical types.
func (tf *tableFile) decodeKey(text []byte) (redshiftsync.Key, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(text, &raw); err != nil {
		return nil, err
	}
	if len(raw) != len(tf.keyCols) {
		return nil, fmt.Errorf("key %s has %d values, the primary key %d columns", text, len(raw), len(tf.keyCols))
	}
	k := make(redshiftsync.Key, len(raw))
	for i, v := range raw {
		x, err := decodeValue(v, tf.keyCols[i].Type)
		if err != nil {
			return nil, fmt.Errorf("key %s: column %q: %w", text, tf.keyCols[i].Name, err)
		}
		k[i] = x
	}
	return k, nil
}

// decodeValue decodes the JSON value v of a line (see "Line format" in the
// package documentation) into the Go value of logical type lt.
func decodeValue(v json.RawMessage, lt redshiftsync.LogicalType) (any, error) {
	var s string
	isString := len(v) > 0 && v[0] == '"'
	if isString {
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, err
		}
	}
	switch lt {
	case redshiftsync.TypeShort, redshiftsync.TypeInt, redshiftsync.TypeLong:
		if !isString {
			return strconv.ParseInt(string(v), 10, 64)
		}
	case redshiftsync.TypeFloat, redshiftsync.TypeDouble:
		switch {
		case !isString:
			return strconv.ParseFloat(string(v), 64)
		case s == "NaN":
			return math.NaN(), nil
		case s == "Infinity":
			return math.Inf(1), nil
		case s == "-Infinity":
			return math.Inf(-1), nil
		}
	case redshiftsync.TypeBoolean:
		return string(v) == "true", nil
	case redshiftsync.TypeDecimal:
		if !isString {
			return redshiftsync.Decimal(v), nil
		}
		return redshiftsync.Decimal(s), nil
	case redshiftsync.TypeBinary:
		return base64.StdEncoding.DecodeString(s)
	case redshiftsync.TypeNaiveDate, redshiftsync.TypeNaiveDateTime, redshiftsync.TypeUTCDateTime:
		if t, ok := parseLineTime(s); ok {
			return t, nil
		}
	}
	if isString {
		return s, nil
	}
	return string(v), nil
}

// parseLineTime parses a date or timestamp as the lines write it
// ("2024-01-31", "2024-01-31T13:45:01.123456", with a "Z" for UTC, a year
// in ISO 8601 expanded form outside 1..9999) as a time in UTC.
func parseLineTime(s string) (time.Time, bool) {
	s = strings.TrimSuffix(s, "Z")
	sign := 1
	if s != "" && (s[0] == '+' || s[0] == '-') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	dash := strings.IndexByte(s, '-')
	if dash < 4 {
		return time.Time{}, false
	}
	year, err := strconv.Atoi(s[:dash])
	if err != nil {
		return time.Time{}, false
	}
	layout := "2006-01-02"
	if strings.Contains(s, "T") {
		layout = "2006-01-02T15:04:05.999999"
	}
	t, err := time.Parse(layout, "2000"+s[dash:])
	if err != nil {
		return time.Time{}, false
	}
	return t.AddDate(sign*year-2000, 0, 0), true
}
