// This file holds the row path's own reading of PostgreSQL's protocol: on a
// connection of New's pool whose bytes travel in the clear, a query's rows
// are decoded here, straight from the socket's read buffer, instead of by
// lib/pq, which boxes each value of each row into a driver.Value of its own.

package redshiftsync

import (
	"bytes"
	"cmp"
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/lib/pq"
	"github.com/lib/pq/oid"
	"github.com/lib/pq/pqerror"
)

// Why: with lib/pq, about 9 of a row path's 9.05 heap allocations per row of
// the benchmark's 10-column table were lib/pq's (an int64, a []byte header or
// a string per value), and allocation and garbage collection about a third
// of the client's CPU (BENCHMARKS.md, issue 15). Here a value is built the
// way valueAlloc builds the row path's own values: integers and floats in
// never-reused chunks, byte slices pointing into the read buffer.
//
// What the caller sees is what lib/pq's rows.Next would have put in dest for
// the same result, type for type, so that every decoder and check of the row
// path works on either: an int64 for int2, int4 and int8; a float64 for
// float8; a bool; a string for text, varchar, char(n) and "char"; and the
// bytes as sent for bytea and for every type lib/pq does not decode (numeric,
// name, uuid, tid, json, arrays, ...). The integers, float8 and bool arrive
// in their binary forms (lib/pq asks for int2, int4, int8, bytea and uuid in
// binary too), the others as text; float4 stays text, as lib/pq parses its
// text into a float64 (1.1, not float32(1.1)). A result with a date, time or
// timestamp column, which lib/pq parses with the session's time zone, is
// declined before any row is read, and lib/pq runs the query: the row path
// selects those as send functions or text (rowExpr), so only other queries
// meet it.
//
// The protocol is the extended query protocol of lib/pq's own prepared
// queries, two round trips: Parse, Describe and Sync, then Bind, Execute and
// Sync (https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY),
// on the unnamed statement and portal, which lib/pq's next query replaces.
// lib/pq holds the connection idle meanwhile (database/sql's Conn.Raw gives
// it to one caller at a time) and its 4 KiB buffer is empty: the server sends
// nothing after ReadyForQuery until the next query. The query ends here at
// the server's ReadyForQuery, as lib/pq's would, with the transaction as the
// server left it.
//
// A read given up half-way (each or a decoder failed, ctx was canceled) is
// canceled with a CancelRequest, as lib/pq cancels a query whose context
// is done, and its socket closed: lib/pq's rows.Close would read every
// remaining row, and a connection is discarded after a failed read anyway
// (withRetry; rawQuery makes sure database/sql does not pool it). A TLS
// connection is left to lib/pq, which owns its encryption, and so is every
// connection of a caller's *sql.DB (NewFromDB) and of Redshift.

// wireColumn is how one result column is read.
type wireColumn struct {
	oid    oid.Oid
	binary bool
	raw    bool // its binary form handed over as bytes (see wireSendOID)
}

// wireColumns returns the columns of a RowDescription, or false when one
// has a type lib/pq parses in a way this reader does not repeat (see above).
// The first columns of a row-path query are the table's: send holds the
// wireSendOID of each (nil for any other query), and a column of that type
// is read in binary and handed over as its bytes.
func wireColumns(body []byte, cols []wireColumn, send []oid.Oid) ([]wireColumn, bool, error) {
	if len(body) < 2 {
		return nil, false, errWireProtocol
	}
	n := int(binary.BigEndian.Uint16(body))
	body = body[2:]
	cols = cols[:0]
	for range n {
		i := bytes.IndexByte(body, 0)
		if i < 0 || len(body) < i+1+18 {
			return nil, false, errWireProtocol
		}
		f := body[i+1:]
		c := wireColumn{oid: oid.Oid(binary.BigEndian.Uint32(f[6:10]))}
		body = f[18:]
		if k := len(cols); k < len(send) && send[k] != 0 && send[k] == c.oid {
			c.binary, c.raw = true, true
			cols = append(cols, c)
			continue
		}
		switch c.oid {
		case oid.T_date, oid.T_time, oid.T_timestamp, oid.T_timestamptz, oid.T_timetz:
			return nil, false, nil
		case oid.T_bool, oid.T_bytea, oid.T_int8, oid.T_int2, oid.T_int4, oid.T_float8:
			c.binary = true
		}
		cols = append(cols, c)
	}
	return cols, true, nil
}

