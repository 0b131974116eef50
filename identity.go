// This file holds the source's identity: reading it at the start of Run,
// binding the state to the server it was saved against, adopting a state on
// purpose, and telling a SourceAware sink which source it loads from.

package redshiftsync

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/seed2085993a/redshiftsync/internal/pgident"
)

// SourceInfo identifies the source of a run as the server reports it, never
// as the configuration names it: a DNS alias or a tunnel reaches the same
// server under another host name.
type SourceInfo struct {
	Dialect Dialect
	// Server identifies the server across time: "postgresql:<system
	// identifier>" (pg_control_system(), shared by a primary and its
	// standbys, so a failover keeps it) or "redshift:<cluster namespace>"
	// (CURRENT_NAMESPACE). Empty when the role may not read it (EXECUTE on
	// pg_control_system() was revoked).
	Server string
	// Database is current_database(); Schema the schema synced.
	Database string
	Schema   string
	// Instance identifies the running PostgreSQL server process (the
	// postmaster's start time): it tells two connections made during the
	// run apart when Server is empty, and changes with every restart. Empty
	// on Redshift.
	Instance string
}

// SourceAware is an optional interface of a Sink that wants to know which
// source it loads from. Run calls SetSource once, after discovery and before
// it loads the state or opens any table; an error stops the run there, so a
// sink can refuse a source before it changes anything. A sink that writes
// into a database refuses its own database with an error wrapping
// ErrDestinationIsSource (pgsink does).
type SourceAware interface {
	Sink
	SetSource(ctx context.Context, src SourceInfo) error
}

// WithAdoptState makes Run accept a saved state that belongs to another
// server, database or schema, and bind it to this run's source from its
// first save. Use it on purpose only, when this source holds the rows the
// state was saved for (a restored snapshot, a migrated or renamed copy):
// the state's bookmarks are applied as they are, so rows of a source that
// differs are skipped. Without it such a state fails Run with
// ErrStateMismatch.
func WithAdoptState() Option {
	return func(e *Extractor) error {
		e.adopt = true
		return nil
	}
}

// identify reads the source's identity.
func (e *Extractor) identify(ctx context.Context, dialect Dialect) (SourceInfo, error) {
	id, err := pgident.Read(ctx, e.pool.db, dialect == DialectRedshift)
	if err != nil {
		return SourceInfo{}, fmt.Errorf("redshiftsync: read the source server's identity: %w", err)
	}
	src := SourceInfo{Dialect: dialect, Server: id.Server, Database: id.Database, Schema: e.cfg.Schema, Instance: id.Instance}
	if src.Server == "" {
		e.log.Warn("the source server's identity is not readable: a state saved against another server with the same database and schema names cannot be told apart (on PostgreSQL, GRANT EXECUTE ON FUNCTION pg_catalog.pg_control_system() to the role)",
			"database", id.Database, "dialect", dialect)
	}
	return src, nil
}

// tellSink gives a SourceAware sink the source's identity.
func (e *Extractor) tellSink(ctx context.Context, src SourceInfo) error {
	return e.ab.setSource(ctx, src)
}

// serverBinding is what a loaded state must match: the server of this run.
type serverBinding struct {
	server string // SourceInfo.Server of this run
	adopt  bool   // WithAdoptState
	log    *slog.Logger
}

// check decides whether st, decoded for source, may be used by this run: it
// may when it was saved against this server, when it records no server (an
// older state, bound here with a warning), or when it is adopted. The
// caller then records this run's server in it.
func (b serverBinding) check(st *stateDoc, source string) error {
	log := b.log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case b.adopt && (st.Server != b.server || st.Source != source):
		log.Warn("adopting a state saved for another source on purpose (WithAdoptState): its positions are applied to this source",
			"saved_server", st.Server, "saved_source", st.Source, "server", b.server, "source", source)
		return nil
	case st.Server == b.server:
		return nil
	case st.Server == "":
		log.Warn("the state records no server identity (saved by an earlier version): binding it to this server",
			"server", b.server, "source", source)
		return nil
	case b.server == "":
		return fmt.Errorf("%w: it was saved against server %s, and this server's identity cannot be read to check that it is the same "+
			"(on PostgreSQL, GRANT EXECUTE ON FUNCTION pg_catalog.pg_control_system() to the role); "+
			"if it is, adopt the state on purpose (WithAdoptState; examples/basic -adopt-state)", ErrStateMismatch, st.Server)
	}
	return fmt.Errorf("%w: it was saved against server %s, this run reads server %s (database and schema %q on both): "+
		"its bookmarks do not apply to another server's rows. Point the state at another location (or remove it) to sync this server from the start, "+
		"or, if this server holds the same data (a restore, a migrated copy), adopt the state on purpose (WithAdoptState; examples/basic -adopt-state)",
		ErrStateMismatch, st.Server, b.server, source)
}
