package main

// This file tests what the command says and its exit code when a run does
// not end well: tables the role may not read, a connection that cannot be
// opened, bad usage, -h, and SIGINT or SIGTERM in the middle of a run.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/testlog"
)

func randomName(t *testing.T, prefix string) string {
	t.Helper()
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// dsnAs returns the test server's URL with user role (trust auth on
// loopback: no password).
func dsnAs(t *testing.T, role string) string {
	t.Helper()
	u := pgtest.URL(t)
	u.User = url.User(role)
	return u.String()
}

// TestExitCodesUsage: -h exits 0 with the usage; a flag or a configuration
// key that is wrong exits 2.
func TestExitCodesUsage(t *testing.T) {
	code, out := runBinary(t, "-h")
	if code != 0 || !strings.Contains(out, "-source") {
		t.Errorf("-h: exit %d, output %q; want 0 and the usage", code, out)
	}
	for _, args := range [][]string{{"-bogus"}, {"-progress", "fancy"}, {"-source", "postgres://u@127.0.0.1:1/db", "stray"}} {
		if code, out := runBinary(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2:\n%s", args, code, out)
		}
	}
	cfg := filepath.Join(t.TempDir(), "configuration.json")
	if err := os.WriteFile(cfg, []byte(`{"redshift_host": "127.0.0.1", "redshift_database": "d", "redshift_user": "u", "redshfit_schema": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := runBinary(t, "-config", cfg); code != 2 || !strings.Contains(out, "redshfit_schema") {
		t.Errorf("a misspelt key: exit %d, want 2 naming it:\n%s", code, out)
	}
}

// TestExitCodesPermission: as a role that may read two of five tables, the
// two are synced and the command exits 1 naming the three others, each
// with its GRANT; it does not say that running again would resume.
func TestExitCodesPermission(t *testing.T) {
	db := pgtest.Open(t)
	schema := pgtest.NewSchema(t, db)
	names := []string{"clicks", "orders", "page_views", "sessions", "users"}
	for _, name := range names {
		pgtest.Exec(t, db, fmt.Sprintf(`CREATE TABLE %[1]s.%[2]s (id int PRIMARY KEY, v text);
INSERT INTO %[1]s.%[2]s SELECT i, 'v' || i FROM generate_series(1, 20) i;`, schema, name))
	}
	role := randomName(t, "reader_")
	pgtest.Exec(t, db, fmt.Sprintf(`CREATE ROLE %[1]s LOGIN; GRANT USAGE ON SCHEMA %[2]s TO %[1]s; GRANT SELECT ON %[2]s.orders, %[2]s.users TO %[1]s;`, role, schema))
	t.Cleanup(func() { db.Exec(fmt.Sprintf(`DROP OWNED BY %[1]s; DROP ROLE %[1]s`, role)) })

	out := t.TempDir()
	code, text := runBinary(t, "-source", dsnAs(t, role), "-schema", schema, "-out", out, "-progress", "off")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, text)
	}
	if !strings.Contains(text, "3 of 5 tables could not be synced") || strings.Contains(text, "run again to resume") || strings.Contains(text, "context canceled") {
		t.Errorf("the output does not say that 3 of 5 tables failed, or says to run again:\n%s", text)
	}
	for _, name := range []string{"clicks", "page_views", "sessions"} {
		if want := fmt.Sprintf("GRANT SELECT ON %s.%s TO %s;", schema, name, role); !strings.Contains(text, want) {
			t.Errorf("the output does not say %q:\n%s", want, text)
		}
	}
	for _, name := range []string{"orders", "users"} {
		data, err := os.ReadFile(filepath.Join(out, schema+"."+name+".jsonl"))
		rows := 0
		for _, line := range bytes.Split(data, []byte("\n")) {
			// Control lines (a full resync's begin and end) are no rows.
			if len(line) > 0 && !bytes.HasPrefix(line, []byte(`{"_redshiftsync_`)) {
				rows++
			}
		}
		if err != nil || rows != 20 {
			t.Errorf("%s: %d rows delivered (%v), want 20", name, rows, err)
		}
	}
	if code, text := runBinary(t, "-source", pgtest.DSN(t), "-schema", schema, "-out", t.TempDir(), "-progress", "off"); code != 0 {
		t.Errorf("as the owner: exit %d, want 0:\n%s", code, text)
	}
}

// TestConnectionFailureSaysWhere: a connection that cannot be opened says
// where it went, what to do, where the settings came from, and each retry;
// it exits 1 and never shows the password.
func TestConnectionFailureSaysWhere(t *testing.T) {
	port := pgtest.FreePort(t)
	password := "pw-" + randomName(t, "")
	cfg := filepath.Join(t.TempDir(), "configuration.json")
	doc := fmt.Sprintf(`{"redshift_host": "127.0.0.1", "redshift_port": %d, "redshift_database": "shop", "redshift_user": "reader", "redshift_password": %q, "max_retries": 1}`, port, password)
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	code, text := runBinary(t, "-config", cfg, "-out", t.TempDir(), "-progress", "off")
	where := fmt.Sprintf("connect to 127.0.0.1:%d database shop as reader", port)
	for _, want := range []string{
		fmt.Sprintf("basic: connecting to 127.0.0.1:%d database shop as reader", port),
		"retrying in", "(retry 1 of 1)",
		where, "nothing accepts connections", "connection settings from the configuration file " + cfg,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the output does not say %q:\n%s", want, text)
		}
	}
	if code != 1 || strings.Contains(text, password) || strings.Contains(text, "detect dialect") {
		t.Errorf("exit %d (want 1), or the output shows the password or \"detect dialect\":\n%s", code, text)
	}

	// No configuration at all: the PG* defaults, said so.
	cmd := exec.Command(os.Args[0], "-out", t.TempDir(), "-progress", "off")
	cmd.Env = append(os.Environ(), "BASIC_RUN_MAIN=1", "PGHOST=nonexistent.invalid", "PGPORT=5432", "PGSSLMODE=disable")
	cmd.Dir = t.TempDir()
	outb, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(outb), "connection settings from the PG* environment variables") ||
		!strings.Contains(string(outb), `the host name "nonexistent.invalid" does not resolve`) {
		t.Errorf("PG* defaults: exit %d, want 1 naming the PG* environment and the host:\n%s", code, outb)
	}

	// A server without TLS, and sslmode=require.
	u := pgtest.URL(t)
	q := u.Query()
	q.Set("sslmode", "require")
	u.RawQuery = q.Encode()
	code, text = runBinary(t, "-source", u.String(), "-out", t.TempDir(), "-progress", "off")
	if code != 1 || !strings.Contains(text, "does not offer TLS") || !strings.Contains(text, "connection settings from -source") {
		t.Errorf("sslmode=require: exit %d, want 1 and the sslmode hint:\n%s", code, text)
	}
}

