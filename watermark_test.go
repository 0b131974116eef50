package redshiftsync_test

// This file tests the watermark against a real server: transactions held
// open across syncs (with and without an xid when the sync reads its
// high-water mark, as an unprivileged role, prepared ones), sequence keys,
// a stress of short writers, and keys above the server's clock.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// noMargin makes timestamp marks exact (no clock margin) for the test, so
// that it shows what tracking the transactions in progress does alone: with
// the margin, a transaction begun less than a second before a mark would be
// covered by the margin already.
func noMargin(t *testing.T) {
	t.Cleanup(redshiftsync.SetWatermarkTimings(0, 0, 5*time.Minute))
}

// unprivileged returns the configuration of a role created for the test
// that may only read the tables of schema s: it cannot see other roles'
// transaction starts in pg_stat_activity, so the watermark tracks their
// virtual transaction ids. The role is dropped when the test ends.
func unprivileged(t *testing.T, db *sql.DB, s string) redshiftsync.Config {
	t.Helper()
	return unprivilegedAt(t, db, s, pgtest.DSN(t))
}

// unprivilegedAt is unprivileged for the database of dsn (db's).
func unprivilegedAt(t *testing.T, db *sql.DB, s, dsn string) redshiftsync.Config {
	t.Helper()
	role := "wm_" + randomHex(t, 6)
	pgtest.Exec(t, db, fmt.Sprintf(`CREATE ROLE %[1]s LOGIN; GRANT USAGE ON SCHEMA %[2]s TO %[1]s; GRANT SELECT ON ALL TABLES IN SCHEMA %[2]s TO %[1]s;`, role, s))
	t.Cleanup(func() { db.Exec(fmt.Sprintf(`DROP OWNED BY %[1]s; DROP ROLE %[1]s`, role)) })
	cfg := configFor(t, editDSN(t, dsn, func(u *url.URL) { u.User = url.User(role) }), s)
	cfg.MaxParallelWorkers = 2
	return cfg
}

// eachRole runs f for a fresh schema s, once with the test's role, which
// sees the other sessions' transaction starts, and once with an
// unprivileged one, which does not.
func eachRole(t *testing.T, db *sql.DB, f func(t *testing.T, s string, cfg redshiftsync.Config)) {
	for _, role := range []string{"sees the start", "unprivileged"} {
		t.Run(role, func(t *testing.T) {
			s := pgtest.NewSchema(t, db)
			watermarkTable(t, db, s)
			cfg := testConfig(t, s)
			if role == "unprivileged" {
				cfg = unprivileged(t, db, s)
			}
			f(t, s, cfg)
		})
	}
}

// dsnWith returns the test server's URL changed by edit.
func dsnWith(t *testing.T, edit func(u *url.URL)) string {
	t.Helper()
	return editDSN(t, pgtest.DSN(t), edit)
}

// editDSN returns the URL dsn as edit changes it.
func editDSN(t *testing.T, dsn string, edit func(u *url.URL)) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	edit(u)
	return u.String()
}

// openTx opens a transaction on a connection of its own; the test ends it.
func openTx(t *testing.T, db *sql.DB) *sql.Tx {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	return tx
}

