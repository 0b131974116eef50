// This file holds the watermark: when a sync's high-water mark may become
// the table's bookmark without losing the rows of transactions that were
// still in progress when it was read, and how far below the server's clock a
// bookmark must stay.

package redshiftsync

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// pendingMark is a high-water mark not yet safe to become the bookmark: the value
// of the replication key that a sync read up to, and what was in progress on
// the source when it was read. It is released (its Value may become the
// bookmark) once every transaction that could still commit rows below Value
// has ended.
//
// # Why a high-water mark cannot be the next bookmark at once
//
// A transaction's rows become visible when it commits, but their key was
// fixed earlier: updated_at = now() is the transaction's start time, and
// nextval() is taken at the write. A sync that reads up to max(key) = HW
// cannot see a transaction still in progress; if that transaction commits
// later with a key below HW, a next sync that starts at HW never reads it.
//
// # The rule
//
// Every incremental sync N, before it reads a row, takes a mark M_N in one
// statement S_N (one snapshot, READ COMMITTED): the key's maximum max_N and
// the transactions in progress. It then decides which marks are released
// (release check R_N: in S_N itself, then polled for up to releaseWait
// while only M_N is held). A mark M is released at R_N when every
// transaction in progress at M has ended by R_N. Marks are released oldest
// first. Sync N reads [B_N, U_N], B_N being the bookmark and U_N the greater
// of max_N and the newest mark's value; when it finishes, the bookmark
// becomes the value of the newest mark released at R_N, and the marks not
// released stay pending in the state. A mark's value is
// greatest(least(max, clock), the previous mark's value): never above the
// server's clock (less a margin, see clockMargin), and never below an
// older mark's, so the bookmark never moves backward, except that a saved
// value above the clock is first lowered to it (see lowerAboveClock).
// While the server's clock is behind the newest mark's time, no mark is
// released (see releasedPrefix).
//
// What "in progress at M" means on PostgreSQL, without any privilege:
//   - the virtual transaction ids held in pg_locks (locktype virtualxid),
//     read in the same statement after its snapshot. Every transaction
//     holds its own vxid lock from its START (before its first write, when
//     it has no xid yet but now() is already fixed) to its end; pg_locks is
//     readable by any role, and pg_stat_activity's pid, datid, usesysid
//     and application_name too (used to skip other databases' sessions and
//     this library's own, which only read: see pgOthers);
//   - for a timestamp (or date) key, a session whose xact_start this role
//     may see (its own roles', or every one with pg_read_all_stats) is not
//     waited for: its keys are at least its now(), which is xact_start, so
//     the mark's value is kept at or below the oldest such start instead.
//     Other roles' xact_start is hidden from an unprivileged role: their
//     vxids are waited for;
//   - prepared transactions (pg_prepared_xacts, readable by any role): a
//     transaction gives up its vxid lock at PREPARE TRANSACTION but can
//     still commit. While any prepared transaction of the database exists,
//     no mark is released;
//   - on a hot standby, where the primary's vxids are invisible, the
//     snapshot's xids: a mark records the snapshot's xmax, and is released
//     only when a later snapshot's xmin reaches it. A transaction that had
//     not written yet (no xid) or whose xid the standby had not replayed is
//     invisible there: a standby relies on a floor (standbyFloor), an
//     assumption on how long a transaction runs from its start (or its
//     nextval) to its first write, plus the replay lag. A timestamp mark's
//     value stays that far below the standby's clock; any other mark is
//     released only once it is that old.
//
// # The argument
//
// Take a row version V, written by transaction T with key k and committed
// at time c. Let N be the first sync whose release check R_N comes after c.
// Its reads all come after R_N, so they see V (or a later version of the
// row, which the same argument covers).
//
// Lower end: B_N is the value of a mark M released at a release check
// before c (or nil). T had not ended then, so T was not in progress at M
// (T began after M was taken), or it was with its start visible and M's
// value at most that start, which is at most k. For a key taken from the
// server's clock (now(), clock_timestamp()) or from a sequence, a T that
// began after M has k at least M's value: that value is at most the
// largest key committed before M (each written by a transaction that began
// before M) or the server's time of M less the margin, and at least an
// older mark's value, for which the same holds. So k >= B_N.
//
// Upper end: if V was visible at S_N, k <= max_N <= U_N. Otherwise (T
// committed between S_N and R_N) either k <= U_N, and sync N reads V, or k
// is above U_N, hence above every mark value this sync can adopt as
// B_{N+1}; sync N+1 takes its mark after c, so it reads up to at least k
// from at most k: it reads V.
//
// Keys covered: timestamps written by now(), transaction_timestamp(),
// statement_timestamp() or clock_timestamp() of the source server (with
// or without time zone, naive ones in UTC, and dates from current_date),
// and integers from a sequence or identity column with CACHE 1 (the
// default), taken by nextval() in the transaction that writes the row.
// Not covered, because a later transaction can commit a smaller key:
//   - a sequence with CACHE > 1 (each session hands out its own block),
//     and likewise Hibernate/JPA "pooled" or "hilo" ids (INCREMENT BY 50
//     with the application handing out the block);
//   - a nextval() taken in one transaction and written in another;
//   - keys set from a client's clock, naive local timestamps in a zone
//     with daylight saving time (an hour repeats each autumn), or any
//     other key whose value a transaction chooses freely;
//   - tables fed by logical replication or an ETL job that carry another
//     server's keys (its clock, its sequences): their rows commit here
//     later than there;
//   - on a hot standby, only as far as standbyFloor covers the time from
//     a primary transaction's start (or nextval) to its first write, plus
//     the replay lag.
//
// For those, only Config.Lookback helps (timestamps), or a full sync.
//
// # Costs
//
// A sync that finds transactions in progress in its database waits up to
// releaseWait for them to end before it reads; if they have not, the
// bookmark lags: the next sync re-reads the rows changed since the
// earliest unreleased mark. A transaction that never ends (a forgotten
// PREPARE TRANSACTION, a session idle in transaction) holds the bookmark
// until it does; the state stays bounded (maxPendingMarks), and a WARN
// names it once the bookmark has been held for holdWarnAfter.
type pendingMark struct {
	// Value is the key text that may become the bookmark.
	Value string `json:"value"`
	// At is the server's time when the mark was taken.
	At time.Time `json:"at"`
	// XMax is the mark's snapshot xmax (txid, with epoch): every xid below
	// it had been assigned. Used on a hot standby.
	XMax uint64 `json:"xmax,omitempty"`
	// VXIDs are the virtual transaction ids in progress in the source
	// database when the mark was taken, less those seen ended since.
	VXIDs []string `json:"vxids,omitempty"`
}

