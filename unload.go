// This file holds the planning of the UNLOAD read: the WithUnloader option,
// which Redshift tables are read with UNLOAD and why (UnloadPlan, in each
// Plan), and how each column is selected for a Parquet UNLOAD (cast to text,
// or a reason to fall back to the SQL path).

package redshiftsync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// WithUnloader has the extractor read large Redshift tables with UNLOAD:
// Redshift's compute slices write the rows to S3 as Parquet in parallel
// (under Config.UnloadS3URI), and u reads the parts back, concurrently,
// into the sink. Which tables: those whose estimated rows reach
// Config.UnloadThreshold (see UnloadPlan). Package unload implements u
// over S3; the root package never compiles the AWS SDK.
//
// u must not be nil, and the configuration must set unload_s3_uri (and
// its authorization).
func WithUnloader(u Unloader) Option {
	return func(e *Extractor) error {
		switch {
		case u == nil:
			return errors.New("redshiftsync: WithUnloader: the Unloader is nil (leave the option out to read every table with SELECT)")
		case e.cfg.UnloadS3URI == "":
			return errors.New("redshiftsync: WithUnloader: unload_s3_uri (Config.UnloadS3URI) is not set: UNLOAD has nowhere to write; set it, or leave the option out")
		}
		e.unloader = u
		return nil
	}
}

// ErrUnloadNotFound is what an Unloader's Parts returns (wrapped) when the
// UNLOAD's manifest does not exist. On resume the extractor then runs the
// UNLOAD again rather than failing: the files of an interrupted UNLOAD, or
// files deleted since (an S3 lifecycle rule), are replaced. Any other error
// of Parts fails the table, and the next run tries again.
var ErrUnloadNotFound = errors.New("redshiftsync: the UNLOAD's manifest does not exist")

// UnloadPlan says whether a table is read with UNLOAD, and why. It is in
// every Plan when unload_s3_uri is set, nil otherwise.
type UnloadPlan struct {
	// Use is true when the table is read with UNLOAD: a full sync (and an
	// incremental table's first sync) when its estimated rows reach
	// unload_threshold_rows, or, with no estimate, when its rows counted as
	// the sync begins do; a later incremental sync when the rows of its
	// phase (between the bookmark and the high-water mark, counted as it
	// begins) do. The rows whose replication key is NULL are read with
	// SELECT.
	Use bool `json:"use"`
	// Reason says why, or why not (the source is not Redshift, no
	// Unloader was given, the table is below the threshold, a column's
	// type that Parquet UNLOAD cannot carry).
	Reason string `json:"reason"`
	// Casts lists the columns the UNLOAD's SELECT casts to text, so that
	// they arrive as the SQL path delivers them: "name (type)".
	Casts []string `json:"casts,omitempty"`
}

// planUnload decides whether p's table is read with UNLOAD on dialect.
func (e *Extractor) planUnload(p *Plan, dialect Dialect) *UnloadPlan {
	cfg := e.cfg
	if cfg.UnloadS3URI == "" {
		return nil
	}
	t := p.Table
	up := &UnloadPlan{}
	switch {
	case dialect != DialectRedshift:
		up.Reason = fmt.Sprintf("read with SELECT: the source is %s, and UNLOAD is Redshift's", dialect)
		return up
	case e.unloader == nil:
		up.Reason = "read with SELECT: no Unloader was given (WithUnloader; examples/basic gives package unload's when unload_s3_uri is set)"
		return up
	case cfg.UnloadThreshold <= 0:
		up.Reason = "read with SELECT: unload_threshold_rows is 0 (never)"
		return up
	}
	for _, c := range t.Columns {
		if why := unloadUnsupported(c); why != "" {
			up.Reason = fmt.Sprintf("read with SELECT: column %q is %s, %s", c.Name, c.SourceType, why)
			return up
		}
		if unloadCast(c) {
			up.Casts = append(up.Casts, fmt.Sprintf("%s (%s)", c.Name, c.SourceType))
		}
	}
	est, thr := t.EstimatedRows, int64(cfg.UnloadThreshold)
	incremental := ""
	if p.Mode == ModeIncremental {
		incremental = fmt.Sprintf("; a later incremental sync is unloaded when its phase holds at least %d rows (counted as it begins)", thr)
	}
	switch {
	case est < 0:
		up.Use = true
		up.Reason = fmt.Sprintf("UNLOAD when the rows counted as the sync begins reach unload_threshold_rows (%d): the catalog has no estimate%s", thr, incremental)
	case est >= thr:
		up.Use = true
		up.Reason = fmt.Sprintf("UNLOAD: about %d rows reach unload_threshold_rows (%d)%s", est, thr, incremental)
	default:
		up.Reason = fmt.Sprintf("read with SELECT: about %d rows, below unload_threshold_rows (%d)", est, thr)
	}
	return up
}

