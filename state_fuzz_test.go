package redshiftsync

import (
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeState checks, for any bytes, that decodeState does not panic;
// that a failure wraps one of the state sentinels; and that a document it
// accepts is one the library can resume from: a known version, tables with
// a state each, a known phase, present partitions, position tuples as long
// as their ordering, and a document that round-trips through the library's
// own encoding to the same State. Each accepted table state is then resumed
// against a few plans, as Run does: checked, and, when accepted, turned into
// the queries of its read units, none of which may panic. The seed corpus,
// in testdata/fuzz/FuzzDecodeState, runs as a plain test.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"version":1,"source":"db/public","tables":{}}`), "db/public")
	f.Add([]byte(`{"version":1,"source":"db/public","tables":{"public.t":{"mode":"incremental","replication_key":"updated_at","replication_key_type":"timestamp without time zone","bookmark":"2024-05-01 12:00:00.123456","in_progress":{"phase":"rows","from":"2024-05-01 12:00:00.123456","high_water":"2024-06-01 00:00:00","after":["2024-05-03 00:00:00","42"],"rows":2000}}}}`), "db/public")
	f.Add([]byte(`{"version":2,"tables":[]}`), "")
	f.Add([]byte(`{"version":1,"tables":{"public.t":null}}`), "")
	f.Add([]byte(`{"version":1}{"version":1}`), "")
	f.Add([]byte(`not json`), "db/s")
	f.Add([]byte(`{"version":1,"tables":{"s.t":{"mode":"full","in_progress":{"phase":"rows","rows":1,"order":["id bigint"],"partitions":[null]}}}}`), "")
	f.Add([]byte(`{"version":1,"tables":{"s.t":{"mode":"incremental","replication_key":"updated_at","replication_key_type":"timestamp without time zone","in_progress":{"phase":"rows","rows":1,"order":["updated_at timestamp without time zone","id bigint"],"after":["2024-01-01 00:00:00.000000"]}}}}`), "")

	f.Fuzz(func(t *testing.T, doc []byte, source string) {
		st, err := decodeState(doc, source)
		if err != nil {
			if st != nil {
				t.Fatalf("a state and an error: %v", err)
			}
			if !errors.Is(err, ErrStateCorrupt) && !errors.Is(err, ErrStateVersion) && !errors.Is(err, ErrStateMismatch) {
				t.Fatalf("error wraps no state sentinel: %v", err)
			}
			return
		}
		checkDecodedState(t, st, source)

		// What the checkpointer writes back must read back the same.
		again, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			t.Fatalf("marshal an accepted state: %v", err)
		}
		st2, err := decodeState(again, source)
		if err != nil {
			t.Fatalf("the library's encoding of an accepted state is refused: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(st, st2) {
			t.Fatalf("round trip changed the state:\n%#v\n%#v", st, st2)
		}
		resumeOnPlans(t, st)
	})
}

// fuzzPlans are the plans a fuzzed state is resumed against: an incremental
// table with a timestamp key and a primary key, a full table with a composite
// key, and a keyless full table. Each is named s.t, as the seeds' tables are.
func fuzzPlans() []*Plan {
	inc := &Table{Schema: "s", Name: "t", PrimaryKey: []string{"id"}, PrimaryKeyEnforced: true, Columns: []Column{
		col("id", "bigint", false), col("updated_at", "timestamp without time zone", true), col("k", "text", true)}}
	comp := &Table{Schema: "s", Name: "t", PrimaryKey: []string{"a", "b"}, Columns: []Column{
		col("a", "integer", false), col("b", "text", false), col("at", "date", false)}}
	keyless := &Table{Schema: "s", Name: "t", Columns: []Column{col("v", "integer", true)}}
	return []*Plan{
		{Table: inc, Mode: ModeIncremental, ReplicationKey: "updated_at"},
		{Table: comp, Mode: ModeFull},
		{Table: keyless, Mode: ModeFull},
	}
}

// resumeOnPlans resumes every table of st on each fuzz plan as Run would:
// loadState, checkResume, then the queries of each read unit of the
// progress. None may panic.
func resumeOnPlans(t *testing.T, st *stateDoc) {
	t.Helper()
	for name := range st.Tables {
		for _, plan := range fuzzPlans() {
			for _, dialect := range []Dialect{DialectPostgres, DialectRedshift} {
				s := &tableSync{ck: &checkpointer{state: st}, plan: plan, dialect: dialect, name: name, log: slog.New(slog.DiscardHandler)}
				s.loadState()
				if err := s.checkResume(); err != nil {
					if !errors.Is(err, ErrStateCorrupt) {
						t.Fatalf("checkResume: error wraps no ErrStateCorrupt: %v", err)
					}
					continue
				}
				p := s.state.InProgress
				if p == nil {
					continue
				}
				shape := plan.shape(p.Phase, p, time.Microsecond, dialect)
				queries := func(sh *readShape, after []string) {
					sh.pageSQL(after, 10)
					if len(sh.orderBy) > 0 {
						sh.rankedPageSQL(after, 10)
						if len(after) > 0 {
							sh.tieSQL(after)
						}
					}
				}
				if p.Phase != phaseRows || len(p.Partitions) == 0 {
					queries(shape, p.After)
					continue
				}
				for _, part := range p.Partitions {
					queries(shape.within(part), part.After)
				}
			}
		}
	}
}

