// This file holds Check: the pre-flight check of a setup (connection,
// dialect, plan, SELECT privileges, svv_table_info, the state store and its
// lock, a checkable sink) that reads no rows and writes nothing, its
// CheckResult, and the Checker ability of a state store or sink.

package redshiftsync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/jmoiron/sqlx"
)

// CheckStatus is the verdict of one check.
type CheckStatus string

// The verdicts of a check. A warning costs speed or comfort, not
// correctness: a setup whose checks are ok or WARN can run.
const (
	CheckOK   CheckStatus = "ok"
	CheckWarn CheckStatus = "WARN"
	CheckFail CheckStatus = "FAIL"
)

// CheckResult is the outcome of one check of Extractor.Check.
type CheckResult struct {
	// Name says what was checked: "connect", "select shop.page_views",
	// "state file out/state.json".
	Name   string      `json:"name"`
	Status CheckStatus `json:"status"`
	// Message says what was found; for a failure, what is wrong.
	Message string `json:"message,omitempty"`
	// Fix says what to do about a failure or warning: a statement to run
	// (GRANT SELECT ON shop.page_views TO reader;) or a setting to change.
	Fix string `json:"fix,omitempty"`
}

// String renders the result as one line: "ok   <name>" (with the message,
// when there is one, after a colon), or "FAIL <name>: <message> — fix: <fix>"
// (WARN likewise).
func (r CheckResult) String() string {
	line := fmt.Sprintf("%-4s %s", r.Status, r.Name)
	if r.Message != "" {
		line += ": " + r.Message
	}
	if r.Fix != "" && r.Status != CheckOK {
		line += " — fix: " + r.Fix
	}
	return line
}

// CheckFailed reports whether any result is a failure.
func CheckFailed(results []CheckResult) bool {
	for _, r := range results {
		if r.Status == CheckFail {
			return true
		}
	}
	return false
}

// Checker is an optional interface of a Sink or a StateStore that can check,
// before a run, that it would accept what the run does to it, without
// writing anything or reading any row of the source. Extractor.Check calls
// it once, after discovery, with the source's identity and the plans;
// pgsink's Sink and StateStore implement it.
type Checker interface {
	Check(ctx context.Context, src SourceInfo, plans []*Plan) []CheckResult
}

// Check tells whether a Run could start and read every planned table, and
// what to do about what stands in its way, one CheckResult per check: it
// connects (TLS as configured), detects the dialect, discovers the plan,
// checks that the role may read every planned table (SELECT, and USAGE on
// the schema), on Redshift that svv_table_info is readable (WARN: without
// it there are no row estimates, so chunks are sized blind and progress
// shows no percentage or time left), that the saved state can be read and
// decoded as Run would (its version, and that it belongs to this source
// and server: ErrStateMismatch), that the store would accept a save (a
// Checker store: FileStore's directory is writable, pgsink's state table
// exists or can be created), that the store's lock (Locker) is free, and
// whatever a Checker sink checks.
//
// Check reads no rows of any table (only the catalog, the state, and
// privilege functions) and writes nothing: the lock is taken and released
// at once, and a FileStore's writability is probed with a temporary file
// removed at once. It is safe to call before Run, and while another run
// goes (whose lock it then reports held). The error is non-nil only when
// ctx ends; every other problem is a FAIL result. A connection that cannot
// be made ends the checks there; a plan that cannot be discovered skips
// the checks of the tables and the sink's.
func (e *Extractor) Check(ctx context.Context) ([]CheckResult, error) {
	c := &checkRun{e: e}
	c.run(ctx)
	return c.out, ctx.Err()
}

// checkRun collects the results of one Check.
type checkRun struct {
	e   *Extractor
	out []CheckResult
}

func (c *checkRun) add(name string, status CheckStatus, msg, fix string) {
	c.out = append(c.out, CheckResult{Name: name, Status: status, Message: msg, Fix: fix})
}