// errWireProtocol is a message the reader did not expect: the connection is
// closed, and the read retried on another.
var errWireProtocol = fmt.Errorf("redshiftsync: unexpected message from the server: %w", driver.ErrBadConn)

// wireArgs returns the text of each argument (nil for NULL) as lib/pq's
// encode writes it, or reports false for an argument of another type: lib/pq
// then runs the query (and refuses an int or a uint32, say, as it always
// has). A string meant for a bytea parameter is declined later (see run).
func wireArgs(args []any, out [][]byte) ([][]byte, bool) {
	out = out[:0]
	for _, a := range args {
		var b []byte
		switch x := a.(type) {
		case nil:
		case string:
			b = append(make([]byte, 0, len(x)), x...)
		case int64:
			b = strconv.AppendInt(nil, x, 10)
		case float64:
			b = strconv.AppendFloat(nil, x, 'f', -1, 64)
		case bool:
			b = strconv.AppendBool(nil, x)
		default:
			return nil, false
		}
		out = append(out, b)
	}
	return out, true
}

// wireQuery is the state of one query on a socket.
type wireQuery struct {
	cols  []wireColumn
	bytes [][]byte // the []byte values of the current row, reused row to row
}

// query runs q with args on c and calls each for every row, with the values
// lib/pq would have given (valid during the call only), building integers,
// floats and strings from a. It reports false, having read no row, when the
// query is better left to lib/pq (an argument or a column type it does not
// handle); the connection is then idle as before. After any error but the
// server's (an ErrorResponse, read through to ReadyForQuery) the socket is
// closed (see closed), and a query given up half-way canceled first.
func (c *bufferedConn) query(ctx context.Context, a *valueAlloc, q string, args []any, send []oid.Oid, dest *[]driver.Value, each func([]driver.Value) error) (bool, error) {
	params, ok := wireArgs(args, c.params)
	c.params = params
	if !ok {
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		return true, context.Cause(ctx)
	}
	// A canceled ctx sets a deadline in the past, which wakes the read or
	// write under way.
	var mu sync.Mutex
	finished, interrupted := false, false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !finished {
			interrupted = true
			_ = c.Conn.SetDeadline(time.Unix(1, 0))
		}
	})
	c.broken, c.gaveUp = true, false // until the exchange ends at ReadyForQuery
	handled, err := c.run(a, q, params, send, dest, each)
	stop()
	mu.Lock()
	finished = true
	mu.Unlock()
	switch {
	case interrupted || c.broken:
		if interrupted || c.gaveUp {
			c.cancelQuery()
		}
		c.Close()
		if interrupted {
			return true, context.Cause(ctx)
		}
		if err == nil {
			err = errWireProtocol
		}
		return true, err
	case c.pending > 0:
		// The last message read (ReadyForQuery) is still in r, where
		// lib/pq reads next.
		_, _ = c.r.Discard(c.pending)
		c.pending = 0
	}
	return handled, err
}

// run is query's exchange.
func (c *bufferedConn) run(a *valueAlloc, q string, params [][]byte, send []oid.Oid, dest *[]driver.Value, each func([]driver.Value) error) (handled bool, err error) {
	c.out = c.out[:0]
	c.begin('P')
	c.cstring("")
	c.cstring(q)
	c.int16(0)
	c.end()
	c.begin('D')
	c.out = append(c.out, 'S')
	c.cstring("")
	c.end()
	c.sync()
	if err := c.flush(); err != nil {
		return true, err
	}
	var (
		srvErr  error
		cols    []wireColumn
		decline bool
	)
	for {
		t, body, err := c.next()
		if err != nil {
			return true, cmp.Or(srvErr, err) // a FATAL error, then the server hung up
		}
		switch t {
		case '1', 'N', 'S':
			// A notice is dropped, as lib/pq drops it without a handler;
			// a ParameterStatus comes only with a change of a reported
			// setting (TimeZone, DateStyle...), which no query run here
			// makes (the session sets them once, through lib/pq).
		case 't':
			// lib/pq sends a string to a bytea parameter hex-encoded.
			decline = decline || hasByteaParam(body)
		case 'T':
			cols, decline, err = c.describe(body, send, decline)
			if err != nil {
				return true, err
			}
		case 'n':
			cols = c.cols[:0]
		case 'E':
			srvErr = serverError(body)
		case 'Z':
			c.broken = false
			if srvErr != nil {
				return true, srvErr
			}
			if decline {
				return false, nil
			}
			c.broken = true
			return true, c.execute(a, cols, params, dest, each)
		default:
			return true, fmt.Errorf("%w (type %q while preparing)", errWireProtocol, t)
		}
	}
}

