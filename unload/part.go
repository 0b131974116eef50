// This file holds ReadPart: opening a Parquet part over S3, mapping its
// columns to the table's, and streaming its rows in batches.

package unload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/seed2085993a/redshiftsync"
)

// chunkRows is how many rows are decoded column by column before they are
// counted into batches: small, so that rows decoded past a batch's byte
// bound (kept for the next batch) cost little memory.
const chunkRows = 256

// ReadPart streams the rows of part, decoded for table's columns (see
// redshiftsync.Unloader). Parquet columns are matched to Table.Columns by
// name (exactly, else case-insensitively when that is unambiguous, as
// Redshift folds unquoted names to lower case); a table column missing from
// the part, or a Parquet type that cannot carry the column's logical type,
// is an error naming both, raised before any row is emitted.
func (r *Reader) ReadPart(ctx context.Context, table *redshiftsync.Table, part redshiftsync.UnloadPart, maxRows int, maxBytes int64, emit func(rows [][]any) error) (err error) {
	if maxRows <= 0 {
		return fmt.Errorf("unload: ReadPart of %s: maxRows is %d: give at least 1", part.URL, maxRows)
	}
	u, err := parseS3URL(part.URL, "part")
	if err != nil {
		return err
	}
	if r.parts != nil {
		if err := r.parts.Acquire(ctx, 1); err != nil {
			return err
		}
		defer r.parts.Release(1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	o := &object{r: r, ctx: ctx, url: u, size: part.Bytes}
	if o.size <= 0 {
		head, err := r.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(u.bucket), Key: aws.String(u.key)})
		if err != nil {
			return r.wrap(err, "unload: read the size of "+u.String())
		}
		o.size = aws.ToInt64(head.ContentLength)
	}
	b := &batcher{emit: emit, maxRows: maxRows, maxBytes: maxBytes, rows: make([][]any, 0, min(maxRows, 1<<16)), stats: r.stats}
	// parquet-go panics on some malformed files (a DECIMAL without a
	// length, say): a damaged part is an error, not a crash. A panic of
	// emit is the caller's, and goes on.
	defer func() {
		if p := recover(); p != nil {
			if b.inEmit {
				panic(p)
			}
			err = fmt.Errorf("unload: %s (%s) is not a readable Parquet file: %v", u, table.QualifiedName(), p)
		}
	}()
	f, err := parquet.OpenFile(o, o.size,
		parquet.SkipMagicBytes(true), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true),
		parquet.OptimisticRead(true), parquet.ReadBufferSize(r.readBuffer))
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("unload: %s (%s) is not a readable Parquet file: %w", u, table.QualifiedName(), err)
	}
	p, err := newPartReader(f, table, u)
	if err != nil {
		return err
	}
	if f.NumRows() != part.Rows && part.Rows > 0 {
		return fmt.Errorf("unload: %s holds %d rows but its manifest entry says %d: the part or the manifest is damaged; run the UNLOAD again", u, f.NumRows(), part.Rows)
	}
	return p.run(o, b)
}

// partReader reads the row groups of one part.
type partReader struct {
	f     *parquet.File
	table *redshiftsync.Table
	url   s3URL
	// leaf[i] is the Parquet column index of table column i; dec[i] its
	// decoder.
	leaf []int
	dec  []decoder
}

// newPartReader maps the part's columns to table's and picks the decoders.
func newPartReader(f *parquet.File, table *redshiftsync.Table, u s3URL) (*partReader, error) {
	fields := f.Schema().Fields()
	exact := make(map[string]int, len(fields))
	folded := make(map[string]int, len(fields))
	for i, fl := range fields {
		exact[fl.Name()] = i
		k := strings.ToLower(fl.Name())
		if _, dup := folded[k]; dup {
			folded[k] = -1
		} else {
			folded[k] = i
		}
	}
	p := &partReader{f: f, table: table, url: u, leaf: make([]int, len(table.Columns)), dec: make([]decoder, len(table.Columns))}
	for i, c := range table.Columns {
		j, ok := exact[c.Name]
		if !ok {
			j, ok = folded[strings.ToLower(c.Name)]
			ok = ok && j >= 0
		}
		if !ok {
			names := make([]string, len(fields))
			for k, fl := range fields {
				names[k] = fl.Name()
			}
			return nil, fmt.Errorf("unload: %s has no column %q of %s (its columns: %s): the UNLOAD's SELECT must name every column of the table", u, c.Name, table.QualifiedName(), strings.Join(names, ", "))
		}
		fl := fields[j]
		if !fl.Leaf() || fl.Repeated() {
			return nil, fmt.Errorf("unload: column %q of %s is nested or repeated in %s: UNLOAD writes flat columns; the part is not an UNLOAD's", c.Name, table.QualifiedName(), u)
		}
		d, err := decoderFor(c, fl.Type())
		if err != nil {
			return nil, fmt.Errorf("unload: %s, %s: %w", table.QualifiedName(), u, err)
		}
		p.leaf[i], p.dec[i] = j, d
	}
	// A flat schema's leaf columns are its fields, in order: the column
	// chunks of each row group are indexed the same way.
	if n := len(f.Root().Columns()); n != len(fields) {
		return nil, fmt.Errorf("unload: %s has nested columns (%d fields, %d leaves): the part is not an UNLOAD's", u, len(fields), n)
	}
	return p, nil
}

