// This file holds what the command prints for people: the plan of
// -describe (a table, or JSON with -describe=json) and the lines of the
// summary that say where the output and the state went.

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
)

// describeMode is the value of -describe: "" (off), "table" or "json". It
// is a flag.Value that is also a boolean flag, so that -describe alone means
// -describe=table.
type describeMode string

func (d *describeMode) String() string { return string(*d) }

// IsBoolFlag lets -describe stand alone (the flag package then calls
// Set("true")).
func (d *describeMode) IsBoolFlag() bool { return true }

func (d *describeMode) Set(v string) error {
	switch strings.ToLower(v) {
	case "true", "table":
		*d = "table"
	case "json":
		*d = "json"
	case "false", "":
		*d = ""
	default:
		return fmt.Errorf("want -describe (a table), -describe=table or -describe=json")
	}
	return nil
}

// printPlan prints the plan of d: as indented JSON (the whole Discovery)
// when mode is "json", else a table with a line per planned table.
func printPlan(w io.Writer, d *redshiftsync.Discovery, mode describeMode) error {
	if mode == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	fmt.Fprintf(w, "%s schema %q: %d tables\n", d.Dialect, d.Schema, len(d.Plans))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// The READ column, when unload_s3_uri is set: whether each table is
	// unloaded, and why (UnloadPlan.Reason).
	unloads := false
	for _, p := range d.Plans {
		unloads = unloads || p.Unload != nil
	}
	// The DELETES column, when delete_detection is on: whether each
	// table's deletes are detected, or why not (Plan.Deletes).
	deletes := false
	for _, p := range d.Plans {
		deletes = deletes || p.Deletes != ""
	}
	header := "TABLE\tMODE\tKEY\tREASON\tESTIMATE\tWARNINGS"
	if deletes {
		header += "\tDELETES"
	}
	if unloads {
		header += "\tREAD"
	}
	fmt.Fprintln(tw, header)
	for _, p := range d.Plans {
		key := p.ReplicationKey
		switch {
		case key == "":
			key = "-"
		case p.AppendOnly:
			key += " (append-only)"
		}
		estimate := "?"
		if p.Table.EstimatedRows >= 0 {
			estimate = "~" + count(p.Table.EstimatedRows)
		}
		warnings := strings.Join(p.Warnings, "; ")
		if warnings == "" {
			warnings = "-"
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", cell(p.Table.QualifiedName()), p.Mode, cell(key), cell(p.Reason), estimate, cell(warnings))
		if deletes {
			line += "\t" + cell(cmp.Or(p.Deletes, "-"))
		}
		if unloads {
			read := "-"
			if p.Unload != nil {
				read = p.Unload.Reason
				if len(p.Unload.Casts) > 0 && p.Unload.Use {
					read += "; cast to text: " + strings.Join(p.Unload.Casts, ", ")
				}
			}
			line += "\t" + cell(read)
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Pending schema changes under the table, a line each: they are rare
	// and too long for a column.
	for _, p := range d.Plans {
		if p.SchemaChange != nil {
			fmt.Fprintf(w, "schema change pending for %s: %s\n", cell(p.Table.QualifiedName()), cell(describeChange(*p.SchemaChange)))
		}
	}
	_, err := fmt.Fprintln(w, "Estimates are the catalog's. -describe=json prints the whole plan: columns, types, keys.")
	return err
}

// describeChange says what a pending schema change is, column by column:
// "added c (int); dropped d (text); retyped e: int -> bigint; renamed f -> g".
func describeChange(c redshiftsync.SchemaChange) string {
	var parts []string
	for _, col := range c.Added {
		parts = append(parts, fmt.Sprintf("added %s (%s)", col.Name, col.SourceType))
	}
	for _, col := range c.Dropped {
		parts = append(parts, fmt.Sprintf("dropped %s (%s)", col.Name, col.SourceType))
	}
	for i, col := range c.Retyped {
		before := "?"
		if i < len(c.Before) {
			before = c.Before[i].SourceType
		}
		parts = append(parts, fmt.Sprintf("retyped %s: %s -> %s", col.Name, before, col.SourceType))
	}
	for _, old := range slices.Sorted(maps.Keys(c.Renamed)) {
		parts = append(parts, fmt.Sprintf("renamed %s -> %s", old, c.Renamed[old]))
	}
	return strings.Join(parts, "; ")
}

// describeStore returns the state store -describe reads the pending schema
// changes from (Plan.SchemaChange), without writing anything: the state
// file of -state, or of -out (its state.json) when no -dest is given. With
// -dest and no -state the state is in the destination's table, which
// -describe does not open (opening it may create it): then an empty store,
// and no pending changes shown.
func describeStore(f flags) redshiftsync.StateStore {
	switch {
	case f.state != "":
		return redshiftsync.NewFileStore(f.state)
	case f.dest == "" && f.out != "":
		return redshiftsync.NewFileStore(filepath.Join(f.out, "state.json"))
	}
	return &redshiftsync.MemoryStore{}
}

// planSink is the sink -describe plans with: it writes nowhere, and it is a
// DeleteSink and a KeyLister because both of the command's destinations
// (jsonlsink, pgsink) are, so that the plan's DELETES column says what a
// sync would do. Discover reads no rows, so its Delete and ListKeys are
// never called; they fail if they are.
type planSink struct{ redshiftsync.SinkFuncs }

var (
	_ redshiftsync.DeleteSink = planSink{}
	_ redshiftsync.KeyLister  = planSink{}
)

func newPlanSink() planSink {
	return planSink{redshiftsync.SinkFuncs{WriteFunc: func(context.Context, redshiftsync.Batch) error { return nil }}}
}

// Delete fails: -describe deletes nothing.
func (planSink) Delete(_ context.Context, t *redshiftsync.Table, _ []redshiftsync.Key) error {
	return fmt.Errorf("basic: -describe deletes no rows (table %s)", t.QualifiedName())
}

// ListKeys fails: -describe lists no keys.
func (planSink) ListKeys(_ context.Context, t *redshiftsync.Table, _ redshiftsync.KeyRange, _ func(redshiftsync.Key) error) error {
	return fmt.Errorf("basic: -describe lists no keys (table %s)", t.QualifiedName())
}

// cell keeps a cell of the table on its line: a tab or a line break in a
// name (quoted identifiers may hold them) would break the columns.
func cell(s string) string {
	return strings.NewReplacer("\t", `\t`, "\n", `\n`, "\r", `\r`).Replace(s)
}

// printWhere prints, after the summary table, where the rows and the state
// went: the -out directory and its files, or the -dest database and
// schema; and the state's place (stateWhere, from openDestination).
func printWhere(w io.Writer, f flags, cfg redshiftsync.Config, rep *redshiftsync.Report, stateWhere string) {
	if rep == nil || len(rep.Tables) == 0 {
		return
	}
	if f.dest != "" {
		dest := "the -dest database"
		if d, err := redshiftsync.ConfigFromURL(f.dest); err == nil {
			dest = fmt.Sprintf("database %q on %s:%d", d.Database, d.Host, d.Port)
		}
		fmt.Fprintf(w, "output: tables of schema %q in %s\n", cfg.Schema, dest)
	} else {
		var files []string
		for _, t := range rep.Tables {
			name := strings.TrimPrefix(t.Table, cfg.Schema+".")
			files = append(files, jsonlsink.FileName(cfg.Schema, name))
		}
		const shown = 5
		list := strings.Join(files[:min(shown, len(files))], ", ")
		if len(files) > shown {
			list += fmt.Sprintf(", … (%d files)", len(files))
		}
		fmt.Fprintf(w, "output: %s: %s\n", f.out, list)
	}
	fmt.Fprintf(w, "state:  %s\n", stateWhere)
}
