// This file holds the registry of the destination tables that pgsink
// created or adopted, and the schema of its resync copies: pgsink writes
// into, replaces and drops no other table.

package pgsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lib/pq"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// RegistryTable is the name of the table, in the schema of the state table,
// that lists by oid the destination tables the sink created (or adopted):
//
//	CREATE TABLE public.redshiftsync_tables (
//		relid         oid PRIMARY KEY,
//		schema_name   text,
//		table_name    text,
//		state_name    text,
//		registered_at timestamptz NOT NULL DEFAULT now()
//	)
//
// An entry follows the table, not its name: a table dropped and created
// again by someone else is no longer listed.
const RegistryTable = "redshiftsync_tables"

// ResyncSchema is the schema of the copies that full resyncs load into (see
// the package documentation). It is the sink's own: no source table can
// take the name of a copy, and no destination table is loaded into it.
const ResyncSchema = "redshiftsync_resync"

// ErrNotOwned is returned by Open for an existing destination table that
// the sink did not create, and that the saved state does not name.
var ErrNotOwned = errors.New("pgsink: the destination table was not created by pgsink")

// qRegistry returns the registry's quoted name.
func (s *Sink) qRegistry() string {
	return sqlident.Qualified(s.opts.stateSchema, RegistryTable)
}

// ensureRegistry creates the registry (and its schema) unless it exists,
// and forgets the tables dropped since they were registered, whose oids may
// be reused: once per Sink, committed even when the Open that calls it
// fails, so that an error telling to register a table by hand names a
// table that exists.
func (s *Sink) ensureRegistry(ctx context.Context) error {
	return s.onceDDL(ctx, &s.registryReady, func(tx *sql.Tx) error {
		ok, err := tableExists(ctx, tx, s.opts.stateSchema, RegistryTable)
		if err != nil {
			return err
		}
		if ok {
			_, err = tx.ExecContext(ctx, `DELETE FROM `+s.qRegistry()+` r WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = r.relid)`)
			return err
		}
		if err := ensureSchema(ctx, tx, s.opts.stateSchema); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `CREATE TABLE `+s.qRegistry()+` (
	relid oid PRIMARY KEY,
	schema_name text,
	table_name text,
	state_name text,
	registered_at timestamptz NOT NULL DEFAULT now()
)`)
		return err
	})
}

// onceDDL runs fn in a short transaction of its own under the DDL lock and
// commits it, unless *done (guarded by s.mu) says it did already.
func (s *Sink) onceDDL(ctx context.Context, done *bool, fn func(tx *sql.Tx) error) error {
	s.mu.Lock()
	ok := *done
	s.mu.Unlock()
	if ok {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := lockDDL(ctx, tx); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.mu.Lock()
	*done = true
	s.mu.Unlock()
	return nil
}

// register lists the table schema.name in the registry.
func (s *Sink) register(ctx context.Context, q queryer, schema, name string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO `+s.qRegistry()+` (relid, schema_name, table_name, state_name)
VALUES ($1::regclass, $2, $3, $4) ON CONFLICT (relid) DO NOTHING`, sqlident.Qualified(schema, name), schema, name, s.opts.stateName)
	if err != nil {
		return fmt.Errorf("register %s in %s: %w", sqlident.Qualified(schema, name), s.qRegistry(), err)
	}
	return nil
}

// claim decides whether the sink may load into the existing table
// schema.name: it may when the registry lists it, or when the state names
// it (named), which adopts it: a table loaded before the registry existed.
func (s *Sink) claim(ctx context.Context, tx queryer, schema, name string, named bool) error {
	qname := sqlident.Qualified(schema, name)
	var listed bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+s.qRegistry()+` WHERE relid = $1::regclass)`, qname).Scan(&listed); err != nil {
		return err
	}
	switch {
	case listed:
		return nil
	case named:
		return s.register(ctx, tx, schema, name)
	}
	return fmt.Errorf("%w: %s exists, %s does not list it, and the state %q does not name it; "+
		"pgsink writes only into tables it created, so as not to change or replace a table of yours (or the source's). "+
		"Load into another schema (pgsink.WithSchema) or database, or drop or rename the table; if it is meant to receive these rows, register it: "+
		"INSERT INTO %s (relid) VALUES (%s::regclass)",
		ErrNotOwned, qname, s.qRegistry(), s.opts.stateName, s.qRegistry(), pq.QuoteLiteral(qname))
}

// reregister moves the registry's entry of the table that was oldOID to the
// table now named schema.name (the resync copy swapped in), in tx.
func (s *Sink) reregister(ctx context.Context, tx queryer, oldOID int64, schema, name string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+s.qRegistry()+` WHERE relid = $1`, oldOID); err != nil {
		return err
	}
	return s.register(ctx, tx, schema, name)
}

// ensureResyncSchema creates ResyncSchema unless it exists.
func (s *Sink) ensureResyncSchema(ctx context.Context) error {
	return s.onceDDL(ctx, &s.resyncSchemaReady, func(tx *sql.Tx) error {
		if err := ensureSchema(ctx, tx, ResyncSchema); err != nil {
			return fmt.Errorf("create schema %s for resync copies (or create it, owned by or writable for the loading role): %w", sqlident.Quote(ResyncSchema), err)
		}
		return nil
	})
}
