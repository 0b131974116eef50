// This file holds replication planning: replication-key inference, the read
// plan of each table, and the SQL of its keyset pages.

package redshiftsync

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// Mode is how a table is synced.
type Mode string

// The modes.
//
// ModeIncremental reads the rows whose replication key is at or above the
// bookmark, up to a high-water mark taken when the sync begins, in keyset
// pages ordered by (key, primary key...). The bookmark is a sync's
// high-water mark once the transactions in progress when it was taken have
// ended (see the README's "Late commits"), and starts the next sync inclusively (>=), so rows that
// were committed later with the bookmark's key value are read too. Rows whose key is NULL cannot be
// placed by the key: every incremental sync reads them all again, after the
// other rows, paged by primary key. Delivery is at-least-once.
//
// ModeFull reads the whole table on every sync: in keyset pages ordered by the
// primary key when there is one (so a crash resumes mid-table); otherwise, on
// PostgreSQL 14+, in block order with the last row's ctid as position (a
// crash re-reads the rows since the last checkpoint), else in one
// streaming read (a crash re-reads the
// table). On PostgreSQL every read of a full sync imports one exported
// snapshot, so the sync is the table at one instant. A ResyncSink is told
// when each full sync begins and ends.
const (
	ModeIncremental Mode = "incremental"
	ModeFull        Mode = "full"
)

// Plan is how one table will be read.
type Plan struct {
	Table *Table `json:"table"`
	Mode  Mode   `json:"mode"`
	// ReplicationKey is the column whose values order an incremental sync.
	ReplicationKey string `json:"replication_key,omitempty"`
	// AppendOnly is true when the key only grows on insert (an identity
	// column, a creation timestamp): updates to old rows are not seen.
	AppendOnly bool `json:"append_only,omitempty"`
	// Reason says why the mode and key were chosen.
	Reason string `json:"reason"`
	// Warnings name what the user should know about the plan. A Run adds
	// what it finds while syncing (rows whose key is above the server's
	// clock), reported in TableReport.Warnings.
	Warnings []string `json:"warnings,omitempty"`
	// Deletes says whether delete detection runs for the table ("on: …")
	// or why not ("off: …"); empty when delete_detection is off.
	Deletes string `json:"deletes,omitempty"`
	// SchemaChange is how the table's columns changed since its last
	// sync, which its next sync tells a SchemaSink; nil when nothing
	// changed (or the state holds no column list for it).
	SchemaChange *SchemaChange `json:"schema_change,omitempty"`
	// Unload says whether the table is read with UNLOAD and why; nil
	// unless unload_s3_uri is set.
	Unload *UnloadPlan `json:"unload,omitempty"`
}

// keyColumn returns the replication key's column.
func (p *Plan) keyColumn() Column {
	c, _ := p.Table.Column(p.ReplicationKey)
	return c
}

// updateKeyNames are the column names that track updates, best first.
var updateKeyNames = []string{
	"updated_at", "last_updated", "last_update", "last_modified", "modified_at",
	"modified_on", "updated_on", "update_time", "updated_time", "modify_time",
	"modified", "updated", "last_modified_at", "last_updated_at", "updatedat", "modifiedat",
}

// createKeyNames are the column names that record creation: append-only keys.
var createKeyNames = []string{
	"created_at", "inserted_at", "created_on", "create_time", "creation_time",
	"insert_time", "inserted_on", "createdat", "created", "creation_date",
}

func nameRank(names []string, col string) int {
	col = strings.ToLower(col)
	for i, n := range names {
		if n == col {
			return i
		}
	}
	return -1
}

func isTimestamp(lt LogicalType) bool {
	return lt == TypeNaiveDateTime || lt == TypeUTCDateTime
}

