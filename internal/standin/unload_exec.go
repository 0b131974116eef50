// This file holds the execution of an accepted UNLOAD: the inner SELECT run
// on the upstream (a connection of its own, as the client's role, in the
// client's database), its rows spread over simulated slices and written as
// Parquet parts (unload_parquet.go) to the object store, then the manifest;
// and the relay's side of it: the statement the upstream runs in the
// UNLOAD's place, and Redshift's answer put in place of the upstream's.

package standin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/seed2085993a/redshiftsync/internal/standin/sqltok"
)

// ObjectStore is where UNLOAD writes its files: an S3 of buckets and keys.
// internal/standin/s3stub's Server satisfies it (the command wires its -s3
// endpoint); package standin does not import it, so the proxy does not
// compile gofakes3.
type ObjectStore interface {
	// ListKeys returns the keys of bucket that start with prefix; an
	// unknown bucket is an error.
	ListKeys(bucket, prefix string) ([]string, error)
	// PutObject stores body at bucket/key, replacing what was there.
	PutObject(bucket, key string, body []byte) error
	// DeleteObject removes bucket/key.
	DeleteObject(bucket, key string) error
}

// UnloadConfig configures UNLOAD on a Server (EnableUnload).
type UnloadConfig struct {
	// Store receives the files. Without one, UNLOAD is rejected.
	Store ObjectStore
	// Slices is the number of slices PARALLEL ON spreads rows over (as a
	// cluster's slices each write their part); 4 when 0.
	Slices int
	// MB is the number of bytes the stand-in counts as one megabyte in
	// MAXFILESIZE, ROWGROUPSIZE and the 32-MB row groups; 1 MiB when 0.
	// Tests make it small so that small tables fill several row groups and
	// files; what UNLOAD writes is otherwise the same.
	MB int64
}

// EnableUnload makes the stand-in execute UNLOAD statements with cfg. Call
// it before clients connect.
func (s *Server) EnableUnload(cfg UnloadConfig) {
	if cfg.Slices <= 0 {
		cfg.Slices = 4
	}
	if cfg.MB <= 0 {
		cfg.MB = 1 << 20
	}
	s.mu.Lock()
	s.unloadCfg = &cfg
	s.mu.Unlock()
}

// unloadState is a connection's UNLOAD bookkeeping.
type unloadState struct {
	user, db string
	mu       sync.Mutex
	next     int
	records  map[int]int64 // by id: the count of an UNLOAD the upstream is to acknowledge
	pending  bool          // the next "DO" CommandComplete is an UNLOAD's
	txStatus byte          // of the last ReadyForQuery
	// params are the session's parameters as the upstream last reported
	// them (ParameterStatus): DateStyle, IntervalStyle and TimeZone, which
	// the UNLOAD's own connection takes on.
	params map[string]string
	// last is PG_LAST_UNLOAD_COUNT: the rows of the session's last UNLOAD
	// that completed, 0 after one that failed while unloading.
	last atomic.Int64
}

// lastUnloadCall is what Analyze puts in place of pg_last_unload_count();
// the relay replaces the NULL with the session's count when it sends the
// text (a statement prepared once keeps the count of its Parse†).
const lastUnloadCall = Schema + ".pg_last_unload_count(NULL)"

// sessionParams are the reported parameters that shape the text of values
// made in a query (casts to VARCHAR), set on an UNLOAD's connection as the
// client's session has them.
var sessionParams = []string{"DateStyle", "IntervalStyle", "TimeZone"}

const unloadMarker = "redshift_standin_unload_"

var unloadMarkerRE = regexp.MustCompile(`^` + unloadMarker + `(\d+)$`)