// unloadUnsupported says why a column cannot be unloaded to Parquet as the
// SQL path delivers it, "" when it can. GEOMETRY, GEOGRAPHY, HLLSKETCH and
// VARBYTE unload to text formats only (r_UNLOAD's usage notes; the
// "Considerations" of HyperLogLog and of spatial data), and no cast keeps
// them as the SQL path delivers them: a geometry's hexadecimal EWKB would be
// cut at VARCHAR's 65535 bytes, and a VARBYTE cast to VARCHAR is read as
// UTF-8, not as its bytes. (PostgreSQL's bytea, behind the stand-in, is
// treated as VARBYTE.)
func unloadUnsupported(c Column) string {
	switch base := unloadBase(c.SourceType); {
	case base == "geometry" || base == "geography":
		return "which UNLOAD writes to text formats only, not Parquet (and a cast to VARCHAR would cut it at 65535 bytes)"
	case base == "hllsketch":
		return "which UNLOAD writes to text formats only, not Parquet"
	case c.Type == TypeBinary:
		return "which UNLOAD writes to text formats only, not Parquet (and a cast to VARCHAR would read its bytes as UTF-8)"
	}
	return ""
}

// unloadCast reports whether a column is cast to VARCHAR in the UNLOAD's
// SELECT: TIME and TIMETZ (the SQL path delivers their text: Parquet's
// TIME has no offset, and 24:00:00 is not a Parquet time), INTERVAL (no
// Parquet type holds Redshift's text of it), a numeric Parquet's DECIMAL
// cannot hold (no precision, or above 38 digits: PostgreSQL only; Redshift
// catalogs a bare NUMERIC as numeric(18,0)), and the text-delivered types
// that are not Redshift's character types (arrays, uuid, and the like:
// PostgreSQL only). Every other type is written as Redshift's Parquet
// mapping gives it: SUPER as Parquet JSON, REAL as FLOAT (exact, where the
// SQL path widens it to DOUBLE to print it), TIMESTAMPTZ as its instant.
func unloadCast(c Column) bool {
	switch c.Type {
	case TypeNaiveTime, TypeTimeTZ, TypeInterval:
		return true
	case TypeDecimal:
		return c.Precision <= 0 || c.Precision > maxDecimalPrecision || c.Scale < 0 || c.Scale > c.Precision
	case TypeString:
		switch unloadBase(c.SourceType) {
		case "character varying", "varchar", "character", "char", "bpchar", "text", "nchar", "nvarchar":
			return false
		}
		return true
	}
	return false
}

// unloadBase returns a catalog type's name without its arguments, lower case.
func unloadBase(sourceType string) string {
	t := strings.ToLower(strings.TrimSpace(sourceType))
	if i := strings.IndexByte(t, '('); i >= 0 {
		t = strings.TrimSpace(t[:i])
	}
	return t
}

// execUnload runs an UNLOAD statement on conn. Tests replace it
// (export_test.go) to count the statements and serve their files.
func execUnload(ctx context.Context, conn *sql.Conn, stmt string) error {
	_, err := conn.ExecContext(ctx, stmt)
	return err
}