// inferKey chooses a replication key for t, or none, and says why. The
// ranking: update-tracking timestamps (NOT NULL first, then the leading sort
// key, then the name's rank); an identity or serial integer primary key
// (append-only); a creation timestamp (append-only). A business date is never
// chosen merely for being a date.
func inferKey(t *Table) (key string, appendOnly bool, reason string) {
	best, bestScore := "", -1
	for _, c := range t.Columns {
		r := nameRank(updateKeyNames, c.Name)
		if r < 0 || !isTimestamp(c.Type) {
			continue
		}
		score := 1000 - r
		if c.Name == t.SortKey {
			score += 1000
		}
		if !c.Nullable {
			score += 2000
		}
		if score > bestScore {
			best, bestScore = c.Name, score
		}
	}
	if best != "" {
		c, _ := t.Column(best)
		why := fmt.Sprintf("%s is an update-tracking %s column", best, c.SourceType)
		if !c.Nullable {
			why += ", NOT NULL"
		}
		if best == t.SortKey {
			why += ", and the leading sort key"
		}
		return best, false, why
	}
	if len(t.PrimaryKey) == 1 {
		c, _ := t.Column(t.PrimaryKey[0])
		if (c.Type == TypeShort || c.Type == TypeInt || c.Type == TypeLong) && c.Identity {
			return c.Name, true, fmt.Sprintf("%s is an identity primary key: append-only, updates to existing rows are not seen", c.Name)
		}
	}
	for _, c := range t.Columns {
		if nameRank(createKeyNames, c.Name) >= 0 && isTimestamp(c.Type) {
			return c.Name, true, fmt.Sprintf("%s is a creation timestamp: append-only, updates to existing rows are not seen", c.Name)
		}
	}
	return "", false, "no update-tracking timestamp, identity key or creation timestamp: full resync every run"
}

// makePlan decides how to read t. A spec's strategy and key always win;
// forceFull is the configuration's enable_complete_resync.
func makePlan(t *Table, spec *TableSpec, forceFull bool) *Plan {
	p := &Plan{Table: t}
	if !t.PrimaryKeyEnforced && len(t.PrimaryKey) > 0 {
		p.Warnings = append(p.Warnings, "the primary key is not enforced by the source: rows with equal keys may exist (a sink that upserts by the key keeps one of them); pages never end inside a group of rows the source compares equal, so none is skipped")
	}
	switch {
	case forceFull:
		p.Mode, p.Reason = ModeFull, "enable_complete_resync is set"
		return p
	case spec != nil && spec.Strategy == StrategyFull:
		p.Mode, p.Reason = ModeFull, "the table spec says FULL"
		return p
	case spec != nil && spec.ReplicationKey != "":
		p.Mode, p.ReplicationKey, p.Reason = ModeIncremental, spec.ReplicationKey, "the table spec names the replication key"
		return p
	}
	key, appendOnly, reason := inferKey(t)
	if key == "" {
		p.Mode, p.Reason = ModeFull, reason
		if spec != nil && spec.Strategy == StrategyIncremental {
			p.Warnings = append(p.Warnings, "the table spec says INCREMENTAL but no replication key qualifies: syncing in full")
		}
		return p
	}
	p.Mode, p.ReplicationKey, p.AppendOnly, p.Reason = ModeIncremental, key, appendOnly, reason
	return p
}

// readShape is the SQL of one phase of a table's read: keyset pages over
// orderBy, or (with no orderBy) one streaming read.
type readShape struct {
	selectList string // quoted, with text casts where the driver would lose the form
	// textList is selectList for a query without parameters, when it
	// differs ("" when not): see rowExpr.
	textList string
	// wireList is selectList for wire.go's reader ("" when the same): the
	// columns of pgSendFunc by name, their binary forms asked for by
	// format code (see wireSendOID); used when wire is set.
	wireList string
	wire     bool
	from     string   // quoted schema.table
	filters  []string // fixed predicates, parameters $1.. as bound by args
	args     []any
	orderBy  []Column // the keyset tuple; empty for a streaming read
	orderIdx []int    // position of each orderBy column in the select list
	unique   bool     // the tuple is known unique (an enforced primary key)
	// rowCompare makes a page resume with one row comparison (PostgreSQL),
	// not tupleAfter's expansion (Redshift has no row comparison).
	rowCompare bool
	columns    []string // quoted names of the select list's columns, in order
	rankAlias  []string // quoted aliases of the ordering columns in a ranked page, unlike any column's name
	// serverTies is true when two key texts may differ although the server
	// calls the values equal (see textEqualsValue): the non-unique page
	// loop then reads ranked pages.
	serverTies bool
	// rangeBy is the column partitions range over when it is not the
	// leading ordering column (progress.ChunkColumn); nil for that one.
	rangeBy *Column
	// rangeNullable is true when the shape's rows may hold NULL in the
	// column partitions range over: key ranges on it (Lower <= k < Upper)
	// miss those rows, which a partition of their own reads
	// (partition.Null).
	rangeNullable bool
}

