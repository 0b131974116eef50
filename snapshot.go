// This file holds the shared snapshot of a pass over a PostgreSQL table: the
// session that exports it, its import around every read of the pass, the
// restart of a pass whose snapshot was lost, and the catch-up read that
// follows a pass resumed after a crash in a new snapshot.

package redshiftsync

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/sqlident"
	"golang.org/x/sync/semaphore"
)

// Why a pass reads in one snapshot. A full resync read page by page, each
// page a statement of its own, sees every page at a different instant: a row
// whose key is updated from ahead of the cursor to behind it is in neither
// place when the cursor passes, and a ResyncSink's swap then drops it. A
// pass in block order is worse off: any non-HOT update moves a row to
// another block. So every read of such a pass runs in a REPEATABLE READ
// transaction that imports one snapshot, exported by a session that holds
// it open for the pass: the pass reflects the instant it began.
//
// Each read is a transaction of its own (BEGIN; SET TRANSACTION SNAPSHOT;
// the page or range; COMMIT), rather than one transaction per read unit:
// between pages a unit holds no lock on the table, so an ALTER TABLE waiting
// for its lock does not queue every other query of the table behind a unit
// that is busy in the sink, and the readers are never idle in a transaction.

// snapshotAppName is the application_name of an exporting session while it
// holds its snapshot: operators see in pg_stat_activity what the long,
// idle transaction is, and the worker-budget count leaves it out.
const snapshotAppName = "redshiftsync snapshot"

// errSnapshotLost is wrapped by the error of a read that could not import
// the pass's snapshot: its exporting session has ended (terminated, its
// connection lost, canceled by a recovery conflict on a standby).
var errSnapshotLost = errors.New("the snapshot of the pass is gone: its exporting session ended")

// errRelationRewritten is wrapped by the error of a block-order read that
// found the table's file node changed: TRUNCATE, VACUUM FULL, CLUSTER or a
// rewriting ALTER TABLE renumbered (or emptied) its blocks during the pass.
var errRelationRewritten = errors.New("the table was rewritten during the pass (TRUNCATE, VACUUM FULL, CLUSTER or a rewriting ALTER TABLE): its block numbers changed")

// exportSlots returns how many tables may hold an exporting session at once,
// beside workers readers, in a pool of at most maxOpen connections (0: no
// limit). An exporter holds a connection but runs no query, so it takes no
// unit of the worker budget (a table's exporter waiting on its own readers'
// budget would deadlock with one worker); instead the exporters are capped
// so that the readers always find a connection: at most maxOpen-1 in all,
// and no more than workers (no more tables than that read at once).
func exportSlots(workers, maxOpen int) int {
	if maxOpen <= 0 {
		return workers
	}
	if maxOpen < 2 {
		return 0 // the one connection is the readers'
	}
	return max(1, min(workers, maxOpen-workers-1))
}

func newExportSem(slots int) *semaphore.Weighted {
	if slots <= 0 {
		return nil
	}
	return semaphore.NewWeighted(int64(slots))
}

// snapshot is an exported snapshot and the session that keeps it alive.
type snapshot struct {
	pool *pool
	conn *sql.Conn
	id   string
	// xmin and xmax are the snapshot's bounds, 64-bit transaction ids
	// (txid_snapshot_xmin/xmax): every transaction below xmin had ended
	// when it was taken, none from xmax on had begun.
	xmin, xmax int64
	// xip lists the transactions in progress when it was taken
	// (txid_snapshot_xip), as 64-bit ids separated by commas: with xmax,
	// exactly the row versions the snapshot could not see.
	xip string
}

// exportSnapshot opens a REPEATABLE READ transaction on a connection of its
// own and exports its snapshot. It waits for an export slot first. An error
// wrapping errNoExport means the server cannot export one (an old server, a
// connection pooler in transaction mode, a hot standby of an old version).
func (p *pool) exportSnapshot(ctx context.Context) (*snapshot, error) {
	if err := p.exporters.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	conn, err := p.db.Conn(ctx)
	if err != nil {
		p.exporters.Release(1)
		return nil, err
	}
	sn := &snapshot{pool: p, conn: conn}
	// idle_in_transaction_session_timeout (the pool's guard, 5 minutes) is
	// off for this transaction only: the exporter is idle in its
	// transaction for the whole pass by design, and the guard would end it,
	// and with it the snapshot, five minutes into any long resync.
	_, err = conn.ExecContext(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "+
		"SET LOCAL idle_in_transaction_session_timeout TO 0; SET LOCAL application_name TO '"+snapshotAppName+"'")
	if err == nil {
		err = conn.QueryRowContext(ctx, `SELECT pg_export_snapshot(), txid_snapshot_xmin(txid_current_snapshot()), txid_snapshot_xmax(txid_current_snapshot()), `+
			`coalesce(array_to_string(array(SELECT txid_snapshot_xip(txid_current_snapshot())), ','), '')`).
			Scan(&sn.id, &sn.xmin, &sn.xmax, &sn.xip)
	}
	if err != nil {
		sn.release(true)
		if SQLState(err) != "" && !isTransient(ctx, err) {
			return nil, fmt.Errorf("%w: %w", errNoExport, err)
		}
		return nil, err
	}
	return sn, nil
}

