// This file holds the run lock of a StateStore: a session advisory lock on
// a connection pinned for the run, and the check that each save is made
// while it is still held.

package pgsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

// runLock is a held advisory lock.
type runLock struct {
	conn    *sql.Conn // pinned: the lock lives as long as its session
	key     int64
	backend int // pid of the session's backend
}

// lockKey is the advisory lock key of the state: a hash of the state table
// and the state's name, so that states in other tables or under other names
// never share it.
func (s *StateStore) lockKey() int64 {
	h := fnv.New64a()
	for _, part := range []string{"redshiftsync state", s.schema, s.table, s.name} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return int64(h.Sum64())
}

// lockKeyParts splits key the way pg_locks shows a bigint advisory key:
// classid holds its high half, objid its low half.
func lockKeyParts(key int64) (classid, objid int64) {
	return int64(uint64(key) >> 32), int64(uint64(key) & 0xffffffff)
}

// appNamePrefix starts the application_name of the lock's session, which
// names the process for the error of another run.
const appNamePrefix = "redshiftsync lock pid="

// Lock takes a session advisory lock (pg_try_advisory_lock) keyed by a hash
// of the state table and the state's name, on a connection of the pool that
// it keeps for itself until unlock: the [redshiftsync.Locker] of the store,
// which the extractor holds for the whole of a run. While another session
// holds it, Lock returns a [*redshiftsync.LockError] (errors.Is
// [redshiftsync.ErrLocked]) naming the state, the lock, the holder's
// backend pid and, when pg_stat_activity shows it, the holder's own pid and
// host (the lock's session sets its application_name to say them).
//
// The lock lives as long as its session: a killed run's lock goes with its
// connection (at once when the process dies, or when the server notices the
// connection is gone), and pg_terminate_backend of that session releases it.
// While it is held, every Save of this store, and every FlushState of the
// Sink whose [Sink.StateStore] it is, checks in its own transaction that the
// lock is still held by that session, and fails otherwise, so a run that
// lost its lock (its connection ended) can never overwrite the state of a
// run that took it since.
//
// Session advisory locks need one server session per client session: a
// pooler in transaction mode (PgBouncer's pool_mode=transaction) hands the
// statements of one connection to different server sessions, so the lock
// is neither reliable nor released. Connect through session mode, or
// directly.
func (s *StateStore) Lock(ctx context.Context) (unlock func() error, err error) {
	fail := func(err error) error {
		return fmt.Errorf("pgsink: lock state %q in %s: %w", s.name, s.qTable, err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fail(err)
	}
	key := s.lockKey()
	var (
		ok      bool
		backend int
		appName string
	)
	if err := conn.QueryRowContext(ctx, `SELECT pg_catalog.pg_try_advisory_lock($1), pg_catalog.pg_backend_pid(), pg_catalog.current_setting('application_name')`, key).Scan(&ok, &backend, &appName); err != nil {
		conn.Close()
		return nil, fail(err)
	}
	if !ok {
		lerr := s.holder(ctx, conn, key)
		conn.Close()
		return nil, lerr
	}
	host, _ := os.Hostname()
	if _, err := conn.ExecContext(ctx, `SELECT pg_catalog.set_config('application_name', $1, false)`, appNamePrefix+strconv.Itoa(os.Getpid())+" host="+host); err != nil {
		conn.Close() // ends the session, and the lock with it
		return nil, fail(err)
	}
	l := &runLock{conn: conn, key: key, backend: backend}
	s.mu.Lock()
	s.lock = l
	s.mu.Unlock()
	return func() error {
		s.mu.Lock()
		if s.lock == l {
			s.lock = nil
		}
		s.mu.Unlock()
		// The run is over: a server that does not answer must not hold up
		// its return, and closing the connection releases the lock anyway.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var released bool
		err := conn.QueryRowContext(ctx, `SELECT pg_catalog.pg_advisory_unlock($1), pg_catalog.set_config('application_name', $2, false) IS NOT NULL`, key, appName).Scan(&released, new(bool))
		if err == nil && !released {
			err = errors.New("the lock was no longer held: its session was reset")
		}
		if cerr := conn.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("pgsink: unlock state %q in %s: %w", s.name, s.qTable, err)
		}
		return nil
	}, nil
}

// holder returns the LockError of key, held by another session, naming that
// session as far as the catalog shows it.
func (s *StateStore) holder(ctx context.Context, conn *sql.Conn, key int64) error {
	lerr := &redshiftsync.LockError{
		What: fmt.Sprintf("state %q in %s", s.name, s.qTable),
		Lock: fmt.Sprintf("advisory lock %d", key),
	}
	classid, objid := lockKeyParts(key)
	var (
		backend int
		appName string
	)
	err := conn.QueryRowContext(ctx, `SELECT l.pid, coalesce(a.application_name, '')
FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1
	AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
LIMIT 1`, classid, objid).Scan(&backend, &appName)
	if err != nil {
		// Released since, or not visible: the lock was held all the same.
		return lerr
	}
	lerr.Lock += fmt.Sprintf(" held by backend pid %d", backend)
	if rest, ok := strings.CutPrefix(appName, appNamePrefix); ok {
		pid, host, _ := strings.Cut(rest, " host=")
		lerr.PID, _ = strconv.Atoi(pid)
		lerr.Host = host
	}
	return lerr
}

// fence returns the condition a save adds, in SQL over the parameters from
// next on, and those parameters: while the store holds its run lock, the
// lock must still be held by its session, or the save writes nothing.
func (s *StateStore) fence(next int) (cond string, args []any) {
	s.mu.Lock()
	l := s.lock
	s.mu.Unlock()
	if l == nil {
		return "true", nil
	}
	classid, objid := lockKeyParts(l.key)
	return fmt.Sprintf(`EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted AND classid = $%d AND objid = $%d AND objsubid = 1 AND pid = $%d
	AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()))`, next, next+1, next+2),
		[]any{classid, objid, l.backend}
}

// errLockLost is the error of a save refused because the run lost its lock.
var errLockLost = errors.New("the run's lock of the state is lost (its connection ended), so another run may have started: nothing was saved; run again")