// rangeColumn returns the column the shape's partitions range over.
func (s *readShape) rangeColumn() Column {
	if s.rangeBy != nil {
		return *s.rangeBy
	}
	return s.orderBy[0]
}

// textEqualsValue reports whether two values of a column of type lt are
// equal for the server exactly when their key texts (keyText) are equal.
// keyText is canonical for these types: integers, decimals with trailing
// zeros dropped (1, 1.0, 1.00 print "1"), floats with -0 as 0, dates and
// timestamps in one form (instants in UTC), booleans, times of day. Strings
// are not: citext, a nondeterministic collation, or a type the library does
// not know (delivered as text) call different texts equal.
func textEqualsValue(lt LogicalType) bool {
	switch lt {
	case TypeShort, TypeInt, TypeLong, TypeDecimal, TypeFloat, TypeDouble,
		TypeNaiveDate, TypeNaiveDateTime, TypeUTCDateTime, TypeBoolean, TypeNaiveTime:
		return true
	}
	return false
}

// selectExpr returns the select-list expression of c on dialect.
func selectExpr(c Column, dialect Dialect) string {
	q := sqlident.Quote(c.Name)
	switch {
	case c.Type == TypeFloat && dialect == DialectRedshift:
		// Redshift prints a REAL with at most 8 significant digits
		// (extra_float_digits 2 is its maximum), which do not always read
		// back as the same REAL; widened to DOUBLE PRECISION (exact) it
		// prints 17, which do.
		return "CAST(" + q + " AS DOUBLE PRECISION) AS " + q
	case c.Type == TypeNaiveTime || c.Type == TypeTimeTZ:
		// lib/pq parses time into a time.Time dated year 0, which loses
		// 24:00:00 and reformats the offset: keep the server's text.
		return "CAST(" + q + " AS VARCHAR) AS " + q
	case (c.Type == TypeNaiveDate || c.Type == TypeNaiveDateTime || c.Type == TypeUTCDateTime) && dialect == DialectPostgres:
		// As below, and then as name: lib/pq hands the text of a type it
		// does not decode over as the bytes it read, where a VARCHAR is
		// copied into a string first, an allocation per value that
		// parseDateTimeText throws away. A date's text is far shorter than
		// name's 63 bytes.
		return "CAST(CAST(" + q + " AS VARCHAR) AS name) AS " + q
	case c.Type == TypeInterval && dialect == DialectRedshift:
		// Redshift prints an INTERVALY2M or INTERVALD2S value in the
		// interval style only when cast to text ("1 year 8 mons", where
		// the value itself prints "1 years 8 mons":
		// https://docs.aws.amazon.com/redshift/latest/dg/r_interval_data_types.html).
		return "CAST(" + q + " AS VARCHAR) AS " + q
	case c.Type == TypeNaiveDate || c.Type == TypeNaiveDateTime || c.Type == TypeUTCDateTime:
		// Parsed by parseDateTimeText, several times cheaper than the
		// driver's general timestamp parser, which dominated the row path.
		return "CAST(" + q + " AS VARCHAR) AS " + q
	}
	// GEOMETRY and GEOGRAPHY are selected raw: the server sends their
	// hexadecimal EWKB, every bit of every coordinate, whatever the size
	// (as UNLOAD and redshift_connector read them). ST_AsEWKT would print
	// 15 significant digits and fail past a 64-KB VARCHAR
	// (https://docs.aws.amazon.com/redshift/latest/dg/ST_AsEWKT-function.html).
	return q
}

