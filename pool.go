// This file holds the connections to the source: the pool the extractor opens
// or adopts, the session settings every connection gets, and the worker
// budget that bounds the queries running at once.

package redshiftsync

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"
	"golang.org/x/sync/semaphore"
)

// baseSessionSQL makes values stable whatever the server's defaults: instants
// in UTC, ISO dates, floats with every digit (2 is Redshift's maximum, and on
// PostgreSQL 12+ any positive value prints the shortest exact form).
const baseSessionSQL = `SET TIME ZONE 'UTC'; SET DATESTYLE TO 'ISO, MDY'; SET extra_float_digits TO 2`

// idleInTransactionTimeout is the idle-in-transaction guard of the pool's own
// connections on PostgreSQL. A reader never leaves a transaction open (a
// read is one autocommit statement, or, in a pass that shares a snapshot,
// one short transaction around it; a streaming read in progress is
// "active", not idle), so the guard only ends a session that something went
// wrong with, before it holds locks and a snapshot for long. The session
// that exports a pass's snapshot is idle in its transaction by design and
// turns the guard off for that transaction (see snapshot.go).
const idleInTransactionTimeout = 5 * time.Minute

// session is the setup a source connection gets before its first query.
type session struct {
	// sql is one batch that Redshift and PostgreSQL both accept: the
	// settings of baseSessionSQL, and statement_timeout when
	// Config.StatementTimeout is set. A failure fails the connection.
	sql string
	// guard sets idle_in_transaction_session_timeout; "" when not applied.
	// It runs alone, after sql, and an error the server answers it with is
	// ignored: Redshift has no such setting, and with Dialect auto the pool
	// does not know yet which server it talks to. (Run as part of sql, its
	// error would undo the other settings of the batch.)
	guard string
	// restored names every setting sql changes, on a caller's connection
	// only: their values are read before sql runs and set back when the
	// extractor releases the connection (see pool.acquire). Nil for the
	// pool's own connections.
	restored []string
}

// baseSessionSettings are the settings of baseSessionSQL, by the names
// current_setting and set_config know on both dialects.
var baseSessionSettings = []string{"timezone", "datestyle", "extra_float_digits"}

// newSession returns the session setup for cfg. own is true for the pool's
// own connections, false for a caller's *sql.DB, whose connections are
// returned to the caller: they get no idle guard, and every setting the
// setup changes is restored when the extractor releases them.
func newSession(cfg Config, own bool) session {
	s := session{sql: baseSessionSQL}
	if !own {
		s.restored = append([]string(nil), baseSessionSettings...)
	}
	if cfg.StatementTimeout > 0 {
		s.sql += fmt.Sprintf("; SET statement_timeout TO %d", ceilMillis(cfg.StatementTimeout))
		if !own {
			s.restored = append(s.restored, "statement_timeout")
		}
	}
	if own && cfg.Dialect != DialectRedshift {
		s.guard = fmt.Sprintf("SET idle_in_transaction_session_timeout TO %d", ceilMillis(idleInTransactionTimeout))
	}
	return s
}

// captureSQL returns the query of the current values of the restored
// settings, one column each. current_setting and set_config (restoreSQL)
// exist on Redshift too, with the same meaning (r_CURRENT_SETTING and
// r_SET_CONFIG in its developer guide).
func (s session) captureSQL() string {
	cols := make([]string, len(s.restored))
	for i, name := range s.restored {
		cols[i] = "current_setting('" + name + "')"
	}
	return "SELECT " + strings.Join(cols, ", ")
}

// restoreSQL returns the statement that sets the restored settings back to
// the values bound as $1, $2..., in captureSQL's order. set_config(..., false)
// is what SET does: a session-level value, exactly the one captured, whether
// the caller had SET it on the connection or it came from the server's or the
// connection's defaults (RESET would lose the former).
func (s session) restoreSQL() string {
	cols := make([]string, len(s.restored))
	for i, name := range s.restored {
		cols[i] = fmt.Sprintf("set_config('%s', $%d, false)", name, i+1)
	}
	return "SELECT " + strings.Join(cols, ", ")
}

// ceilMillis returns d in whole milliseconds, rounded up: the unit of
// PostgreSQL's and Redshift's timeouts.
func ceilMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// apply runs the setup on a new or newly acquired connection through exec.
func (s session) apply(ctx context.Context, exec func(context.Context, string) error) error {
	if err := exec(ctx, s.sql); err != nil {
		return err
	}
	if s.guard != "" {
		if err := exec(ctx, s.guard); err != nil && SQLState(err) == "" {
			// Not the server's answer to the SET: the connection broke.
			return err
		}
	}
	return nil
}

// pool hands out source connections, at most workers at once.
type pool struct {
	db *sql.DB
	// sem is the worker budget: a connection is held, and a query runs, only
	// while a unit of it is acquired.
	sem *semaphore.Weighted
	// setupOnConnect is true when the pool's own connector applies the
	// session setup once per new connection; an adopted *sql.DB gets it on
	// each acquire instead.
	setupOnConnect bool
	session        session
	// exporters caps the sessions that hold a pass's snapshot open, outside
	// the worker budget (see exportSlots); nil when none may.
	exporters *semaphore.Weighted
	// wires are the sockets of the connections whose rows the row path
	// reads itself (wire.go); nil for an adopted *sql.DB.
	wires *wireConns

	priorMu sync.Mutex
	prior   map[*sql.Conn][]any // a caller's connection's settings before acquire, to restore on release
}

