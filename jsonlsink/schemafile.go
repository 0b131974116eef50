// This file holds SchemaChanged: the table's schema file,
// <schema>.<table>.schema.json, replaced atomically at each change of the
// table's columns.

package jsonlsink

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/durable"
)

// SchemaExt ends the name of a table's schema file: public.orders.jsonl's is
// public.orders.schema.json.
const SchemaExt = ".schema.json"

var _ redshiftsync.SchemaSink = (*Sink)(nil)

// SchemaFile is the content of a table's schema file.
type SchemaFile struct {
	Schema     string                `json:"schema"`
	Table      string                `json:"table"`
	PrimaryKey []string              `json:"primary_key"`
	Columns    []redshiftsync.Column `json:"columns"` // the table's columns now, in order
	// Change is the change that wrote the file, and ChangedAt when (RFC
	// 3339, UTC).
	Change    SchemaFileChange `json:"change"`
	ChangedAt string           `json:"changed_at"`
}

// SchemaFileChange is a redshiftsync.SchemaChange by column name.
type SchemaFileChange struct {
	Added   []string          `json:"added,omitempty"`
	Dropped []string          `json:"dropped,omitempty"`
	Retyped []SchemaRetype    `json:"retyped,omitempty"`
	Renamed map[string]string `json:"renamed,omitempty"`
}

// SchemaRetype is one retyped column: its source type before and now.
type SchemaRetype struct {
	Name   string `json:"name"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// SchemaFileName returns the name of the schema file of table schema.table:
// its table file's name (see FileName) with ".jsonl" replaced by
// SchemaExt.
func SchemaFileName(schema, table string) string {
	return strings.TrimSuffix(FileName(schema, table), fileExt) + SchemaExt
}

// SchemaChanged replaces the table's schema file (see SchemaFile) with its
// current columns, primary key and the change, atomically and durably
// (written beside, fsynced, renamed, the directory fsynced): a reader sees
// the old file or the new one. The file then gets the mode of the table
// files (WithFileMode), the umask not applied. Rows written afterwards have the new columns
// as keys; the lines already in the table file keep theirs.
func (s *Sink) SchemaChanged(ctx context.Context, table *redshiftsync.Table, change redshiftsync.SchemaChange) error {
	if _, err := s.table(table, "SchemaChanged"); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	doc := SchemaFile{Schema: table.Schema, Table: table.Name, PrimaryKey: table.PrimaryKey, Columns: table.Columns,
		ChangedAt: time.Now().UTC().Format(time.RFC3339Nano), Change: SchemaFileChange{Renamed: change.Renamed}}
	for _, c := range change.Added {
		doc.Change.Added = append(doc.Change.Added, c.Name)
	}
	for _, c := range change.Dropped {
		doc.Change.Dropped = append(doc.Change.Dropped, c.Name)
	}
	for i, c := range change.Retyped {
		r := SchemaRetype{Name: c.Name, After: c.SourceType}
		if i < len(change.Before) {
			r.Before = change.Before[i].SourceType
		}
		doc.Change.Retyped = append(doc.Change.Retyped, r)
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("jsonlsink: table %s: schema file: %w", table.QualifiedName(), err)
	}
	path := filepath.Join(s.dir, SchemaFileName(table.Schema, table.Name))
	if err := durable.WriteFile(path, append(data, '\n')); err != nil {
		return fmt.Errorf("jsonlsink: table %s: schema file: %w", table.QualifiedName(), err)
	}
	// durable.WriteFile makes the file 0600; it is for the tables' readers.
	if err := os.Chmod(path, s.mode); err != nil {
		return fmt.Errorf("jsonlsink: table %s: schema file: %w", table.QualifiedName(), err)
	}
	return nil
}