// unloadSQL handles a client's text that holds an UNLOAD: it runs it and
// returns what the upstream is to run in its place (a statement that
// answers with a marker notice, or one that fails where Redshift fails),
// and true; false for a text without UNLOAD.
func (s *Server) unloadSQL(cs *conn, sql string) (string, bool) {
	toks, err := sqltok.TokenizeRedshift(sql)
	if err != nil {
		if len(toks) > 0 && toks[0].Is("unload") {
			// Not sent on: the upstream would echo (and log) the text,
			// credentials included.
			s.log.Debug("rejected", "rule", "UNLOAD syntax", "sql", redactUnload(sql))
			return cs.reject(&Rejection{Rule: "UNLOAD syntax", Code: "42601", Message: "unterminated quoted string in UNLOAD"}), true
		}
		return "", false
	}
	sts := sqltok.Statements(toks)
	has := false
	for _, st := range sts {
		has = has || isUnload(st)
	}
	if !has {
		return "", false
	}
	if len(sts) > 1 {
		s.log.Debug("rejected", "rule", "UNLOAD alone", "sql", redactUnload(sql))
		return cs.reject(unloadReject("UNLOAD alone", "0A000", "redshift-standin: send UNLOAD alone, not with other statements in one text")), true
	}
	u, r := parseUnload(sql, sts[0])
	if r == nil {
		s.mu.Lock()
		cfg := s.unloadCfg
		s.mu.Unlock()
		cs.unload.mu.Lock()
		failed := cs.unload.txStatus == 'E'
		cs.unload.mu.Unlock()
		switch {
		case cfg == nil:
			r = unloadReject("UNLOAD store", "XX000", "redshift-standin: UNLOAD needs an S3 endpoint: start the stand-in with -s3 (or call EnableUnload)")
		case failed:
			// The transaction is aborted: the upstream refuses the
			// statement that stands for the UNLOAD, as Redshift refuses the
			// UNLOAD, and nothing is written.
		default:
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			var n int64
			n, r = s.runUnload(ctx, cfg, cs, u)
			cancel()
			if r == nil {
				cs.unload.last.Store(n)
				s.log.Debug("unloaded", "records", n, "sql", u.redact(sql))
				cs.unload.mu.Lock()
				cs.unload.next++
				id := cs.unload.next
				if cs.unload.records == nil {
					cs.unload.records = map[int]int64{}
				}
				cs.unload.records[id] = n
				cs.unload.mu.Unlock()
				// RAISE INFO reaches the client whatever its
				// client_min_messages; the relay replaces it with
				// Redshift's INFO and the DO tag with UNLOAD.
				return fmt.Sprintf("DO $redshift_standin$BEGIN RAISE INFO '%s%d'; END$redshift_standin$", unloadMarker, id), true
			}
		}
	}
	if r != nil {
		s.log.Debug("rejected", "rule", r.Rule, "sql", u.redact(sql))
		return cs.reject(r), true
	}
	return fmt.Sprintf("DO $redshift_standin$BEGIN RAISE INFO '%s0'; END$redshift_standin$", unloadMarker), true
}

// unloadReply returns the message the client receives for the upstream's
// msg: Redshift's "UNLOAD completed" INFO for the marker notice, the
// UNLOAD tag for the DO that follows it, msg itself otherwise.
func (cs *conn) unloadReply(msg pgproto3.BackendMessage) pgproto3.BackendMessage {
	switch m := msg.(type) {
	case *pgproto3.NoticeResponse:
		sm := unloadMarkerRE.FindStringSubmatch(m.Message)
		if sm == nil {
			return msg
		}
		id, _ := strconv.Atoi(sm[1])
		cs.unload.mu.Lock()
		n := cs.unload.records[id]
		delete(cs.unload.records, id)
		cs.unload.pending = true
		cs.unload.mu.Unlock()
		// The INFO that Redshift sends on success (its text as clients
		// receive it; AWS does not document it).
		return &pgproto3.NoticeResponse{Severity: "INFO", SeverityUnlocalized: "INFO", Code: "00000",
			Message: fmt.Sprintf("UNLOAD completed, %d record(s) unloaded successfully.", n)}
	case *pgproto3.CommandComplete:
		cs.unload.mu.Lock()
		defer cs.unload.mu.Unlock()
		if cs.unload.pending && string(m.CommandTag) == "DO" {
			cs.unload.pending = false
			return &pgproto3.CommandComplete{CommandTag: []byte("UNLOAD")}
		}
	case *pgproto3.ReadyForQuery:
		cs.unload.mu.Lock()
		cs.unload.txStatus = m.TxStatus
		cs.unload.pending = false
		cs.unload.mu.Unlock()
	}
	return msg
}

