package pgsink_test

// This file tests the Sink's and StateStore's checks through
// Extractor.Check: a destination that is the source fails, a role that may
// create nothing in the destination fails with the GRANTs to run, a state
// table it may only read fails, and a good destination passes with nothing
// created in it.

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

// check runs Extractor.Check of the env's source into sink and returns the
// results by name.
func (e *env) check(t *testing.T, sink *pgsink.Sink) map[string]redshiftsync.CheckResult {
	t.Helper()
	ex := synctest.New(t, e.config(t), sink, sink.StateStore())
	defer ex.Close() // on return, not at the test's end
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := ex.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]redshiftsync.CheckResult{}
	for _, r := range res {
		t.Log(r)
		out[r.Name] = r
	}
	return out
}

func TestCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustExec(t, e.src, `CREATE TABLE %[1]s.full_t (id int PRIMARY KEY, v text); INSERT INTO %[1]s.full_t SELECT i, 'v' FROM generate_series(1, 20) i;`, e.schema)
	destSchema := "create tables in destination schema " + e.schema
	stateName := `write state "default" in "public"."redshiftsync_state"`
	registry := `write table registry "public"."redshiftsync_tables"`
	resync := "create resync copies in schema " + pgsink.ResyncSchema

	t.Run("good destination", func(t *testing.T) {
		sink := e.newSink(t)
		res := e.check(t, sink)
		for _, n := range []string{"destination is not the source", destSchema, stateName, registry, resync} {
			if r, ok := res[n]; !ok || r.Status != redshiftsync.CheckOK {
				t.Errorf("%s: %v, want ok", n, r)
			}
		}
		// Nothing was created.
		if n := queryInt(t, e.dst, `SELECT count(*) FROM pg_namespace WHERE nspname IN ($1, $2)`, e.schema, pgsink.ResyncSchema); n != 0 {
			t.Errorf("%d schemas created", n)
		}
		if exists(t, e.dst, "public", pgsink.DefaultStateTable) || exists(t, e.dst, "public", pgsink.RegistryTable) {
			t.Error("Check created the state table or the registry")
		}
	})

	t.Run("table not created by pgsink", func(t *testing.T) {
		mustExec(t, e.dst, `CREATE SCHEMA %[1]s; CREATE TABLE %[1]s.full_t (id int PRIMARY KEY, v text)`, e.schema)
		defer mustExec(t, e.dst, `DROP SCHEMA %s CASCADE`, e.schema)
		r := e.check(t, e.newSink(t))[fmt.Sprintf(`load into "%s"."full_t"`, e.schema)]
		if r.Status != redshiftsync.CheckFail || !strings.Contains(r.Message, "pgsink did not create it") ||
			!strings.Contains(r.Fix, fmt.Sprintf(`INSERT INTO "public"."redshiftsync_tables" (relid) VALUES ('"%s"."full_t"'::regclass);`, e.schema)) {
			t.Errorf("a table pgsink did not create: %v", r)
		}
	})

	t.Run("unprivileged role", func(t *testing.T) {
		role := "chk_" + e.schema[len(e.schema)-8:]
		pgtest.Exec(t, e.dst, "CREATE ROLE "+role+" LOGIN")
		t.Cleanup(func() {
			e.dst.Exec("DROP OWNED BY " + role)
			e.dst.Exec("DROP ROLE " + role)
		})
		u, err := url.Parse(e.dstDSN)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.User(role)
		sink, err := pgsink.Open(u.String())
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		db := strings.TrimPrefix(u.Path, "/")
		res := e.check(t, sink)
		if r := res[destSchema]; r.Status != redshiftsync.CheckFail ||
			r.Fix != fmt.Sprintf("CREATE SCHEMA %s AUTHORIZATION %s; (or GRANT CREATE ON DATABASE %s TO %[2]s;)", e.schema, role, db) {
			t.Errorf("destination schema: %v", r)
		}
		if r := res[stateName]; r.Status != redshiftsync.CheckFail || r.Fix != "GRANT USAGE, CREATE ON SCHEMA public TO "+role+";" {
			t.Errorf("state table: %v", r)
		}

		// A state table the role may only read.
		owner := e.newSink(t)
		if err := owner.StateStore().Save(context.Background(), []byte(`{"version": 2, "tables": {}}`)); err != nil {
			t.Fatal(err)
		}
		pgtest.Exec(t, e.dst, "GRANT SELECT ON public.redshiftsync_state TO "+role)
		res = e.check(t, sink)
		if r := res[stateName]; r.Status != redshiftsync.CheckFail || r.Fix != "GRANT INSERT, UPDATE ON public.redshiftsync_state TO "+role+";" {
			t.Errorf("read-only state table: %v", r)
		}
	})

	t.Run("destination is the source", func(t *testing.T) {
		sink, err := pgsink.Open(pgtest.DSN(t))
		if err != nil {
			t.Fatal(err)
		}
		defer sink.Close()
		r := e.check(t, sink)["destination is not the source"]
		if r.Status != redshiftsync.CheckFail || !strings.Contains(r.Message, "loading there would replace the tables being read") || !strings.Contains(r.Fix, "another database") {
			t.Errorf("dest = source: %v", r)
		}
	})
	t.Run("after a sync", func(t *testing.T) {
		sink := e.newSink(t)
		e.sync(t, e.config(t), sink, sink.StateStore())
		for n, r := range e.check(t, sink) {
			if r.Status != redshiftsync.CheckOK && n != "source identity" {
				t.Errorf("%v", r)
			}
		}
	})
}
