// This file holds what the command prints for people: the plan of
// -describe (a table, or JSON with -describe=json) and the lines of the
// summary that say where the output and the state went.

package main

import (
	"encoding/json"
	"fmt"
	"io"
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
	header := "TABLE\tMODE\tKEY\tREASON\tESTIMATE\tWARNINGS"
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
	_, err := fmt.Fprintln(w, "Estimates are the catalog's. -describe=json prints the whole plan: columns, types, keys.")
	return err
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