// TestExitCodesSignal: SIGINT in the middle of a run exits 130, SIGTERM
// 143, each saying that running again resumes. The run is held on a table
// locked by an open transaction, so that the signal comes mid-read.
func TestExitCodesSignal(t *testing.T) {
	for _, c := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(c.sig.String(), func(t *testing.T) {
			db, schema := pgtest.OpenSchema(t, `CREATE TABLE %[1]s.t (id int PRIMARY KEY, v text);
INSERT INTO %[1]s.t SELECT i, 'v' || i FROM generate_series(1, 20) i;`)
			tx, err := db.Begin()
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.Exec(fmt.Sprintf(`LOCK TABLE %s.t IN ACCESS EXCLUSIVE MODE`, schema)); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-source", pgtest.DSN(t), "-schema", schema, "-out", t.TempDir(), "-progress", "off")
			cmd.Env = append(os.Environ(), "BASIC_RUN_MAIN=1")
			var out testlog.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the run to wait for the table's lock", func() bool {
				var n int
				err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = 'redshiftsync' AND wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'`, schema).Scan(&n)
				return err == nil && n > 0
			})
			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != c.code || !strings.Contains(out.String(), "run again to resume") {
				t.Errorf("exit %d, want %d, saying to run again:\n%s", code, c.code, out.String())
			}
			// The table was interrupted, not failed: the cause of the
			// cancel (the signal) is no failure of its own.
			if text := out.String(); !strings.Contains(text, "interrupted") || strings.Contains(text, "could not be synced") {
				t.Errorf("the table is not reported interrupted:\n%s", text)
			}
		})
	}
}