// sourceAlias is the alias of the source table in a page query.
const sourceAlias = "src"

// castParam returns "$n::type", binding a text value exactly to c's type.
func castParam(n int, c Column) string {
	return "$" + strconv.Itoa(n) + "::" + c.SourceType
}

// pageSQL returns the query of the next page: the rows of the shape strictly
// after the tuple after (nil: from the start), in tuple order, at most limit.
func (s *readShape) pageSQL(after []string, limit int) (string, []any) {
	return s.pageQuery("", after, limit)
}

// rankedPageSQL returns pageSQL's page with one more column after the
// table's: the dense_rank of the row's ordering tuple within the page. Rows
// of equal rank are equal by the server's own comparison of every ordering
// column (the operators and collations its ORDER BY, "=" and ">" use), so
// the rows that share the last row's tuple are those of the last rank,
// whatever their texts: citext "x@y" and "X@Y", "Straße" and "STRASSE" in
// a nondeterministic collation. Comparing the texts in Go would end a page
// inside such a group, and "k > last" would then skip the rest of it.
//
// The rank is computed over the LIMITed page only (a subquery), so it costs
// a pass over the page's rows, not over the table; PostgreSQL's window reads
// the subquery's rows in the order they already have, and Redshift (which
// has dense_rank but no row-value comparison, none used here) ranks the rows
// its leader node already merged for the page's ORDER BY. That pass still
// costs the server about half a microsecond a row (PostgreSQL 15, a
// 10,000-row page of a text key with a 100-byte column: 6.3 ms plain, 10.8
// ms ranked, medians of 9 EXPLAIN ANALYZE runs), so only orderings with a
// column whose texts can differ for equal values (serverTies) pay it; for
// the others equal texts are equal values.
func (s *readShape) rankedPageSQL(after []string, limit int) (string, []any) {
	order := make([]string, len(s.orderBy))
	var inner string
	for i, c := range s.orderBy {
		inner += ", " + sourceAlias + "." + sqlident.Quote(c.Name) + " AS " + s.rankAlias[i]
		order[i] = "p." + s.rankAlias[i]
	}
	q, args := s.pageQuery(inner, after, limit)
	outer := make([]string, len(s.columns))
	for i, c := range s.columns {
		outer[i] = "p." + c
	}
	by := strings.Join(order, ", ")
	return "SELECT " + strings.Join(outer, ", ") + ", dense_rank() OVER (ORDER BY " + by + ") FROM (" + q + ") p ORDER BY " + by, args
}

// pageQuery is pageSQL with extra after the select list.
func (s *readShape) pageQuery(extra string, after []string, limit int) (string, []any) {
	args := append([]any(nil), s.args...)
	where := append([]string(nil), s.filters...)
	if after != nil {
		pred, a := tupleAfter(s.orderBy, after, len(args)+1)
		if s.rowCompare {
			pred, a = rowAfter(s.orderBy, after, len(args)+1)
		}
		where = append(where, pred)
		args = append(args, a...)
	}
	// The table is aliased so that ORDER BY names its columns, not the
	// select list's text casts of the same name: an order by text would
	// disagree with the key comparisons (and use no index).
	q := "SELECT " + s.list(len(args)) + extra + " FROM " + s.from + " " + sourceAlias
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if len(s.orderBy) > 0 {
		names := make([]string, len(s.orderBy))
		for i, c := range s.orderBy {
			names[i] = sourceAlias + "." + sqlident.Quote(c.Name)
		}
		q += " ORDER BY " + strings.Join(names, ", ") + " LIMIT " + strconv.Itoa(limit)
	}
	return q, args
}