func (c *checkRun) run(ctx context.Context) {
	e := c.e
	db := sqlx.NewDb(e.pool.db, "postgres")
	where := fmt.Sprintf("%s:%d database %s as %s", e.cfg.Host, e.cfg.Port, e.cfg.Database, e.cfg.User)
	if !e.owned {
		where = "the caller's database (NewFromDB)"
	}
	if err := e.pool.db.PingContext(ctx); err != nil {
		c.add("connect", CheckFail, fmt.Sprintf("%s: %v", where, err), "check host, port, database, user, password and sslmode (a server without TLS needs sslmode disable)")
		return
	}
	c.add("connect", CheckOK, where, "")
	dialect := e.cfg.Dialect
	if dialect == "" || dialect == DialectAuto {
		d, err := detectDialect(ctx, db)
		if err != nil {
			c.add("dialect", CheckFail, err.Error(), "set dialect to redshift or postgresql in the configuration")
			return
		}
		dialect = d
	}
	c.add("dialect", CheckOK, string(dialect), "")

	src, err := e.identify(ctx, dialect)
	if err != nil {
		c.add("source identity", CheckFail, err.Error(), "grant the role access to the catalog (current_database(), pg_postmaster_start_time())")
		return
	}
	if src.Server == "" {
		fix := "GRANT EXECUTE ON FUNCTION pg_catalog.pg_control_system() TO " + c.role(ctx) + ";"
		if dialect == DialectRedshift {
			fix = "nothing to grant (this cluster does not report CURRENT_NAMESPACE): keep each cluster's state apart"
		}
		c.add("source identity", CheckWarn, "the server's identity is not readable: a state saved against another server with the same database and schema names cannot be told apart", fix)
	} else {
		c.add("source identity", CheckOK, src.Server, "")
	}

	d, derr := e.Discover(ctx)
	if derr != nil {
		c.add("discover schema "+e.cfg.Schema, CheckFail, derr.Error(), discoverFix(derr))
	} else {
		c.add("discover schema "+e.cfg.Schema, CheckOK, fmt.Sprintf("%d tables planned", len(d.Plans)), "")
		c.privileges(ctx, db, d.Plans)
		if dialect == DialectRedshift {
			c.tableInfo(ctx, db)
		}
	}

	c.state(ctx, src)
	var plans []*Plan
	if d != nil {
		plans = d.Plans
	}
	c.out = append(c.out, e.ab.check(ctx, src, plans, d != nil)...)
}

// role returns the current role, quoted for a GRANT when it must be.
func (c *checkRun) role(ctx context.Context) string {
	var r string
	if err := c.e.pool.db.QueryRowContext(ctx, `SELECT quote_ident(current_user)`).Scan(&r); err != nil {
		return "<role>"
	}
	return r
}

// discoverFix says what to do about a failed discovery.
func discoverFix(err error) string {
	switch {
	case errors.Is(err, ErrNoTables):
		return "check redshift_schema (-schema), include_tables (-tables) and exclude_tables"
	case errors.Is(err, ErrTableSpec):
		return "correct the table specs to name tables and columns of the schema"
	}
	return "grant the role access to the schema's catalog"
}

// privileges checks USAGE on the schema and SELECT on every planned table:
// a table-level grant, or column-level grants covering every column the
// sync reads (all of them).
func (c *checkRun) privileges(ctx context.Context, db *sqlx.DB, plans []*Plan) {
	schema := c.e.cfg.Schema
	role := c.role(ctx)
	var usage bool
	var qSchema string
	if err := db.QueryRowContext(ctx, `SELECT has_schema_privilege($1, 'USAGE'), quote_ident($1)`, schema).Scan(&usage, &qSchema); err != nil {
		c.add("usage on schema "+schema, CheckFail, err.Error(), "")
		return
	}
	if !usage {
		c.add("usage on schema "+schema, CheckFail, "the role may not use the schema, so it can read none of its tables", fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s;", qSchema, role))
	} else {
		c.add("usage on schema "+schema, CheckOK, "", "")
	}
	for _, p := range plans {
		t := p.Table
		name := "select " + t.QualifiedName()
		qualified := quoteName(t.Schema) + "." + quoteName(t.Name)
		var ok bool
		var qTable string
		err := db.QueryRowContext(ctx, `SELECT has_table_privilege($1, 'SELECT'), quote_ident($2) || '.' || quote_ident($3)`, qualified, t.Schema, t.Name).Scan(&ok, &qTable)
		if err != nil {
			c.add(name, CheckFail, err.Error(), "")
			continue
		}
		if ok {
			c.add(name, CheckOK, "", "")
			continue
		}
		fix := fmt.Sprintf("GRANT SELECT ON %s TO %s;", qTable, role)
		missing, err := c.missingColumns(ctx, db, qualified, t)
		switch {
		case err == nil && len(missing) == 0:
			c.add(name, CheckOK, "column-level grants cover every column", "")
		case err == nil && len(missing) < len(t.Columns):
			c.add(name, CheckFail, fmt.Sprintf("permission denied: the role may read some columns but not %s", strings.Join(missing, ", ")), fix)
		default:
			c.add(name, CheckFail, "permission denied: the role may not read the table", fix)
		}
	}
}

// missingColumns returns the columns of t the role may not SELECT.
func (c *checkRun) missingColumns(ctx context.Context, db *sqlx.DB, qualified string, t *Table) ([]string, error) {
	var missing []string
	for _, col := range t.Columns {
		var ok bool
		if err := db.QueryRowContext(ctx, `SELECT has_column_privilege($1, $2, 'SELECT')`, qualified, col.Name).Scan(&ok); err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, col.Name)
		}
	}
	return missing, nil
}

