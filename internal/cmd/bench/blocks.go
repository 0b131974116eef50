// This file holds the cases of a table with no index to page by (group "u"):
// a keyless table read in block order (resumable) beside the one streaming
// pass such a table got before, and the rows a crash half-way makes the
// rerun read again, both ways.

package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

const (
	// tableNoKey has no primary key and no index: the Extractor reads it in
	// block order, resumable (PostgreSQL 14+).
	tableNoKey = "nokey"
	// tableNoKeyPart holds the same rows in a partitioned table of one
	// partition: block order does not apply to a partitioned table, so the
	// Extractor reads it in one streaming pass, as it read every keyless
	// table before.
	tableNoKeyPart = "nokey_part"
	// rowsNoKey is the size of both.
	rowsNoKey = 2_000_000
)

// createNoKeySQL creates bench.nokey: small rows of five columns.
func createNoKeySQL() []string {
	q := schema + "." + tableNoKey
	return []string{
		`DROP TABLE IF EXISTS ` + q + ` CASCADE`,
		`CREATE TABLE ` + q + ` (n bigint NOT NULL, s varchar(32), d double precision, t text, ts timestamp)`,
		`INSERT INTO ` + q + `
SELECT g, md5(g::text), sin(g::float8) * 1e6, left(md5((g + 1)::text) || md5((g + 2)::text), 20 + (g % 40)::integer),
	timestamp '2015-01-01' + g * interval '17 seconds'
FROM generate_series(1::bigint, ` + strconv.Itoa(rowsNoKey) + `) AS g`,
	}
}

// createNoKeyPartSQL copies bench.nokey into a partitioned table of one
// partition.
func createNoKeyPartSQL() []string {
	q := schema + "." + tableNoKeyPart
	return []string{
		`DROP TABLE IF EXISTS ` + q + ` CASCADE`,
		`CREATE TABLE ` + q + ` (LIKE ` + schema + `.` + tableNoKey + `) PARTITION BY RANGE (n)`,
		`CREATE TABLE ` + q + `_all PARTITION OF ` + q + ` FOR VALUES FROM (MINVALUE) TO (MAXVALUE)`,
		`INSERT INTO ` + q + ` SELECT * FROM ` + schema + `.` + tableNoKey,
	}
}

// blockCases are the cases of group "u".
func blockCases() []*benchCase {
	return []*benchCase{
		{ID: "u-pass", Group: "u", Title: "Extractor, keyless table in one streaming pass (a partitioned copy: the old path), 1 worker", Table: tableNoKeyPart, Kind: kindExtract, Sink: "discard", Blocks: true},
		{ID: "u-b", Group: "u", Title: "Extractor, keyless table in block order (resumable), 1 worker", Table: tableNoKey, Kind: kindExtract, Sink: "discard", Blocks: true},
		{ID: "u-pass-crash", Group: "u", Title: "as (u-pass): the sink fails half-way, a rerun finishes (rows: both runs)", Table: tableNoKeyPart, Kind: kindExtract, Sink: "discard", Blocks: true, FailHalf: true},
		{ID: "u-b-crash", Group: "u", Title: "as (u-b): the sink fails half-way, a rerun finishes (rows: both runs)", Table: tableNoKey, Kind: kindExtract, Sink: "discard", Blocks: true, FailHalf: true},
	}
}

