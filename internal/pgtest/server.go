// This file holds the server-control helpers of package pgtest: StopServer,
// StartServer and RestartServer, which run pg_ctl through the wrapper that
// scripts/lib/pg.sh exports as REDSHIFTSYNC_TEST_PGCTL.

package pgtest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// pgctlTimeout bounds one pg_ctl run (which itself waits up to 120s).
const pgctlTimeout = 3 * time.Minute

// serverMu serializes the helpers within one test binary. Tests in other
// packages run in other processes and are NOT held back: see RestartServer.
var serverMu sync.Mutex

// StopServer stops the test server with pg_ctl stop -m fast (open sessions
// are ended, committed data is kept). If the test does not start it again,
// its Cleanup does, so that later tests find a running server.
//
// Without REDSHIFTSYNC_TEST_PGCTL (a server not started by scripts/lib/pg.sh)
// the test is skipped, or failed when REDSHIFTSYNC_REQUIRE_DB is set.
func StopServer(tb testing.TB) {
	tb.Helper()
	pgctl := pgctlPath(tb)
	tb.Cleanup(func() {
		serverMu.Lock()
		defer serverMu.Unlock()
		if running(pgctl) {
			return
		}
		if out, err := runPGCtl(pgctl, "start"); err != nil {
			tb.Errorf("pgtest: restarting the server the test left stopped: %v\n%s", err, out)
		}
	})
	pgctlOrFail(tb, pgctl, "stop", "-m", "fast")
}

// StartServer starts the test server again after StopServer, and returns once
// it accepts connections. Connections pooled in a *sql.DB before the stop are
// dead: the first use of each fails once and then the pool drops it, so open
// a new pool (Open) or expect such errors.
//
// Without REDSHIFTSYNC_TEST_PGCTL the test is skipped, or failed when
// REDSHIFTSYNC_REQUIRE_DB is set.
func StartServer(tb testing.TB) {
	tb.Helper()
	pgctlOrFail(tb, pgctlPath(tb), "start")
}

// RestartServer restarts the test server (pg_ctl restart -m fast), as after a
// clean shutdown, and returns once it accepts connections again. What StartServer
// says of pooled connections holds here too.
//
// The server is shared by every test of the run, and go test ./... runs the
// test binaries of different packages at the same time: a restart also ends
// the sessions of tests running in other packages. Keep tests that restart
// the server together in one package, not parallel with other database tests
// of that package, and expect other packages' database code to see a dropped
// connection at worst.
//
// Without REDSHIFTSYNC_TEST_PGCTL the test is skipped, or failed when
// REDSHIFTSYNC_REQUIRE_DB is set.
func RestartServer(tb testing.TB) {
	tb.Helper()
	pgctlOrFail(tb, pgctlPath(tb), "restart", "-m", "fast")
}

// pgctlOrFail runs pg_ctl with args, holding serverMu, and fails the test
// when it fails.
func pgctlOrFail(tb testing.TB, pgctl string, args ...string) {
	tb.Helper()
	serverMu.Lock()
	defer serverMu.Unlock()
	if out, err := runPGCtl(pgctl, args...); err != nil {
		tb.Fatalf("pgtest: pg_ctl %s: %v\n%s", args[0], err, out)
	}
}

// pgctlPath returns $REDSHIFTSYNC_TEST_PGCTL, or skips or fails the test
// without it.
func pgctlPath(tb testing.TB) string {
	tb.Helper()
	p := os.Getenv(EnvPGCtl)
	if p == "" {
		msg := "test needs to stop and start the PostgreSQL server: run ./scripts/test, which sets " + EnvPGCtl
		if os.Getenv(EnvRequireDB) != "" {
			tb.Fatalf("%s is set, but %s is empty: %s", EnvRequireDB, EnvPGCtl, msg)
		}
		tb.Skip(msg)
	}
	return p
}

// running reports whether pg_ctl status says the server runs.
func running(pgctl string) bool {
	_, err := runPGCtl(pgctl, "status")
	return err == nil
}

// runPGCtl runs the pg_ctl wrapper with args and returns its combined output.
func runPGCtl(pgctl string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), pgctlTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, pgctl, args...).CombinedOutput()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return out, err
}
