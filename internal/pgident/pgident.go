// Package pgident reads what a PostgreSQL or Redshift server reports about
// its own identity, and compares two such identities. The root package
// records it in the sync state (a state saved against one server is not
// applied to another), and pgsink compares its destination's with the
// source's (a destination that is the source is refused).
//
// The identity never comes from the host name as configured: a DNS alias, a
// second address or an SSH tunnel reach the same server under another name,
// and two servers may be reached under one name over time.
package pgident

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/lib/pq"
)

// Identity is what a server says about itself.
type Identity struct {
	// Redshift is true for an Amazon Redshift cluster.
	Redshift bool
	// Server identifies the server across time, as it is recorded in a
	// state: "postgresql:<system_identifier>" (pg_control_system(), set by
	// initdb and shared by a primary and its physical standbys, so a
	// failover keeps it), or on Redshift "redshift:<cluster namespace>"
	// (CURRENT_NAMESPACE, documented as "the unique ID of the Amazon
	// Redshift cluster":
	// https://docs.aws.amazon.com/redshift/latest/dg/r_CURRENT_NAMESPACE.html).
	// Empty when the server does not let the role read it.
	Server string
	// Database is current_database().
	Database string
	// Instance identifies the running PostgreSQL server process: the
	// postmaster's start time, in microseconds since the epoch. It changes
	// with every restart, so it only tells two connections made at the same
	// time apart (when Server is not readable); it is never saved.
	Instance string
}

// String describes the identity for an error message: the server and the
// database.
func (id Identity) String() string {
	s := "server " + id.Server
	if id.Server == "" {
		s = "an unidentified server"
		if id.Redshift {
			s = "an unidentified Redshift cluster"
		}
	}
	return "database " + id.Database + " of " + s
}

// Queryer is what Read needs: a *sql.DB, *sql.Conn or *sql.Tx. Outside a
// transaction is best: a query the role may not run aborts a transaction.
type Queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Read asks the server q is connected to for its identity. redshift says
// which dialect to ask in (the caller knows it from version()). A server
// that does not let the role read its Server (PostgreSQL's
// pg_control_system() can be revoked; a Redshift without CURRENT_NAMESPACE)
// gives an Identity with an empty Server, not an error.
func Read(ctx context.Context, q Queryer, redshift bool) (Identity, error) {
	id := Identity{Redshift: redshift}
	if redshift {
		if err := q.QueryRowContext(ctx, `SELECT current_database()`).Scan(&id.Database); err != nil {
			return id, err
		}
		var ns string
		err := q.QueryRowContext(ctx, `SELECT current_namespace`).Scan(&ns)
		if err != nil && !unreadable(err) {
			return id, err
		}
		if ns = strings.TrimSpace(ns); ns != "" { // CHAR: padded
			id.Server = "redshift:" + ns
		}
		return id, nil
	}
	// The epoch, not the timestamp's text, which the session's TimeZone and
	// DateStyle would change.
	if err := q.QueryRowContext(ctx, `SELECT current_database(),
	floor(extract(epoch FROM pg_catalog.pg_postmaster_start_time()) * 1000000)::bigint::text`).Scan(&id.Database, &id.Instance); err != nil {
		return id, err
	}
	var sysid string
	err := q.QueryRowContext(ctx, `SELECT system_identifier::text FROM pg_catalog.pg_control_system()`).Scan(&sysid)
	if err != nil && !unreadable(err) {
		return id, err
	}
	if sysid != "" {
		id.Server = "postgresql:" + sysid
	}
	return id, nil
}

// unreadable reports whether err says the identity query is not allowed or
// not known here: permission denied, no such function or column.
func unreadable(err error) bool {
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) {
		return false
	}
	switch pqErr.Code {
	case "42501", "42883", "42703": // insufficient_privilege, undefined_function, undefined_column
		return true
	}
	return false
}

// Same reports whether a and b are the same database of the same server.
// known is false when that cannot be told: neither the server identities
// nor the instances of both are readable. Two servers of different dialects,
// or two databases of different names, are never the same.
func Same(a, b Identity) (same, known bool) {
	if a.Redshift != b.Redshift || a.Database != b.Database {
		return false, true
	}
	switch {
	case a.Server != "" && b.Server != "":
		return a.Server == b.Server, true
	case a.Instance != "" && b.Instance != "":
		// Read at the same moment: one server has one start time.
		return a.Instance == b.Instance, true
	}
	return false, false
}