// hasByteaParam reports whether a ParameterDescription has a bytea.
func hasByteaParam(body []byte) bool {
	if len(body) < 2 {
		return false
	}
	n := int(binary.BigEndian.Uint16(body))
	for i := range n {
		if o := 2 + 4*i; o+4 <= len(body) && oid.Oid(binary.BigEndian.Uint32(body[o:])) == oid.T_bytea {
			return true
		}
	}
	return false
}

// describe reads a RowDescription: the columns, or decline when lib/pq
// should run the query.
func (c *bufferedConn) describe(body []byte, send []oid.Oid, decline bool) ([]wireColumn, bool, error) {
	cols, ok, err := wireColumns(body, c.cols, send)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, true, nil
	}
	c.cols = cols
	return cols, decline, nil
}

// execute binds params to the prepared unnamed statement, runs it and reads
// its rows.
func (c *bufferedConn) execute(a *valueAlloc, cols []wireColumn, params [][]byte, destp *[]driver.Value, each func([]driver.Value) error) error {
	c.out = c.out[:0]
	c.begin('B')
	c.cstring("")
	c.cstring("")
	c.int16(0) // every parameter in text
	c.int16(len(params))
	for _, p := range params {
		if p == nil {
			c.int32(-1)
			continue
		}
		c.int32(len(p))
		c.out = append(c.out, p...)
	}
	c.int16(len(cols))
	for _, col := range cols {
		if col.binary {
			c.int16(1)
		} else {
			c.int16(0)
		}
	}
	c.end()
	c.begin('E')
	c.cstring("")
	c.int32(0)
	c.end()
	c.sync()
	if err := c.flush(); err != nil {
		return err
	}
	if cap(c.row) < len(cols) {
		c.row = make([][]byte, len(cols))
	}
	w := wireQuery{cols: cols, bytes: c.row[:len(cols)]}
	if cap(*destp) < len(cols) {
		*destp = make([]driver.Value, len(cols))
	}
	dest := (*destp)[:len(cols)]
	var srvErr error
	for {
		t, body, err := c.next()
		if err != nil {
			return cmp.Or(srvErr, err)
		}
		switch t {
		case 'D':
			if err := w.decode(a, body, dest); err != nil {
				c.gaveUp = true
				return err
			}
			if err := each(dest); err != nil {
				// Given up: the rest of the result is not read; the
				// query is canceled and the socket closed.
				clear(dest)
				c.gaveUp = true
				return err
			}
		case '2', 'C', 'I', 'N', 'S', 'A':
		case 'E':
			srvErr = serverError(body)
		case 'Z':
			clear(dest)
			c.broken = false
			return srvErr
		default:
			return fmt.Errorf("%w (type %q in a result)", errWireProtocol, t)
		}
	}
}

var bytesTypeWord = typeWord([]byte(nil))

// decode puts a DataRow's values into dest.
func (w *wireQuery) decode(a *valueAlloc, body []byte, dest []driver.Value) error {
	if len(body) < 2 || int(binary.BigEndian.Uint16(body)) != len(w.cols) {
		return errWireProtocol
	}
	body = body[2:]
	for i, col := range w.cols {
		if len(body) < 4 {
			return errWireProtocol
		}
		n := int32(binary.BigEndian.Uint32(body))
		body = body[4:]
		if n < 0 {
			dest[i] = nil
			continue
		}
		if int(n) > len(body) {
			return errWireProtocol
		}
		v := body[:n:n]
		body = body[n:]
		if col.raw {
			w.bytes[i] = v
			dest[i] = box(bytesTypeWord, &w.bytes[i])
			continue
		}
		switch col.oid {
		case oid.T_int8, oid.T_int4, oid.T_int2:
			var x int64
			switch len(v) {
			case 8:
				x = int64(binary.BigEndian.Uint64(v))
			case 4:
				x = int64(int32(binary.BigEndian.Uint32(v)))
			case 2:
				x = int64(int16(binary.BigEndian.Uint16(v)))
			default:
				return errWireProtocol
			}
			dest[i] = a.int(x)
		case oid.T_float8:
			if len(v) != 8 {
				return errWireProtocol
			}
			dest[i] = a.float(math.Float64frombits(binary.BigEndian.Uint64(v)))
		case oid.T_bool:
			if len(v) != 1 {
				return errWireProtocol
			}
			dest[i] = v[0] != 0
		case oid.T_float4: // text, parsed as lib/pq parses it
			f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(v), len(v)), 64)
			if err != nil {
				return errors.New("pq: " + err.Error())
			}
			dest[i] = a.float(f)
		case oid.T_text, oid.T_varchar, oid.T_bpchar, oid.T_char:
			dest[i] = a.string(v)
		default:
			// The bytes as read, as lib/pq hands them over: the value is
			// valid until the next row, which reuses its slice header.
			w.bytes[i] = v
			dest[i] = box(bytesTypeWord, &w.bytes[i])
		}
	}
	return nil
}