// s3Error is Redshift's form of an error S3 answered (reported from
// clusters: "S3ServiceException:…").
func s3Error(err error) *Rejection {
	return unloadReject("UNLOAD S3", "XX000", "S3ServiceException:"+err.Error())
}

// runUnload executes u for the client of cs and returns the number of rows
// unloaded, or the rejection.
func (s *Server) runUnload(ctx context.Context, cfg *UnloadConfig, cs *conn, u *Unload) (int64, *Rejection) {
	if u.Format != "PARQUET" {
		return 0, unloadReject("UNLOAD format", "0A000", "redshift-standin: UNLOAD executes FORMAT PARQUET only (text, CSV and JSON are not implemented)")
	}
	if len(u.PartitionBy) > 0 {
		return 0, unloadReject("UNLOAD PARTITION BY", "0A000", "redshift-standin: UNLOAD … PARTITION BY is not implemented")
	}
	if u.Extension != nil {
		return 0, unloadReject("UNLOAD EXTENSION", "0A000", "redshift-standin: UNLOAD … EXTENSION is not implemented")
	}
	// The inner query passes the same analysis as any statement.
	toks, err := sqltok.TokenizeRedshift(u.Select)
	if err != nil {
		return 0, &Rejection{Rule: "UNLOAD select", Code: "42601", Message: "unterminated quoted string in the UNLOAD query"}
	}
	if sts := sqltok.Statements(toks); len(sts) != 1 || !(sts[0][0].Is("select") || sts[0][0].Is("with") || sts[0][0].IsPunct("(")) {
		return 0, unloadReject("UNLOAD select", "42601", "UNLOAD: the query must be one SELECT statement (r_UNLOAD)")
	}
	if i := outerLimit(toks); i >= 0 {
		// r_UNLOAD, "Limit clause"; the text is reported from clusters.
		return 0, unloadReject("UNLOAD LIMIT", "0A000", "Limit clause is not supported in the outermost select of an UNLOAD statement")
	}
	an := Analyze(u.Select)
	if an.Reject != nil {
		return 0, an.Reject
	}

	// PG_LAST_UNLOAD_COUNT: an UNLOAD that fails "because of a syntax
	// error or because of insufficient privileges" (class 42) leaves the
	// previous count; one that fails "during the unload operation", 0.
	n, r := s.unloadFiles(ctx, cfg, cs, u, an.SQL)
	if r != nil && !strings.HasPrefix(r.Code, "42") {
		cs.unload.last.Store(0)
	}
	return n, r
}

// unloadFiles runs the unload operation proper: the destination's rules,
// then the query and the files.
func (s *Server) unloadFiles(ctx context.Context, cfg *UnloadConfig, cs *conn, u *Unload, query string) (int64, *Rejection) {
	keys, err := cfg.Store.ListKeys(u.Bucket, u.Prefix)
	if err != nil {
		return 0, s3Error(err)
	}
	if len(keys) > 0 {
		switch {
		case u.CleanPath:
			// r_UNLOAD, CLEANPATH: existing files under the path are
			// removed before the unload.
			for _, k := range keys {
				if err := cfg.Store.DeleteObject(u.Bucket, k); err != nil {
					return 0, s3Error(err)
				}
			}
		case !u.AllowOverwrite:
			// r_UNLOAD, ALLOWOVERWRITE: "By default, UNLOAD fails if it
			// finds files that it would possibly overwrite." (The text is
			// reported from clusters.)
			return 0, unloadReject("UNLOAD destination not empty", "XX000",
				"Specified unload destination on S3 is not empty. Consider using a different bucket / prefix, manually removing the target files in S3, or using the ALLOWOVERWRITE option.")
		}
	}

	conn, r := s.unloadConn(ctx, cs)
	if r != nil {
		return 0, r
	}
	defer conn.Close(context.Background())
	return writeUnload(ctx, conn, cfg, u, query)
}

