package redshiftsync

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/oid"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// wirePool opens New's pool on the test server.
func wirePool(t *testing.T) *pool {
	t.Helper()
	cfg, err := ConfigFromURL(pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.WithDefaults()
	p, err := openPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.db.Close() })
	return p
}

// wireConn returns a connection of p and its socket.
func wireConn(t *testing.T, p *pool) *sql.Conn {
	t.Helper()
	conn, err := p.db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// keep returns a copy of a row that outlives the call (the bytes of a
// []byte value are the read buffer's).
func keep(row []driver.Value) []any {
	out := make([]any, len(row))
	for i, v := range row {
		if b, ok := v.([]byte); ok {
			v = bytes.Clone(b)
		}
		out[i] = v
	}
	return out
}

// viaWire runs q on conn's socket; handled is false when the reader left it
// to lib/pq.
func viaWire(ctx context.Context, t *testing.T, p *pool, conn *sql.Conn, q string, args []any, each func([]driver.Value) error) (handled bool, err error) {
	t.Helper()
	return viaWireSend(ctx, t, p, conn, q, args, nil, each)
}

// viaWireSend is viaWire for a row-path query whose first columns have the
// wireSendOIDs send.
func viaWireSend(ctx context.Context, t *testing.T, p *pool, conn *sql.Conn, q string, args []any, send []oid.Oid, each func([]driver.Value) error) (handled bool, err error) {
	t.Helper()
	var a valueAlloc
	var dest []driver.Value
	var c *bufferedConn
	rerr := conn.Raw(func(dc any) error {
		if c = p.wires.lookup(dc); c == nil {
			return errors.New("the pool's connection to the test server is not read in the clear")
		}
		handled, err = c.query(ctx, &a, q, args, send, &dest, each)
		return nil
	})
	if rerr != nil {
		t.Fatal(rerr)
	}
	if c.closed.Load() { // as rawQuery does
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return handled, err
}

// viaLibPQ runs q through lib/pq's own rows, as rawQuery did before.
func viaLibPQ(t *testing.T, conn *sql.Conn, q string, args []any) ([][]any, error) {
	t.Helper()
	var out [][]any
	err := conn.Raw(func(dc any) error {
		named := make([]driver.NamedValue, len(args))
		for i, a := range args {
			named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		rows, err := dc.(driver.QueryerContext).QueryContext(context.Background(), q, named)
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := make([]driver.Value, len(rows.Columns()))
		for {
			if err := rows.Next(dest); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			out = append(out, keep(dest))
		}
	})
	return out, err
}

// TestWireMatchesLibPQ: for every type the wire reader decodes itself, and
// for the types it hands over as text, its values are lib/pq's, Go type for
// Go type, with parameters of each kind the row path binds; rows larger
// than the read buffer and than its reused message buffer come through
// whole; a result with a date or timestamp column is left to lib/pq, and
// the connection goes on working with both.
func TestWireMatchesLibPQ(t *testing.T) {
	db, s := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.w (
	k int8, i2 int2, i4 int4, f4 float4, f8 float8, b bool, t text, v varchar(20), c char(5), ch "char",
	nm name, by bytea, n numeric, u uuid, j json, jb jsonb, a int[], iv interval, dt date, ts timestamp, tz timestamptz);
INSERT INTO %[1]s.w VALUES
	(1, 32767, 2147483647, 1.1, 0.1, true, 'héllo', 'v', 'ab', 'x', 'nm', '\x00ff10', 12.50, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1}', '{"b": [1, 2]}', '{1,NULL,3}', '1 day 02:03:04', '2024-02-29', '2024-02-29 01:02:03.456789', '2024-02-29 01:02:03.456789+00'),
	(-9223372036854775808, -32768, -2147483648, 'NaN', '-Infinity', false, '', '', '', '', '', '', 'NaN', NULL, 'null', '[]', '{}', '-1 mon', 'infinity', '-infinity', 'infinity'),
	(9223372036854775807, 0, 255, '-0', '-0', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(256, 1, -1, 3.4028235e38, 1.7976931348623157e308, true, repeat('ab', 50000), 'x', 'abcde', 'z', 'n', decode(repeat('ff', 70000), 'hex'), 123456789012345678901234567890.123, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	(5, 2, 3, 'Infinity', 5e-324, false, repeat('é', 800000), NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	_ = db
	p := wirePool(t)
	conn := wireConn(t, p)
	cols := "k, i2, i4, f4, f8, b, t, v, c, ch, nm, by, n, u, j, jb, a, iv, ctid, textsend(t) AS ts_t, float8send(f8) AS fs, date_send(dt) AS ds, timestamp_send(ts) AS tss, timestamptz_send(tz) AS tzs, CAST(dt AS VARCHAR) AS dv, 'lit' AS lit"
	from := " FROM " + s + ".w"
	for _, c := range []struct {
		q    string
		args []any
	}{
		{"SELECT " + cols + from + " ORDER BY k", nil},
		{"SELECT " + cols + from + " WHERE k > $1::bigint ORDER BY k", []any{"-5"}},
		{"SELECT " + cols + from + " WHERE k >= $1 AND i4 <> $2 ORDER BY k", []any{int64(1), float64(7)}},
		{"SELECT " + cols + from + " WHERE $1::text IS NULL AND ($2::bool OR NOT $2::bool) ORDER BY k", []any{nil, true}},
		{"SELECT " + cols + from + " WHERE t = $1", []any{"no such text"}},
		{"SELECT", nil},
		{"SELECT $1::float8 AS f, $2::float8 AS g, $3::bool AS b", []any{1.5, -1e-7, false}},
		{"SELECT 1 AS one, $1::int8 AS big, $2::text AS s", []any{int64(math.MaxInt64), "it's"}},
	} {
		want, err := viaLibPQ(t, conn, c.q, c.args)
		if err != nil {
			t.Fatalf("%s: lib/pq: %v", c.q, err)
		}
		var got [][]any
		handled, err := viaWire(context.Background(), t, p, conn, c.q, c.args, func(row []driver.Value) error {
			got = append(got, keep(row))
			return nil
		})
		if err != nil || !handled {
			t.Fatalf("%s: wire: handled %v, %v", c.q, handled, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows, lib/pq %d", c.q, len(got), len(want))
		}
		for r := range want {
			for i := range want[r] {
				if !sameValue(got[r][i], want[r][i]) {
					t.Errorf("%s: row %d column %d: %T %.80v, lib/pq %T %.80v", c.q, r, i, got[r][i], got[r][i], want[r][i], want[r][i])
				}
			}
		}
	}
	// The row path's columns of pgSendFunc, selected by name: their binary
	// forms are the send functions' bytes, and a column of another type
	// than the one expected (a date cast to text) is read as any other.
	send := []oid.Oid{oid.T_date, oid.T_timestamp, oid.T_timestamptz, oid.T_float8, oid.T_text, oid.T_varchar, oid.T_date, 0}
	byName := "SELECT dt, ts, tz, f8, t, v, CAST(dt AS VARCHAR), k FROM " + s + ".w ORDER BY k"
	bySend := "SELECT date_send(dt), timestamp_send(ts), timestamptz_send(tz), float8send(f8), textsend(t), textsend(v), CAST(dt AS VARCHAR), k FROM " + s + ".w ORDER BY k"
	want, err := viaLibPQ(t, conn, bySend, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]any
	if handled, err := viaWireSend(context.Background(), t, p, conn, byName, nil, send, func(row []driver.Value) error {
		got = append(got, keep(row))
		return nil
	}); !handled || err != nil {
		t.Fatalf("by name: handled %v, %v", handled, err)
	}
	for r := range want {
		for i := range want[r] {
			w := want[r][i]
			if b, ok := w.([]byte); ok && len(b) == 0 && got[r][i] != nil {
				w = got[r][i] // textsend('') is an empty bytea either way
			}
			if !sameValue(got[r][i], w) {
				t.Errorf("by name: row %d column %d: %T %.60v, by send function %T %.60v", r, i, got[r][i], got[r][i], want[r][i], want[r][i])
			}
		}
	}
	// Declined: lib/pq parses dates and timestamps with the session's zone.
	for _, q := range []string{"SELECT dt FROM " + s + ".w", "SELECT k, tz FROM " + s + ".w WHERE k > $1"} {
		var args []any
		if strings.Contains(q, "$1") {
			args = []any{int64(0)}
		}
		handled, err := viaWire(context.Background(), t, p, conn, q, args, func([]driver.Value) error {
			t.Fatal("a row of a declined query was read")
			return nil
		})
		if handled || err != nil {
			t.Errorf("%s: handled %v, %v; want it left to lib/pq", q, handled, err)
		}
		if rows, err := viaLibPQ(t, conn, q, args); err != nil || len(rows) == 0 {
			t.Errorf("%s then through lib/pq: %d rows, %v", q, len(rows), err)
		}
	}
	// An argument lib/pq does not take, and a string for a bytea
	// parameter (which lib/pq hex-encodes): left to lib/pq.
	for _, c := range []struct {
		q   string
		arg any
	}{{"SELECT $1::int8", uint32(7)}, {"SELECT length($1::bytea)", `\x00`}} {
		if handled, err := viaWire(context.Background(), t, p, conn, c.q, []any{c.arg}, nil); handled || err != nil {
			t.Errorf("%s with %T: handled %v, %v", c.q, c.arg, handled, err)
		}
	}
	var one int
	if err := conn.QueryRowContext(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("the connection after the wire reader's queries: %v", err)
	}
}

// sameValue compares values of the two readers: equal Go types and values,
// NaN equal to NaN and -0 told from +0.
func sameValue(a, b any) bool {
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	if x, ok := a.(float64); ok {
		y := b.(float64)
		return math.Float64bits(x) == math.Float64bits(y) || (math.IsNaN(x) && math.IsNaN(y))
	}
	return reflect.DeepEqual(a, b)
}

// TestWireServerError: an error the server sends mid-result is lib/pq's
// *pq.Error with its SQLSTATE, after the rows before it, and the connection
// stays usable (the exchange was read to ReadyForQuery), in a transaction
// too, where the server then refuses statements until ROLLBACK.
func TestWireServerError(t *testing.T) {
	p := wirePool(t)
	conn := wireConn(t, p)
	ctx := context.Background()
	rows := 0
	handled, err := viaWire(ctx, t, p, conn, "SELECT 10 / (i - $1::int) FROM generate_series(1, 5) i", []any{"3"}, func([]driver.Value) error {
		rows++
		return nil
	})
	var pqErr *pq.Error
	if !handled || !errors.As(err, &pqErr) || pqErr.Code != "22012" || pqErr.Severity != "ERROR" || !strings.Contains(pqErr.Message, "division by zero") {
		t.Fatalf("handled %v, err %#v; want division_by_zero", handled, err)
	}
	if rows != 2 {
		t.Errorf("%d rows before the error, want 2", rows)
	}
	// A syntax error comes at Parse, with its position.
	_, err = viaWire(ctx, t, p, conn, "SELEC 1", nil, nil)
	if !errors.As(err, &pqErr) || pqErr.Code != "42601" || pqErr.Position == "" {
		t.Fatalf("syntax error: %#v", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := viaWire(ctx, t, p, conn, "SELECT 1 / 0", nil, nil); SQLState(err) != "22012" {
		t.Fatalf("in a transaction: %v", err)
	}
	if _, err := viaWire(ctx, t, p, conn, "SELECT 1", nil, nil); SQLState(err) != "25P02" {
		t.Fatalf("after an error in a transaction: %v, want 25P02 (in_failed_sql_transaction)", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	var got []any
	if _, err := viaWire(ctx, t, p, conn, "SELECT 7::int8", nil, func(row []driver.Value) error { got = keep(row); return nil }); err != nil || !reflect.DeepEqual(got, []any{int64(7)}) {
		t.Fatalf("after ROLLBACK: %v, %v", got, err)
	}
}

// backendGone waits for the server to have no backend running q's text.
func backendGone(t *testing.T, db *sql.DB, marker string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, marker).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d backends still run the query marked %s", n, marker)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWireGiveUp: a read given up half-way (the caller's function fails, or
// its context is canceled) returns at once, without reading the rest of the
// result, and ends the query on the server; the connection is closed, never
// handed to lib/pq mid-result.
func TestWireGiveUp(t *testing.T) {
	db := pgtest.Open(t)
	p := wirePool(t)
	stop := errors.New("stop")
	t.Run("each fails", func(t *testing.T) {
		conn := wireConn(t, p)
		marker := "giveup_each"
		start := time.Now()
		n := 0
		_, err := viaWire(context.Background(), t, p, conn, "SELECT generate_series(1, 2000000000) AS "+marker, nil, func([]driver.Value) error {
			if n++; n == 10 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 10 {
			t.Fatalf("err %v after %d rows; want the function's error after 10", err, n)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v: the rest of the result was read", d)
		}
		backendGone(t, db, marker)
		if err := conn.PingContext(context.Background()); err == nil {
			t.Error("the connection still answers after a read given up half-way")
		}
	})
	t.Run("canceled", func(t *testing.T) {
		conn := wireConn(t, p)
		marker := "giveup_cancel"
		ctx, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(300*time.Millisecond, func() { cancel(stop) })
		start := time.Now()
		_, err := viaWire(ctx, t, p, conn, "SELECT pg_sleep(60) AS "+marker, nil, nil)
		if !errors.Is(err, stop) {
			t.Fatalf("err %v; want the context's cause", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v to notice the cancellation", d)
		}
		backendGone(t, db, marker)
		done, cancel2 := context.WithCancel(context.Background())
		cancel2()
		if handled, err := viaWire(done, t, p, wireConn(t, p), "SELECT 1", nil, nil); !handled || !errors.Is(err, context.Canceled) {
			t.Errorf("a context already done: handled %v, %v", handled, err)
		}
	})
	t.Run("terminated", func(t *testing.T) {
		conn := wireConn(t, p)
		marker := "giveup_terminated"
		time.AfterFunc(300*time.Millisecond, func() {
			db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%` + marker + `%' AND pid <> pg_backend_pid()`)
		})
		_, err := viaWire(context.Background(), t, p, conn, "SELECT pg_sleep(60) AS "+marker, nil, nil)
		if err == nil || !isTransient(context.Background(), err) {
			t.Fatalf("err %v; want a transient error", err)
		}
	})
}

// TestWireRowAllocations: rows of integers, floats, booleans and bytes are
// decoded without a heap allocation per value (lib/pq makes one for nearly
// every value).
func TestWireRowAllocations(t *testing.T) {
	p := wirePool(t)
	conn := wireConn(t, p)
	const rows = 200000
	q := "SELECT i::int8 * 1000, i::int4 + 1000, i * 0.5::float8, i % 2 = 0, textsend('row ' || i), float8send(i) FROM generate_series(1, $1::int) i"
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n := 0
	if _, err := viaWire(context.Background(), t, p, conn, q, []any{fmt.Sprint(rows)}, func([]driver.Value) error { n++; return nil }); err != nil || n != rows {
		t.Fatalf("%d rows, %v", n, err)
	}
	runtime.ReadMemStats(&after)
	if per := float64(after.Mallocs-before.Mallocs) / rows; per > 0.1 {
		t.Errorf("%.2f allocations per row of 6 values, want at most 0.1", per)
	}
}

// TestClassifyFirstWrite: only a connection that sends its StartupMessage in
// the clear is read by the wire reader; an SSLRequest leaves it undecided
// (the server may refuse TLS), and TLS's ClientHello makes it opaque.
func TestClassifyFirstWrite(t *testing.T) {
	startup := []byte{0, 0, 0, 40, 0, 3, 0, 0, 'u', 's', 'e', 'r', 0}
	startup32 := []byte{0, 0, 0, 40, 0, 3, 0, 2, 'u', 's', 'e', 'r', 0}
	sslRequest := []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}
	clientHello := []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03}
	for _, c := range []struct {
		writes [][]byte
		want   wireHandshake
	}{
		{[][]byte{startup}, handshakePlain},
		{[][]byte{startup32}, handshakePlain},
		{[][]byte{sslRequest, startup}, handshakePlain},
		{[][]byte{sslRequest, clientHello, startup}, handshakeOpaque},
		{[][]byte{clientHello}, handshakeOpaque},
		{[][]byte{{1, 2}}, handshakeOpaque},
	} {
		h := handshakeStart
		for _, w := range c.writes {
			if h == handshakeStart {
				h = classifyFirstWrite(w)
			}
		}
		if h != c.want {
			t.Errorf("writes %x: %v, want %v", c.writes, h, c.want)
		}
	}
}

// TestWireSSLModePrefer: with sslmode=prefer (the default for a local host)
// against a server without TLS, lib/pq asks for TLS, is refused and starts
// in the clear: the wire reader reads that connection.
func TestWireSSLModePrefer(t *testing.T) {
	u := pgtest.URL(t)
	q := u.Query()
	q.Set("sslmode", "prefer")
	u.RawQuery = q.Encode()
	var ssl string
	if err := pgtest.Open(t).QueryRow(`SELECT current_setting('ssl')`).Scan(&ssl); err != nil || ssl != "off" {
		t.Skipf("the test server has ssl = %q (%v): this test needs one without TLS", ssl, err)
	}
	cfg, err := ConfigFromURL(u.String())
	if err != nil {
		t.Fatal(err)
	}
	p, err := openPool(cfg.WithDefaults())
	if err != nil {
		t.Fatal(err)
	}
	defer p.db.Close()
	conn := wireConn(t, p)
	var got []any
	if handled, err := viaWire(context.Background(), t, p, conn, "SELECT 42::int8", nil, func(row []driver.Value) error { got = keep(row); return nil }); !handled || err != nil || !reflect.DeepEqual(got, []any{int64(42)}) {
		t.Fatalf("handled %v, %v, %v", handled, got, err)
	}
	if !p.wires.seen() {
		t.Error("the pool does not know its connections are read in the clear")
	}
}
