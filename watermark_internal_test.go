package redshiftsync

// Unit tests of the watermark's release rule, its bounded pending list, and
// the state document's marks (version 1 read as it is, malformed marks
// refused). No server: watermark_test.go runs the rule against one.

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestReleaseRule(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := &pendingMark{Value: "5", At: at, XMax: 100, VXIDs: []string{"3/7", "4/9"}}
	for _, c := range []struct {
		name string
		view txView
		want bool
	}{
		{"a vxid still held", txView{held: map[string]bool{"4/9": true}}, false},
		{"other vxids held only", txView{held: map[string]bool{"4/10": true, "5/1": true}}, true},
		{"a prepared transaction", txView{held: map[string]bool{}, prepared: 1}, false},
		// xids count on a standby only: on a primary every transaction
		// with an xid also holds its vxid, and xmin is cluster-wide.
		{"primary, xmin behind", txView{held: map[string]bool{}, xmin: 99}, true},
		{"standby, xmin behind", txView{standby: true, held: map[string]bool{}, xmin: 99}, false},
		{"standby, xmin reached", txView{standby: true, held: map[string]bool{}, xmin: 100}, true},
	} {
		if got := c.view.released(m); got != c.want {
			t.Errorf("%s: released = %v, want %v", c.name, got, c.want)
		}
	}

	// On a standby a mark of an integer key waits until it is standbyFloor
	// old: the primary's transactions between nextval and their first
	// write are invisible there. A primary does not wait.
	fresh := &pendingMark{Value: "5", At: at, XMax: 100}
	for _, c := range []struct {
		name string
		view txView
		want bool
	}{
		{"standby, a minute old", txView{standby: true, at: at.Add(time.Minute), xmin: 100, standbyAge: standbyFloor}, false},
		{"standby, standbyFloor old", txView{standby: true, at: at.Add(standbyFloor), xmin: 100, standbyAge: standbyFloor}, true},
		{"primary, a minute old", txView{at: at.Add(time.Minute), xmin: 100, standbyAge: standbyFloor}, true},
	} {
		if got := c.view.released(fresh); got != c.want {
			t.Errorf("%s: released = %v, want %v", c.name, got, c.want)
		}
	}

	// Pruning keeps what is still in progress and never touches the mark
	// (marks are shared by copies of the state).
	v := &txView{held: map[string]bool{"4/9": true}}
	p := v.prune(m)
	if fmt.Sprint(p.VXIDs) != "[4/9]" || len(m.VXIDs) != 2 || p.Value != "5" || p.XMax != 100 {
		t.Errorf("prune: %+v from %+v", p, m)
	}

	// Marks are released oldest first: a newer mark whose transactions
	// ended does not pass an older one still held.
	marks := []*pendingMark{{Value: "1", VXIDs: []string{"1/1"}}, {Value: "2"}, {Value: "3", VXIDs: []string{"2/2"}}}
	if n := releasedPrefix(marks, &txView{held: map[string]bool{"1/1": true}}); n != 0 {
		t.Errorf("released prefix %d with the oldest held, want 0", n)
	}
	if n := releasedPrefix(marks, &txView{held: map[string]bool{"2/2": true}}); n != 2 {
		t.Errorf("released prefix %d, want 2", n)
	}
}

// TestCollapse: the pending list stays bounded however long a transaction
// holds it; the oldest mark is never merged into, and a merged mark is
// released only when both of its marks would be, with the newer value.
func TestCollapse(t *testing.T) {
	var marks []*pendingMark
	for i := range 100 {
		marks = append(marks, &pendingMark{Value: fmt.Sprint(i), XMax: uint64(1000 + i), VXIDs: []string{fmt.Sprintf("1/%d", i%3), "9/9"}})
		marks = collapse(marks)
		if len(marks) > maxPendingMarks {
			t.Fatalf("%d marks after %d syncs", len(marks), i+1)
		}
	}
	if head := marks[0]; head.Value != "0" || head.XMax != 1000 || fmt.Sprint(head.VXIDs) != "[1/0 9/9]" {
		t.Errorf("the oldest mark changed: %+v", head)
	}
	tail := marks[len(marks)-1]
	if tail.Value != "99" || tail.XMax != 1099 || fmt.Sprint(tail.VXIDs) != "[1/0 1/1 1/2 9/9]" {
		t.Errorf("merged tail %+v", tail)
	}
	if (&txView{held: map[string]bool{"1/2": true}}).released(tail) {
		t.Error("the merged mark is released while a transaction of one of its marks is in progress")
	}
	if !(&txView{held: map[string]bool{}}).released(tail) {
		t.Error("the merged mark is not released with nothing in progress")
	}
}

