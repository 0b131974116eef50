// This file holds the pre-flight checks of the Sink and the StateStore
// (the redshiftsync.Checker ability): that the destination is not the
// source, and that the role may create or write what a run creates or
// writes, found from privilege functions without writing anything.

package pgsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lib/pq"
	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

var (
	_ redshiftsync.Checker = (*Sink)(nil)
	_ redshiftsync.Checker = (*StateStore)(nil)
)

// String names the store in messages: state "name" in schema.table.
func (s *StateStore) String() string {
	return fmt.Sprintf("state %q in %s", s.name, s.qTable)
}

// Check reports whether a save could write the store's row: the state
// table exists and the role may SELECT, INSERT and UPDATE it, or it can be
// created (CREATE on its schema, or on the database when the schema does
// not exist). It writes nothing.
func (s *StateStore) Check(ctx context.Context, _ redshiftsync.SourceInfo, _ []*redshiftsync.Plan) []redshiftsync.CheckResult {
	return []redshiftsync.CheckResult{checkTable(ctx, s.db, "write "+s.String(), s.schema, s.table, []string{"SELECT", "INSERT", "UPDATE"})}
}

// Check reports, without writing anything, whether a run could load the
// planned tables: the destination is not the source (see SetSource), the
// role may create the destination tables in their schema (CREATE on it,
// or on the database to create it), may keep the registry of its tables
// beside the state table, and, when a plan syncs in full, may create the
// resync copies' schema, and that every destination table that exists is
// one the sink may load into (it created it, or the state names it; see
// ErrNotOwned).
func (s *Sink) Check(ctx context.Context, src redshiftsync.SourceInfo, plans []*redshiftsync.Plan) []redshiftsync.CheckResult {
	var out []redshiftsync.CheckResult
	if err := s.SetSource(ctx, src); err != nil {
		fix := "point the destination at another database, or load into another schema (pgsink.WithSchema)"
		if !errors.Is(err, redshiftsync.ErrDestinationIsSource) {
			fix = "check the destination's connection"
		}
		return append(out, redshiftsync.CheckResult{Name: "destination is not the source", Status: redshiftsync.CheckFail, Message: err.Error(), Fix: fix})
	}
	out = append(out, redshiftsync.CheckResult{Name: "destination is not the source", Status: redshiftsync.CheckOK})
	schemas := map[string]bool{}
	full := false
	for _, p := range plans {
		schema := p.Table.Schema
		if s.opts.schema != "" {
			schema = s.opts.schema
		}
		schemas[schema] = true
		full = full || p.Mode == redshiftsync.ModeFull
	}
	names := make([]string, 0, len(schemas))
	for n := range schemas {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		name := "create tables in destination schema " + n
		if n == ResyncSchema {
			out = append(out, redshiftsync.CheckResult{Name: name, Status: redshiftsync.CheckFail, Message: "the schema holds pgsink's resync copies", Fix: "load into another schema (pgsink.WithSchema)"})
			continue
		}
		out = append(out, checkSchema(ctx, s.db, name, n))
	}
	out = append(out, s.checkOwned(ctx, plans)...)
	out = append(out, checkTable(ctx, s.db, "write table registry "+s.qRegistry(), s.opts.stateSchema, RegistryTable, []string{"SELECT", "INSERT", "DELETE"}))
	if full {
		out = append(out, checkSchema(ctx, s.db, "create resync copies in schema "+ResyncSchema, ResyncSchema))
	}
	return out
}