// serverError returns an ErrorResponse as lib/pq would: a *pq.Error.
func serverError(body []byte) error {
	e := &pq.Error{}
	for len(body) > 0 && body[0] != 0 {
		f := body[0]
		i := bytes.IndexByte(body[1:], 0)
		if i < 0 {
			break
		}
		s := string(body[1 : 1+i])
		body = body[2+i:]
		switch f {
		case 'S':
			e.Severity = s
		case 'C':
			e.Code = pqerror.Code(s)
		case 'M':
			e.Message = s
		case 'D':
			e.Detail = s
		case 'H':
			e.Hint = s
		case 'P':
			e.Position = s
		case 'p':
			e.InternalPosition = s
		case 'q':
			e.InternalQuery = s
		case 'W':
			e.Where = s
		case 's':
			e.Schema = s
		case 't':
			e.Table = s
		case 'c':
			e.Column = s
		case 'd':
			e.DataTypeName = s
		case 'n':
			e.Constraint = s
		case 'F':
			e.File = s
		case 'L':
			e.Line = s
		case 'R':
			e.Routine = s
		}
	}
	return e
}

// wireBigLimit is the largest message kept for reuse: a larger one (a row
// of wide values) is read into a buffer of its own, dropped afterwards.
const wireBigLimit = 1 << 20

// next reads the server's next message: its type and body, the body valid
// until the following call.
func (c *bufferedConn) next() (byte, []byte, error) {
	if c.pending > 0 {
		if _, err := c.r.Discard(c.pending); err != nil {
			return 0, nil, err
		}
		c.pending = 0
	}
	h, err := c.r.Peek(5)
	if err != nil {
		return 0, nil, eofUnexpected(err)
	}
	t, n := h[0], int(binary.BigEndian.Uint32(h[1:5]))-4
	if n < 0 {
		return 0, nil, errWireProtocol
	}
	if _, err := c.r.Discard(5); err != nil {
		return 0, nil, err
	}
	if n <= c.r.Size() {
		body, err := c.r.Peek(n)
		if err != nil {
			return 0, nil, eofUnexpected(err)
		}
		c.pending = n
		return t, body, nil
	}
	body := c.big
	if cap(body) < n {
		body = make([]byte, n)
	}
	body = body[:n]
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, nil, eofUnexpected(err)
	}
	if n <= wireBigLimit {
		c.big = body
	} else {
		c.big = nil
	}
	return t, body, nil
}

func eofUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// begin starts a message of type t in c.out; end writes its length.
func (c *bufferedConn) begin(t byte) {
	c.out = append(c.out, t, 0, 0, 0, 0)
	c.mark = len(c.out) - 4
}

func (c *bufferedConn) end() {
	binary.BigEndian.PutUint32(c.out[c.mark:], uint32(len(c.out)-c.mark))
}

func (c *bufferedConn) cstring(s string) { c.out = append(append(c.out, s...), 0) }
func (c *bufferedConn) int16(v int)      { c.out = binary.BigEndian.AppendUint16(c.out, uint16(v)) }
func (c *bufferedConn) int32(v int)      { c.out = binary.BigEndian.AppendUint32(c.out, uint32(int32(v))) }
func (c *bufferedConn) sync()            { c.out = append(c.out, 'S', 0, 0, 0, 4) }

// flush writes c.out to the socket.
func (c *bufferedConn) flush() error {
	_, err := c.Conn.Write(c.out)
	return err
}
