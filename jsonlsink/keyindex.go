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
	"slices"
	"sort"
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
	sorted    []indexEntry                // keys by CompareKeys, for ListKeys; may hold keys deleted since (not in live)
	unsorted  bool                        // a key was added since sorted was built
	scanned   int64                       // bytes of the table file read into live
	persisted int64                       // bytes of the table file the index file covers
	records   int                         // key records in the index file
	dirty     map[string]bool             // key text → live, changed since persisted
	rewrite   bool                        // the next persist writes the whole index (dirty is not kept)
}

// indexEntry is a key of the sorted list.
type indexEntry struct {
	text string
	key  redshiftsync.Key
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
	idx.sort()
	i := 0
	if r.Lower != nil {
		i = sort.Search(len(idx.sorted), func(i int) bool { return redshiftsync.CompareKeys(idx.sorted[i].key, r.Lower) >= 0 })
	}
	for ; i < len(idx.sorted); i++ {
		e := idx.sorted[i]
		if r.Upper != nil && redshiftsync.CompareKeys(e.key, r.Upper) >= 0 {
			break
		}
		if _, ok := idx.live[e.text]; !ok {
			continue // deleted since the sort
		}
		if err := fn(e.key); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// sort builds the sorted list of the live keys when a key was added since
// it was last built: once per detection, which adds no keys (it deletes).
func (idx *keyIndex) sort() {
	if !idx.unsorted && idx.sorted != nil {
		return
	}
	idx.sorted = idx.sorted[:0]
	for text, k := range idx.live {
		idx.sorted = append(idx.sorted, indexEntry{text, k})
	}
	slices.SortFunc(idx.sorted, func(a, b indexEntry) int { return redshiftsync.CompareKeys(a.key, b.key) })
	idx.unsorted = false
}

// add makes the key of text live, decoding it unless it is live already.
func (tf *tableFile) addKey(idx *keyIndex, text []byte) error {
	if _, ok := idx.live[string(text)]; ok {
		return nil
	}
	k, err := tf.decodeKey(text)
	if err != nil {
		return err
	}
	idx.live[string(text)] = k
	idx.unsorted = true
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
		idx.rewrite = true // built from the table file: written whole
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
					idx.unsorted = true
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
		idx.rewrite = true
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
	names := make([][]byte, len(tf.keyNames))
	for i, n := range tf.keyNames {
		names[i] = appendString(nil, n)
	}
	vals := make([][]byte, len(names))
	var text []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: read it whole.
			rest, rerr := br.ReadBytes('\n')
			line, err = append(append([]byte(nil), line...), rest...), rerr
		}
		if err == io.EOF {
			return nil // a partial line is read once whole
		}
		if err != nil {
			return err
		}
		at := idx.scanned
		idx.scanned += int64(len(line))
		body := line[:len(line)-1]
		if IsControl(body) {
			continue
		}
		deleted, ok, err := keyFields(body, names, vals)
		if err != nil {
			return fmt.Errorf("%s at byte %d: %w", tf.path, at, err)
		}
		if !ok {
			continue // a line of another shape of the table
		}
		text = append(text[:0], '[')
		for i, v := range vals {
			if i > 0 {
				text = append(text, ',')
			}
			text = append(text, v...)
		}
		text = append(text, ']')
		if deleted {
			delete(idx.live, string(text))
			if !idx.rewrite {
				idx.dirty[string(text)] = false
			}
			continue
		}
		if err := tf.addKey(idx, text); err != nil {
			return fmt.Errorf("%s at byte %d: %w", tf.path, at, err)
		}
		if !idx.rewrite {
			idx.dirty[string(text)] = true
		}
	}
}

// deletedName is DeletedKey as a line's key.
var deletedName = appendString(nil, DeletedKey)

// keyFields scans line, one JSON object, for the values of the members
// named names (each a JSON string as the lines encode it), put in vals;
// ok is false when one is missing. deleted reports a DeletedKey member
// that is true. It reads the object's top level only, skipping the other
// values without decoding them: a line is read in a few hundred
// nanoseconds, where encoding/json would take microseconds.
func keyFields(line []byte, names, vals [][]byte) (deleted, ok bool, err error) {
	clear(vals)
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return false, false, errors.New("not a JSON object")
	}
	i = skipSpace(line, i+1)
	if i < len(line) && line[i] == '}' {
		return false, false, nil
	}
	for {
		kEnd, err := skipValue(line, i)
		if err != nil || line[i] != '"' {
			return false, false, errors.New("malformed JSON object")
		}
		name := line[i:kEnd]
		i = skipSpace(line, kEnd)
		if i >= len(line) || line[i] != ':' {
			return false, false, errors.New("malformed JSON object")
		}
		i = skipSpace(line, i+1)
		vEnd, err := skipValue(line, i)
		if err != nil {
			return false, false, err
		}
		v := line[i:vEnd]
		for j, n := range names {
			if bytes.Equal(name, n) {
				vals[j] = v
			}
		}
		if bytes.Equal(name, deletedName) && string(v) == "true" {
			deleted = true
		}
		i = skipSpace(line, vEnd)
		if i >= len(line) {
			return false, false, errors.New("unterminated JSON object")
		}
		if line[i] == '}' {
			break
		}
		if line[i] != ',' {
			return false, false, errors.New("malformed JSON object")
		}
		i = skipSpace(line, i+1)
	}
	for _, v := range vals {
		if v == nil {
			return deleted, false, nil
		}
	}
	return deleted, true, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("missing JSON value")
	}
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
		return 0, errors.New("unterminated JSON string")
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipValue(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("unterminated JSON value")
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' {
		j++
	}
	if j == i {
		return 0, errors.New("missing JSON value")
	}
	return j, nil
}

// persistIndex makes the index's changes durable once the table file has
// been fsynced (Flush, Close): the records of the keys changed, then a
// commit record of the bytes they cover, appended and fsynced; or, when
// the file holds more than twice as many records as live keys (plus 1024),
// or the index was built from the table file (no index file, or one
// discarded), the file is replaced (atomically) by the live keys alone. The index only
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
	if idx.rewrite || idx.records+len(idx.dirty) > 2*len(idx.live)+1024 {
		for text := range idx.live {
			rec(text, false)
		}
		commit()
		if err := durable.WriteFile(idx.path, b); err != nil {
			return err
		}
		idx.records, idx.rewrite = len(idx.live), false
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
	raw, err := splitArray(text)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", text, err)
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

// splitArray returns the elements of the JSON array text (a key's
// canonical text), undecoded.
func splitArray(text []byte) ([][]byte, error) {
	i := skipSpace(text, 0)
	if i >= len(text) || text[i] != '[' {
		return nil, errors.New("not a JSON array")
	}
	var out [][]byte
	for i = skipSpace(text, i+1); i < len(text) && text[i] != ']'; {
		end, err := skipValue(text, i)
		if err != nil {
			return nil, err
		}
		out = append(out, text[i:end])
		if i = skipSpace(text, end); i < len(text) && text[i] == ',' {
			i = skipSpace(text, i+1)
		}
	}
	if i >= len(text) {
		return nil, errors.New("unterminated JSON array")
	}
	return out, nil
}

// decodeValue decodes the JSON value v of a line (see "Line format" in the
// package documentation) into the Go value of logical type lt.
func decodeValue(v []byte, lt redshiftsync.LogicalType) (any, error) {
	var s string
	isString := len(v) > 0 && v[0] == '"'
	switch {
	case isString && bytes.IndexByte(v, '\\') < 0:
		s = string(v[1 : len(v)-1])
	case isString:
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