// quoteName quotes an identifier for a privilege function's text argument.
func quoteName(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// tableInfo checks that svv_table_info is readable (Redshift), reading
// only its count for the schema.
func (c *checkRun) tableInfo(ctx context.Context, db *sqlx.DB) {
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM svv_table_info WHERE "schema" = $1`, c.e.cfg.Schema).Scan(&n); err != nil {
		c.add("read svv_table_info", CheckWarn, fmt.Sprintf("unreadable (%v): no row estimates or sort keys, so chunks are sized without knowing the table's size and progress shows no percentage or time left", err),
			fmt.Sprintf("GRANT SELECT ON svv_table_info TO %s; (or ALTER USER %[1]s SYSLOG ACCESS UNRESTRICTED;)", c.role(ctx)))
		return
	}
	c.add("read svv_table_info", CheckOK, "", "")
}

// storeName names the state store in a check.
func storeName(s StateStore) string {
	switch st := s.(type) {
	case *FileStore:
		return "state file " + st.Path
	case fmt.Stringer:
		return st.String()
	case *MemoryStore:
		return "state in memory"
	}
	return "state"
}

// state checks that the saved state decodes as Run would decode it, for
// this source and server, and that the store's lock is free.
func (c *checkRun) state(ctx context.Context, src SourceInfo) {
	e := c.e
	name := storeName(e.ab.store)
	source := e.sourceName(src.Database)
	doc, err := e.ab.store.Load(ctx)
	switch {
	case errors.Is(err, ErrNoCheckpoint) || absent(err):
		c.add(name, CheckOK, "no state saved yet: the first run syncs every table in full", "")
	case err != nil:
		c.add(name, CheckFail, "cannot read it: "+err.Error(), "make the state readable by this user, or point the state elsewhere")
	default:
		check := source
		if e.adopt {
			check = ""
		}
		st, err := decodeState(doc, check)
		if err == nil {
			err = serverBinding{server: src.Server, adopt: e.adopt}.check(st, source)
		}
		switch {
		case errors.Is(err, ErrStateVersion):
			c.add(name, CheckFail, err.Error(), "upgrade redshiftsync")
		case errors.Is(err, ErrStateMismatch):
			c.add(name, CheckFail, err.Error(), "point the state at another location (or remove it) to start over, or adopt it on purpose (WithAdoptState; -adopt-state)")
		case err != nil:
			c.add(name, CheckFail, err.Error(), fmt.Sprintf("move %s away (or restore it from a backup); without it every table syncs in full", strings.TrimPrefix(name, "state file ")))
		default:
			c.add(name, CheckOK, fmt.Sprintf("version %d, %d tables", st.Version, len(st.Tables)), "")
		}
	}
	c.lock(ctx, name)
}

// lock takes the store's lock and releases it at once. A FileStore whose
// lock file does not exist yet is not locked, and its lock file is not
// created here.
func (c *checkRun) lock(ctx context.Context, name string) {
	if c.e.ab.locker == nil {
		return
	}
	lname := "lock of the " + name
	if fs, ok := c.e.ab.store.(*FileStore); ok {
		if _, err := os.Stat(fs.Path + ".lock"); absent(err) {
			c.add(lname, CheckOK, "free", "")
			return
		}
	}
	release, err := c.e.ab.locker.Lock(ctx)
	if err != nil {
		fix := "wait for the other sync to end"
		if !errors.Is(err, ErrLocked) {
			fix = "make the lock readable and writable by this user"
		}
		c.add(lname, CheckFail, err.Error(), fix)
		return
	}
	if release != nil {
		if err := release(); err != nil {
			c.add(lname, CheckFail, "taken, but not released: "+err.Error(), "")
			return
		}
	}
	c.add(lname, CheckOK, "free", "")
}

// Check reports whether a save could replace the file: its directory, or
// the nearest existing directory above it when it does not exist yet (a
// save's caller creates it), accepts a new file. It creates a temporary
// file there and removes it at once; the state file itself is not touched.
func (f *FileStore) Check(context.Context, SourceInfo, []*Plan) []CheckResult {
	name := "write state file " + f.Path
	dir := filepath.Dir(f.Path)
	for {
		fi, err := os.Stat(dir)
		if err == nil && !fi.IsDir() {
			return []CheckResult{{Name: name, Status: CheckFail, Message: dir + " is not a directory", Fix: "point the state at a path in a directory"}}
		}
		if err == nil {
			break
		}
		if !absent(err) {
			return []CheckResult{{Name: name, Status: CheckFail, Message: err.Error(), Fix: "point the state at a directory this user can write"}}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.Path)+".check-*")
	if err != nil {
		return []CheckResult{{Name: name, Status: CheckFail, Message: "cannot create a file in " + dir + ": " + err.Error(), Fix: "make " + dir + " writable by this user, or point the state elsewhere"}}
	}
	tmp.Close()
	if err := os.Remove(tmp.Name()); err != nil {
		return []CheckResult{{Name: name, Status: CheckFail, Message: "cannot remove a file from " + dir + ": " + err.Error(), Fix: "make " + dir + " writable by this user"}}
	}
	return []CheckResult{{Name: name, Status: CheckOK, Message: dir + " is writable"}}
}

// absent reports whether err says a path does not exist: no such file, or
// a file where one of its directories should be (which FileStore.Check
// reports).
func absent(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
