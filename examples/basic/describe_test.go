package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestDescribeFlag: -describe alone is the table, -describe=json the JSON,
// and -describe does not take the next argument as its value.
func TestDescribeFlag(t *testing.T) {
	for args, want := range map[string]describeMode{
		"":                    "",
		"-describe":           "table",
		"-describe -v":        "table",
		"-describe=table":     "table",
		"-describe=json":      "json",
		"-describe=JSON":      "json",
		"-describe=false":     "",
		"-describe=true":      "table",
		"-v -describe=json":   "json",
		"-describe -out /tmp": "table",
	} {
		f, err := parseFlags(strings.Fields(args), &bytes.Buffer{})
		if err != nil || f.describe != want {
			t.Errorf("%q: describe %q, %v; want %q", args, f.describe, err, want)
		}
	}
	var stderr bytes.Buffer
	if _, err := parseFlags([]string{"-describe=xml"}, &stderr); err == nil || !strings.Contains(stderr.String(), "-describe=json") {
		t.Errorf("-describe=xml: %v\n%s", err, stderr.String())
	}
}

// TestDescribe prints the plan of a real schema as a table and as JSON.
func TestDescribe(t *testing.T) {
	_, schema := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.orders (id int PRIMARY KEY, updated_at timestamptz NOT NULL);
INSERT INTO %[1]s.orders SELECT i, now() FROM generate_series(1, 300) i;
ANALYZE %[1]s.orders;
CREATE TABLE %[1]s.plain (v text);`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := filepath.Join(t.TempDir(), "none")
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"-source", pgtest.DSN(t), "-schema", schema, "-describe", "-out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("-describe: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 5 || !strings.Contains(lines[0], "2 tables") {
		t.Fatalf("-describe printed:\n%s", stdout.String())
	}
	if got := strings.Fields(lines[1]); strings.Join(got, " ") != "TABLE MODE KEY REASON ESTIMATE WARNINGS" {
		t.Errorf("header %q", lines[1])
	}
	byTable := map[string]string{}
	for _, l := range lines[2:4] {
		byTable[strings.Fields(l)[0]] = l
	}
	orders, plain := byTable[schema+".orders"], byTable[schema+".plain"]
	for _, want := range []string{" incremental ", " updated_at ", "~300", "update-tracking"} {
		if !strings.Contains(orders, want) {
			t.Errorf("orders line lacks %q: %q", want, orders)
		}
	}
	for _, want := range []string{" full ", " - ", "full resync every run"} {
		if !strings.Contains(plain, want) {
			t.Errorf("plain line lacks %q: %q", want, plain)
		}
	}

	stdout.Reset()
	if err := run(ctx, []string{"-source", pgtest.DSN(t), "-schema", schema, "-describe=json", "-out", out}, &stdout, &stderr); err != nil {
		t.Fatalf("-describe=json: %v\n%s", err, stderr.String())
	}
	var d struct {
		Tables []struct {
			Table map[string]json.RawMessage `json:"table"`
			Mode  string                     `json:"mode"`
		} `json:"tables"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &d); err != nil || len(d.Tables) != 2 {
		t.Fatalf("-describe=json: %v\n%s", err, stdout.String())
	}
	for _, p := range d.Tables {
		var name string
		json.Unmarshal(p.Table["name"], &name)
		enforced, has := p.Table["primary_key_enforced"]
		switch name {
		case "orders":
			if string(enforced) != "true" {
				t.Errorf("orders: primary_key_enforced %s", enforced)
			}
		case "plain":
			if has {
				t.Errorf("plain, without a key: primary_key_enforced %s", enforced)
			}
		default:
			t.Errorf("unexpected table %q", name)
		}
	}
}

// TestSummarySaysWhere: after the summary table, the command says where the
// rows and the state went.
func TestSummarySaysWhere(t *testing.T) {
	_, schema := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, updated_at timestamptz NOT NULL);
