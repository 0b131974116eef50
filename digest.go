// This file holds the range digests of delete detection: the key space of a
// table's primary key (its columns, how the source compares and hashes
// them), the SQL that computes one digest row per key range in a single
// scan, and the same digest computed in Go over keys a sink lists, so the
// two can be compared.
//
// A digest is the count of a range's keys and the sum of a 64-bit hash of
// each key's canonical text: order-independent, summed as numeric
// (PostgreSQL's sum(bigint)) or DECIMAL(38,0) (Redshift) so nothing
// overflows. The hash is PostgreSQL's hashtextextended (lookup3's
// hash_bytes_extended) of a column's text, or hashint8extended of an integer
// column's value (hashScheme), or Redshift's FNV_HASH (64-bit FNV-1a), each
// chained column by column through its seed, and reimplemented here
// bit for bit.

package redshiftsync

import (
	"database/sql/driver"
	"fmt"
	"math/big"
	"math/bits"
	"strconv"
	"strings"

	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// keySpace is a table's primary key as delete detection reads it.
type keySpace struct {
	table    *Table
	cols     []Column
	idx      []int // position of each key column in Table.Columns (and a row)
	decoders []decoder
	dialect  Dialect
	// indexed is the source's answer to rangeIndexSQL: 0 not asked yet,
	// 1 the ranges can be read by rangeScanSQL, -1 not.
	indexed int
}

// newKeySpace returns the key space of t's primary key, or the reason delete
// detection cannot use it.
func newKeySpace(t *Table, dialect Dialect) (*keySpace, string) {
	if len(t.PrimaryKey) == 0 {
		return nil, "the table has no primary key (declare one, or give primary_key in a table spec)"
	}
	k := &keySpace{table: t, dialect: dialect}
	for _, name := range t.PrimaryKey {
		c, ok := t.Column(name)
		if !ok {
			return nil, fmt.Sprintf("primary key column %q is not a column of the table", name)
		}
		if !digestible(c.Type) {
			return nil, fmt.Sprintf("primary key column %q is of type %s, which delete detection does not range over (integers, decimals, text, dates and timestamps)", c.Name, c.SourceType)
		}
		k.cols = append(k.cols, c)
		k.idx = append(k.idx, t.ColumnIndex(name))
		k.decoders = append(k.decoders, decoderFor(c))
	}
	return k, ""
}

// digestible reports whether key columns of the type can be ranged over and
// hashed the same way by the source and in Go.
func digestible(lt LogicalType) bool {
	switch lt {
	case TypeShort, TypeInt, TypeLong, TypeDecimal, TypeString,
		TypeNaiveDate, TypeNaiveDateTime, TypeUTCDateTime:
		return true
	}
	return false
}

// order is "name type" of each key column: the state's digests belong to it.
func (k *keySpace) order() []string {
	out := make([]string, len(k.cols))
	for i, c := range k.cols {
		out[i] = c.Name + " " + c.SourceType
	}
	return out
}

// keyOf returns the key of a row of the table (a copy: rows are reused).
func (k *keySpace) keyOf(row []any) Key {
	key := make(Key, len(k.idx))
	for i, j := range k.idx {
		key[i] = row[j]
	}
	return key
}

// texts returns the exact texts of key, which the source reads back as the
// same values (bound as parameters).
func (k *keySpace) texts(key Key) ([]string, error) {
	out := make([]string, len(key))
	for i, v := range key {
		s, err := keyText(v, k.cols[i].Type)
		if err != nil {
			return nil, fmt.Errorf("key column %q: %w", k.cols[i].Name, err)
		}
		out[i] = s
	}
	return out, nil
}

// allTexts returns the texts of each key.
func (k *keySpace) allTexts(keys []Key) ([][]string, error) {
	out := make([][]string, len(keys))
	for i, key := range keys {
		t, err := k.texts(key)
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

// parse reads back a key from its texts (the state's bounds).
func (k *keySpace) parse(texts []string) (Key, error) {
	if len(texts) != len(k.cols) {
		return nil, fmt.Errorf("a bound has %d values, the key %d columns", len(texts), len(k.cols))
	}
	key := make(Key, len(texts))
	for i, s := range texts {
		v, err := k.decoders[i](s)
		if err != nil {
			return nil, fmt.Errorf("key column %q: %w", k.cols[i].Name, err)
		}
		key[i] = v
	}
	return key, nil
}

// decode turns the key columns of a source row into a Key.
func (k *keySpace) decode(row []driver.Value) (Key, error) {
	key := make(Key, len(k.cols))
	for i := range k.cols {
		v, err := k.decoders[i](row[i])
		if err != nil {
			return nil, fmt.Errorf("key column %q: %w", k.cols[i].Name, err)
		}
		key[i] = v
	}
	return key, nil
}

// selectList selects the key columns as the row path does.
func (k *keySpace) selectList() string {
	out := make([]string, len(k.cols))
	for i, c := range k.cols {
		out[i] = strings.Replace(selectExpr(c, k.dialect), sqlident.Quote(c.Name), sourceAlias+"."+sqlident.Quote(c.Name), 1)
	}
	return strings.Join(out, ", ")
}

// from is the table, aliased as the page queries alias it.
func (k *keySpace) from() string {
	return sqlident.Qualified(k.table.Schema, k.table.Name) + " " + sourceAlias
}

// bytewise reports whether column i is compared as text, which must be
// byte by byte (as CompareKeys compares strings) whatever its collation.
func (k *keySpace) bytewise(i int) bool { return k.cols[i].Type == TypeString }

// colExpr is column i as ranges compare it. PostgreSQL compares text in the
// "C" collation (bytes); Redshift compares VARCHAR by its bytes in its
// default (case_sensitive) collation, and has no COLLATE clause.
func (k *keySpace) colExpr(i int) string {
	q := sourceAlias + "." + sqlident.Quote(k.cols[i].Name)
	if k.bytewise(i) && k.dialect != DialectRedshift {
		return "CAST(" + q + ` AS TEXT) COLLATE "C"`
	}
	return q
}

// paramExpr is parameter n bound to column i as ranges compare it.
func (k *keySpace) paramExpr(i, n int) string {
	if k.bytewise(i) && k.dialect != DialectRedshift {
		return "CAST($" + strconv.Itoa(n) + ` AS TEXT) COLLATE "C"`
	}
	return castParam(n, k.cols[i])
}

// before returns "key < bound" as a predicate without row comparisons
// (Redshift has none), appending bound's texts to args.
func (k *keySpace) before(bound []string, args *[]any) string {
	var b strings.Builder
	n := len(k.cols)
	for i := range k.cols {
		*args = append(*args, bound[i])
		p := k.paramExpr(i, len(*args))
		if i == n-1 {
			b.WriteString(k.colExpr(i) + " < " + p)
		} else {
			b.WriteString("(" + k.colExpr(i) + " < " + p + " OR (" + k.colExpr(i) + " = " + p + " AND ")
		}
	}
	b.WriteString(strings.Repeat("))", n-1))
	return b.String()
}

// equals returns "key = value" by the source's own equality (its collation:
// a lookup never calls a present key absent), appending value's texts to args.
func (k *keySpace) equals(value []string, args *[]any) string {
	parts := make([]string, len(k.cols))
	for i, c := range k.cols {
		*args = append(*args, value[i])
		parts[i] = sourceAlias + "." + sqlident.Quote(c.Name) + " = " + castParam(len(*args), c)
	}
	return "(" + strings.Join(parts, " AND ") + ")"
}

// hashSchemeInt8 is the hash scheme (deleteState.Hash) in which PostgreSQL
// hashes an integer key column by hashint8extended of its value instead of
// hashtextextended of its text: the same scan 0.25 s less CPU on 5,000,000
// rows, of about 0.6 s (BENCHMARKS.md, "Detection, session 4").
const hashSchemeInt8 = "int8"

// hashScheme names how the key's hash is computed; the state keeps it
// beside the digests, and digests of another scheme are never compared
// (the detection starts over, a full comparison). "" is the text of every
// column, the scheme of digests saved before schemes had names, which
// text, date and decimal keys keep.
func (k *keySpace) hashScheme() string {
	if k.dialect == DialectRedshift {
		return ""
	}
	for i := range k.cols {
		if k.hashesInt(i) {
			return hashSchemeInt8
		}
	}
	return ""
}

// hashesInt reports whether column i is hashed as a 64-bit integer.
func (k *keySpace) hashesInt(i int) bool {
	if k.dialect == DialectRedshift {
		return false
	}
	switch k.cols[i].Type {
	case TypeShort, TypeInt, TypeLong:
		return true
	}
	return false
}

// hashExpr is the SQL of a key's 64-bit hash, chained column by column.
func (k *keySpace) hashExpr() string {
	h := ""
	for i, c := range k.cols {
		q := sourceAlias + "." + sqlident.Quote(c.Name)
		if k.dialect == DialectRedshift {
			// FNV_HASH hashes a VARCHAR's bytes; other types by their
			// binary form, which Go cannot reproduce: their text.
			v := q
			if c.Type != TypeString {
				v = "CAST(" + q + " AS VARCHAR)"
			}
			if i == 0 {
				h = "FNV_HASH(" + v + ")"
			} else {
				h = "FNV_HASH(" + v + ", " + h + ")"
			}
			continue
		}
		seed := "0"
		if i > 0 {
			seed = h
		}
		if k.hashesInt(i) {
			h = "hashint8extended(CAST(" + q + " AS BIGINT), " + seed + ")"
			continue
		}
		h = "hashtextextended(CAST(" + q + ` AS TEXT) COLLATE "C", ` + seed + ")"
	}
	if k.dialect == DialectRedshift {
		return "CAST(" + h + " AS DECIMAL(38,0))" // SUM(BIGINT) is a BIGINT there, and overflows
	}
	return h // sum(bigint) is numeric
}

// hash is hashExpr computed in Go over a key's canonical texts.
func (k *keySpace) hash(key Key) int64 {
	var h uint64
	for i, v := range key {
		if n, ok := v.(int64); ok && k.hashesInt(i) {
			h = hashInt8Extended(n, h)
			continue
		}
		s := canonicalText(v, k.cols[i].Type)
		if k.dialect == DialectRedshift {
			if i == 0 {
				h = fnvOffset
			}
			h = fnv1a(h, s)
			continue
		}
		h = hashBytesExtended([]byte(s), h)
	}
	return int64(h)
}

// canonicalText is the text the source hashes for a key value: what it
// prints casting the column to text. A text that differs (a timestamp
// printed otherwise) only makes a range look changed, which costs a
// lookup, never a wrong delete.
func canonicalText(v any, lt LogicalType) string {
	switch x := v.(type) {
	case Decimal:
		return string(x) // the server's own text, scale kept
	case string:
		return x
	}
	s, err := keyText(v, lt)
	if err != nil {
		return fmt.Sprint(v)
	}
	if lt == TypeNaiveDateTime || lt == TypeUTCDateTime {
		s = trimFraction(s)
	}
	return s
}

// trimFraction drops the trailing zeros of a timestamp's fractional
// seconds, and the point when none is left: the server prints
// "13:45:01.5" and "13:45:00" where keyText keeps six digits.
func trimFraction(s string) string {
	i := strings.IndexByte(s, '.')
	if i < 0 {
		return s
	}
	j := i + 1
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	frac := strings.TrimRight(s[i+1:j], "0")
	if frac == "" {
		return s[:i] + s[j:]
	}
	return s[:i+1] + frac + s[j:]
}

// digest is one range's count of keys and sum of their hashes.
type digest struct {
	count int64
	sum   big.Int
}

func (d *digest) add(h int64) {
	d.count++
	d.sum.Add(&d.sum, big.NewInt(h))
}

// String is the digest as the state keeps it: "count:sum".
func (d *digest) String() string { return strconv.FormatInt(d.count, 10) + ":" + d.sum.String() }

// digestSQL returns the query of the digests of the intervals that bounds
// cut the key space into: interval i lies below bounds[i] and at or above
// bounds[i-1], and is reported as group ids[i] (len(bounds)+1 of them);
// rows of intervals whose id is -1 form one group the caller skips. Rows are
// assigned by width_bucket for a single-column key on PostgreSQL (see
// bucketExpr), otherwise by a CASE tree that compares each key with
// log2(len(bounds)) bounds, so all the digests come from one scan, and one
// row per group reaches the client. where, when not empty,
// restricts the scan (its parameters are already in args).
func (k *keySpace) digestSQL(bounds [][]string, ids []int, where string, args []any) (string, []any) {
	var tree func(lo, hi int) string
	tree = func(lo, hi int) string {
		same := true
		for i := lo + 1; i <= hi; i++ {
			same = same && ids[i] == ids[lo]
		}
		if same {
			return strconv.Itoa(ids[lo])
		}
		mid := (lo + hi + 1) / 2 // intervals lo..mid-1 lie below bounds[mid-1]
		return "CASE WHEN " + k.before(bounds[mid-1], &args) + " THEN " + tree(lo, mid-1) + " ELSE " + tree(mid, hi) + " END"
	}
	group := ""
	if len(k.cols) == 1 && k.dialect != DialectRedshift && len(bounds) > 0 {
		group = k.bucketExpr(bounds, ids, &args)
	} else {
		group = tree(0, len(bounds))
	}
	// Grouped by the CASE itself, not over a subquery filtered on it:
	// PostgreSQL 15 then evaluates the tree once a row and hashes the few
	// groups, where the subquery's form sorted all 5,000,000 rows on disk
	// (3.2 s and 13.4 s against 2.0 s, measured on bench.del). The rows of
	// the ids -1 come back as one more group, which the caller skips.
	q := "SELECT " + group + " AS rs_range, COUNT(*), SUM(" + k.hashExpr() + ") FROM " + k.from()
	if where != "" {
		q += " WHERE " + where
	}
	return q + " GROUP BY 1", args
}

// maxRangeScans is the most intervals rangeScanSQL reads in one statement
// (a subquery each, all planned at once).
const maxRangeScans = 1024

// rangeScannable reports whether rangeScanSQL can digest the intervals:
// on PostgreSQL, a single-column key compared as the column's own type (a
// text key is compared bytewise, which its index does not order by), with
// every interval reported as itself (ids 0..len(bounds)), and the table
// indexed (rangeIndexSQL, asked by the caller).
func (k *keySpace) rangeScannable(bounds [][]string, ids []int) bool {
	if k.dialect == DialectRedshift || len(k.cols) != 1 || k.bytewise(0) || len(bounds) == 0 || len(bounds) > maxRangeScans {
		return false
	}
	for i, id := range ids {
		if id != i {
			return false
		}
	}
	return len(ids) == len(bounds)+1
}

// rangeIndexSQL is the query whether the table is a plain table with a
// valid B-tree index whose first column is the key's, by the type's default
// operator class (which orders as the key's own comparison), and with at
// least 90% of its pages all-visible at its last VACUUM: then each range of
// rangeScanSQL is an index-only range scan. With the heap's pages not
// visible, a range's rows are fetched from the heap one by one, in the
// index's order, which for a table not stored in key order is a random
// read per row: the one scan of digestSQL reads each page once.
func (k *keySpace) rangeIndexSQL() (string, []any) {
	return `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
	JOIN pg_catalog.pg_index i ON i.indrelid = c.oid
	JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
	JOIN pg_catalog.pg_am am ON am.oid = ic.relam
	JOIN pg_catalog.pg_opclass oc ON oc.oid = i.indclass[0]
	JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
	WHERE c.oid = to_regclass($1) AND c.relkind = 'r' AND c.relpages > 0 AND c.relallvisible >= 0.9 * c.relpages
		AND i.indisvalid AND i.indpred IS NULL AND am.amname = 'btree' AND oc.opcdefault AND a.attname = $2)`,
		[]any{sqlident.Qualified(k.table.Schema, k.table.Name), k.cols[0].Name}
}

// rangeScanSQL returns digestSQL's digests of the intervals bounds cut the
// key space into (interval i reported as group i) as one statement of an
// aggregate per interval over the key's range: PostgreSQL reads each range
// from the key's index (rangeIndexSQL) and neither finds a range nor looks
// up a group per row, which were two thirds of the one scan's CPU (measured
// on 5,000,000 rows: BENCHMARKS.md, "Detection, session 4"). The inner
// intervals are rows of a VALUES list joined LATERAL to one aggregate, so
// the statement is planned once, not once per interval (a UNION ALL of 250
// aggregates took 0.1 s to plan); the first and the last interval, open on
// one side, are aggregates of their own. An empty interval sends no row, as
// in the one scan.
func (k *keySpace) rangeScanSQL(bounds [][]string) (string, []any) {
	args := make([]any, len(bounds))
	params := make([]string, len(bounds))
	for i, b := range bounds {
		args[i] = b[0]
		params[i] = k.paramExpr(0, i+1)
	}
	col, agg := k.colExpr(0), "COUNT(*), SUM("+k.hashExpr()+")"
	n := len(bounds)
	q := "SELECT 0, " + agg + " FROM " + k.from() + " WHERE " + col + " < " + params[0] + " HAVING COUNT(*) > 0"
	if n > 1 {
		rows := make([]string, n-1)
		for i := range rows {
			rows[i] = "(" + strconv.Itoa(i+1) + ", " + params[i] + ", " + params[i+1] + ")"
		}
		q += " UNION ALL SELECT rs_r.i, rs_d.n, rs_d.h FROM (VALUES " + strings.Join(rows, ", ") + ") rs_r (i, lo, hi)" +
			" CROSS JOIN LATERAL (SELECT COUNT(*) AS n, SUM(" + k.hashExpr() + ") AS h FROM " + k.from() +
			" WHERE " + col + " >= rs_r.lo AND " + col + " < rs_r.hi) rs_d WHERE rs_d.n > 0"
	}
	return q + " UNION ALL SELECT " + strconv.Itoa(n) + ", " + agg + " FROM " + k.from() + " WHERE " + col + " >= " + params[n-1] + " HAVING COUNT(*) > 0", args
}

// bucketExpr is digestSQL's group of a row for a single-column key on
// PostgreSQL: width_bucket(key, ARRAY[bounds]) counts the bounds at or below
// the key, which is the index of its interval, found by a binary search in C
// where the CASE tree evaluates log2(len(bounds)) interpreted comparisons
// (measured on 1,000,000 rows: 0.25 s against 0.56 s, both hash-aggregated).
// The bounds compare as colExpr does (text in the "C" collation: the
// explicit COLLATE of the key decides width_bucket's collation). Ids other
// than 0..len(bounds) are looked up in a constant array.
func (k *keySpace) bucketExpr(bounds [][]string, ids []int, args *[]any) string {
	elems := make([]string, len(bounds))
	for i, b := range bounds {
		*args = append(*args, b[0])
		elems[i] = k.paramExpr(0, len(*args))
	}
	e := "width_bucket(" + k.colExpr(0) + ", ARRAY[" + strings.Join(elems, ", ") + "])"
	identity := true
	for i, id := range ids {
		identity = identity && id == i
	}
	if identity {
		return e
	}
	lits := make([]string, len(ids))
	for i, id := range ids {
		lits[i] = strconv.Itoa(id)
	}
	return "(ARRAY[" + strings.Join(lits, ", ") + "])[" + e + " + 1]"
}

// parseDigest reads a digest row's count and sum.
func parseDigest(count, sum driver.Value) (string, error) {
	c, err := decodeInt(count)
	if err != nil {
		return "", err
	}
	s, err := decodeDecimal(sum)
	if err != nil {
		return "", err
	}
	var n big.Int
	if _, ok := n.SetString(strings.TrimSuffix(string(s.(Decimal)), ".0"), 10); !ok {
		return "", fmt.Errorf("digest sum %q is not a whole number", s)
	}
	return strconv.FormatInt(c.(int64), 10) + ":" + n.String(), nil
}

// FNV-1a, 64 bits: Redshift's FNV_HASH. Its seed is the hash's state, so
// FNV_HASH(b, FNV_HASH(a)) is FNV_HASH(a || b).
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func fnv1a(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// hashBytesExtended is PostgreSQL's hash_bytes_extended (src/common/hashfn.c,
// Bob Jenkins' lookup3 on a little-endian machine), which
// hashtextextended(text, seed) applies to a text's bytes under a
// deterministic collation.
func hashBytesExtended(k []byte, seed uint64) uint64 {
	a, b, c := lookup3Init(uint32(len(k)), seed)
	for len(k) >= 12 {
		a += le32(k[0:4])
		b += le32(k[4:8])
		c += le32(k[8:12])
		a, b, c = lookup3Mix(a, b, c)
		k = k[12:]
	}
	// The last 11 bytes; the lowest byte of c is reserved for the length.
	switch len(k) {
	case 11:
		c += uint32(k[10]) << 24
		fallthrough
	case 10:
		c += uint32(k[9]) << 16
		fallthrough
	case 9:
		c += uint32(k[8]) << 8
		fallthrough
	case 8:
		b += uint32(k[7]) << 24
		fallthrough
	case 7:
		b += uint32(k[6]) << 16
		fallthrough
	case 6:
		b += uint32(k[5]) << 8
		fallthrough
	case 5:
		b += uint32(k[4])
		fallthrough
	case 4:
		a += uint32(k[3]) << 24
		fallthrough
	case 3:
		a += uint32(k[2]) << 16
		fallthrough
	case 2:
		a += uint32(k[1]) << 8
		fallthrough
	case 1:
		a += uint32(k[0])
	}
	a, b, c = lookup3Final(a, b, c)
	return uint64(b)<<32 | uint64(c)
}

// hashInt8Extended is PostgreSQL's hashint8extended (src/backend/access/
// hash/hashfunc.c): the value folded to 32 bits so that equal int2, int4
// and int8 values hash alike, then hash_uint32_extended.
func hashInt8Extended(v int64, seed uint64) uint64 {
	lo, hi := uint32(v), uint32(uint64(v)>>32)
	if v >= 0 {
		lo ^= hi
	} else {
		lo ^= ^hi
	}
	a, b, c := lookup3Init(4, seed)
	a += lo
	a, b, c = lookup3Final(a, b, c)
	return uint64(b)<<32 | uint64(c)
}

// lookup3Init is the start state of both hashes above for a key of length
// bytes (hash_bytes_extended and hash_bytes_uint32_extended begin alike): the
// seed, when not zero, is mixed in before the key.
func lookup3Init(length uint32, seed uint64) (a, b, c uint32) {
	a = 0x9e3779b9 + length + 3923095
	b, c = a, a
	if seed != 0 {
		a += uint32(seed >> 32)
		b += uint32(seed)
		a, b, c = lookup3Mix(a, b, c)
	}
	return a, b, c
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func lookup3Mix(a, b, c uint32) (uint32, uint32, uint32) {
	a -= c
	a ^= bits.RotateLeft32(c, 4)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 6)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 8)
	b += a
	a -= c
	a ^= bits.RotateLeft32(c, 16)
	c += b
	b -= a
	b ^= bits.RotateLeft32(a, 19)
	a += c
	c -= b
	c ^= bits.RotateLeft32(b, 4)
	b += a
	return a, b, c
}

func lookup3Final(a, b, c uint32) (uint32, uint32, uint32) {
	c ^= b
	c -= bits.RotateLeft32(b, 14)
	a ^= c
	a -= bits.RotateLeft32(c, 11)
	b ^= a
	b -= bits.RotateLeft32(a, 25)
	c ^= b
	c -= bits.RotateLeft32(b, 16)
	a ^= c
	a -= bits.RotateLeft32(c, 4)
	b ^= a
	b -= bits.RotateLeft32(a, 14)
	c ^= b
	c -= bits.RotateLeft32(b, 24)
	return a, b, c
}