// errNoExport is wrapped by the error of a server that cannot export a
// snapshot.
var errNoExport = errors.New("the server cannot export a snapshot")

// close ends the exporting transaction and returns its connection.
func (sn *snapshot) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := sn.conn.ExecContext(ctx, "COMMIT")
	sn.release(err != nil)
}

func (sn *snapshot) release(broken bool) {
	if broken {
		_ = sn.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	sn.conn.Close()
	sn.pool.exporters.Release(1)
}

// inSnapshot runs read, a query on the unit's connection, in a transaction
// that imports the pass's snapshot, then (for a pass in block order) checks
// that the table's blocks are still the ones the pass numbered. The caller
// discards the connection after an error, which ends the transaction.
func (u *unit) inSnapshot(ctx context.Context, read func() error) error {
	t := u.t
	begin := "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT " + quoteLiteral(u.snap.id)
	if t.prog.Blocks != nil {
		begin += blockOrderSQL
	}
	_, err := u.conn.ExecContext(ctx, begin)
	if err != nil {
		switch SQLState(err) {
		case "22023", "55000", "0A000":
			// invalid snapshot identifier; the exporting process is gone
			return &TableError{Table: t.name, Step: StepImportSnapshot, Err: fmt.Errorf("%w: %w", errSnapshotLost, err)}
		}
		return err
	}
	if err := read(); err != nil {
		return err
	}
	if bp := t.prog.Blocks; bp != nil {
		// Checked after the read, inside its transaction: the read's lock
		// on the table has kept any rewrite out since the read began.
		var node int64
		if err := u.conn.QueryRowContext(ctx, fileNodeSQL, t.regclass()).Scan(&node); err != nil {
			return err
		}
		if node != bp.FileNode {
			return &TableError{Table: t.name, Step: StepRead, Err: errRelationRewritten}
		}
	}
	_, err = u.conn.ExecContext(ctx, "COMMIT")
	return err
}

// fileNodeSQL returns a relation's file node; NULL (0) for one without
// storage.
const fileNodeSQL = `SELECT coalesce(pg_relation_filenode($1::regclass)::text::bigint, 0)`

// quoteLiteral returns s as a SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// regclass returns the table's name as a regclass literal's text.
func (s *tableSync) regclass() string {
	return sqlident.Qualified(s.plan.Table.Schema, s.plan.Table.Name)
}

// snapshotPass reports whether the "rows" phase in progress reads in a
// shared snapshot: on PostgreSQL, a full sync (so a resync is one instant)
// or any pass in block order (whose rows move between blocks when they are
// updated). Other incremental syncs read each page in a snapshot of its
// own: a row whose key moves is read again by a later sync, from its new
// key.
func (s *tableSync) snapshotPass() bool {
	return s.dialect != DialectRedshift && s.e.pool.exporters != nil && s.prog.Phase == phaseRows &&
		(s.plan.Mode == ModeFull || s.prog.Blocks != nil)
}

// readPass reads the "rows" phase, in one shared snapshot when it needs
// one. A pass whose snapshot is lost, or whose table is rewritten under a
// block-order read, starts again from its first row in a new snapshot (a
// ResyncSink is told the resync begins again), at most MaxRetries times in
// a run.
func (s *tableSync) readPass(ctx context.Context) error {
	if !s.snapshotPass() {
		return s.readRows(ctx)
	}
	for restarts := 0; ; restarts++ {
		err := s.readInSnapshot(ctx)
		if !errors.Is(err, errSnapshotLost) && !errors.Is(err, errRelationRewritten) {
			return err
		}
		if restarts >= s.e.cfg.MaxRetries {
			return &TableError{Table: s.name, Step: StepRead, Err: fmt.Errorf("the pass was started again %d times and failed again: %w", restarts, err)}
		}
		s.log.Warn("the pass over the table starts again from its first row in a new snapshot", "error", err)
		if err := s.restartPass(ctx, err); err != nil {
			return err
		}
	}
}

// readInSnapshot exports a snapshot and reads the phase in it: first, when
// the pass resumes one interrupted in an earlier run, the catch-up of the
// rows written since the pass's first snapshot; then the unfinished units.
func (s *tableSync) readInSnapshot(ctx context.Context) error {
	sn, err := s.exportWithRetry(ctx)
	if errors.Is(err, errNoExport) {
		s.log.Warn("the source cannot export a snapshot: the table is read without one, so rows moved while it is read may be missed or read twice", "error", err)
		if s.prog.Blocks != nil {
			// Block order without one snapshot loses rows that move
			// between blocks: read the table in one pass instead.
			if err := s.restartPass(ctx, err); err != nil {
				return err
			}
		}
		return s.readRows(ctx)
	}
	if err != nil {
		return &TableError{Table: s.name, Step: StepExportSnapshot, Err: err}
	}
	defer sn.close()
	if bp := s.prog.Blocks; bp != nil {
		var node int64
		if err := sn.conn.QueryRowContext(ctx, fileNodeSQL, s.regclass()).Scan(&node); err != nil {
			return &TableError{Table: s.name, Step: StepExportSnapshot, Err: err}
		}
		if node != bp.FileNode {
			s.log.Info("the table was rewritten since its pass in block order began (VACUUM FULL, CLUSTER, TRUNCATE): its pass starts again", "file_node", bp.FileNode, "new_file_node", node)
			return errRelationRewritten
		}
	}
	s.mu.Lock()
	first := firstSnapshot{xmin: s.prog.SnapshotXmin, xmax: s.prog.SnapshotXmax, xip: s.prog.SnapshotXip}
	resumed := hasPosition(s.prog)
	if first.xmin == nil || !resumed {
		x, y := strconv.FormatInt(sn.xmin, 10), strconv.FormatInt(sn.xmax, 10)
		s.prog.SnapshotXmin, s.prog.SnapshotXmax, s.prog.SnapshotXip = &x, &y, nil
		if sn.xip != "" {
			s.prog.SnapshotXip = strings.Split(sn.xip, ",")
		}
	}
	s.mu.Unlock()
	s.snap = sn
	defer func() { s.snap = nil }()
	if resumed {
		if err := s.catchUp(ctx, first, sn); err != nil {
			return err
		}
	}
	return s.readRows(ctx)
}

// exportWithRetry exports a snapshot, retrying transient failures as reads
// are retried.
func (s *tableSync) exportWithRetry(ctx context.Context) (*snapshot, error) {
	for attempt := 0; ; attempt++ {
		sn, err := s.e.pool.exportSnapshot(ctx)
		if err != nil && ctx.Err() != nil {
			// Whatever the driver made of the cancel (a bad connection,
			// say), the cause is the cancel's, as in withRetry.
			return nil, context.Cause(ctx)
		}
		if err == nil || errors.Is(err, errNoExport) || !isTransient(ctx, err) || attempt >= s.e.cfg.MaxRetries {
			return sn, err
		}
		s.stats.retries.Add(1)
		wait := backoff(attempt + 1)
		s.log.Warn(RetryLogMessage, "step", "export snapshot", "attempt", attempt+1, "wait", wait, "sqlstate", SQLState(err), "error", err)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// hasPosition reports whether the phase has read anything that a resume
// would not read again.
func hasPosition(p *progress) bool {
	if p.After != nil {
		return true
	}
	for _, part := range p.Partitions {
		if part.Done || part.After != nil {
			return true
		}
	}
	return false
}

// restartPass puts the phase back at its first row: every position and
// partition reset (a pass in block order begun again), the snapshot forgotten, a
// ResyncSink told that the resync begins again, and the reset state saved,
// so that a crash now does not resume from positions of the old snapshot.
func (s *tableSync) restartPass(ctx context.Context, why error) error {
	s.mu.Lock()
	s.prog.After, s.prog.SnapshotXmin, s.prog.SnapshotXmax, s.prog.SnapshotXip = nil, nil, nil, nil
	for _, part := range s.prog.Partitions {
		part.Done, part.After, part.Rows = false, nil, 0
	}
	blocks := s.prog.Blocks != nil
	s.mu.Unlock()
	if blocks {
		u := s.newUnit(nil, nil)
		var parts []*partition
		var err error
		ok := false
		if !errors.Is(why, errNoExport) {
			parts, ok, err = u.blockRanges(ctx, s.prog)
		}
		if !ok {
			// One streaming pass, resumed as a whole.
			s.prog.Blocks, s.prog.Chunked = nil, true
			parts = []*partition{{}}
		}
		u.releaseConn(err != nil)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.prog.Partitions = parts
		s.mu.Unlock()
		s.stats.partsDone.Store(0)
	}
	if err := s.restartResync(ctx); err != nil {
		return err
	}
	return s.checkpoint(ctx)
}

// catchUp reads, in the pass's new snapshot, the rows that a pass resumed
// after a crash would otherwise miss. The units finished before the crash
// were read in an older snapshot; a row inserted or updated since then may
// have landed where they were (a key updated to one already passed; a new
// row version in a block already read), and the rest of the pass
// does not read it. Every such row version is one the first snapshot could
// not see: its xmin is at or above that snapshot's xmax, or one of the
// transactions in progress in it. So the catch-up reads the rows with such
// an xmin: of the blocks already read (up to the position of a pass in
// block order), or (for a pass by key) of the whole table, where the rows
// it reads again in the part still to read are duplicates an upsert by
// primary key absorbs. (Every row version with an xmin at or above the
// first snapshot's xmin would be a superset: on a busy server, whose oldest
// transaction is older than the table's rows, that is every row, read
// twice, and a keyless table would keep each twice.)
func (s *tableSync) catchUp(ctx context.Context, first firstSnapshot, sn *snapshot) error {
	pred, args, err := first.unseen(sn.xmax)
	if err != nil {
		return &TableError{Table: s.name, Step: StepCatchUp, Err: err}
	}
	base := s.shape()
	base.orderBy, base.orderIdx = nil, nil
	var shapes []*readShape
	if s.prog.Blocks != nil {
		for _, part := range s.prog.Partitions {
			switch {
			case part.Done:
				shapes = append(shapes, base.blockShape())
			case part.After != nil:
				shapes = append(shapes, base.blockShape().tidPredicate("<=", part.After[0]))
			}
		}
	} else {
		shapes = append(shapes, base)
	}
	s.log.Info("resuming in a new snapshot: reading first the rows written since the pass began", "reads", len(shapes))
	for _, sh := range shapes {
		sh = sh.withFilter(pred, args)
		u := s.newUnit(sh, nil)
		u.part = &partition{} // streamed whole, claimed when it ends; not kept in the progress
		if err := u.read(ctx); err != nil {
			return err
		}
	}
	return nil
}

// firstSnapshot is what the progress records of the first snapshot a
// phase was read in: its xmin, and (since it was recorded) its xmax and the
// transactions in progress in it, 64-bit ids as text.
type firstSnapshot struct {
	xmin, xmax *string
	xip        []string
}

// unseen returns the predicate that keeps the row versions the first
// snapshot could not see, judged in a snapshot whose xmax is xmax: those
// whose xmin is at or above the first snapshot's xmax, or one of the
// transactions in progress in it. A row's xmin is a 32-bit id; its
// distance below xmax, modulo 2^32, places it. A frozen tuple's xmin may
// alias into the window: it is read again, never missed. A state that
// recorded only the xmin (saved before the xmax was) keeps every row
// version written from that xmin on; without even that, every row.
func (f firstSnapshot) unseen(xmax int64) (string, []any, error) {
	if f.xmin == nil {
		return "", nil, nil
	}
	parse := func(what, v string) (int64, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("the saved snapshot %s %q: %w", what, v, err)
		}
		return n, nil
	}
	from, err := parse("xmin", *f.xmin)
	if err != nil {
		return "", nil, err
	}
	if xmax-from >= 1<<31 {
		return "", nil, nil // too many transactions since to place them: keep every row
	}
	const dist = "((%[1]s::bigint - xmin::text::bigint + 4294967296) %% 4294967296)"
	if f.xmax == nil {
		return dist + " <= %[2]s::bigint", []any{xmax % (1 << 32), max(xmax-from, 0)}, nil
	}
	upto, err := parse("xmax", *f.xmax)
	if err != nil {
		return "", nil, err
	}
	// Distances below xmax of the transactions in progress in the first
	// snapshot: a row whose xmin is one of them was not seen.
	var inProgress []string
	for _, x := range f.xip {
		id, err := parse("xip", x)
		if err != nil {
			return "", nil, err
		}
		if id >= from && id < upto {
			inProgress = append(inProgress, strconv.FormatInt(xmax-id, 10))
		}
	}
	return "(" + dist + " <= %[2]s::bigint OR " + dist + " = ANY(%[3]s::bigint[]))",
		[]any{xmax % (1 << 32), max(xmax-upto, 0), "{" + strings.Join(inProgress, ",") + "}"}, nil
}

// withFilter returns the shape with one more predicate, whose %[1]s, %[2]s...
// stand for the parameters args. An empty pred returns s itself.
func (s *readShape) withFilter(pred string, args []any) *readShape {
	if pred == "" {
		return s
	}
	c := *s
	c.args = append([]any(nil), s.args...)
	refs := make([]any, len(args))
	for i, a := range args {
		c.args = append(c.args, a)
		refs[i] = "$" + strconv.Itoa(len(c.args))
	}
	c.filters = append(append([]string(nil), s.filters...), fmt.Sprintf(pred, refs...))
	return &c
}