func checkDecodedState(t *testing.T, st *stateDoc, source string) {
	t.Helper()
	if st.Version < 1 || st.Version > StateVersion {
		t.Fatalf("accepted version %d", st.Version)
	}
	if source != "" && st.Source != "" && st.Source != source {
		t.Fatalf("accepted a state of %q for %q", st.Source, source)
	}
	if st.Tables == nil {
		t.Fatal("accepted state has nil Tables")
	}
	for name, ts := range st.Tables {
		if ts == nil {
			t.Fatalf("accepted a nil state for %q", name)
		}
		p := ts.InProgress
		if p == nil {
			continue
		}
		if p.Phase != phaseRows && p.Phase != phaseNullKeys {
			t.Fatalf("accepted unknown phase %q", p.Phase)
		}
		for i, part := range p.Partitions {
			if part == nil {
				t.Fatalf("accepted a null partition %d of %q", i, name)
			}
			if len(p.Order) > 0 && len(part.After) > 0 && len(part.After) != len(p.Order) {
				t.Fatalf("accepted partition %d of %q with %d position values for an ordering of %d", i, name, len(part.After), len(p.Order))
			}
		}
	}
}

// TestDecodeStateErrors pins the error of each kind of bad document.
func TestDecodeStateErrors(t *testing.T) {
	for _, tc := range []struct {
		name, doc, source string
		want              error
	}{
		{"empty", ``, "", ErrStateCorrupt},
		{"not JSON", `{"version":1,`, "", ErrStateCorrupt},
		{"JSON null", `null`, "", ErrStateCorrupt},
		{"no version", `{"tables":{}}`, "", ErrStateCorrupt},
		{"version zero", `{"version":0}`, "", ErrStateCorrupt},
		{"version as string", `{"version":"1"}`, "", ErrStateCorrupt},
		{"trailing debris", `{"version":1,"tables":{}} x`, "", ErrStateCorrupt},
		{"two documents", `{"version":1}{"version":1}`, "", ErrStateCorrupt},
		{"nil table", `{"version":1,"tables":{"s.t":null}}`, "", ErrStateCorrupt},
		{"unknown phase", `{"version":1,"tables":{"s.t":{"mode":"full","in_progress":{"phase":"done","rows":5}}}}`, "", ErrStateCorrupt},
		{"null partition", `{"version":1,"tables":{"s.t":{"mode":"full","in_progress":{"phase":"rows","rows":5,"partitions":[null]}}}}`, "", ErrStateCorrupt},
		{"after longer than its ordering", `{"version":1,"tables":{"s.t":{"mode":"full","in_progress":{"phase":"rows","rows":5,"order":["id bigint"],"after":["1","2"]}}}}`, "", ErrStateCorrupt},
		{"null_keys after with the key's value", `{"version":1,"tables":{"s.t":{"mode":"incremental","in_progress":{"phase":"null_keys","rows":5,"order":["k date","id bigint"],"after":["2024-01-01","1"]}}}}`, "", ErrStateCorrupt},
		{"partition after shorter than its ordering", `{"version":1,"tables":{"s.t":{"mode":"full","in_progress":{"phase":"rows","rows":5,"order":["a integer","b text"],"partitions":[{"upper":"5","after":["1"]},{"lower":"5"}]}}}}`, "", ErrStateCorrupt},
		{"newer version", `{"version":4,"tables":{}}`, "", ErrStateVersion},
		{"newer version, other shape", `{"version":7,"tables":[{"name":"s.t"}]}`, "", ErrStateVersion},
		{"other source", `{"version":1,"source":"db/a","tables":{}}`, "db/b", ErrStateMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := decodeState([]byte(tc.doc), tc.source)
			if !errors.Is(err, tc.want) || st != nil {
				t.Fatalf("decodeState(%s) = %v, %v; want an error wrapping %v", tc.doc, st, err, tc.want)
			}
		})
	}
	for _, ok := range []string{
		`{"version":1}`,
		`{"version":1,"source":"db/a","tables":{}}` + "\n",
		`{"version":1,"source":"","tables":{"s.t":{"mode":"incremental","in_progress":{"phase":"null_keys","rows":0}}}}`,
		`{"version":1,"tables":{"s.t":{"mode":"incremental","in_progress":{"phase":"null_keys","rows":5,"order":["k date","id bigint"],"after":["1"]}}}}`,
	} {
		if _, err := decodeState([]byte(ok), "db/a"); err != nil {
			t.Errorf("decodeState(%s): %v", ok, err)
		}
	}
}
