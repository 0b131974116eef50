// This file holds the sink's side of the source's identity: SetSource,
// which refuses a destination that is the source itself before any DDL.

package pgsink

import (
	"context"
	"fmt"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgident"
)

var _ redshiftsync.SourceAware = (*Sink)(nil)

// SetSource is called by the extractor at the start of a run, before it
// opens any table. It fails with an error wrapping
// [redshiftsync.ErrDestinationIsSource] when the destination is the source:
// the same database (current_database()) of the same server (its
// system_identifier; when the role may not read that, the start time of
// the running server, both read now), and the tables would load into the
// source's own schema. A full resync would then replace the very tables it
// reads. With [WithSchema] naming another schema, the same database is
// allowed: the source's tables are not touched.
//
// When neither side's identity can be read, SetSource cannot tell and lets
// the run go on; pgsink still never writes into a table it did not create
// (see the package documentation).
func (s *Sink) SetSource(ctx context.Context, src redshiftsync.SourceInfo) error {
	dest, err := pgident.Read(ctx, s.db, false)
	if err != nil {
		return fmt.Errorf("pgsink: read the destination server's identity: %w", err)
	}
	source := pgident.Identity{Redshift: src.Dialect == redshiftsync.DialectRedshift, Server: src.Server, Database: src.Database, Instance: src.Instance}
	same, known := pgident.Same(source, dest)
	if !known || !same {
		return nil
	}
	if s.opts.schema != "" && s.opts.schema != src.Schema {
		return nil
	}
	return fmt.Errorf("%w: %s is where schema %q is read from, and loading there would replace the tables being read; "+
		"point the destination at another database (or load into another schema with pgsink.WithSchema)",
		redshiftsync.ErrDestinationIsSource, dest, src.Schema)
}