// sessionConnector applies the session setup once to every new connection.
// A connection that cannot be opened fails with a *ConnectError naming
// where it was going.
type sessionConnector struct {
	driver.Connector
	session session
	cfg     Config // for the ConnectError of a connection that fails
	wires   *wireConns
}

func (c sessionConnector) Connect(ctx context.Context) (driver.Conn, error) {
	var dialed *bufferedConn // the socket, from bufferedDialer
	conn, err := c.Connector.Connect(context.WithValue(ctx, dialedKey{}, &dialed))
	if err != nil {
		return nil, connectError(c.cfg, err)
	}
	err = c.session.apply(ctx, func(ctx context.Context, q string) error { return execDriver(ctx, conn, q) })
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("redshiftsync: set up session: %w", err)
	}
	c.wires.add(conn, dialed)
	return conn, nil
}

func execDriver(ctx context.Context, conn driver.Conn, query string) error {
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		return fmt.Errorf("driver %T cannot execute statements", conn)
	}
	_, err := ex.ExecContext(ctx, query, nil)
	return err
}

// openPool opens lib/pq connections from cfg, at most 2*workers+1 of them:
// the workers', one for catalog queries, and up to workers sessions that
// each hold the snapshot of a table's pass (see snapshot.go).
func openPool(cfg Config) (*pool, error) {
	connector, err := pq.NewConnector(cfg.connString())
	if err != nil {
		// lib/pq's parse errors quote bits of the connection string, which
		// holds the password.
		if cfg.Password != "" && strings.Contains(err.Error(), string(cfg.Password)) {
			return nil, errors.New("redshiftsync: connection settings: lib/pq cannot parse them (its message is withheld: it quotes the password)")
		}
		return nil, fmt.Errorf("redshiftsync: connection settings: %w", err)
	}
	connector.Dialer(bufferedDialer{d: cfg.dial})
	s := newSession(cfg, true)
	wires := &wireConns{}
	db := sql.OpenDB(sessionConnector{Connector: connector, session: s, cfg: cfg, wires: wires})
	db.SetMaxOpenConns(2*cfg.MaxParallelWorkers + 1)
	db.SetMaxIdleConns(cfg.MaxParallelWorkers + 1)
	return &pool{db: db, sem: semaphore.NewWeighted(int64(cfg.MaxParallelWorkers)), setupOnConnect: true, session: s, wires: wires,
		exporters: newExportSem(exportSlots(cfg.MaxParallelWorkers, 0))}, nil
}

// adoptPoolConfig wraps a caller's *sql.DB with the session setup of cfg
// (see newSession); the caller keeps ownership of it.
func adoptPoolConfig(db *sql.DB, cfg Config) *pool {
	return &pool{db: db, sem: semaphore.NewWeighted(int64(cfg.MaxParallelWorkers)), session: newSession(cfg, false),
		exporters: newExportSem(exportSlots(cfg.MaxParallelWorkers, db.Stats().MaxOpenConnections))}
}

// acquire takes a unit of the worker budget and a connection set up for
// reading. release must be called exactly once.
func (p *pool) acquire(ctx context.Context) (*sql.Conn, error) {
	if err := p.sem.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	conn, err := p.db.Conn(ctx)
	if err != nil {
		p.sem.Release(1)
		return nil, err
	}
	if !p.setupOnConnect {
		err := p.capture(ctx, conn)
		if err == nil {
			err = p.session.apply(ctx, func(ctx context.Context, q string) error {
				_, err := conn.ExecContext(ctx, q)
				return err
			})
		}
		if err != nil {
			p.release(conn, true)
			return nil, fmt.Errorf("redshiftsync: set up session: %w", err)
		}
	}
	return conn, nil
}

// capture reads the values of the settings the session setup is about to
// change on a caller's connection, for release to restore. It is one more
// round trip per acquire (one per read unit, not per page).
func (p *pool) capture(ctx context.Context, conn *sql.Conn) error {
	if len(p.session.restored) == 0 {
		return nil
	}
	vals := make([]string, len(p.session.restored))
	dest := make([]any, len(vals))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := conn.QueryRowContext(ctx, p.session.captureSQL()).Scan(dest...); err != nil {
		return err
	}
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	p.priorMu.Lock()
	defer p.priorMu.Unlock()
	if p.prior == nil {
		p.prior = map[*sql.Conn][]any{}
	}
	p.prior[conn] = args
	return nil
}

// release returns conn to the pool, or discards it when broken is true: a
// connection that saw an error may be mid-transaction or mid-result, and is
// never handed out again.
func (p *pool) release(conn *sql.Conn, broken bool) {
	p.priorMu.Lock()
	prior, captured := p.prior[conn]
	delete(p.prior, conn)
	p.priorMu.Unlock()
	if !broken && captured {
		// A caller's connection goes back to the caller as it came; one
		// that cannot be restored is closed instead.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := conn.ExecContext(ctx, p.session.restoreSQL(), prior...)
		cancel()
		broken = err != nil
	}
	if broken {
		// Returning driver.ErrBadConn from Raw makes database/sql close
		// the driver connection instead of pooling it.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
	p.sem.Release(1)
}