// clockMargin is kept between a timestamp mark and the server's time of the
// mark. A transaction's now() is its first statement's start time, fixed a
// few microseconds before its vxid lock is taken: a transaction starting in
// that gap is not seen in pg_locks, yet its key is slightly older than the
// mark's statement. One second covers that gap with a wide margin; it costs
// re-reading one second of rows. It is an assumption, not a guarantee: a
// backend descheduled for more than a second between receiving its first
// statement and taking its vxid lock (an overloaded host, a stopped VM)
// escapes it. The argument also assumes the server's clock moves forward:
// releases are held while it is behind the newest mark (releasedPrefix),
// and values above it are lowered (lowerAboveClock). (A variable so that
// tests can show what the vxids alone do.)
var clockMargin = time.Second

// Watermark parameters.
const (
	// standbyFloor is how far below the server's time a timestamp mark
	// stays on a hot standby, and how old any other mark must be before it
	// is released there: the primary's transactions without an xid (and
	// those not yet replayed) are invisible, so it must cover a
	// transaction's time from its start (or its nextval) to its first
	// write plus the replay lag. No WARN is due for that wait: it equals
	// holdWarnAfter's default.
	standbyFloor = 5 * time.Minute
	// maxPendingMarks bounds the marks kept per table: beyond it the two
	// newest are merged into one that is released when both would be
	// (see collapse).
	maxPendingMarks = 16
)

// redshiftFloor is how far below the server's time a timestamp mark stays
// on Redshift, which has no snapshot functions, and whose SVV_TRANSACTIONS
// shows other sessions' transactions only to a superuser (or SYSLOG ACCESS
// UNRESTRICTED), and then only those holding a lock. Fifteen minutes covers
// typical ELT transactions (COPY and INSERT ... SELECT batches of a few
// minutes); longer ones need Config.Lookback. It costs re-reading fifteen
// minutes of changed rows on every sync. (A variable for tests.)
var redshiftFloor = 15 * time.Minute

