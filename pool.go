// This file holds the connections to the source: the pool the extractor opens
// or adopts, the session settings every connection gets, and the worker
// budget that bounds the queries running at once.

package redshiftsync

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/lib/pq"
	"golang.org/x/sync/semaphore"
)

// sessionSQL makes values stable whatever the server's defaults: instants in
// UTC, ISO dates, floats with every digit (2 is Redshift's maximum, and on
// PostgreSQL 12+ any positive value prints the shortest exact form).
const sessionSQL = `SET TIME ZONE 'UTC'; SET DATESTYLE TO 'ISO, MDY'; SET extra_float_digits TO 2`

// pool hands out source connections, at most workers at once.
type pool struct {
	db *sql.DB
	// sem is the worker budget: a connection is held, and a query runs, only
	// while a unit of it is acquired.
	sem *semaphore.Weighted
	// setupOnConnect is true when the pool's own connector applies
	// sessionSQL once per new connection; an adopted *sql.DB gets it on each
	// acquire instead.
	setupOnConnect bool
}

// sessionConnector applies sessionSQL once to every new connection.
type sessionConnector struct{ driver.Connector }

func (c sessionConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := execDriver(ctx, conn, sessionSQL); err != nil {
		conn.Close()
		return nil, fmt.Errorf("redshiftsync: set up session: %w", err)
	}
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

// openPool opens lib/pq connections from cfg, at most workers+1 of them (one
// for catalog queries beside the workers).
func openPool(cfg Config) (*pool, error) {
	connector, err := pq.NewConnector(cfg.connString())
	if err != nil {
		return nil, fmt.Errorf("redshiftsync: connection settings: %w", err)
	}
	db := sql.OpenDB(sessionConnector{connector})
	db.SetMaxOpenConns(cfg.MaxParallelWorkers + 1)
	db.SetMaxIdleConns(cfg.MaxParallelWorkers + 1)
	return &pool{db: db, sem: semaphore.NewWeighted(int64(cfg.MaxParallelWorkers)), setupOnConnect: true}, nil
}

// adoptPool wraps a caller's *sql.DB; the caller keeps ownership of it.
func adoptPool(db *sql.DB, workers int) *pool {
	return &pool{db: db, sem: semaphore.NewWeighted(int64(workers))}
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
		if _, err := conn.ExecContext(ctx, sessionSQL); err != nil {
			p.release(conn, true)
			return nil, fmt.Errorf("set up session: %w", err)
		}
	}
	return conn, nil
}

// release returns conn to the pool, or discards it when broken is true: a
// connection that saw an error may be mid-transaction or mid-result, and is
// never handed out again.
func (p *pool) release(conn *sql.Conn, broken bool) {
	if broken {
		// Returning driver.ErrBadConn from Raw makes database/sql close
		// the driver connection instead of pooling it.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
	p.sem.Release(1)
}
