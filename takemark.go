// This file holds how a watermark is read from the source: the mark taken
// in one statement with what is in progress on PostgreSQL (pg_locks,
// pg_prepared_xacts, pg_stat_activity), the release check's view of the
// transactions, the clock bound of timestamp keys, and Redshift's clock-only
// watermark.

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
	// skipped: give writers a role of their own (see the README). An
	// exporter of a full resync's snapshot renames itself while it holds
	// the snapshot (snapshotAppName): it is read only, and another table's
	// resync must not hold this table's bookmark either.
	pgOthers = `a.pid <> pg_backend_pid() AND a.datid = ` + pgDatabaseOID + ` AND NOT coalesce(a.application_name IN ('redshiftsync', '` + snapshotAppName + `') AND ` +
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
// pendingMark for why that matters. It returns no mark when no row has a key.
//
// For a timestamp or date key, it first lowers st's bookmark and pending
// marks that are above the mark's clock bound to that bound (see
// lowerAboveClock): it changes st.
func (u *unit) takeMark(ctx context.Context, st *tableState) ([]*pendingMark, *txView, *watermark, error) {
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
		mark    []*pendingMark
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
	err := u.withRetry(ctx, StepReadHighWater, func() error {
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
				m := &pendingMark{Value: *val, At: view.at, XMax: uint64(asInt(row[4]))}
				if vx := asText(row[5]); vx != "" {
					m.VXIDs = strings.Split(vx, ",")
				}
				slices.Sort(m.VXIDs)
				mark = []*pendingMark{m}
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
func (s *tableSync) lowerAboveClock(st *tableState, above []bool, bound string) {
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
	var pending []*pendingMark
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
	err := u.withRetry(ctx, StepReadTransactions, func() error {
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
//
// An IDENTITY key gets the same bound in time: Redshift documents that
// IDENTITY values are unique but not assigned in load order (parallel
// COPY and INSERT ... SELECT hand out values by slice; "CREATE TABLE",
// IDENTITY clause, https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html),
// so a transaction that commits later may hold values below the maximum
// read now. Its mark (the maximum, at the server's time) stays pending
// until it is redshiftFloor old and older than the oldest transaction in
// progress that SVV_TRANSACTIONS shows (see identityReleased); the
// bookmark is the newest mark released, so every sync re-reads the rows
// loaded within redshiftFloor. Other keys get no protection beyond the
// high-water mark.
func (u *unit) redshiftWatermark(ctx context.Context, st *tableState) (*watermark, error) {
	key := u.t.plan.keyColumn()
	q := sqlident.Quote(key.Name)
	from := sqlident.Qualified(u.t.plan.Table.Schema, u.t.plan.Table.Name)
	var clock, bound, clockBound string
	timed := clockExpr(key, "x") != ""
	identity := !timed && key.Identity
	if timed || identity {
		// Leader-node functions and system views cannot be mixed with a
		// user table's rows in one Redshift query: read the clock first.
		// GETDATE() is the statement's start, in UTC.
		floor := fmt.Sprintf("interval '%d seconds'", int64(redshiftFloor/time.Second))
		sql := "SELECT CAST(getdate() AS VARCHAR), CAST(least(getdate() - " + floor + ", " +
			"coalesce((SELECT min(txn_start) FROM svv_transactions WHERE pid <> pg_backend_pid() AND txn_db = current_database()), getdate())) AS VARCHAR), " +
			"CAST(getdate() - " + floor + " AS VARCHAR)"
		err := u.withRetry(ctx, StepReadClock, func() error {
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
	} else if prev := newestSaved(st); prev != nil {
		args = append(args, *prev)
		value = "greatest(" + value + ", " + castParam(len(args), key) + ")"
		upper = "greatest(m.hw, " + castParam(len(args), key) + ")"
	}
	sql := "SELECT m.hw, " + upper + ", " + value + ", " + future + ", " + lowered + " FROM (SELECT max(" + q + ") AS hw FROM " + from + ") m"
	wm := &watermark{}
	dec := decoderFor(key)
	var clockAt *string
	var above bool
	err := u.withRetry(ctx, StepReadHighWater, func() error {
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
	if identity {
		return identityMarks(st, wm, clock, bound)
	}
	return wm, nil
}

// newestSaved returns the newest value st holds: its newest pending mark's,
// else its bookmark (nil for none).
func newestSaved(st *tableState) *string {
	if n := len(st.Pending); n > 0 {
		return &st.Pending[n-1].Value
	}
	return st.Bookmark
}

// redshiftTimeLayout is how CAST(timestamp AS VARCHAR) prints on Redshift.
const redshiftTimeLayout = "2006-01-02 15:04:05.999999"

// identityMarks turns the mark of an IDENTITY key on Redshift (wm.bookmark,
// as redshiftWatermark computed it, taken at the server's time clock) into
// a pending mark, and releases the pending marks, oldest first, that were
// taken at or before bound: redshiftFloor before clock, and not after the
// start of the oldest transaction in progress that SVV_TRANSACTIONS shows.
// wm.bookmark becomes the newest released mark's value (nil: keep the
// bookmark).
func identityMarks(st *tableState, wm *watermark, clock, bound string) (*watermark, error) {
	at, err := time.Parse(redshiftTimeLayout, clock)
	if err != nil {
		return nil, fmt.Errorf("redshiftsync: read Redshift's clock: %q: %w", clock, err)
	}
	limit, err := time.Parse(redshiftTimeLayout, bound)
	if err != nil {
		return nil, fmt.Errorf("redshiftsync: read Redshift's clock: %q: %w", bound, err)
	}
	marks := slices.Clone(st.Pending)
	if wm.bookmark != nil {
		marks = append(marks, &pendingMark{Value: *wm.bookmark, At: at})
	}
	n := 0
	for n < len(marks) && !marks[n].At.After(limit) {
		n++
	}
	wm.bookmark = nil
	if n > 0 {
		v := marks[n-1].Value
		wm.bookmark = &v
	}
	wm.pending = collapse(marks[n:])
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