// releaseWait is how long a sync's start waits, polling (155 ms in all), for
// the transactions in progress at its own mark to end, so that in the
// common case (short transactions) its own high-water mark becomes the
// bookmark and the next sync re-reads only the clock margin's rows.
var releaseWait = []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}

// holdWarnAfter is how long the bookmark may be held by a transaction in
// progress before a sync logs a WARN naming it.
var holdWarnAfter = 5 * time.Minute

// txView is what a release check sees on the source.
type txView struct {
	at       time.Time       // the server's time
	standby  bool            // a hot standby: vxids are the standby's own
	xmin     uint64          // the snapshot's xmin
	held     map[string]bool // vxids in progress in the database
	prepared int64           // prepared transactions of the database
	// For the WARN only, when visible: the oldest prepared transaction and
	// the oldest transaction start this role may see.
	oldestPrepared, oldestXact *time.Time
	// On a standby, for a key the clock does not bound (integers), the age
	// a mark must reach before it is released (standbyFloor): the primary's
	// transactions without an xid, or whose xid is not replayed yet, are
	// invisible there.
	standbyAge time.Duration
}

// released reports whether every transaction in progress at m has ended.
func (v *txView) released(m *pendingMark) bool {
	if v.prepared > 0 || (v.standby && (v.xmin < m.XMax || (v.standbyAge > 0 && v.at.Sub(m.At) < v.standbyAge))) {
		return false
	}
	for _, x := range m.VXIDs {
		if v.held[x] {
			return false
		}
	}
	return true
}

// prune returns m without the vxids that have ended: an ended transaction
// stays ended, and the state stays as small as what is in progress.
func (v *txView) prune(m *pendingMark) *pendingMark {
	c := *m
	c.VXIDs = nil
	for _, x := range m.VXIDs {
		if v.held[x] {
			c.VXIDs = append(c.VXIDs, x)
		}
	}
	return &c
}

// watermark is the outcome of a sync's start: its read range's upper end
// and what its finish records.
type watermark struct {
	high     *string        // the read range's upper end (see takeMark); nil when no row has a key
	bookmark *string        // the bookmark to adopt when the sync finishes; nil: keep the current one
	pending  []*pendingMark // the marks left pending when the sync finishes
	future   int64          // rows whose key is above the server's clock
}

// releasedPrefix returns how many of marks, oldest first, v releases. None
// while v's time is before the newest mark's: the argument (see pendingMark)
// assumes that the server's clock moves forward, and one stepped back (or a
// failover to a server whose clock is behind) could hand a transaction
// begun after a mark a now() below that mark's value. Holding costs only
// re-reads until the clock has passed the newest mark again.
func releasedPrefix(marks []*pendingMark, v *txView) int {
	for _, m := range marks {
		if v.at.Before(m.At) {
			return 0
		}
	}
	for i, m := range marks {
		if !v.released(m) {
			return i
		}
	}
	return len(marks)
}

// collapse merges the two newest marks until at most maxPendingMarks
// remain. The merged mark is released when both would be (both vxid lists,
// the newer xmax), so it may carry the newer value and time: marks are
// released oldest first, so the older one's value is never needed once it
// is. Never the oldest: merged into on every sync while it is held, it
// would gather the transactions of ever newer marks and, with overlapping
// long transactions, never be released.
func collapse(marks []*pendingMark) []*pendingMark {
	for len(marks) > maxPendingMarks {
		n := len(marks)
		a, b := marks[n-2], marks[n-1]
		vx := append(append([]string(nil), a.VXIDs...), b.VXIDs...)
		slices.Sort(vx)
		m := &pendingMark{Value: b.Value, At: b.At, XMax: max(a.XMax, b.XMax), VXIDs: slices.Compact(vx)}
		marks = append(marks[:n-2:n-2], m)
	}
	return marks
}