func TestStateMarks(t *testing.T) {
	// A version-1 document reads as it is: its bookmark is the confirmed
	// bookmark, nothing pending, and a sync it had in progress finishes
	// without marks (keeping that bookmark).
	v1 := `{"version":1,"source":"d/s","tables":{"s.t":{"mode":"incremental","replication_key":"u","replication_key_type":"timestamp without time zone",
		"bookmark":"2024-01-01 00:00:00","in_progress":{"phase":"rows","from":"2024-01-01 00:00:00","high_water":"2024-02-01 00:00:00","rows":3}}}}`
	st, err := decodeState([]byte(v1), "d/s")
	if err != nil {
		t.Fatal(err)
	}
	ts := st.Tables["s.t"]
	if ts.Bookmark == nil || *ts.Bookmark != "2024-01-01 00:00:00" || ts.Pending != nil || ts.InProgress.Watermark || ts.InProgress.Marks != nil {
		t.Errorf("version 1 read as %+v / %+v", ts, ts.InProgress)
	}

	good := `{"value":"5","at":"2026-01-01T00:00:00Z","xmax":12,"vxids":["3/7"]}`
	ok := `{"version":2,"tables":{"s.t":{"mode":"incremental","pending_marks":[` + good + `],"in_progress":{"phase":"rows","watermark":true,"marks":[` + good + `]}}}}`
	if _, err := decodeState([]byte(ok), ""); err != nil {
		t.Fatalf("a valid version-2 document: %v", err)
	}
	for _, c := range []struct{ name, marks string }{
		{"null mark", `[null]`},
		{"no time", `[{"value":"5"}]`},
		{"bad vxid", `[{"value":"5","at":"2026-01-01T00:00:00Z","vxids":["x"]}]`},
		{"vxid without slash", `[{"value":"5","at":"2026-01-01T00:00:00Z","vxids":["37"]}]`},
		{"negative xmax", `[{"value":"5","at":"2026-01-01T00:00:00Z","xmax":-1}]`},
		{"marks not a list", `{"value":"5"}`},
	} {
		for _, where := range []string{"pending", "in progress"} {
			doc := `{"version":2,"tables":{"s.t":{"mode":"incremental","pending_marks":` + c.marks + `}}}`
			if where == "in progress" {
				doc = `{"version":2,"tables":{"s.t":{"mode":"incremental","in_progress":{"phase":"rows","marks":` + c.marks + `}}}}`
			}
			_, err := decodeState([]byte(doc), "")
			if !errors.Is(err, ErrStateCorrupt) {
				t.Errorf("%s (%s): err = %v, want ErrStateCorrupt", c.name, where, err)
			}
		}
	}
	if _, err := decodeState([]byte(`{"version":2,"tables":{"s.t":{"mode":"full","in_progress":{"phase":"rows","partitions":[null]}}}}`), ""); !errors.Is(err, ErrStateCorrupt) || !strings.Contains(err.Error(), "partition 0") {
		t.Errorf("a null partition: %v", err)
	}
}

// TestCollapseOverlappingTransactions: transactions of 40 ticks start every
// 20 ticks, so two always overlap and every mark waits for some; a sync
// runs every tick. The pending list fills, and the bookmark must still
// advance, lagging by a bounded number of ticks. Merging into the oldest
// mark made it accumulate the transactions of ever newer marks: it was
// never released.
func TestCollapseOverlappingTransactions(t *testing.T) {
	var pending []*pendingMark
	bookmark, maxLag := -1, 0
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for tick := range 2000 {
		view := &txView{at: at.Add(time.Duration(tick) * time.Second), held: map[string]bool{}}
		for i := tick / 20; i >= 0 && 20*i+40 > tick; i-- {
			view.held[fmt.Sprintf("1/%d", i)] = true
		}
		m := &pendingMark{Value: fmt.Sprint(tick), At: view.at}
		for x := range view.held {
			m.VXIDs = append(m.VXIDs, x)
		}
		marks := append(pending, m)
		n := releasedPrefix(marks, view)
		if n > 0 {
			fmt.Sscan(marks[n-1].Value, &bookmark)
		}
		pending = nil
		for _, p := range marks[n:] {
			pending = append(pending, view.prune(p))
		}
		pending = collapse(pending)
		if len(pending) > maxPendingMarks {
			t.Fatalf("tick %d: %d pending marks", tick, len(pending))
		}
		if tick >= 100 {
			maxLag = max(maxLag, tick-bookmark)
		}
	}
	t.Logf("bookmark lag at most %d ticks", maxLag)
	if maxLag > 100 {
		t.Errorf("the bookmark lags up to %d ticks behind the sync (at %d after 2000 ticks), want at most 100", maxLag, bookmark)
	}
}

// TestReleaseHeldWhileClockBehind: the release rule's argument assumes the
// server's clock moves forward. A release check whose time is before the
// newest mark's (a clock stepped back, a failover to a server whose clock
// is behind) releases nothing, even with nothing in progress; once the
// clock has passed the newest mark again, the marks are released.
func TestReleaseHeldWhileClockBehind(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	marks := []*pendingMark{{Value: "1", At: at.Add(-time.Minute)}, {Value: "2", At: at}}
	for _, c := range []struct {
		name string
		now  time.Time
		want int
	}{
		{"clock an hour behind the newest mark", at.Add(-time.Hour), 0},
		{"clock between the marks", at.Add(-time.Second), 0},
		{"clock at the newest mark", at, 2},
		{"clock past it", at.Add(time.Second), 2},
	} {
		if n := releasedPrefix(marks, &txView{at: c.now, held: map[string]bool{}}); n != c.want {
			t.Errorf("%s: %d marks released, want %d", c.name, n, c.want)
		}
	}
}