// tieSQL returns the query of every row of the shape whose tuple equals tuple,
// unordered: the tie group that a page cut through.
func (s *readShape) tieSQL(tuple []string) (string, []any) {
	args := append([]any(nil), s.args...)
	where := append([]string(nil), s.filters...)
	for i, c := range s.orderBy {
		args = append(args, tuple[i])
		where = append(where, sqlident.Quote(c.Name)+" = "+castParam(len(args), c))
	}
	return "SELECT " + s.list(len(args)) + " FROM " + s.from + " WHERE " + strings.Join(where, " AND "), args
}

// list returns the select list of a row-path query with n parameters.
func (s *readShape) list(n int) string {
	switch {
	case s.wire && s.wireList != "":
		return s.wireList
	case n == 0 && s.textList != "":
		return s.textList
	}
	return s.selectList
}

// tupleAfter builds "(c1, c2, ...) > (v1, v2, ...)" without row-value
// comparison, which Redshift lacks: c1 >= v1 AND (c1 > v1 OR (c1 = v1 AND
// (c2 > v2 OR ...))).
func tupleAfter(cols []Column, vals []string, firstParam int) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, len(cols))
	for i, c := range cols {
		n := firstParam + i
		args = append(args, vals[i])
		q := sqlident.Quote(c.Name)
		if i == len(cols)-1 {
			b.WriteString(q + " > " + castParam(n, c))
		} else {
			b.WriteString("(" + q + " > " + castParam(n, c) + " OR (" + q + " = " + castParam(n, c) + " AND ")
		}
	}
	b.WriteString(strings.Repeat("))", len(cols)-1))
	// The leading "c1 >= v1" is implied by the rest, but lets the planner
	// start an index range scan at v1 instead of filtering from the start
	// of the index on every page.
	return "(" + sqlident.Quote(cols[0].Name) + " >= " + castParam(firstParam, cols[0]) + " AND (" + b.String() + "))", args
}

// rowAfter builds "(c1, c2, ...) > (v1, v2, ...)" as PostgreSQL's row
// comparison, which the planner both uses as one index condition and
// estimates by its leading column. tupleAfter's expansion is estimated as
// its parts multiplied: the rows after the position as a fraction of the
// table, squared, so that the last pages of a long key range look nearly
// empty and the planner sorts them instead of walking the index (a bitmap
// scan, an on-disk sort and parallel workers per page: the first
// incremental sync of a 5M-row table slowed to a quarter of its rate,
// BENCHMARKS.md). For columns that are never NULL (the ordering's are
// not), the two are the same rows.
func rowAfter(cols []Column, vals []string, firstParam int) (string, []any) {
	names := make([]string, len(cols))
	params := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		names[i] = sqlident.Quote(c.Name)
		params[i] = castParam(firstParam+i, c)
		args[i] = vals[i]
	}
	if len(cols) == 1 {
		return names[0] + " > " + params[0], args
	}
	return "(" + strings.Join(names, ", ") + ") > (" + strings.Join(params, ", ") + ")", args
}

// lowerBound returns the inclusive lower bound of an incremental sync from
// the bookmark from: the bookmark less the lookback for a timestamp key,
// computed here and bound as a value of the key's type. Redshift takes an
// interval only as a literal of the statement's text ("the INTERVAL keyword
// with a numeric quantity and a supported date part",
// https://docs.aws.amazon.com/redshift/latest/dg/r_interval_literals.html),
// not as a bound parameter; and a timestamp less a whole number of
// microseconds is the same instant on both dialects. An infinite bookmark
// is kept as it is.
func lowerBound(from string, lookback time.Duration, key Column) string {
	if lookback <= 0 || !isTimestamp(key.Type) {
		return from
	}
	t, ok := parseDateTimeText(from)
	if !ok {
		return from
	}
	return timeText(t.Add(-lookback.Truncate(time.Microsecond)), key.Type)
}