// run streams every row group of the part to b.
func (p *partReader) run(o *object, b *batcher) error {
	for g, rg := range p.f.RowGroups() {
		if err := p.readGroup(o, g, rg, b); err != nil {
			return err
		}
	}
	return b.flush()
}

// column is one column chunk being read: its pages and the page's values.
type column struct {
	stream *stream
	pages  parquet.Pages
	page   parquet.Page
	values parquet.ValueReader
	buf    []parquet.Value
}

// read returns up to n next values of the chunk, from one page: byte
// arrays in them point into that page, which is released (and its memory
// reused) at the next call, so they are decoded before it.
func (c *column) read(n int) ([]parquet.Value, error) {
	for {
		if c.values == nil {
			c.release()
			pg, err := c.pages.ReadPage()
			if err != nil {
				if err == io.EOF {
					return nil, io.ErrUnexpectedEOF // fewer values than the row group's rows
				}
				return nil, err
			}
			c.page, c.values = pg, pg.Values()
		}
		k, err := c.values.ReadValues(c.buf[:min(n, cap(c.buf))])
		if err == io.EOF {
			c.values = nil
		} else if err != nil {
			return nil, err
		}
		if k > 0 {
			return c.buf[:k], nil
		}
	}
}

func (c *column) release() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
}

func (c *column) close() {
	c.release()
	if c.pages != nil {
		c.pages.Close()
	}
	c.stream.Close()
}

// readGroup decodes row group g, chunkRows rows at a time column by column,
// and hands the rows to b. Each column chunk is read through its own
// stream: one ranged GET for the whole chunk, read as the pages are needed.
func (p *partReader) readGroup(o *object, g int, rg parquet.RowGroup, b *batcher) (err error) {
	chunks := rg.ColumnChunks()
	meta := p.f.Metadata().RowGroups[g].Columns
	cols := make([]*column, len(p.leaf))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.close()
			}
		}
	}()
	for i, j := range p.leaf {
		fc, ok := chunks[j].(*parquet.FileColumnChunk)
		if !ok {
			return fmt.Errorf("unload: %s: row group %d column %d is not a file column chunk", p.url, g, j)
		}
		md := meta[j].MetaData
		start := md.DataPageOffset
		if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
			start = md.DictionaryPageOffset
		}
		s := &stream{o: o, start: start, end: min(start+md.TotalCompressedSize, o.size)}
		cols[i] = &column{stream: s, pages: fc.PagesFrom(s), buf: make([]parquet.Value, 0, chunkRows)}
	}
	ncols := len(p.leaf)
	for left := rg.NumRows(); left > 0; {
		n := int(min(left, chunkRows))
		left -= int64(n)
		vals := make([]any, n*ncols) // the rows' values: never reused
		for i, c := range cols {
			dec := p.dec[i]
			for k := 0; k < n; {
				buf, err := c.read(n - k)
				if err != nil {
					if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
						return err
					}
					return fmt.Errorf("unload: %s (%s): column %q, row group %d: %w", p.url, p.table.QualifiedName(), p.table.Columns[i].Name, g, err)
				}
				for _, v := range buf {
					if !v.IsNull() {
						x, err := dec(v)
						if err != nil {
							return fmt.Errorf("unload: %s (%s): %w", p.url, p.table.QualifiedName(), err)
						}
						vals[k*ncols+i] = x
					}
					k++
				}
			}
		}
		for k := range n {
			if err := b.add(vals[k*ncols : (k+1)*ncols : (k+1)*ncols]); err != nil {
				return err
			}
		}
	}
	return nil
}

// batcher groups rows into the batches handed to emit.
type batcher struct {
	emit     func([][]any) error
	maxRows  int
	maxBytes int64
	rows     [][]any
	bytes    int64
	stats    *counters
	inEmit   bool // emit is running (a panic is the caller's)
}

// add appends row, first emitting the batch when row would take it past
// maxRows or (past its first row) maxBytes.
func (b *batcher) add(row []any) error {
	var n int64
	for _, v := range row {
		n += valueBytes(v)
	}
	if len(b.rows) > 0 && (len(b.rows) >= b.maxRows || b.maxBytes > 0 && b.bytes+n > b.maxBytes) {
		if err := b.flush(); err != nil {
			return err
		}
	}
	b.rows = append(b.rows, row)
	b.bytes += n
	return nil
}

// flush emits the batch, if any, and empties it.
func (b *batcher) flush() error {
	if len(b.rows) == 0 {
		return nil
	}
	rows := b.rows
	b.stats.rows.Add(int64(len(rows)))
	b.inEmit = true
	err := b.emit(rows)
	b.inEmit = false
	clear(rows) // the rows belong to the caller now
	b.rows, b.bytes = rows[:0], 0
	return err
}