// unloadConn opens a connection to the upstream in the client's database,
// as the client's role (the upstream URL's superuser, SET SESSION
// AUTHORIZATION to the client's user, so privileges are the client's), with
// the client session's DateStyle, IntervalStyle, TimeZone and
// extra_float_digits: text the query makes (a cast to VARCHAR) is then the
// text the SQL path gives for the same SELECT. The values written to
// Parquet do not depend on them (unload_parquet.go reads the typed columns
// in binary form).
func (s *Server) unloadConn(ctx context.Context, cs *conn) (*pgconn.PgConn, *Rejection) {
	cfg := s.upstream.Copy()
	cfg.Database = cs.unload.db
	c, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, unloadReject("UNLOAD upstream", "XX000", "redshift-standin: UNLOAD cannot reach the upstream: "+err.Error())
	}
	var setup []string
	if cs.unload.user != "" && cs.unload.user != cfg.User {
		setup = append(setup, "SET SESSION AUTHORIZATION "+quoteIdent(cs.unload.user))
	}
	cs.unload.mu.Lock()
	for _, name := range sessionParams {
		if v, ok := cs.unload.params[name]; ok {
			setup = append(setup, "SET "+name+" = "+quoteLiteral(v))
		}
	}
	cs.unload.mu.Unlock()
	if cs.floatSet.Load() {
		setup = append(setup, "SET extra_float_digits = "+strconv.Itoa(int(cs.floatDigits.Load())))
	}
	if _, err := c.Exec(ctx, strings.Join(setup, "; ")).ReadAll(); err != nil {
		_ = c.Close(ctx)
		return nil, upstreamError(err)
	}
	return c, nil
}

// quoteLiteral quotes s as a standard-conforming string literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// upstreamError is the rejection for an error the upstream answered the
// inner query with (a missing grant, a missing table): its code and
// message, as the client's own statement would have received them.
func upstreamError(err error) *Rejection {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		m := &pgproto3.ErrorResponse{Code: pe.Code, Message: pe.Message}
		if fixed := fixError(&conn{rejected: map[int]*Rejection{}}, m); len(fixed) == 1 {
			if e, ok := fixed[0].(*pgproto3.ErrorResponse); ok {
				return &Rejection{Rule: "UNLOAD query", Code: e.Code, Message: e.Message}
			}
		}
		return &Rejection{Rule: "UNLOAD query", Code: pe.Code, Message: pe.Message}
	}
	return unloadReject("UNLOAD query", "XX000", "redshift-standin: UNLOAD query: "+err.Error())
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// fileSizes returns the bytes of one row group and the row groups of one
// file: r_UNLOAD's "equally sized 32-MB row groups" (or ROWGROUPSIZE), and
// MAXFILESIZE (6.2 GB by default) "rounded down to the nearest multiple of
// 32 MB", at least one row group.
func fileSizes(cfg *UnloadConfig, u *Unload) (groupBytes int64, groupsPerFile int) {
	groupMB := 32.0
	if u.RowGroupSizeMB != 0 {
		groupMB = u.RowGroupSizeMB
	}
	maxMB := 6.2 * 1024
	if u.MaxFileSizeMB != 0 {
		maxMB = u.MaxFileSizeMB
	}
	return int64(groupMB * float64(cfg.MB)), max(1, int(math.Floor(maxMB/groupMB)))
}

