// This file holds the watermark: when a sync's high-water mark may become
// the table's bookmark without losing the rows of transactions that were
// still in progress when it was read, and how far below the server's clock a
// bookmark must stay.

package redshiftsync

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// Mark is a high-water mark not yet safe to become the bookmark: the value
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
type Mark struct {
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
func (v *txView) released(m *Mark) bool {
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
func (v *txView) prune(m *Mark) *Mark {
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
	high     *string // the read range's upper end (see takeMark); nil when no row has a key
	bookmark *string // the bookmark to adopt when the sync finishes; nil: keep the current one
	pending  []*Mark // the marks left pending when the sync finishes
	future   int64   // rows whose key is above the server's clock
}

// releasedPrefix returns how many of marks, oldest first, v releases. None
// while v's time is before the newest mark's: the argument (see Mark)
// assumes that the server's clock moves forward, and one stepped back (or a
// failover to a server whose clock is behind) could hand a transaction
// begun after a mark a now() below that mark's value. Holding costs only
// re-reads until the clock has passed the newest mark again.
func releasedPrefix(marks []*Mark, v *txView) int {
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
func collapse(marks []*Mark) []*Mark {
	for len(marks) > maxPendingMarks {
		n := len(marks)
		a, b := marks[n-2], marks[n-1]
		vx := append(append([]string(nil), a.VXIDs...), b.VXIDs...)
		slices.Sort(vx)
		m := &Mark{Value: b.Value, At: b.At, XMax: max(a.XMax, b.XMax), VXIDs: slices.Compact(vx)}
		marks = append(marks[:n-2:n-2], m)
	}
	return marks
}

// watermark takes the sync's mark, releases what it can, and returns the
// sync's read range and what its finish records.
func (u *unit) watermark(ctx context.Context, st *TableState) (*watermark, error) {
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
			return nil, &TableError{Table: u.t.name, Step: "read transactions in progress", Err: err}
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
func (s *tableSync) logHold(pending []*Mark, v *txView, timed bool) {
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

// clockExpr returns the server's clock in the key's own type, for the
// timestamp and date keys that it bounds, and "" for other keys. Naive
// timestamps and dates are taken to be written in UTC (the session's zone).
func clockExpr(c Column, clock string) string {
	switch c.Type {
	case TypeUTCDateTime:
		return clock
	case TypeNaiveDateTime:
		return "(" + clock + " AT TIME ZONE 'UTC')"
	case TypeNaiveDate:
		return "(" + clock + " AT TIME ZONE 'UTC')::date"
	}
	return ""
}

// PostgreSQL's expressions of a release check, all readable by any role.
const (
	pgDatabaseOID = `(SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())`
	// pgOthers selects the sessions of pg_stat_activity (alias a) that may
	// write the table: this database's, not this session, and not this
	// library's own, which only read the source: a table's long read must
	// not hold another's bookmark. Any session may call itself
	// redshiftsync (a copied DSN, PGAPPNAME, a pooler), so one is taken
	// for this library's only when it is also of this session's role and
	// has no xid (it has not written): backend_xid is visible for the
	// role's own sessions only, hence both. A session of the extractor's
	// role, so named, that has begun but not yet written, is still
	// skipped: give writers a role of their own (see the README).
	pgOthers = `a.pid <> pg_backend_pid() AND a.datid = ` + pgDatabaseOID + ` AND NOT coalesce(a.application_name = 'redshiftsync' AND ` +
		`a.usesysid = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = session_user) AND a.backend_xid IS NULL, false)`
	// pgVisibleStart is the oldest start (now()) of a transaction in
	// progress among those sessions whose xact_start this role may see
	// (its own roles', or all with pg_read_all_stats).
	pgVisibleStart   = `(SELECT min(a.xact_start) FROM pg_catalog.pg_stat_activity a WHERE ` + pgOthers + ` AND a.xact_start IS NOT NULL)`
	pgPrepared       = `(SELECT count(*) FROM pg_catalog.pg_prepared_xacts WHERE database = current_database())`
	pgOldestPrepared = `(SELECT min(prepared) FROM pg_catalog.pg_prepared_xacts WHERE database = current_database())`
)

// pgView is the select list of a release check: txid_* functions
// exist from PostgreSQL 8.3 on (pg_current_snapshot is their 13+
// name).
//
// pg_locks is read before pg_prepared_xacts on purpose (here, and in
// takeMark, whose vxids come before pgView): neither is read from the
// statement's snapshot, and a transaction gives up its vxid lock at
// PREPARE TRANSACTION, so read in the other order a PREPARE between the
// two reads would be in neither. In this order it is in one or the other.
// That relies on PostgreSQL evaluating a select list's uncorrelated
// subqueries (initplans) when first used, in select-list order, which it
// does: a projection evaluates its expressions left to right.
var pgView = `statement_timestamp(), pg_is_in_recovery(), txid_snapshot_xmin(txid_current_snapshot()), ` +
	heldVXIDs(false) + `, ` + pgPrepared + `, ` + pgOldestPrepared + `, ` + pgVisibleStart

// heldVXIDs returns the expression of the vxids held by the sessions that
// may write the table (pgOthers), as one comma-separated text. With
// skipVisible, it leaves out the sessions whose transaction start this role
// sees: a timestamp mark's value is bounded by that start instead (their
// keys are at least their now()), so they need not be waited for. A
// session that pg_stat_activity does not show in this database (another
// database's, or gone) is left out: it cannot write the table.
func heldVXIDs(skipVisible bool) string {
	cond := pgOthers
	if skipVisible {
		cond += ` AND a.xact_start IS NULL`
	}
	return `(SELECT string_agg(l.virtualxid, ',') FROM pg_catalog.pg_locks l
	WHERE l.locktype = 'virtualxid' AND EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = l.pid AND ` + cond + `))`
}

// takeMark reads, in one statement, the key's maximum, the mark's value,
// the rows above the server's clock, and what is in progress. The new
// mark's value is never below the newest pending mark's (or the bookmark),
// so marks' values never decrease and the bookmark never moves backward.
// The read range's upper end is the greater of the maximum and that value,
// so that it is never below the bookmark this sync may adopt (the maximum
// drops when the rows holding it are deleted or their keys lowered); see
// Mark for why that matters. It returns no mark when no row has a key.
//
// For a timestamp or date key, it first lowers st's bookmark and pending
// marks that are above the mark's clock bound to that bound (see
// lowerAboveClock): it changes st.
func (u *unit) takeMark(ctx context.Context, st *TableState) ([]*Mark, *txView, *watermark, error) {
	key := u.t.plan.keyColumn()
	q := sqlident.Quote(key.Name)
	from := sqlident.Qualified(u.t.plan.Table.Schema, u.t.plan.Table.Name)
	value := "m.hw"
	args := []any{}
	future := "0"
	capture := heldVXIDs(false)
	// The saved values, oldest first: the bookmark, then the pending marks'.
	var saved []string
	if st.Bookmark != nil {
		saved = append(saved, *st.Bookmark)
	}
	for _, m := range st.Pending {
		saved = append(saved, m.Value)
	}
	bound, above := "NULL", ""
	if clock := clockExpr(key, "statement_timestamp()"); clock != "" {
		args = append(args, fmt.Sprintf("%d microseconds", standbyFloor.Microseconds()), fmt.Sprintf("%d microseconds", clockMargin.Microseconds()))
		bound = clockExpr(key, "(statement_timestamp() - CASE WHEN pg_is_in_recovery() THEN $1::interval ELSE $2::interval END)")
		value = "least(m.hw, " + bound + ", " + clockExpr(key, pgVisibleStart) + ")"
		future = "(SELECT count(*) FROM " + from + " WHERE " + q + " > " + clock + ")"
		capture = heldVXIDs(true)
		for _, v := range saved {
			args = append(args, v)
			above += ", " + castParam(len(args), key) + " > " + bound
		}
	} else if len(saved) > 0 {
		args = append(args, saved[len(saved)-1])
	}
	upper := "m.hw"
	if len(saved) > 0 {
		prev := castParam(len(args), key) // the newest saved value
		if bound != "NULL" {
			prev = "least(" + prev + ", " + bound + ")"
		}
		value = "greatest(" + value + ", " + prev + ")"
		upper = "greatest(m.hw, " + prev + ")"
	}
	sql := "SELECT m.hw, " + upper + ", " + value + ", " + future + ", txid_snapshot_xmax(txid_current_snapshot()), " + capture + ", " + pgView +
		", " + bound + above + " FROM (SELECT max(" + q + ") AS hw FROM " + from + ") m"
	var (
		wm      watermark
		mark    []*Mark
		view    *txView
		clockAt *string
		lower   []bool
		dec     = decoderFor(key)
		xtext   = func(v driver.Value) (*string, error) {
			d, err := dec(v)
			if err != nil || d == nil {
				return nil, err
			}
			txt, err := keyText(d, key.Type)
			return &txt, err
		}
	)
	const pgViewEnd = 6 + 7 // the columns before bound
	err := u.withRetry(ctx, "read high-water mark", func() error {
		return u.query(ctx, sql, args, func(row []driver.Value) error {
			hw, err := xtext(row[0])
			if err != nil {
				return err
			}
			wm.high = nil
			if hw != nil {
				if wm.high, err = xtext(row[1]); err != nil {
					return err
				}
			}
			val, err := xtext(row[2])
			if err != nil {
				return err
			}
			wm.future = asInt(row[3])
			if view, err = pgTxView(row[6:pgViewEnd]); err != nil {
				return err
			}
			if clockAt, err = xtext(row[pgViewEnd]); err != nil {
				return err
			}
			lower = lower[:0]
			for _, b := range row[pgViewEnd+1:] {
				x, _ := b.(bool)
				lower = append(lower, x)
			}
			mark = nil
			if hw != nil && val != nil {
				m := &Mark{Value: *val, At: view.at, XMax: uint64(asInt(row[4]))}
				if vx := asText(row[5]); vx != "" {
					m.VXIDs = strings.Split(vx, ",")
				}
				slices.Sort(m.VXIDs)
				mark = []*Mark{m}
			}
			return nil
		})
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if clockAt != nil {
		u.t.lowerAboveClock(st, lower, *clockAt)
	}
	return mark, view, &wm, nil
}

// lowerAboveClock lowers st's bookmark and pending mark values that are
// above the server's clock (above[i] for the i-th saved value, the
// bookmark first when there is one) to bound, the clock less the mark's
// margin in the key's type. A value this library derived is never above
// it (a mark's value is at most its own bound, and the clock moves
// forward), but a version-1 document may hold one ('infinity', a key
// written ten years ahead), and so may a server whose clock was stepped
// back or a failover to one whose clock is behind: kept, it would freeze
// the table, as no later key is above it. Lowering only makes the next
// reads start earlier: rows are read again, none is skipped.
func (s *tableSync) lowerAboveClock(st *TableState, above []bool, bound string) {
	i := 0
	next := func() bool {
		i++
		return i <= len(above) && above[i-1]
	}
	if st.Bookmark != nil && next() {
		s.log.Warn("bookmark above the server's clock lowered to it: the rows since then are read again (a state saved by an older version, a server clock stepped back, or a failover to a server whose clock is behind)",
			"bookmark", *st.Bookmark, "lowered_to", bound)
		b := bound
		st.Bookmark = &b
	}
	var pending []*Mark
	for _, m := range st.Pending {
		if next() {
			s.log.Warn("pending bookmark above the server's clock lowered to it", "mark", m.Value, "lowered_to", bound)
			c := *m // marks are shared with copies of the state
			c.Value = bound
			m = &c
		}
		pending = append(pending, m)
	}
	st.Pending = pending
}

// txView runs a release check.
func (u *unit) txView(ctx context.Context) (*txView, error) {
	var view *txView
	err := u.withRetry(ctx, "read transactions in progress", func() error {
		return u.query(ctx, "SELECT "+pgView, nil, func(row []driver.Value) (err error) {
			view, err = pgTxView(row)
			return err
		})
	})
	return view, err
}

// pgTxView decodes the columns of pgView.
func pgTxView(row []driver.Value) (*txView, error) {
	at, ok := row[0].(time.Time)
	if !ok {
		return nil, fmt.Errorf("statement_timestamp(): unexpected %T", row[0])
	}
	v := &txView{at: at, held: map[string]bool{}, prepared: asInt(row[4])}
	v.standby, _ = row[1].(bool)
	v.xmin = uint64(asInt(row[2]))
	if s := asText(row[3]); s != "" {
		for _, x := range strings.Split(s, ",") {
			v.held[x] = true
		}
	}
	if t, ok := row[5].(time.Time); ok {
		v.oldestPrepared = &t
	}
	if t, ok := row[6].(time.Time); ok {
		v.oldestXact = &t
	}
	return v, nil
}

// redshiftWatermark takes a Redshift mark. Redshift has no snapshot
// functions nor vxids: a timestamp mark stays redshiftFloor below the
// server's time, and below the start of the oldest transaction in progress
// that SVV_TRANSACTIONS shows this role (all of them only to a superuser or
// a role with SYSLOG ACCESS UNRESTRICTED). The mark is released at once.
// Other keys get no protection beyond the high-water mark: Redshift's
// IDENTITY values are not handed out in commit order anyway.
func (u *unit) redshiftWatermark(ctx context.Context, st *TableState) (*watermark, error) {
	key := u.t.plan.keyColumn()
	q := sqlident.Quote(key.Name)
	from := sqlident.Qualified(u.t.plan.Table.Schema, u.t.plan.Table.Name)
	var clock, bound, clockBound string
	timed := clockExpr(key, "x") != ""
	if timed {
		// Leader-node functions and system views cannot be mixed with a
		// user table's rows in one Redshift query: read the clock first.
		// GETDATE() is the statement's start, in UTC.
		floor := fmt.Sprintf("interval '%d seconds'", int64(redshiftFloor/time.Second))
		sql := "SELECT CAST(getdate() AS VARCHAR), CAST(least(getdate() - " + floor + ", " +
			"coalesce((SELECT min(txn_start) FROM svv_transactions WHERE pid <> pg_backend_pid() AND txn_db = current_database()), getdate())) AS VARCHAR), " +
			"CAST(getdate() - " + floor + " AS VARCHAR)"
		err := u.withRetry(ctx, "read the server's clock", func() error {
			return u.query(ctx, sql, nil, func(row []driver.Value) error {
				clock, bound, clockBound = asText(row[0]), asText(row[1]), asText(row[2])
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
	}
	args := []any{}
	value, upper, future, lowered := "m.hw", "m.hw", "0", "NULL, false"
	if timed {
		args = append(args, clock, bound)
		cast := func(n int) string {
			if key.Type == TypeNaiveDate {
				return "CAST($" + strconv.Itoa(n) + " AS TIMESTAMP)::date"
			}
			return "$" + strconv.Itoa(n) + "::" + key.SourceType
		}
		value = "least(m.hw, " + cast(2) + ")"
		future = "(SELECT count(*) FROM " + from + " WHERE " + q + " > " + cast(1) + ")"
		if st.Bookmark != nil {
			// A bookmark above the clock is lowered to it (see
			// lowerAboveClock).
			args = append(args, clockBound, *st.Bookmark)
			b := castParam(len(args), key)
			lowered = cast(3) + ", " + b + " > " + cast(3)
			value = "greatest(" + value + ", least(" + b + ", " + cast(3) + "))"
			upper = "greatest(m.hw, least(" + b + ", " + cast(3) + "))"
		}
	} else if st.Bookmark != nil {
		args = append(args, *st.Bookmark)
		value = "greatest(" + value + ", " + castParam(len(args), key) + ")"
		upper = "greatest(m.hw, " + castParam(len(args), key) + ")"
	}
	sql := "SELECT m.hw, " + upper + ", " + value + ", " + future + ", " + lowered + " FROM (SELECT max(" + q + ") AS hw FROM " + from + ") m"
	wm := &watermark{}
	dec := decoderFor(key)
	var clockAt *string
	var above bool
	err := u.withRetry(ctx, "read high-water mark", func() error {
		return u.query(ctx, sql, args, func(row []driver.Value) error {
			var hw *string
			above, _ = row[5].(bool)
			for i, dst := range []**string{&hw, &wm.high, &wm.bookmark, nil, &clockAt} {
				if dst == nil {
					continue
				}
				*dst = nil
				d, err := dec(row[i])
				if err != nil {
					return err
				}
				if d == nil {
					continue
				}
				txt, err := keyText(d, key.Type)
				if err != nil {
					return err
				}
				*dst = &txt
			}
			if hw == nil {
				wm.high = nil // no row has a key
			}
			wm.future = asInt(row[3])
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if clockAt != nil {
		u.t.lowerAboveClock(st, []bool{above}, *clockAt)
	}
	return wm, nil
}

// asInt returns an integer column's value, 0 for NULL.
func asInt(v driver.Value) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case []byte:
		n, _ := strconv.ParseInt(string(x), 10, 64)
		return n
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// asText returns a text column's value, "" for NULL.
func asText(v driver.Value) string {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case string:
		return x
	}
	return ""
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
func checkMarks(marks []*Mark) error {
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