INSERT INTO %[1]s.t SELECT i, now() FROM generate_series(1, 20) i;
CREATE TABLE %[1]s."a/b" (v text);`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if err := run(ctx, []string{"-source", pgtest.DSN(t), "-schema", schema, "-out", out, "-progress", "off"}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	text := stdout.String()
	for _, want := range []string{
		"output: " + out + ": ",
		schema + ".t.jsonl",
		schema + ".a%2Fb.jsonl",
		"state:  " + filepath.Join(out, "state.json") + "\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
}

// TestPrintWhereMany: a long list of files is cut, with the count.
func TestPrintWhereMany(t *testing.T) {
	rep := &redshiftsync.Report{}
	for i := range 8 {
		rep.Tables = append(rep.Tables, redshiftsync.TableReport{Table: fmt.Sprintf("s.t%d", i)})
	}
	var b bytes.Buffer
	printWhere(&b, flags{out: "out/"}, redshiftsync.Config{Schema: "s"}, rep, "out/state.json")
	want := "output: out/: s.t0.jsonl, s.t1.jsonl, s.t2.jsonl, s.t3.jsonl, s.t4.jsonl, … (8 files)\nstate:  out/state.json\n"
	if b.String() != want {
		t.Errorf("printWhere:\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	printWhere(&b, flags{dest: "postgres://loader:pw@warehouse:5433/analytics"}, redshiftsync.Config{Schema: "s"}, rep, "the destination's table public.redshiftsync_state")
	want = "output: tables of schema \"s\" in database \"analytics\" on warehouse:5433\nstate:  the destination's table public.redshiftsync_state\n"
	if b.String() != want {
		t.Errorf("printWhere -dest:\n%s\nwant\n%s", b.String(), want)
	}
}

// TestDescribeDeletesAndSchemaChanges: with delete_detection on, the table
// view has a DELETES column saying whether each table's deletes are
// detected, or why not (a table without a primary key); after a sync and
// an ALTER TABLE, a line says what changed in the table's columns since
// (the pending schema change, read from the -out directory's state).
func TestDescribeDeletesAndSchemaChanges(t *testing.T) {
	src, schema := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.orders (id int PRIMARY KEY, v int, updated_at timestamptz NOT NULL);
INSERT INTO %[1]s.orders SELECT i, i, now() FROM generate_series(1, 20) i;
CREATE TABLE %[1]s.plain (v text);`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conf := filepath.Join(t.TempDir(), "configuration.json")
	if err := os.WriteFile(conf, []byte(`{"redshift_host": "h", "redshift_database": "d", "redshift_user": "u", "delete_detection": "on"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	args := []string{"-config", conf, "-source", pgtest.DSN(t), "-schema", schema, "-out", out}
	var stdout, stderr bytes.Buffer
	if err := run(ctx, append(args, "-progress", "off"), &stdout, &stderr); err != nil {
		t.Fatalf("sync: %v\n%s", err, stderr.String())
	}
	pgtest.Exec(t, src, fmt.Sprintf(`ALTER TABLE %[1]s.orders ADD COLUMN note text; ALTER TABLE %[1]s.orders ALTER COLUMN v TYPE bigint`, schema))
	stdout.Reset()
	if err := run(ctx, append(args, "-describe"), &stdout, &stderr); err != nil {
		t.Fatalf("-describe: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 6 {
		t.Fatalf("-describe printed:\n%s", stdout.String())
	}
	if got := strings.Join(strings.Fields(lines[1]), " "); got != "TABLE MODE KEY REASON ESTIMATE WARNINGS DELETES" {
		t.Errorf("header %q", lines[1])
	}
	byTable := map[string]string{}
	for _, l := range lines[2:4] {
		byTable[strings.Fields(l)[0]] = l
	}
	if orders := byTable[schema+".orders"]; !strings.HasSuffix(orders, "  on: range digests of the primary key (id)") {
		t.Errorf("orders line: %q", orders)
	}
	if plain := byTable[schema+".plain"]; !strings.Contains(plain, "  off: ") || !strings.Contains(plain, "primary key") {
		t.Errorf("plain line (no primary key): %q", plain)
	}
	if want := "schema change pending for " + schema + ".orders: added note (text); retyped v: integer -> bigint"; lines[4] != want {
		t.Errorf("schema change line %q, want %q", lines[4], want)
	}
}
