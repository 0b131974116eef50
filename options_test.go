package redshiftsync_test

import (
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

// TestOptionsRejected: an option given a value it cannot use, or two that
// contradict each other, fail the constructor with an error naming the
// option, instead of being ignored or panicking later in Run.
func TestOptionsRejected(t *testing.T) {
	db, err := sql.Open("postgres", "host=/nonexistent") // never connected
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := redshiftsync.Config{Schema: "public"}
	specs := []redshiftsync.TableSpec{{Table: "t"}}
	noop := func(redshiftsync.Stats) {}
	for _, c := range []struct {
		name string
		cfg  func(*redshiftsync.Config)
		opt  redshiftsync.Option
		want string
	}{
		{"nil logger", nil, redshiftsync.WithLogger(nil), "WithLogger"},
		{"zero progress interval", nil, redshiftsync.WithProgressHook(0, noop), "WithProgressHook"},
		{"negative progress interval", nil, redshiftsync.WithProgressHook(-time.Second, noop), "WithProgressHook"},
		{"nil progress hook", nil, redshiftsync.WithProgressHook(time.Second, nil), "WithProgressHook"},
		{"nil checkpoint hook", nil, redshiftsync.WithCheckpointHook(nil), "WithCheckpointHook"},
		{"negative lock wait", nil, redshiftsync.WithLockWait(-time.Second), "WithLockWait"},
		{"nil option", nil, nil, "Option is nil"},
		{"no specs", func(c *redshiftsync.Config) { c.TablesFromSpecs = true }, redshiftsync.WithTableSpecs(nil), "WithTableSpecs"},
		{"specs and table_spec_file", func(c *redshiftsync.Config) { c.TablesFromSpecs, c.TableSpecFile = true, "specs.json" }, redshiftsync.WithTableSpecs(specs), "table_spec_file"},
		{"specs with auto detection", nil, redshiftsync.WithTableSpecs(specs), "auto_schema_detection"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			ex, err := redshiftsync.NewFromDB(db, cfg, newMemSink(), &redshiftsync.MemoryStore{}, c.opt)
			if err == nil {
				ex.Close()
				t.Fatalf("accepted")
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line naming %q", err, c.want)
			}
			if strings.HasPrefix(c.want, "WithTableSpecs") || strings.Contains(c.name, "specs") {
				if !errors.Is(err, redshiftsync.ErrTableSpec) {
					t.Errorf("error %q does not wrap ErrTableSpec", err)
				}
			}
		})
	}
	// The same options with usable values are accepted.
	ex, err := redshiftsync.NewFromDB(db, base, newMemSink(), &redshiftsync.MemoryStore{},
		redshiftsync.WithLogger(slog.New(slog.DiscardHandler)), redshiftsync.WithProgressHook(time.Second, noop),
		redshiftsync.WithCheckpointHook(func(redshiftsync.Checkpoint) {}), redshiftsync.WithLockWait(0))
	if err != nil {
		t.Fatal(err)
	}
	ex.Close()
}