// shapes returns the read shapes of a plan's phase.
func (p *Plan) shape(phase string, prog *progress, lookback time.Duration, dialect Dialect) *readShape {
	t := p.Table
	exprs, texts, wires := make([]string, len(t.Columns)), make([]string, len(t.Columns)), make([]string, len(t.Columns))
	for i, c := range t.Columns {
		exprs[i], texts[i], wires[i] = rowExpr(c, dialect, true), rowExpr(c, dialect, false), wireExpr(c, dialect)
	}
	s := &readShape{selectList: strings.Join(exprs, ", "), from: sqlident.Qualified(t.Schema, t.Name)}
	if text := strings.Join(texts, ", "); text != s.selectList {
		s.textList = text
	}
	if w := strings.Join(wires, ", "); w != s.selectList {
		s.wireList = w
	}
	var pk []Column
	for _, name := range t.PrimaryKey {
		c, _ := t.Column(name)
		pk = append(pk, c)
	}
	s.unique = len(pk) > 0 && t.PrimaryKeyEnforced && dialect != DialectRedshift
	s.rowCompare = dialect == DialectPostgres
	switch {
	case p.Mode == ModeFull:
		s.orderBy = pk
	case phase == phaseNullKeys:
		s.filters = []string{sqlident.Quote(p.ReplicationKey) + " IS NULL"}
		s.orderBy = pk
	default:
		key := p.keyColumn()
		q := sqlident.Quote(key.Name)
		s.filters = []string{q + " IS NOT NULL"}
		if prog.From != nil {
			s.args = append(s.args, lowerBound(*prog.From, lookback, key))
			s.filters = append(s.filters, q+" >= "+castParam(len(s.args), key))
		}
		if prog.HighWater != nil {
			s.args = append(s.args, *prog.HighWater)
			s.filters = append(s.filters, q+" <= "+castParam(len(s.args), key))
		}
		s.orderBy = append([]Column{key}, pk...)
	}
	// The rows phase of an incremental sync filters the key's NULLs out;
	// a full sync's leading key column is nullable where the catalog says
	// so (Redshift enforces NOT NULL, never a primary key).
	s.rangeNullable = len(s.orderBy) > 0 && s.orderBy[0].Nullable && (p.Mode == ModeFull || phase == phaseNullKeys)
	if prog != nil && prog.ChunkColumn != "" && phase == phaseRows {
		if c, ok := t.Column(prog.ChunkColumn); ok {
			s.rangeBy, s.rangeNullable = &c, c.Nullable
		}
	}
	for _, c := range s.orderBy {
		s.orderIdx = append(s.orderIdx, t.ColumnIndex(c.Name))
		s.serverTies = s.serverTies || !textEqualsValue(c.Type)
	}
	s.columns = make([]string, len(t.Columns))
	for i, c := range t.Columns {
		s.columns[i] = sqlident.Quote(c.Name)
	}
	for i := range s.orderBy {
		alias := "rs_order_" + strconv.Itoa(i+1)
		for t.ColumnIndex(alias) >= 0 {
			alias += "_"
		}
		s.rankAlias = append(s.rankAlias, sqlident.Quote(alias))
	}
	return s
}

// within returns the shape narrowed to one partition's key range on the
// column it ranges over (rangeColumn): Lower <= lead < Upper, or lead IS NULL for the
// partition of the NULLs.
func (s *readShape) within(p *partition) *readShape {
	c := *s
	c.filters = append([]string(nil), s.filters...)
	c.args = append([]any(nil), s.args...)
	lead := s.rangeColumn()
	q := sqlident.Quote(lead.Name)
	if p.Null {
		c.filters = append(c.filters, q+" IS NULL")
		return &c
	}
	if p.Lower != nil {
		c.args = append(c.args, *p.Lower)
		c.filters = append(c.filters, q+" >= "+castParam(len(c.args), lead))
	}
	if p.Upper != nil {
		c.args = append(c.args, *p.Upper)
		c.filters = append(c.filters, q+" < "+castParam(len(c.args), lead))
	}
	return &c
}
