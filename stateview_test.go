package redshiftsync_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestInspectState: documents of both versions this library writes are
// read into the view; a newer version and a corrupt document are refused
// as Run refuses them.
func TestInspectState(t *testing.T) {
	v1 := `{"version":1,"source":"db/s","tables":{"s.a":{"mode":"incremental","replication_key":"id","replication_key_type":"bigint","bookmark":"41",
"in_progress":{"phase":"rows","from":"41","high_water":"90","rows":7,"partitions":[{"upper":"60","after":["50"],"rows":7},{"lower":"60","done":true,"rows":0}]}}}}`
	st, err := redshiftsync.InspectState([]byte(v1))
	if err != nil {
		t.Fatal(err)
	}
	a := st.Tables["s.a"]
	switch {
	case st.Version != 1 || st.Source != "db/s" || a == nil:
		t.Fatalf("v1: %+v", st)
	case a.Mode != redshiftsync.ModeIncremental || a.ReplicationKey != "id" || a.KeyType != "bigint" || *a.Bookmark != "41":
		t.Errorf("v1 table: %+v", a)
	case a.InProgress.Rows != 7 || len(a.InProgress.Partitions) != 2 || *a.InProgress.Partitions[0].Upper != "60" || !a.InProgress.Partitions[1].Done:
		t.Errorf("v1 progress: %+v", a.InProgress)
	case a.Resyncing() || !a.Positioned():
		t.Errorf("v1: resyncing %v, positioned %v; want false, true", a.Resyncing(), a.Positioned())
	}
	v2 := `{"version":2,"source":"db/s","server":"postgresql:1","tables":{"s.b":{"mode":"full","pending_marks":[{"value":"5","at":"2024-01-01T00:00:00Z","xmax":9,"vxids":["3/1"]}],
"in_progress":{"phase":"rows","resync":true,"rows":0}}}}`
	if st, err = redshiftsync.InspectState([]byte(v2)); err != nil {
		t.Fatal(err)
	}
	if b := st.Tables["s.b"]; st.Server != "postgresql:1" || b.PendingMarks != 1 || !b.Resyncing() || b.Positioned() {
		t.Errorf("v2: %+v, table %+v", st, b)
	}
	if _, err := redshiftsync.InspectState([]byte(`{"version":4,"tables":{}}`)); !errors.Is(err, redshiftsync.ErrStateVersion) {
		t.Errorf("version 4: %v, want ErrStateVersion", err)
	}
	if _, err := redshiftsync.InspectState([]byte(`{"version":2,"tables":{"s.c":{"mode":"full","in_progress":{"phase":"elsewhere"}}}}`)); !errors.Is(err, redshiftsync.ErrStateCorrupt) {
		t.Errorf("unknown phase: %v, want ErrStateCorrupt", err)
	}
}

// viewSink is a StateSink over memSink that keeps the state document in
// store, and records what OpenState and FlushState were told.
type viewSink struct {
	*memSink
	t     *testing.T
	store *redshiftsync.MemoryStore

	mu      sync.Mutex
	opened  []*redshiftsync.TableView // OpenState's saved, per call
	entries []*redshiftsync.TableView // FlushState's entry, per call
	plainOpen,
	mismatch int // Open calls; FlushState entries that are not what doc records
}

func (v *viewSink) Open(ctx context.Context, t *redshiftsync.Table) error {
	v.mu.Lock()
	v.plainOpen++
	v.mu.Unlock()
	return v.memSink.Open(ctx, t)
}

func (v *viewSink) OpenState(ctx context.Context, t *redshiftsync.Table, saved *redshiftsync.TableView) error {
	v.mu.Lock()
	v.opened = append(v.opened, saved)
	v.mu.Unlock()
	return v.memSink.Open(ctx, t)
}

func (v *viewSink) FlushState(ctx context.Context, t *redshiftsync.Table, entry *redshiftsync.TableView, doc []byte) error {
	st, err := redshiftsync.InspectState(doc)
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.entries = append(v.entries, entry)
	if !reflect.DeepEqual(entry, st.Tables[t.QualifiedName()]) {
		v.mismatch++
		v.t.Logf("FlushState entry %+v, the document records %+v", entry, st.Tables[t.QualifiedName()])
	}
	v.mu.Unlock()
	return v.store.Save(ctx, doc)
}

// TestStateSinkViews: a StateSink is opened with OpenState, told nothing on
// the first run, the resync in progress and its position when a crashed
// resync is resumed, and the finished sync after; every FlushState's entry
// is what its document records of the table, and the checkpoint hook sees
// the same view.
func TestStateSinkViews(t *testing.T) {
	db := pgtest.Open(t)
	s := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, fmt.Sprintf(`CREATE TABLE %[1]s.t (id bigint PRIMARY KEY, v text);
INSERT INTO %[1]s.t SELECT i, 'v' || i FROM generate_series(1, 3000) i;`, s))
	cfg := testConfig(t, s)
	cfg.BatchSize, cfg.CheckpointEveryRows = 250, 500
	store := &redshiftsync.MemoryStore{}
	sink := &viewSink{memSink: newMemSink(), t: t, store: store}
	var hooked []redshiftsync.TableView
	hook := redshiftsync.WithCheckpointHook(func(c redshiftsync.Checkpoint) { hooked = append(hooked, c.State) })

	sink.failAfter = 1600
	if _, err := runOnce(t, cfg, sink, store, hook); !errors.Is(err, errCrash) {
		t.Fatalf("first run: %v, want the simulated crash", err)
	}
	if len(sink.opened) != 1 || sink.opened[0] != nil {
		t.Fatalf("first run: OpenState told %+v, want nothing saved", sink.opened)
	}
	if len(sink.entries) == 0 || !sink.entries[0].Resyncing() || !sink.entries[0].Positioned() {
		t.Fatalf("first run: FlushState entries %+v, want a positioned resync", sink.entries)
	}
	saved := sink.entries[len(sink.entries)-1]

	sink.failAfter, sink.written = 0, 0
	mustRun(t, cfg, sink, store, hook)
	hookedEntries := append([]*redshiftsync.TableView(nil), sink.entries...)
	resumed := sink.opened[1]
	if !resumed.Resyncing() || !resumed.Positioned() || !reflect.DeepEqual(resumed, saved) {
		t.Errorf("resumed run: OpenState told %+v, want the last saved entry %+v", resumed, saved)
	}
	last := sink.entries[len(sink.entries)-1]
	if last.InProgress != nil || last.LastSyncedAt == nil || last.Mode != redshiftsync.ModeFull {
		t.Errorf("last FlushState entry %+v, want the finished sync", last)
	}

	mustRun(t, cfg, sink, store)
	if done := sink.opened[2]; done == nil || done.InProgress != nil || done.LastSyncedAt == nil {
		t.Errorf("third run: OpenState told %+v, want the finished sync", done)
	}
	if sink.plainOpen != 0 || sink.mismatch != 0 {
		t.Errorf("Open called %d times; %d FlushState entries differ from their documents", sink.plainOpen, sink.mismatch)
	}
	if len(hooked) != len(hookedEntries) {
		t.Fatalf("the checkpoint hook saw %d checkpoints, FlushState %d", len(hooked), len(hookedEntries))
	}
	for i, e := range hookedEntries {
		if !reflect.DeepEqual(hooked[i], *e) {
			t.Errorf("checkpoint %d: the hook saw %+v, FlushState %+v", i, hooked[i], e)
		}
	}
}
