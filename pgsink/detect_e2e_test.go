package pgsink_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

// jsonlLiveKeys returns the live keys of a jsonlsink table file by the rule
// its readers use (the last line of a key is its state; a tombstone deletes
// it), each key's columns joined with "|", sorted.
func jsonlLiveKeys(t *testing.T, path string, key []string) []string {
	t.Helper()
	live, _ := jsonlKeyStates(t, path, key)
	slices.Sort(live)
	return live
}

// sourceConfig is config with the source pgtest.SourceDSN names: the test
// server itself, or the Redshift stand-in in front of it when
// REDSHIFTSYNC_TEST_SOURCE=redshift (scripts/test's second pass), the
// dialect then detected as Redshift. The fixtures and checks keep using
// e.src, the server itself.
func (e *env) sourceConfig(t *testing.T) redshiftsync.Config {
	t.Helper()
	cfg := e.config(t)
	src, err := redshiftsync.ConfigFromURL(pgtest.SourceDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.Port, cfg.User, cfg.Password, cfg.Database, cfg.SSLMode = src.Host, src.Port, src.User, src.Password, src.Database, src.SSLMode
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestDeleteDetectionBothSinks syncs one source into pgsink (soft
// deletes), pgsink with hard deletes and jsonlsink, with delete_detection
// on, through deletes of single rows, the first and last keys, a whole
// range, a key deleted and inserted again, and every row, for an
// incremental table with an integer key, an incremental one with a
// composite text key under an ICU collation, and a table without a
// replication key (fully resynced every run): after each run every sink
// holds exactly the source's keys live, and the soft-deleted rows are the
// ones the source lost. scripts/test runs it a second time with its source
// behind the Redshift stand-in (sourceConfig), for the same outcome.
func TestDeleteDetectionBothSinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustExec(t, e.src, `
CREATE TABLE %[1]s.items (id bigint PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
INSERT INTO %[1]s.items SELECT i, 'v' || i, timestamptz '2024-01-01' + i * interval '1 second' FROM generate_series(1, 60) i;
CREATE TABLE %[1]s.ckeys (name text COLLATE "en-x-icu" NOT NULL, n int NOT NULL, v text, updated_at timestamptz NOT NULL, PRIMARY KEY (name, n));
INSERT INTO %[1]s.ckeys SELECT name, n, 'x', timestamptz '2024-01-01' + n * interval '1 second'
	FROM unnest(ARRAY['a', 'B', 'b', 'Z', 'ä', 'ab']) name, generate_series(1, 5) n;
CREATE TABLE %[1]s.full (id int PRIMARY KEY, v text);
INSERT INTO %[1]s.full SELECT i, 'f' || i FROM generate_series(1, 40) i;`, e.schema)
	cfg := e.sourceConfig(t)
	cfg.DeleteDetection = redshiftsync.DeleteDetectionOn

	soft := e.newSink(t)
	hard := e.newSink(t, pgsink.WithHardDeletes(), pgsink.WithSchema("hard"), pgsink.WithStateName("hard"))
	dir := t.TempDir()
	store := redshiftsync.NewFileStore(filepath.Join(dir, "state.json"))

	keys := map[string][]string{"items": {"id"}, "ckeys": {"name", "n"}, "full": {"id"}}
	keyExpr := func(table string) string {
		var parts []string
		for _, k := range keys[table] {
			parts = append(parts, k+"::text")
		}
		return strings.Join(parts, " || '|' || ")
	}
	column := func(q string) []string {
		out := pgtest.QueryColumn[string](t, e.dst, q)
		slices.Sort(out)
		return out
	}
	check := func(stage string) {
		t.Helper()
		e.sync(t, cfg, soft, soft.StateStore())
		e.sync(t, cfg, hard, hard.StateStore())
		js, err := jsonlsink.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		e.sync(t, cfg, js, store)
		defer js.Close()
		for table := range keys {
			src := pgtest.QueryColumn[string](t, e.src, "SELECT "+keyExpr(table)+" FROM "+e.schema+"."+table)
			slices.Sort(src)
			if got := column("SELECT " + keyExpr(table) + " FROM " + e.schema + "." + table + " WHERE NOT " + pgsink.DeletedColumn); !slices.Equal(got, src) {
				t.Errorf("%s: pgsink's live %s: %v\nsource: %v", stage, table, got, src)
			}
			if got := column("SELECT " + keyExpr(table) + " FROM hard." + table); !slices.Equal(got, src) {
				t.Errorf("%s: pgsink (hard deletes) %s: %v\nsource: %v", stage, table, got, src)
			}
			if got := jsonlLiveKeys(t, filepath.Join(dir, jsonlsink.FileName(e.schema, table)), keys[table]); !slices.Equal(got, src) {
				t.Errorf("%s: jsonlsink's live %s: %v\nsource: %v", stage, table, got, src)
			}
		}
	}
	deleted := func(table string) []string {
		return column("SELECT " + keyExpr(table) + " FROM " + e.schema + "." + table + " WHERE " + pgsink.DeletedColumn)
	}

	check("first sync")
	mustExec(t, e.src, `DELETE FROM %[1]s.items WHERE id IN (1, 7, 60) OR id BETWEEN 20 AND 29;
DELETE FROM %[1]s.ckeys WHERE (name = 'B' AND n = 1) OR name = 'ä' OR (name = 'ab' AND n = 5);
DELETE FROM %[1]s.full WHERE id IN (1, 13, 40);`, e.schema)
	check("single rows, first and last, a range")
	if got := deleted("items"); len(got) != 13 {
		t.Errorf("soft-deleted items: %v, want 13", got)
	}
	if got, want := deleted("full"), []string{"1", "13", "40"}; !slices.Equal(got, want) {
		t.Errorf("soft-deleted rows of the resynced table: %v, want %v", got, want)
	}
	mustExec(t, e.src, `INSERT INTO %[1]s.items VALUES (7, 'back', timestamptz '2024-06-01');
INSERT INTO %[1]s.ckeys VALUES ('ä', 3, 'back', timestamptz '2024-06-01');
INSERT INTO %[1]s.full VALUES (13, 'back');`, e.schema)
	check("inserted again")
	if got := deleted("items"); slices.Contains(got, "7") {
		t.Errorf("key 7, back at the source, is still deleted")
	}
	mustExec(t, e.src, `DELETE FROM %[1]s.items; DELETE FROM %[1]s.ckeys; DELETE FROM %[1]s.full;`, e.schema)
	check("every row")
}