func txExec(t *testing.T, tx *sql.Tx, q string, args ...any) {
	t.Helper()
	if _, err := tx.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// watermarkTable creates s.t: 10 rows an hour old, keyed by updated_at.
func watermarkTable(t *testing.T, db *sql.DB, s string) {
	t.Helper()
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.t (id int PRIMARY KEY, v int NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX ON %[1]s.t (updated_at);
INSERT INTO %[1]s.t SELECT i, 0, now() - interval '1 hour' FROM generate_series(1, 10) i;`, s))
}

// warned reports whether logs hold a WARN about table whose message
// contains msg.
func warned(t *testing.T, logs *logBuffer, table, msg string) bool {
	t.Helper()
	for _, r := range logs.records(t) {
		if r["level"] == "WARN" && strings.Contains(fmt.Sprint(r["msg"]), msg) && r["table"] == table {
			return true
		}
	}
	return false
}

// checkV fails unless the sink's v of every row equals the source's.
func checkV(t *testing.T, db *sql.DB, sink *memSink, s, table, stage string) {
	t.Helper()
	if d := diffMaps(sourceMap(t, db, `SELECT id::text, v::text FROM `+s+`.`+table), sink.column(s+"."+table, "v")); d != "" {
		t.Errorf("%s: %s", stage, d)
	}
}

// lateCommit runs the scenario of the late-commit tests on s.t (see
// watermarkTable) with sync, which syncs the schema into sink: after a first
// sync, a transaction begins and runs before; another session commits row
// 2 with a later now(); a sync takes that as its high-water mark (above
// row 1's key, which is the transaction's start); the transaction runs
// after, commits, and one more sync must deliver row 1's final version.
// premise, when set, checks what the test relies on while the transaction
// is open (given its backend pid).
func lateCommit(t *testing.T, db *sql.DB, s string, sink *memSink, sync func(), before, after string, premise func(pid int)) {
	t.Helper()
	sync()
	late := openTx(t, db)
	var pid int
	if err := late.QueryRow(`SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	txExec(t, late, before)
	if premise != nil {
		premise(pid)
	}
	pgtest.Exec(t, db, `UPDATE `+s+`.t SET v = 2, updated_at = now() WHERE id = 2`)
	sync()
	if after != "" {
		txExec(t, late, after)
	}
	if err := late.Commit(); err != nil {
		t.Fatal(err)
	}
	sync()
	checkV(t, db, sink, s, "t", "after the late commit")
}

// TestLateCommitWithXid: a transaction updates a row with updated_at =
// now() (its start, and it has an xid), stays open while another session
// commits a later updated_at and a sync takes that as its high-water mark,
// then commits. With the default configuration the row's final version
// arrives in the next sync: run by a role that sees the transaction's
// start (the mark's value stays below it), and by one that does not (the
// mark waits for the transaction to end). Before the watermark the
// high-water mark became the bookmark at once and the row was lost.
func TestLateCommitWithXid(t *testing.T) {
	noMargin(t)
	db := pgtest.Open(t)
	eachRole(t, db, func(t *testing.T, s string, cfg redshiftsync.Config) {
		sink, store := newMemSink(), &redshiftsync.MemoryStore{}
		lateCommit(t, db, s, sink, func() { mustRun(t, cfg, sink, store) },
			`UPDATE `+s+`.t SET v = 1, updated_at = now() WHERE id = 1`, "", nil)
	})
}

// TestLateCommitBeforeFirstWrite: the transaction has begun (now() is
// fixed) but not written when the sync reads its high-water mark, so it has
// no xid yet; it writes and commits afterwards. The extractor runs as a
// role that cannot see the other role's transaction start in
// pg_stat_activity: the watermark needs no privilege.
func TestLateCommitBeforeFirstWrite(t *testing.T) {
	noMargin(t)
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	watermarkTable(t, db, s)
	cfg := unprivileged(t, db, s)
	low := pgtest.OpenDSN(t, dsnWith(t, func(u *url.URL) { u.User = url.User(cfg.User) }))
	// The premise: the extractor's role sees the transaction in
	// pg_stat_activity, but not when it started.
	premise := func(pid int) {
		var start sql.NullTime
		if err := low.QueryRow(`SELECT xact_start FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&start); err != nil {
			t.Fatal(err)
		}
		if start.Valid {
			t.Fatalf("role %s sees the other role's xact_start: the test does not test an unprivileged role", cfg.User)
		}
	}
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	lateCommit(t, db, s, sink, func() { mustRun(t, cfg, sink, store) },
		`SELECT now()`, `UPDATE `+s+`.t SET v = 1, updated_at = now() WHERE id = 1`, premise)
}

// TestLateCommitIdentityKey: id 101 is taken by a transaction that
// commits after id 102 was synced; with an identity key (no lookback
// applies to integers) it still arrives.
func TestLateCommitIdentityKey(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.ev (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v int NOT NULL);
INSERT INTO %[1]s.ev (v) SELECT 0 FROM generate_series(1, 100);`, s))
	cfg := testConfig(t, s)
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)

	late := openTx(t, db)
	var id int64
	if err := late.QueryRow(`INSERT INTO ` + s + `.ev (v) VALUES (1) RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	pgtest.Exec(t, db, `INSERT INTO `+s+`.ev (v) VALUES (2)`)
	rep := mustRun(t, cfg, sink, store)
	if rep.Tables[0].Key != "id" {
		t.Fatalf("planned key %q, want id", rep.Tables[0].Key)
	}
	if err := late.Commit(); err != nil {
		t.Fatal(err)
	}
	mustRun(t, cfg, sink, store)
	checkV(t, db, sink, s, "ev", fmt.Sprintf("after id %d committed late", id))
}

// TestLateCommitPrepared: a transaction is in progress without an xid when
// a sync takes its mark, then PREPAREs (which gives up its vxid lock) and
// is committed only after the next sync. Prepared transactions hold the
// bookmark, so the row arrives. (Run by a role that cannot see the
// transaction's start, which would otherwise bound the mark.)
func TestLateCommitPrepared(t *testing.T) {
	noMargin(t)
	db := pgtest.Open(t)
	var maxPrepared int
	if err := db.QueryRow(`SELECT current_setting('max_prepared_transactions')::int`).Scan(&maxPrepared); err != nil {
		t.Fatal(err)
	}
	if maxPrepared == 0 {
		t.Fatal("the test server has max_prepared_transactions = 0, so this test cannot prepare a transaction: " +
			"set max_prepared_transactions to 10 or more in its postgresql.conf and restart it (scripts/lib/pg.sh starts its server so)")
	}
	s := pgtest.NewSchema(t, db)
	watermarkTable(t, db, s)
	cfg := unprivileged(t, db, s)
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)

	gid := "wm_" + s
	late, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	t.Cleanup(func() { db.Exec(`ROLLBACK PREPARED '` + gid + `'`) })
	for _, q := range []string{`BEGIN`, `SELECT now()`} {
		if _, err := late.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	pgtest.Exec(t, db, `UPDATE `+s+`.t SET v = 2, updated_at = now() WHERE id = 2`)
	mustRun(t, cfg, sink, store)
	for _, q := range []string{`UPDATE ` + s + `.t SET v = 1, updated_at = now() WHERE id = 1`, `PREPARE TRANSACTION '` + gid + `'`} {
		if _, err := late.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	logs := &logBuffer{}
	redshiftsync.SetWatermarkTimings(0, 0, 0) // restored by noMargin's cleanup
	mustRun(t, cfg, sink, store, redshiftsync.WithLogger(newLogger(logs)))
	held := false
	for _, r := range logs.records(t) {
		if r["level"] == "WARN" && strings.HasPrefix(fmt.Sprint(r["msg"]), "bookmark held") && r["prepared_transactions"] == float64(1) && r["table"] == s+".t" {
			held = true
		}
	}
	if !held {
		t.Errorf("no WARN says a prepared transaction holds the bookmark:\n%s", logs.String())
	}
	pgtest.Exec(t, db, `COMMIT PREPARED '`+gid+`'`)
	mustRun(t, cfg, sink, store)
	checkV(t, db, sink, s, "t", "after COMMIT PREPARED")
}

// TestLateCommitStress: three writers run short transactions (0-40 ms)
// that update rows with updated_at = now() while a sync runs every 100 ms,
// as a role that cannot see the writers' transaction starts; after they
// stop and two more syncs, the sink equals the source.
func TestLateCommitStress(t *testing.T) {
	noMargin(t)
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.t (id int PRIMARY KEY, v int NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX ON %[1]s.t (updated_at);
INSERT INTO %[1]s.t SELECT i, 0, now() - interval '1 hour' FROM generate_series(1, 300) i;`, s))
	cfg := unprivileged(t, db, s)
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var commits atomic.Int64
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			for ctx.Err() == nil {
				tx, err := db.BeginTx(context.Background(), nil)
				if err != nil {
					errs <- err
					return
				}
				_, err = tx.Exec(`UPDATE `+s+`.t SET v = v + 1, updated_at = now() WHERE id = $1`, 1+rand.IntN(300))
				if err == nil {
					time.Sleep(time.Duration(rand.IntN(41)) * time.Millisecond)
					err = tx.Commit()
				}
				if err != nil {
					tx.Rollback()
					errs <- err
					return
				}
				commits.Add(1)
			}
		})
	}
	ex, err := redshiftsync.New(cfg, sink, store)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	for range 25 {
		if _, err := ex.Run(t.Context()); err != nil {
			stop()
			wg.Wait()
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mustRun(t, cfg, sink, store)
	mustRun(t, cfg, sink, store)
	checkV(t, db, sink, s, "t", fmt.Sprintf("after %d commits", commits.Load()))
}

// TestFutureKeys: a row dated ten years ahead and one at 'infinity' must
// not become the bookmark: the 50 updates made after them, below them, all
// arrive; the rows above the clock are read again on every sync, and the
// report and a WARN line name the table and count them. Naive timestamps
// are compared with the server's clock in UTC.
func TestFutureKeys(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`
CREATE TABLE %[1]s.tz (id int PRIMARY KEY, v int NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX ON %[1]s.tz (updated_at);
INSERT INTO %[1]s.tz SELECT i, 0, now() - interval '1 hour' FROM generate_series(1, 100) i;
UPDATE %[1]s.tz SET updated_at = now() + interval '10 years' WHERE id = 1;
UPDATE %[1]s.tz SET updated_at = 'infinity' WHERE id = 2;
CREATE TABLE %[1]s.naive (id int PRIMARY KEY, v int NOT NULL, updated_at timestamp NOT NULL);
INSERT INTO %[1]s.naive SELECT i, 0, (now() AT TIME ZONE 'UTC') - interval '1 hour' FROM generate_series(1, 100) i;
UPDATE %[1]s.naive SET updated_at = (now() AT TIME ZONE 'UTC') + interval '10 years' WHERE id = 1;
UPDATE %[1]s.naive SET updated_at = 'infinity' WHERE id = 2;`, s))
	cfg := testConfig(t, s)
	sink, store := newMemSink(), &redshiftsync.MemoryStore{}
	mustRun(t, cfg, sink, store)
	pgtest.Exec(t, db, fmt.Sprintf(`
UPDATE %[1]s.tz SET v = 1, updated_at = now() WHERE id BETWEEN 11 AND 60;
UPDATE %[1]s.naive SET v = 1, updated_at = now() AT TIME ZONE 'UTC' WHERE id BETWEEN 11 AND 60;`, s))
	logs := &logBuffer{}
	rep := mustRun(t, cfg, sink, store, redshiftsync.WithLogger(newLogger(logs)))
	for _, table := range []string{"tz", "naive"} {
		checkV(t, db, sink, s, table, table+": updates below the future-dated rows")
	}
	for _, tr := range rep.Tables {
		if tr.Rows < 50+2 {
			t.Errorf("%s: %d rows read, want the 50 updated and the 2 above the clock", tr.Table, tr.Rows)
		}
		if !strings.Contains(strings.Join(tr.Warnings, " "), "2 rows have a updated_at above the server's current time") {
			t.Errorf("%s: warnings %q", tr.Table, tr.Warnings)
		}
	}
	warned := map[string]bool{}
	for _, r := range logs.records(t) {
		if r["level"] == "WARN" && strings.Contains(fmt.Sprint(r["msg"]), "above the server's clock") && r["rows"] == float64(2) {
			warned[fmt.Sprint(r["table"])] = true
		}
	}
	if !warned[s+".tz"] || !warned[s+".naive"] {
		t.Errorf("WARN lines for %v, want both tables:\n%s", warned, logs.String())
	}
}