// blockSection renders the comparison of group "u", or "" when it did not run.
func blockSection(byID map[string]*caseStats) string {
	one, bo := byID["u-pass"], byID["u-b"]
	pc, bc := byID["u-pass-crash"], byID["u-b-crash"]
	if one == nil && bo == nil && pc == nil && bc == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("## Tables with no index to page by: block order\n\n")
	fmt.Fprintf(&b, "bench.%s: %s rows, no primary key, no index (`n bigint`, `s varchar(32)`, `d double precision`, `t text` of 20-59 characters, `ts timestamp`). "+
		"bench.%s holds the same rows in a partitioned table of one partition: block order does not apply to a partitioned table, so the Extractor reads it in one streaming pass, "+
		"as it read every keyless or unindexed table before (the rows are the same; the partitioned table adds an Append node). "+
		"Extractor settings as above (BatchSize 10,000, CheckpointEveryRows at its default of 50,000, MaxParallelWorkers 1).\n\n", tableNoKey, thousands(rowsNoKey), tableNoKeyPart)
	b.WriteString("| read | best s | median s | rows/s (best) | rows/s ÷ one pass, by best | by median |\n|---|--:|--:|--:|--:|--:|\n")
	for _, st := range []*caseStats{one, bo} {
		if st == nil {
			continue
		}
		vs, vsMedian := "—", "—"
		if one != nil && one.RowsPerSec > 0 {
			vs, vsMedian = ratio(st.RowsPerSec/one.RowsPerSec), ratio(one.Median/st.Median)
		}
		fmt.Fprintf(&b, "| (%s) %s | %.3f | %.3f | %s | %s | %s |\n", st.Case.ID, st.Case.Title, st.Best, st.Median, thousands(int64(st.RowsPerSec)), vs, vsMedian)
	}
	b.WriteString("\nCrash half-way: the sink fails once it would be handed more than half the table's rows plus 45,000 (so 40,000 rows past the last checkpoint: near the worst point, as checkpoints fall every 50,000 rows); no checkpoint is saved after a sink failure, as after a `kill -9`; a second `Run` with the same state finishes the sync. Re-read factor: rows handed to the sink by both runs ÷ the table's rows (1.00× = nothing read twice), each repetition:\n\n")
	b.WriteString("| read | re-read factor per repetition | worst |\n|---|---|--:|\n")
	for _, st := range []*caseStats{pc, bc} {
		if st == nil {
			continue
		}
		var fs []string
		worst := 0.0
		for _, s := range st.Case.Samples {
			f := float64(s.Rows) / rowsNoKey
			fs = append(fs, fmt.Sprintf("%.3f×", f))
			worst = max(worst, f)
		}
		fmt.Fprintf(&b, "| (%s) %s | %s | %.3f× |\n", st.Case.ID, st.Case.Title, strings.Join(fs, ", "), worst)
	}
	b.WriteString("\nIn block order the position is the ctid of the last row delivered: a crash re-reads the rows delivered since the last checkpoint (at most CheckpointEveryRows, 50,000: 2.5% of this table); the resume is a TID Range Scan of the rest of the table. The one streaming pass has no position: its rerun reads the table again.\n")
	return b.String()
}

// blockTargets checks the targets for group "u".
func blockTargets(byID map[string]*caseStats) []target {
	var ts []target
	one, best, bc := byID["u-pass"], byID["u-b"], byID["u-b-crash"]
	name := "block order rows/s ≥ one streaming pass (u)"
	if one == nil || best == nil {
		ts = append(ts, target{name, "N/A", "cases (u-pass) and (u-b) were not run"})
	} else {
		r := best.RowsPerSec / one.RowsPerSec
		ts = append(ts, target{name, pass(r >= 1), fmt.Sprintf("(%s) %.2f× (best %.2fs vs %.2fs; by median %.2f×)", best.Case.ID, r, best.Best, one.Best, one.Median/best.Median)})
	}
	name = "crash half-way and rerun: rows delivered ≤ 1.05× the table (u)"
	if bc == nil {
		ts = append(ts, target{name, "N/A", "case (u-b-crash) was not run"})
	} else {
		var fs []float64
		for _, s := range bc.Case.Samples {
			fs = append(fs, float64(s.Rows)/rowsNoKey)
		}
		worst := slices.Max(fs)
		ts = append(ts, target{name, pass(worst <= 1.05), fmt.Sprintf("worst %.3f× of %d repetitions", worst, len(fs))})
	}
	return ts
}