// checkTable checks that the role holds privs on schema.table, or may
// create it.
func checkTable(ctx context.Context, db *sql.DB, name, schema, table string, privs []string) redshiftsync.CheckResult {
	fail := func(msg, fix string) redshiftsync.CheckResult {
		return redshiftsync.CheckResult{Name: name, Status: redshiftsync.CheckFail, Message: msg, Fix: fix}
	}
	var found bool
	var qTable, role string
	err := db.QueryRowContext(ctx, `SELECT to_regclass(q) IS NOT NULL, q, quote_ident(current_user)
FROM (SELECT quote_ident($1) || '.' || quote_ident($2) AS q) n`, schema, table).Scan(&found, &qTable, &role)
	if err != nil {
		return fail(err.Error(), "check the destination's connection")
	}
	if !found {
		r := checkSchema(ctx, db, name, schema)
		if r.Status == redshiftsync.CheckOK {
			r.Message = qTable + " does not exist yet; the first run creates it"
		}
		return r
	}
	// One privilege at a time: with a list, has_table_privilege is true
	// when any one of them is held.
	var missing []string
	for _, p := range privs {
		var ok bool
		if err := db.QueryRowContext(ctx, `SELECT has_table_privilege($1, $2)`, qTable, p).Scan(&ok); err != nil {
			return fail(err.Error(), "check the destination's connection")
		}
		if !ok {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		list := strings.Join(missing, ", ")
		return fail(fmt.Sprintf("the role may not %s %s", list, qTable), fmt.Sprintf("GRANT %s ON %s TO %s;", list, qTable, role))
	}
	return redshiftsync.CheckResult{Name: name, Status: redshiftsync.CheckOK}
}

// checkSchema checks that the role may create tables in schema: CREATE and
// USAGE on it, or CREATE on the database when it does not exist.
func checkSchema(ctx context.Context, db *sql.DB, name, schema string) redshiftsync.CheckResult {
	var exists, create, usage, createDB bool
	var qSchema, qDB, role string
	err := db.QueryRowContext(ctx, `SELECT n.oid IS NOT NULL,
	COALESCE(has_schema_privilege(n.oid, 'CREATE'), false), COALESCE(has_schema_privilege(n.oid, 'USAGE'), false),
	has_database_privilege(current_database(), 'CREATE'),
	quote_ident($1), quote_ident(current_database()), quote_ident(current_user)
FROM (SELECT 1) one LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = $1`, schema).Scan(&exists, &create, &usage, &createDB, &qSchema, &qDB, &role)
	fail := func(msg, fix string) redshiftsync.CheckResult {
		return redshiftsync.CheckResult{Name: name, Status: redshiftsync.CheckFail, Message: msg, Fix: fix}
	}
	switch {
	case err != nil:
		return fail(err.Error(), "check the destination's connection")
	case !exists && !createDB:
		return fail(fmt.Sprintf("schema %s does not exist and the role may not create it", qSchema),
			fmt.Sprintf("CREATE SCHEMA %s AUTHORIZATION %s; (or GRANT CREATE ON DATABASE %s TO %[2]s;)", qSchema, role, qDB))
	case !exists:
		return redshiftsync.CheckResult{Name: name, Status: redshiftsync.CheckOK, Message: fmt.Sprintf("schema %s does not exist yet; the first run creates it", qSchema)}
	case !create || !usage:
		return fail(fmt.Sprintf("the role may not create tables in schema %s", qSchema), fmt.Sprintf("GRANT USAGE, CREATE ON SCHEMA %s TO %s;", qSchema, role))
	}
	return redshiftsync.CheckResult{Name: name, Status: redshiftsync.CheckOK}
}

// checkOwned reports the destination tables that exist and that Open would
// refuse with ErrNotOwned: neither the registry lists them nor the state
// names them.
func (s *Sink) checkOwned(ctx context.Context, plans []*redshiftsync.Plan) []redshiftsync.CheckResult {
	var out []redshiftsync.CheckResult
	fail := func(name, msg, fix string) {
		out = append(out, redshiftsync.CheckResult{Name: name, Status: redshiftsync.CheckFail, Message: msg, Fix: fix})
	}
	doc, err := s.state.load(ctx, s.db)
	if err != nil {
		fail("read "+s.state.String(), err.Error(), "check the destination's connection")
		return out
	}
	// The tables the state names, read through the extractor's own view of
	// the document (its format is not pgsink's); a document it cannot read
	// names none (the state's own check reports it).
	named := map[string]bool{}
	if doc != nil {
		if st, err := redshiftsync.InspectState(doc); err == nil {
			for name := range st.Tables {
				named[name] = true
			}
		}
	}
	registry, err := tableExists(ctx, s.db, s.opts.stateSchema, RegistryTable)
	if err != nil {
		fail("read table registry "+s.qRegistry(), err.Error(), "drop or rename what stands there")
		return out
	}
	for _, p := range plans {
		schema := p.Table.Schema
		if s.opts.schema != "" {
			schema = s.opts.schema
		}
		qname := sqlident.Qualified(schema, p.Table.Name)
		name := "load into " + qname
		exists, err := tableExists(ctx, s.db, schema, p.Table.Name)
		switch {
		case err != nil:
			fail(name, err.Error(), "drop or rename it, or load into another schema (pgsink.WithSchema)")
			continue
		case !exists:
			continue // the schema's check says whether it can be created
		case named[p.Table.QualifiedName()]:
			continue // the state names it: OpenState adopts it
		}
		listed := false
		if registry {
			if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+s.qRegistry()+` WHERE relid = $1::regclass)`, qname).Scan(&listed); err != nil {
				fail(name, err.Error(), "grant the role SELECT on "+s.qRegistry())
				continue
			}
		}
		if !listed {
			fail(name, fmt.Sprintf("%s exists and pgsink did not create it (%s does not list it, the state does not name it), so a run would refuse to load into it", qname, s.qRegistry()),
				fmt.Sprintf("load into another schema (pgsink.WithSchema) or database, or drop or rename the table; if it is meant to receive these rows: INSERT INTO %s (relid) VALUES (%s::regclass);", s.qRegistry(), pq.QuoteLiteral(qname)))
		}
	}
	return out
}