// TestRedshiftLateCommit: on Redshift (here the dialect on PostgreSQL, with
// GETDATE() and SVV_TRANSACTIONS mirrored, see redshiftClock) a timestamp
// bookmark stays below the start of the oldest transaction in progress that
// SVV_TRANSACTIONS shows. The lookback floor is set to 0 so that the test
// shows what SVV_TRANSACTIONS does alone.
func TestRedshiftLateCommit(t *testing.T) {
	noMargin(t)
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	watermarkTable(t, db, s)
	sink := newMemSink()
	ex := redshiftExtractor(t, s, s+",public", sink)
	sync := func() {
		t.Helper()
		if _, err := ex.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	lateCommit(t, db, s, sink, sync, `UPDATE `+s+`.t SET v = 1, updated_at = now() WHERE id = 1`, "", nil)
}

// TestOwnSessionsNotWaitedFor: the library's own sessions (application_name
// redshiftsync, or "redshiftsync snapshot" for another table's exporter of a
// full resync's snapshot; the extractor's role; no xid) only read the
// source, so one left in a transaction (another table's long read, say)
// does not hold the bookmark; any other session does. Before, an exporter
// held the marks of every table synced beside its resync, and their next
// sync re-read everything since the previous bookmark. (The table's key is an identity column:
// for a timestamp key the mark would be bounded by the session's start,
// which the extractor's role sees, instead of waiting for it.)
func TestOwnSessionsNotWaitedFor(t *testing.T) {
	// A database of its own: a transaction another package's test holds
	// open in a shared one would rightly hold the bookmark too.
	db, s, dsn := pgtest.OpenIsolated(t, `
CREATE TABLE %[1]s.t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v int NOT NULL);
INSERT INTO %[1]s.t (v) SELECT 0 FROM generate_series(1, 10);`)
	cfg := unprivilegedAt(t, db, s, dsn)
	for _, app := range []string{"redshiftsync", redshiftsync.SnapshotAppName, "some_app"} {
		t.Run(app, func(t *testing.T) {
			other := openTx(t, pgtest.OpenDSN(t, editDSN(t, dsn, func(u *url.URL) {
				u.User = url.User(cfg.User)
				q := u.Query()
				q.Set("application_name", app)
				u.RawQuery = q.Encode()
			})))
			txExec(t, other, `SELECT 1`)
			store := &redshiftsync.MemoryStore{}
			mustRun(t, cfg, newMemSink(), store)
			ts := loadStateDoc(t, store).Tables[s+".t"]
			if held := ts.PendingMarks > 0; held != (app == "some_app") {
				t.Errorf("a session %s idle in transaction: bookmark %v, pending marks %d", app, ts.Bookmark, ts.PendingMarks)
			}
		})
	}
}

// TestWriterNamedRedshiftsync: any session may set application_name
// redshiftsync (a copied DSN, PGAPPNAME, a pooler). A writer of another
// role so named, in a transaction that commits a row after a sync took a
// later high-water mark, still holds the bookmark, and its row arrives:
// whether it had written (it has an xid) or not yet when the mark was
// taken. Before, every session so named was skipped and the row was lost.
func TestWriterNamedRedshiftsync(t *testing.T) {
	noMargin(t)
	db := pgtest.Open(t)
	named := pgtest.OpenDSN(t, dsnWith(t, func(u *url.URL) {
		q := u.Query()
		q.Set("application_name", "redshiftsync")
		u.RawQuery = q.Encode()
	}))
	for _, c := range []struct{ name, before, after string }{
		{"with an xid", `UPDATE %s.t SET v = 1, updated_at = now() WHERE id = 1`, ""},
		{"before its first write", `SELECT now()`, `UPDATE %s.t SET v = 1, updated_at = now() WHERE id = 1`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := pgtest.NewSchema(t, db)
			watermarkTable(t, db, s)
			cfg := unprivileged(t, db, s)
			sink, store := newMemSink(), &redshiftsync.MemoryStore{}
			in := func(q string) string { return strings.ReplaceAll(q, "%s", s) }
			lateCommit(t, named, s, sink, func() { mustRun(t, cfg, sink, store) }, in(c.before), in(c.after), nil)
		})
	}
}