// writeUnload runs query on c and writes its rows as u says: Parquet parts
// per slice and the manifest. It returns the number of rows.
func writeUnload(ctx context.Context, c *pgconn.PgConn, cfg *UnloadConfig, u *Unload, query string) (int64, *Rejection) {
	desc, err := c.Prepare(ctx, "", query, nil)
	if err != nil {
		return 0, upstreamError(err)
	}
	cols, r := unloadColumns(ctx, c, query, desc.Fields)
	if r != nil {
		return 0, r
	}
	groupBytes, groupsPerFile := fileSizes(cfg, u)
	slices := 1
	if u.Parallel {
		slices = cfg.Slices
	}
	out := &unloadOutput{store: cfg.Store, u: u, cols: cols, groupBytes: groupBytes, groupsPerFile: groupsPerFile,
		slices: make([]sliceWriter, slices)}
	formats := make([]int16, len(cols))
	for i := range cols {
		if cols[i].binaryResult() {
			formats[i] = 1
		}
	}
	rr := c.ExecParams(ctx, query, nil, nil, nil, formats)
	var n int64
	for rr.NextRow() {
		if r := out.write(int(n%int64(slices)), rr.Values()); r != nil {
			_, _ = rr.Close()
			return 0, r
		}
		n++
	}
	if _, err := rr.Close(); err != nil {
		return 0, upstreamError(err)
	}
	if r := out.finish(); r != nil {
		return 0, r
	}
	// No row: no file and no manifest (reported from clusters).
	if n == 0 || !u.Manifest {
		return n, nil
	}
	body, err := manifestJSON(u, cols, out.entries)
	if err != nil {
		return 0, unloadReject("UNLOAD manifest", "XX000", "redshift-standin: UNLOAD manifest: "+err.Error())
	}
	if err := cfg.Store.PutObject(u.Bucket, u.Prefix+"manifest", body); err != nil {
		return 0, s3Error(err)
	}
	return n, nil
}

// manifestEntry is one file of the manifest (r_UNLOAD_command_examples,
// "Unload VENUE with MANIFEST VERBOSE").
type manifestEntry struct {
	URL  string        `json:"url"`
	Meta *manifestMeta `json:"meta,omitempty"`
}

type manifestMeta struct {
	ContentLength int64  `json:"content_length"`
	RecordCount   *int64 `json:"record_count,omitempty"`
}

type manifestType struct {
	Base      string `json:"base"`
	Length    *int   `json:"length,omitempty"`
	Precision *int   `json:"precision,omitempty"`
	Scale     *int   `json:"scale,omitempty"`
}

type manifestElement struct {
	Name string       `json:"name"`
	Type manifestType `json:"type"`
}

type manifest struct {
	Entries []manifestEntry `json:"entries"`
	Schema  *struct {
		Elements []manifestElement `json:"elements"`
	} `json:"schema,omitempty"`
	Meta   *manifestMeta `json:"meta,omitempty"`
	Author *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"author,omitempty"`
}

// manifestJSON returns the manifest of entries: with VERBOSE the schema
// (names, types, and the length of CHAR and VARCHAR, the precision and
// scale of DECIMAL), each file's record_count, the totals, and the author
// (r_UNLOAD, MANIFEST VERBOSE). Without VERBOSE each entry keeps its
// content_length, which COPY needs to load Parquet through a manifest
// (loading-data-files-using-manifest).
func manifestJSON(u *Unload, cols []unloadColumn, entries []manifestEntry) ([]byte, error) {
	m := manifest{Entries: entries}
	if !u.Verbose {
		for i := range m.Entries {
			m.Entries[i].Meta = &manifestMeta{ContentLength: m.Entries[i].Meta.ContentLength}
		}
		return json.Marshal(m)
	}
	m.Schema = &struct {
		Elements []manifestElement `json:"elements"`
	}{}
	for _, c := range cols {
		m.Schema.Elements = append(m.Schema.Elements, manifestElement{Name: c.name, Type: c.manifest})
	}
	var size, count int64
	for _, e := range entries {
		size += e.Meta.ContentLength
		count += *e.Meta.RecordCount
	}
	m.Meta = &manifestMeta{ContentLength: size, RecordCount: &count}
	m.Author = &struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}{"Amazon Redshift", "1.0.0"}
	return json.Marshal(m)
}