// watermark takes the sync's mark, releases what it can, and returns the
// sync's read range and what its finish records.
func (u *unit) watermark(ctx context.Context, st *tableState) (*watermark, error) {
	if u.t.dialect == DialectRedshift {
		return u.redshiftWatermark(ctx, st)
	}
	mark, view, wm, err := u.takeMark(ctx, st)
	if err != nil {
		return nil, err
	}
	timed := clockExpr(u.t.plan.keyColumn(), "x") != ""
	if !timed {
		view.standbyAge = standbyFloor
	}
	marks := append(slices.Clone(st.Pending), mark...)
	n := releasedPrefix(marks, view)
	for _, d := range releaseWait {
		if n == len(marks) || len(mark) == 0 || n < len(marks)-1 || view.standby {
			break // all released, no mark of its own, an older mark still held, or a standby (no vxids to wait for)
		}
		if err := sleep(ctx, d); err != nil {
			return nil, &TableError{Table: u.t.name, Step: StepReadTransactions, Err: err}
		}
		if view, err = u.txView(ctx); err != nil {
			return nil, err
		}
		if !timed {
			view.standbyAge = standbyFloor
		}
		n = releasedPrefix(marks, view)
	}
	if n > 0 {
		v := marks[n-1].Value
		wm.bookmark = &v
	}
	for _, m := range marks[n:] {
		wm.pending = append(wm.pending, view.prune(m))
	}
	wm.pending = collapse(wm.pending)
	u.t.logHold(wm.pending, view, timed)
	return wm, nil
}

// logHold says that the bookmark is held, and by what: DEBUG at once, WARN
// once it has been held for holdWarnAfter. For a timestamp key (timed) the
// bookmark is also held below the start of the oldest transaction in
// progress whose start the role sees, which never leaves a mark pending.
func (s *tableSync) logHold(pending []*pendingMark, v *txView, timed bool) {
	since := time.Time{}
	if len(pending) > 0 {
		since = pending[0].At
	}
	if timed && v.oldestXact != nil && (since.IsZero() || v.oldestXact.Before(since)) {
		since = *v.oldestXact
	}
	if since.IsZero() {
		return
	}
	held := v.at.Sub(since).Round(time.Millisecond)
	args := []any{"held_since", since, "held_for", held, "pending_marks", len(pending), "prepared_transactions", v.prepared}
	if len(pending) > 0 {
		args = append(args, "transactions_in_progress", len(pending[0].VXIDs))
	}
	if v.oldestPrepared != nil {
		args = append(args, "oldest_prepared_at", *v.oldestPrepared)
	}
	if v.oldestXact != nil {
		args = append(args, "oldest_visible_transaction_start", *v.oldestXact)
	}
	if held < holdWarnAfter {
		s.log.Debug("bookmark held until the transactions in progress at an earlier sync end", args...)
		return
	}
	s.log.Warn("bookmark held: transactions in progress since an earlier sync have not ended, so each sync re-reads the rows changed since then; "+
		"end them (a forgotten PREPARE TRANSACTION needs COMMIT PREPARED or ROLLBACK PREPARED; see pg_prepared_xacts and pg_stat_activity)", args...)
}

// warnFuture reports rows whose key is above the server's clock (a skewed
// client clock, a sentinel such as 'infinity'): the bookmark stays at the
// clock, so they are read again on every sync.
func (s *tableSync) warnFuture(n int64) {
	if n <= 0 {
		return
	}
	msg := fmt.Sprintf("%d rows have a %s above the server's current time: they are read again on every sync, and the bookmark stays at the server's time so later updates below them are not skipped", n, s.plan.ReplicationKey)
	s.plan.Warnings = append(s.plan.Warnings, msg)
	s.log.Warn("rows with a replication key above the server's clock", "replication_key", s.plan.ReplicationKey, "rows", n)
}

// checkMarks rejects marks that this library could not have written. (An
// empty value is a valid key text: the empty string.)
func checkMarks(marks []*pendingMark) error {
	for i, m := range marks {
		if m == nil {
			return fmt.Errorf("mark %d is null", i)
		}
		if m.At.IsZero() {
			return fmt.Errorf("mark %d has no time", i)
		}
		for _, x := range m.VXIDs {
			if !validVXID(x) {
				return fmt.Errorf("mark %d: %q is not a virtual transaction id", i, x)
			}
		}
	}
	return nil
}

// validVXID reports whether s has the form "n/m" of a virtual transaction
// id (as pg_locks prints it).
func validVXID(s string) bool {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return false
	}
	_, err1 := strconv.ParseUint(a, 10, 32)
	_, err2 := strconv.ParseUint(b, 10, 32)
	return err1 == nil && err2 == nil
}