// TestHeldBookmarkWarns: a session idle in transaction holds the bookmark
// of a timestamp-keyed table, whether the extractor's role sees its start
// (the mark stays below it) or not (the mark waits for it); either way a
// WARN names the hold once it is old enough (here: at once).
func TestHeldBookmarkWarns(t *testing.T) {
	db := pgtest.Open(t)
	t.Cleanup(redshiftsync.SetWatermarkTimings(0, 0, 0))
	eachRole(t, db, func(t *testing.T, s string, cfg redshiftsync.Config) {
		idle := openTx(t, db)
		txExec(t, idle, `SELECT 1`)
		logs := &logBuffer{}
		mustRun(t, cfg, newMemSink(), &redshiftsync.MemoryStore{}, redshiftsync.WithLogger(newLogger(logs)))
		if !warned(t, logs, s+".t", "bookmark held") {
			t.Errorf("no WARN that the bookmark is held:\n%s", logs.String())
		}
	})
}

// TestBookmarkAboveClockLowered: a state document whose bookmark is above
// the server's clock must not freeze the table: a version-1 document saved
// by an older library ('infinity', ten years ahead; also what a clock
// stepped back or a failover to a server whose clock is behind leaves), or
// a pending mark at 'infinity'. The sync lowers the value to the server's
// clock with a WARN naming the table, and the 50 updates made afterwards
// all arrive, on PostgreSQL and in the Redshift dialect. Before, a mark's
// value was never below the saved one and nothing was read again.
func TestBookmarkAboveClockLowered(t *testing.T) {
	db := pgtest.Open(t)
	for _, dialect := range []string{"postgres", "redshift"} {
		for _, saved := range []string{"bookmark infinity", "bookmark ten years ahead", "pending mark infinity"} {
			if dialect == "redshift" && strings.HasPrefix(saved, "pending") {
				continue // Redshift keeps no pending marks
			}
			t.Run(dialect+"/"+saved, func(t *testing.T) {
				s := pgtest.NewSchema(t, db)
				watermarkTable(t, db, s)
				cfg := testConfig(t, s)
				sink, store := newMemSink(), &redshiftsync.MemoryStore{}
				run := func(opts ...redshiftsync.Option) {
					t.Helper()
					if dialect == "postgres" {
						mustRun(t, cfg, sink, store, opts...)
						return
					}
					rcfg := cfg
					rcfg.Dialect = redshiftsync.DialectRedshift
					ex, err := redshiftsync.NewFromDB(redshiftDB(t, s, s+",public", cfg.MaxParallelWorkers+1), rcfg, sink, store, opts...)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := ex.Run(t.Context()); err != nil {
						t.Fatal(err)
					}
				}
				run()
				raw, err := store.Load(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				var doc map[string]any
				if err := json.Unmarshal(raw, &doc); err != nil {
					t.Fatal(err)
				}
				ts := doc["tables"].(map[string]any)[s+".t"].(map[string]any)
				switch saved {
				case "bookmark infinity", "bookmark ten years ahead":
					// The document as the version-1 library saved it.
					bookmark := "infinity"
					if saved != "bookmark infinity" {
						if err := db.QueryRow(`SELECT (now() + interval '10 years')::text`).Scan(&bookmark); err != nil {
							t.Fatal(err)
						}
					}
					doc["version"] = 1
					ts["bookmark"] = bookmark
					delete(ts, "pending_marks")
				default:
					ts["pending_marks"] = []any{map[string]any{"value": "infinity", "at": "2026-01-01T00:00:00Z"}}
				}
				if raw, err = json.Marshal(doc); err != nil {
					t.Fatal(err)
				}
				if err := store.Save(t.Context(), raw); err != nil {
					t.Fatal(err)
				}
				pgtest.Exec(t, db, `UPDATE `+s+`.t SET v = 1, updated_at = now() WHERE id <= 5`)
				logs := &logBuffer{}
				run(redshiftsync.WithLogger(newLogger(logs)))
				for i := range 50 {
					pgtest.Exec(t, db, `UPDATE `+s+`.t SET v = v + 1, updated_at = now() WHERE id = $1`, 1+i%10)
					if i%10 == 9 {
						run()
					}
				}
				run()
				checkV(t, db, sink, s, "t", "after 50 updates below a saved "+saved)
				if !warned(t, logs, s+".t", "above the server's clock lowered") {
					t.Errorf("no WARN names the table whose bookmark was lowered:\n%s", logs.String())
				}
			})
		}
	}
}
