// This file holds Config: the settings of an Extractor, loaded from the
// example connector's configuration.json keys.

package redshiftsync

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/seed2085993a/redshiftsync/internal/redact"
)

// Defaults of the settings a configuration may omit.
const (
	PortDefault      = 5439
	SchemaDefault    = "public"
	BatchSizeDefault = 10_000
	// BatchBytesDefault is the byte budget of a batch when batch_bytes is
	// absent: peak memory is about one batch per reader
	// (MaxParallelWorkersDefault of them) plus one whole row in the driver
	// each, so 16 MiB keeps a default sync under 256 MiB for rows up to
	// 16 MB, while batches of narrow rows (10,000 rows of 1.6 KB) never
	// reach it.
	BatchBytesDefault = 16 << 20
	// BatchBytesNone, as Config.BatchBytes, means no byte budget (what
	// "batch_bytes": 0 means in a configuration file).
	BatchBytesNone             = -1
	MaxParallelWorkersDefault  = 4
	CheckpointEveryRowsDefault = 50_000
	CheckpointIntervalDefault  = time.Minute
	ConnectTimeoutDefault      = 30 * time.Second
	MaxRetriesDefault          = 5
	// PartitionsDefault splits a large table into this many key ranges
	// read in parallel, within the worker budget: fits 2-4 Redshift WLM
	// slots.
	PartitionsDefault = 4
	// PartitionThresholdDefault is the estimated row count from which a
	// table is split into partitions.
	PartitionThresholdDefault = 1_000_000
)

// Limits of the settings (inclusive).
const (
	// BatchSizeMax is the largest batch_size: a batch is held in memory at
	// once, so a larger one is taken for a mistake.
	BatchSizeMax = 1_000_000
	// MaxParallelWorkersMax is the largest max_parallel_workers.
	MaxParallelWorkersMax = 64
	// MaxRetriesMax is the largest max_retries.
	MaxRetriesMax = 100
)

// ErrInvalidConfig is matched (errors.Is) by every *ConfigError returned by
// ParseConfig, LoadConfig, ConfigFromURL and Config.Validate.
var ErrInvalidConfig = errors.New("redshiftsync: invalid configuration")

// Dialect names the SQL flavour of the source.
type Dialect string

// The dialects. DialectAuto asks the server (SELECT version()).
const (
	DialectAuto     Dialect = "auto"
	DialectRedshift Dialect = "redshift"
	DialectPostgres Dialect = "postgres"
)

// Secret is a string that never shows itself: fmt (every verb, including
// %#v), slog, encoding/json and encoding.TextMarshaler users print
// "[redacted]" in its place ("" when the secret is empty). Use string(s)
// where the value is needed.
type Secret string

const redacted = "[redacted]"

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string { return s.shown() }

// GoString returns "[redacted]", or "" for an empty secret.
func (s Secret) GoString() string { return s.shown() }

// Format prints "[redacted]" (or "" for an empty secret) for every verb, so
// that no fmt verb (%s, %v, %x, %d, ...) can reveal the secret.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.shown())
	case 'v':
		if f.Flag('#') {
			fmt.Fprintf(f, "%q", s.shown())
			return
		}
		fmt.Fprint(f, s.shown())
	default:
		fmt.Fprint(f, s.shown())
	}
}

// LogValue makes slog print "[redacted]" (or "" for an empty secret).
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalJSON encodes the secret as "[redacted]" (or "" when empty), so that
// a Config dumped as JSON does not leak it.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.shown()) }

// MarshalText returns "[redacted]" (or "" when empty).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// Config is the configuration of an Extractor. The zero value is not valid;
// start from ParseConfig, LoadConfig or ConfigFromURL, or fill the fields and
// call Validate. The JSON key of each field is given in brackets; every key
// accepts a JSON string (as the example connector writes them: "5000",
// "true") or a native JSON number or boolean. A key whose value is "" or null
// takes its default.
//
// A Config built in Go must set AutoSchemaDetection and MaxRetries itself:
// their zero values (false, 0) are meaningful, so Validate cannot tell them
// from unset. ParseConfig and ConfigFromURL default them to true and
// MaxRetriesDefault.
//
// fmt, slog and encoding/json never print the password (see Secret).
type Config struct {
	// Host is the server's host name or IP address [redshift_host]. A path
	// starting with "/" names the directory of a unix socket. Required.
	Host string
	// Port is the server's port [redshift_port], 1 to 65535, default
	// PortDefault (5439, Redshift's port).
	Port int
	// Database is the database to read [redshift_database]. Required.
	Database string
	// User is the role to connect as [redshift_user]. Required.
	User string
	// Password is the role's password [redshift_password]: a JSON string,
	// empty for trust (or .pgpass) authentication.
	Password Secret
	// Schema is the schema whose tables are synced [redshift_schema],
	// default SchemaDefault.
	Schema string
	// SSLMode is the libpq sslmode [sslmode]: disable, allow, prefer,
	// require, verify-ca or verify-full. Default: prefer for a local server
	// (localhost, a loopback address, a unix socket) and require for any
	// other host, Redshift hosts (*.redshift.amazonaws.com,
	// *.redshift-serverless.amazonaws.com) included.
	SSLMode string
	// Dialect forces the SQL flavour [dialect]: auto (default), redshift or
	// postgres.
	Dialect Dialect

	// BatchSize is the number of rows read per page and handed to the sink
	// per Write [batch_size], 1 to BatchSizeMax, default BatchSizeDefault.
	BatchSize int
	// BatchBytes caps the bytes of a batch as well [batch_bytes], default
	// BatchBytesDefault; BatchBytesNone (or "0" in a configuration file,
	// which Validate turns into BatchBytesNone) means no byte cap, a batch
	// then being BatchSize rows whatever their width. A single row larger
	// than the budget is a batch on its own.
	BatchBytes int
	// AutoSchemaDetection discovers the tables of Schema from the catalog
	// [auto_schema_detection], default true in ParseConfig and ConfigFromURL
	// (a Config built in Go must set it). When false, the table specs (the
	// file TableSpecFile) list the tables to sync.
	AutoSchemaDetection bool
	// IncludeTables and ExcludeTables filter the discovered tables by exact
	// name or glob pattern (path.Match) [include_tables, exclude_tables]:
	// a JSON array of strings or a comma-separated string.
	IncludeTables []string
	ExcludeTables []string
	// TableSpecFile is a JSON file of table specs [table_spec_file].
	// LoadConfig resolves a relative path against the configuration file's
	// directory.
	TableSpecFile string
	// MaxParallelWorkers bounds the queries that run against the source at
	// once [max_parallel_workers], 1 to MaxParallelWorkersMax, default
	// MaxParallelWorkersDefault.
	MaxParallelWorkers int
	// EnableCompleteResync makes every table sync in full [enable_complete_resync].
	EnableCompleteResync bool

	// CheckpointEveryRows saves the state after this many rows of a table
	// [checkpoint_every_rows], at least 1, default CheckpointEveryRowsDefault.
	CheckpointEveryRows int
	// CheckpointInterval saves the state at least this often while a table
	// is read [checkpoint_interval], default CheckpointIntervalDefault.
	// JSON: a Go duration string ("90s") or a number of seconds.
	CheckpointInterval time.Duration
	// Lookback re-reads rows whose timestamp replication key is up to this
	// much older than the bookmark [lookback]; 0 by default. Rows committed
	// late need none for the keys the watermark covers (see Mark); it is
	// for keys set from a client's clock and the like.
	Lookback time.Duration
	// ConnectTimeout bounds each connection attempt [connect_timeout],
	// default ConnectTimeoutDefault. It is sent to the driver in whole
	// seconds, rounded up.
	ConnectTimeout time.Duration
	// StatementTimeout bounds each statement run against the source
	// [statement_timeout]; 0 (the default) leaves the server's setting. At
	// most 2147483647ms (about 24 days), PostgreSQL's limit.
	StatementTimeout time.Duration
	// MaxRetries is how many times in a row a failed query or connection is
	// retried before the table fails [max_retries], 0 to MaxRetriesMax; 0
	// means no retry. An attempt that moved the read's position forward
	// before it failed starts the count again. ParseConfig defaults it to MaxRetriesDefault; a Config built in
	// Go must set it.
	MaxRetries int
	// Partitions splits a table whose estimated rows reach
	// PartitionThreshold into this many key ranges, read concurrently
	// within MaxParallelWorkers [partitions], default PartitionsDefault;
	// 1 turns splitting off.
	Partitions int
	// PartitionThreshold is the estimated row count from which a table is
	// split [partition_threshold_rows], default PartitionThresholdDefault.
	PartitionThreshold int
}

// The JSON keys of a configuration.
const (
	keyHost                 = "redshift_host"
	keyPort                 = "redshift_port"
	keyDatabase             = "redshift_database"
	keyUser                 = "redshift_user"
	keyPassword             = "redshift_password"
	keySchema               = "redshift_schema"
	keyBatchSize            = "batch_size"
	keyBatchBytes           = "batch_bytes"
	keyAutoSchemaDetection  = "auto_schema_detection"
	keyMaxParallelWorkers   = "max_parallel_workers"
	keySSLMode              = "sslmode"
	keyDialect              = "dialect"
	keyCheckpointEveryRows  = "checkpoint_every_rows"
	keyCheckpointInterval   = "checkpoint_interval"
	keyEnableCompleteResync = "enable_complete_resync"
	keyIncludeTables        = "include_tables"
	keyExcludeTables        = "exclude_tables"
	keyTableSpecFile        = "table_spec_file"
	keyLookback             = "lookback"
	keyConnectTimeout       = "connect_timeout"
	keyStatementTimeout     = "statement_timeout"
	keyMaxRetries           = "max_retries"
	keyPartitions           = "partitions"
	keyPartitionThreshold   = "partition_threshold_rows"
)

type valueKind int

const (
	kindString valueKind = iota
	kindSecret
	kindInt
	kindBool
	kindDuration
	kindList
	kindEnum
)

// keyInfo describes one JSON key: the kind of its value and what belongs
// there, for messages ("put <what> here").
type keyInfo struct {
	key  string
	kind valueKind
	what string
}

// configKeys lists the keys in the order problems are reported.
var configKeys = []keyInfo{
	{keyHost, kindString, "the host name of your Redshift cluster or PostgreSQL server"},
	{keyPort, kindInt, `the server's port, such as "5439"`},
	{keyDatabase, kindString, "the name of the database to read"},
	{keyUser, kindString, "the user name to connect as"},
	{keyPassword, kindSecret, `the password of redshift_user (or "" for none)`},
	{keySchema, kindString, `the schema to sync, such as "public"`},
	{keySSLMode, kindEnum, `an sslmode such as "require"`},
	{keyDialect, kindEnum, `"auto", "redshift" or "postgres"`},
	{keyBatchSize, kindInt, `the number of rows per batch, such as "10000"`},
	{keyBatchBytes, kindInt, `a byte cap per batch such as "67108864", or "0" for none`},
	{keyAutoSchemaDetection, kindBool, `true or false`},
	{keyIncludeTables, kindList, `table names or patterns such as "orders,events_*"`},
	{keyExcludeTables, kindList, `table names or patterns such as "tmp_*"`},
	{keyTableSpecFile, kindString, "the path of your table spec file"},
	{keyMaxParallelWorkers, kindInt, `the number of parallel workers, such as "4"`},
	{keyEnableCompleteResync, kindBool, `true or false`},
	{keyCheckpointEveryRows, kindInt, `the number of rows between checkpoints, such as "50000"`},
	{keyCheckpointInterval, kindDuration, `a duration such as "1m"`},
	{keyLookback, kindDuration, `a duration such as "10m", or "0"`},
	{keyConnectTimeout, kindDuration, `a duration such as "30s"`},
	{keyStatementTimeout, kindDuration, `a duration such as "30m", or "0" for none`},
	{keyMaxRetries, kindInt, `the number of retries, such as "5"`},
	{keyPartitions, kindInt, `the number of partitions of a large table, such as "4", or "1" for none`},
	{keyPartitionThreshold, kindInt, `a row count such as "1000000"`},
}

func lookupKey(key string) (keyInfo, int, bool) {
	for i, k := range configKeys {
		if k.key == key {
			return k, i, true
		}
	}
	return keyInfo{}, -1, false
}

// Keys of the example connector's UNLOAD variant, which redshiftsync does not
// use; they get a specific message instead of a did-you-mean.
var unloadKeys = []string{
	"s3_bucket", "s3_region", "s3_prefix", "iam_role", "aws_access_key_id",
	"aws_secret_access_key", "unload_format", "unload_parallel",
	"unload_max_filesize", "unload_cleanpath", "cleanup_s3",
}

var (
	sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
	dialects = []string{string(DialectAuto), string(DialectRedshift), string(DialectPostgres)}
)

// Expectations, for messages.
const (
	expectPort        = `a port number from 1 to 65535, such as "5439"`
	expectBatchSize   = `a positive integer such as "5000" (at most 1000000)`
	expectBatchBytes  = `a number of bytes such as "16777216" (16 MiB, the default), or "0" for no cap`
	expectWorkers     = `a whole number from 1 to 64, such as "4"`
	expectEveryRows   = `a positive integer such as "50000"`
	expectRetries     = `a whole number from 0 to 100, such as "5"`
	expectBool        = `true or false`
	expectDuration    = `a duration such as "90s" or "5m", or a number of seconds such as "90"`
	expectList        = `a JSON array of strings such as ["orders", "events_*"], or a comma-separated string such as "orders,events_*"`
	maxStatementTimeo = time.Duration(math.MaxInt32) * time.Millisecond
)

// ConfigProblem is one problem of a configuration: the JSON key it concerns
// ("" for the document as a whole) and what is wrong with it.
type ConfigProblem struct {
	Key     string
	Problem string
}

// ConfigError reports every problem of a configuration at once. It matches
// ErrInvalidConfig with errors.Is. Its text never contains the password.
type ConfigError struct {
	// Source names where the configuration came from: a file name, or a URL
	// with its password redacted; "" when unknown.
	Source   string
	Problems []ConfigProblem
}

// Error lists the problems, one per line:
//
//	redshiftsync: invalid configuration:
//	  batch_size: "abc" is not a whole number; expected a positive integer such as "5000"
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("redshiftsync: invalid configuration")
	if e.Source != "" {
		b.WriteString(" in ")
		b.WriteString(e.Source)
	}
	if len(e.Problems) == 0 {
		return b.String()
	}
	b.WriteString(":")
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		if p.Key != "" {
			b.WriteString(displayKey(p.Key))
			b.WriteString(": ")
		}
		b.WriteString(p.Problem)
	}
	return b.String()
}

// Is reports whether target is ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// displayKey prints a key bare when it is a plain name, quoted (and
// truncated) otherwise, so that a strange unknown key cannot break the
// one-problem-per-line layout.
func displayKey(key string) string {
	if len(key) <= 64 && key != "" && strings.IndexFunc(key, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}) < 0 {
		return key
	}
	return quote(key)
}

// quote quotes a value for a message, truncated to 40 characters. Never use
// it for the password.
func quote(s string) string { return quoteN(s, 40) }

func quoteN(s string, max int) string {
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	return strconv.Quote(s)
}

// problems collects ConfigProblems.
type problems struct {
	list []ConfigProblem
}

func (ps *problems) add(key, format string, args ...any) {
	ps.list = append(ps.list, ConfigProblem{Key: key, Problem: fmt.Sprintf(format, args...)})
}

func (ps *problems) has(key string) bool {
	return slices.ContainsFunc(ps.list, func(p ConfigProblem) bool { return p.Key == key })
}

// sorted orders the problems: the document's first, then the known keys in
// configKeys order, then unknown keys as they came.
func (ps *problems) sorted() []ConfigProblem {
	rank := func(p ConfigProblem) int {
		if p.Key == "" {
			return -1
		}
		if _, i, ok := lookupKey(p.Key); ok {
			return i
		}
		return len(configKeys)
	}
	out := slices.Clone(ps.list)
	slices.SortStableFunc(out, func(a, b ConfigProblem) int { return rank(a) - rank(b) })
	return out
}

func (ps *problems) err(source string) error {
	if len(ps.list) == 0 {
		return nil
	}
	return &ConfigError{Source: source, Problems: ps.sorted()}
}

// ParseConfig parses a configuration: a JSON object with the keys of the
// example connector's configuration.json (see Config for each key, in
// brackets). Values may be JSON strings ("5000", "true", " 90s ") or native
// JSON numbers, booleans and (for include_tables, exclude_tables) arrays; a
// duration is a Go duration string or a number of seconds. A key set to ""
// or null takes its default. Absent keys take their defaults too
// (auto_schema_detection: true, max_retries: MaxRetriesDefault), and the
// result is validated as by Config.Validate.
//
// On failure it returns a *ConfigError that lists every problem at once:
// bad values, template placeholders left in ("<YOUR_REDSHIFT_HOST>"),
// unknown keys (with a did-you-mean), invalid JSON (with line and column).
// The error never contains the password.
func ParseConfig(data []byte) (Config, error) {
	cfg, ps := parseConfig(data)
	if err := ps.err(""); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func parseConfig(data []byte) (Config, *problems) {
	ps := &problems{}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 BOM, as some editors write
	if len(bytes.TrimSpace(data)) == 0 {
		ps.add("", `the configuration is empty; expected a JSON object such as {"redshift_host": "...", "redshift_database": "...", "redshift_user": "..."}`)
		return Config{}, ps
	}
	var check json.RawMessage // checks the syntax of the whole document
	if err := json.Unmarshal(data, &check); err != nil {
		ps.add("", "%s", jsonSyntaxProblem(data, err))
		return Config{}, ps
	}
	if kind := topLevelKind(data); kind != "a JSON object" {
		ps.add("", "the configuration is %s; expected a JSON object such as {\"redshift_host\": \"...\"}", kind)
		return Config{}, ps
	}

	// Walk the object's members in order, to see duplicates and keep the
	// raw values.
	type member struct {
		key string
		raw json.RawMessage
	}
	var members []member
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // '{'
		ps.add("", "%s", jsonSyntaxProblem(data, err))
		return Config{}, ps
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			ps.add("", "%s", jsonSyntaxProblem(data, err))
			return Config{}, ps
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			ps.add("", "%s", jsonSyntaxProblem(data, err))
			return Config{}, ps
		}
		members = append(members, member{key, raw})
	}

	cfg := Config{AutoSchemaDetection: true, MaxRetries: MaxRetriesDefault}
	explicit := map[string]bool{}
	seen := map[string]bool{}
	for _, m := range members {
		if seen[m.key] {
			if !ps.has(m.key) {
				ps.add(m.key, "appears more than once; keep one")
			}
			continue
		}
		seen[m.key] = true
		info, _, known := lookupKey(m.key)
		if !known {
			ps.add(m.key, "%s", unknownKeyProblem(m.key))
			continue
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(m.raw))
		d.UseNumber()
		if err := d.Decode(&v); err != nil { // cannot happen: the document is valid
			ps.add(m.key, "is not valid JSON")
			continue
		}
		if parseValue(&cfg, info, v, ps) {
			explicit[m.key] = true
		}
	}
	for _, p := range cfg.check(explicit) {
		if !ps.has(p.Key) {
			ps.list = append(ps.list, p)
		}
	}
	return cfg, ps
}

// topLevelKind names the kind of the (valid) JSON document data.
func topLevelKind(data []byte) string {
	switch bytes.TrimLeft(data, " \t\r\n")[0] {
	case '{':
		return "a JSON object"
	case '[':
		return "a JSON array"
	case '"':
		return "a JSON string"
	case 't', 'f':
		return "a JSON boolean"
	case 'n':
		return "null"
	}
	return "a JSON number"
}

// jsonSyntaxProblem describes a JSON decoding error with its line and column.
func jsonSyntaxProblem(data []byte, err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := lineCol(data, syn.Offset)
		return fmt.Sprintf("the configuration is not valid JSON: line %d, column %d: %v", line, col, syn)
	}
	return fmt.Sprintf("the configuration is not valid JSON: %v", err)
}

// lineCol returns the 1-based line and column (in characters) of the byte
// that a json.SyntaxError's Offset (the bytes read, that byte included)
// points at.
func lineCol(data []byte, offset int64) (line, col int) {
	pos := int(min(max(offset-1, 0), int64(len(data))))
	before := data[:pos]
	line = bytes.Count(before, []byte("\n")) + 1
	lastNL := bytes.LastIndexByte(before, '\n')
	col = utf8.RuneCount(before[lastNL+1:]) + 1
	return line, col
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a JSON string"
	case json.Number, float64:
		return "a JSON number"
	case bool:
		return "a JSON boolean"
	case []any:
		return "a JSON array"
	case map[string]any:
		return "a JSON object"
	}
	return "an unexpected JSON value"
}

// placeholderProblem describes a template placeholder left in a key (never
// the password's, whose value is not shown).
func placeholderProblem(v, what string) string {
	return fmt.Sprintf("still holds the template placeholder %s; replace it with %s", quoteN(strings.TrimSpace(v), 64), what)
}

// isPlaceholder reports whether s is a template placeholder such as
// "<YOUR_REDSHIFT_HOST>". For the password only the template's own shape
// (upper case, digits, underscores) counts, as a password may hold < and >.
func isPlaceholder(key, s string) bool {
	t := strings.TrimSpace(s)
	if len(t) < 3 || t[0] != '<' || t[len(t)-1] != '>' {
		return false
	}
	inner := t[1 : len(t)-1]
	if strings.ContainsAny(inner, "<>") {
		return false
	}
	if key == keyPassword {
		return strings.IndexFunc(inner, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
		}) < 0
	}
	return true
}

// parseValue converts the JSON value v of a known key into its field of cfg.
// It reports whether the key was given a value (not null, not ""); a value
// whose type is wrong adds a problem and leaves the field unset.
func parseValue(cfg *Config, info keyInfo, v any, ps *problems) bool {
	key := info.key
	if v == nil {
		return false // null: as if omitted
	}
	if s, ok := v.(string); ok {
		if isPlaceholder(key, s) {
			if info.kind == kindSecret {
				ps.add(key, "still holds the template placeholder; replace it with %s", info.what)
			} else {
				ps.add(key, "%s", placeholderProblem(s, info.what))
			}
			return false
		}
		if info.kind != kindSecret && strings.TrimSpace(s) == "" {
			return false // "": the default
		}
	}
	switch info.kind {
	case kindSecret:
		s, ok := v.(string)
		if !ok {
			ps.add(key, "must be a JSON string")
			return false
		}
		cfg.Password = Secret(s)
		return s != ""
	case kindString, kindEnum:
		s, ok := v.(string)
		if !ok {
			hint := ""
			if n, isNum := v.(json.Number); isNum {
				hint = fmt.Sprintf(" (write it as %q)", n.String())
			}
			ps.add(key, "must be a JSON string, not %s%s", jsonKind(v), hint)
			return false
		}
		switch key {
		case keyHost:
			cfg.Host = strings.TrimSpace(s)
		case keyDatabase:
			cfg.Database = s
		case keyUser:
			cfg.User = s
		case keySchema:
			cfg.Schema = s
		case keyTableSpecFile:
			cfg.TableSpecFile = s
		case keySSLMode:
			cfg.SSLMode = strings.ToLower(strings.TrimSpace(s))
		case keyDialect:
			cfg.Dialect = Dialect(strings.ToLower(strings.TrimSpace(s)))
		}
		return true
	case kindInt:
		n, ok := parseInt(key, v, ps)
		if !ok {
			return false
		}
		switch key {
		case keyPort:
			cfg.Port = n
		case keyBatchSize:
			cfg.BatchSize = n
		case keyBatchBytes:
			cfg.BatchBytes = n
		case keyMaxParallelWorkers:
			cfg.MaxParallelWorkers = n
		case keyCheckpointEveryRows:
			cfg.CheckpointEveryRows = n
		case keyMaxRetries:
			cfg.MaxRetries = n
		case keyPartitions:
			cfg.Partitions = n
		case keyPartitionThreshold:
			cfg.PartitionThreshold = n
		}
		return true
	case kindBool:
		b, ok := parseBool(key, v, ps)
		if !ok {
			return false
		}
		switch key {
		case keyAutoSchemaDetection:
			cfg.AutoSchemaDetection = b
		case keyEnableCompleteResync:
			cfg.EnableCompleteResync = b
		}
		return true
	case kindDuration:
		d, ok := parseDuration(key, v, ps)
		if !ok {
			return false
		}
		switch key {
		case keyCheckpointInterval:
			cfg.CheckpointInterval = d
		case keyLookback:
			cfg.Lookback = d
		case keyConnectTimeout:
			cfg.ConnectTimeout = d
		case keyStatementTimeout:
			cfg.StatementTimeout = d
		}
		return true
	case kindList:
		list, ok := parseList(key, v, ps)
		if !ok {
			return false
		}
		switch key {
		case keyIncludeTables:
			cfg.IncludeTables = list
		case keyExcludeTables:
			cfg.ExcludeTables = list
		}
		return true
	}
	return false
}

func intExpect(key string) string {
	switch key {
	case keyPort:
		return expectPort
	case keyBatchSize:
		return expectBatchSize
	case keyBatchBytes:
		return expectBatchBytes
	case keyMaxParallelWorkers:
		return expectWorkers
	case keyCheckpointEveryRows:
		return expectEveryRows
	case keyMaxRetries:
		return expectRetries
	case keyPartitions:
		return expectWorkers
	case keyPartitionThreshold:
		return expectEveryRows
	}
	return "a whole number"
}

// parseInt accepts a JSON number that is a whole number (5000, 5e3, 5000.0)
// or a string holding a decimal integer (" 5000 ").
func parseInt(key string, v any, ps *problems) (int, bool) {
	expect := intExpect(key)
	var n int64
	switch v := v.(type) {
	case json.Number:
		i, err := strconv.ParseInt(v.String(), 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(v.String(), 64)
			switch {
			case ferr == nil && f == math.Trunc(f) && math.Abs(f) <= 1<<53:
				i = int64(f)
			case (ferr == nil || errors.Is(ferr, strconv.ErrRange)) && math.Abs(f) >= 1<<53:
				ps.add(key, "%s is out of range; expected %s", quote(v.String()), expect)
				return 0, false
			default:
				ps.add(key, "%s is not a whole number; expected %s", v.String(), expect)
				return 0, false
			}
		}
		n = i
	case string:
		t := strings.TrimSpace(v)
		i, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				ps.add(key, "%s is out of range; expected %s", quote(v), expect)
			} else {
				ps.add(key, "%s is not a whole number; expected %s", quote(v), expect)
			}
			return 0, false
		}
		n = i
	default:
		ps.add(key, "must be %s, not %s", expect, jsonKind(v))
		return 0, false
	}
	if int64(int(n)) != n { // only on 32-bit platforms
		ps.add(key, "%d is out of range; expected %s", n, expect)
		return 0, false
	}
	return int(n), true
}

// parseBool accepts a JSON boolean or the strings true and false in any case.
func parseBool(key string, v any, ps *problems) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		t := strings.TrimSpace(v)
		switch {
		case strings.EqualFold(t, "true"):
			return true, true
		case strings.EqualFold(t, "false"):
			return false, true
		}
		ps.add(key, "%s is not a boolean; expected %s", quote(v), expectBool)
		return false, false
	}
	ps.add(key, "must be %s, not %s", expectBool, jsonKind(v))
	return false, false
}

// parseDuration accepts a Go duration string ("90s", "1h30m"), or a number
// of seconds as a JSON number or string (90, "90", "0.5").
func parseDuration(key string, v any, ps *problems) (time.Duration, bool) {
	var text string
	switch v := v.(type) {
	case json.Number:
		text = v.String()
	case string:
		text = strings.TrimSpace(v)
	default:
		ps.add(key, "must be %s, not %s", expectDuration, jsonKind(v))
		return 0, false
	}
	shown := quote(text)
	if _, isNum := v.(json.Number); isNum {
		shown = text
	}
	if isDecimal(text) {
		secs, err := strconv.ParseFloat(text, 64)
		if err != nil || math.Abs(secs) > float64(math.MaxInt64)/float64(time.Second) {
			ps.add(key, "%s is too large; expected %s", shown, expectDuration)
			return 0, false
		}
		if secs < 0 {
			ps.add(key, "%s is negative; expected 0 or more: %s", shown, expectDuration)
			return 0, false
		}
		return time.Duration(math.Round(secs * float64(time.Second))), true
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		ps.add(key, "%s is not a duration; expected %s", shown, expectDuration)
		return 0, false
	}
	if d < 0 {
		ps.add(key, "%s is negative; expected 0 or more: %s", shown, expectDuration)
		return 0, false
	}
	return d, true
}

// isDecimal reports whether s is a plain decimal number: an optional sign,
// digits and at most one point (no exponent, no Inf, no NaN). A JSON number
// with an exponent is accepted too.
func isDecimal(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	digits, points := 0, 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
			points++
		case (r == 'e' || r == 'E') && digits > 0:
			rest := strings.TrimLeft(s[i+1:], "+-")
			return rest != "" && strings.Trim(rest, "0123456789") == "" && points <= 1
		default:
			return false
		}
	}
	return digits > 0 && points <= 1
}

// parseList accepts a JSON array of strings or a comma-separated string;
// blank items are dropped.
func parseList(key string, v any, ps *problems) ([]string, bool) {
	var items []string
	switch v := v.(type) {
	case string:
		items = strings.Split(v, ",")
	case []any:
		ok := true
		for i, e := range v {
			s, isStr := e.(string)
			if !isStr {
				ps.add(key, "item %d is %s; expected %s", i+1, jsonKind(e), expectList)
				ok = false
				continue
			}
			items = append(items, s)
		}
		if !ok {
			return nil, false
		}
	default:
		ps.add(key, "must be %s, not %s", expectList, jsonKind(v))
		return nil, false
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, true
}

// unknownKeyProblem explains an unknown key, with a did-you-mean when a
// known key is close. The value is never echoed.
func unknownKeyProblem(key string) string {
	if key == "" {
		return `a key is empty (""); remove it`
	}
	norm := strings.ToLower(strings.TrimSpace(strings.ReplaceAll(key, "-", "_")))
	if slices.Contains(unloadKeys, norm) {
		return "unknown key: it belongs to the example's UNLOAD variant; redshiftsync reads with SELECT queries, so remove it"
	}
	if s := suggestKey(norm); s != "" {
		return fmt.Sprintf("unknown key; did you mean %q?", s)
	}
	return "unknown key; remove it (the known keys are " + knownKeyList() + ")"
}

func knownKeyList() string {
	names := make([]string, len(configKeys))
	for i, k := range configKeys {
		names[i] = k.key
	}
	return strings.Join(names, ", ")
}

// suggestKey returns the known key closest to norm by edit distance, or ""
// when none is close enough.
func suggestKey(norm string) string {
	if _, _, ok := lookupKey("redshift_" + norm); ok {
		return "redshift_" + norm // "host" → "redshift_host"
	}
	if utf8.RuneCountInString(norm) > 64 {
		return ""
	}
	best, bestD := "", math.MaxInt
	for _, k := range configKeys {
		d := editDistance(norm, k.key)
		if d < bestD {
			best, bestD = k.key, d
		}
	}
	limit := 2
	if len(best) >= 12 {
		limit = 3
	}
	if bestD <= limit && bestD < utf8.RuneCountInString(norm) {
		return best
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// suggestValue returns the allowed value closest to s, or "".
func suggestValue(s string, allowed []string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if utf8.RuneCountInString(s) > 32 {
		return ""
	}
	best, bestD := "", math.MaxInt
	for _, a := range allowed {
		if strings.HasPrefix(s, a) { // "required", "disabled", "postgresql"
			return a
		}
		if d := editDistance(s, a); d < bestD {
			best, bestD = a, d
		}
	}
	if bestD <= 2 {
		return best
	}
	return ""
}

// LoadConfig reads the configuration file at path and parses it with
// ParseConfig. A relative table_spec_file is resolved against the file's
// directory. A *ConfigError names the file in its Source.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("redshiftsync: reading configuration file: %w", err)
	}
	cfg, ps := parseConfig(data)
	if err := ps.err(path); err != nil {
		return Config{}, err
	}
	if cfg.TableSpecFile != "" && !filepath.IsAbs(cfg.TableSpecFile) {
		cfg.TableSpecFile = filepath.Join(filepath.Dir(path), cfg.TableSpecFile)
	}
	return cfg, nil
}

// Validate fills the zero fields that have a default (Port, Schema, SSLMode,
// Dialect, BatchSize, MaxParallelWorkers, CheckpointEveryRows,
// CheckpointInterval, ConnectTimeout) and checks every field, returning a
// *ConfigError that names the JSON key of each problem. AutoSchemaDetection
// and MaxRetries have no default here (see Config). Validating a valid
// Config again changes nothing.
func (c *Config) Validate() error {
	ps := &problems{list: c.check(nil)}
	return ps.err("")
}

// check applies the defaults to the zero fields, except those of the keys in
// explicit (set to zero on purpose, which the rules then judge), and returns
// the problems.
func (c *Config) check(explicit map[string]bool) []ConfigProblem {
	ps := &problems{}
	unset := func(key string) bool { return !explicit[key] }

	if c.Port == 0 && unset(keyPort) {
		c.Port = PortDefault
	}
	if c.Schema == "" && unset(keySchema) {
		c.Schema = SchemaDefault
	}
	if c.SSLMode == "" {
		c.SSLMode = sslModeFor(c.Host)
	}
	if c.Dialect == "" {
		c.Dialect = DialectAuto
	}
	if c.BatchSize == 0 && unset(keyBatchSize) {
		c.BatchSize = BatchSizeDefault
	}
	if c.BatchBytes == 0 {
		// Absent: the default; an explicit 0 is "none", kept as
		// BatchBytesNone so that validating again changes nothing.
		c.BatchBytes = BatchBytesDefault
		if !unset(keyBatchBytes) {
			c.BatchBytes = BatchBytesNone
		}
	}
	if c.MaxParallelWorkers == 0 && unset(keyMaxParallelWorkers) {
		c.MaxParallelWorkers = MaxParallelWorkersDefault
	}
	if c.CheckpointEveryRows == 0 && unset(keyCheckpointEveryRows) {
		c.CheckpointEveryRows = CheckpointEveryRowsDefault
	}
	if c.CheckpointInterval == 0 && unset(keyCheckpointInterval) {
		c.CheckpointInterval = CheckpointIntervalDefault
	}
	if c.ConnectTimeout == 0 && unset(keyConnectTimeout) {
		c.ConnectTimeout = ConnectTimeoutDefault
	}
	if c.Partitions == 0 && unset(keyPartitions) {
		c.Partitions = PartitionsDefault
	}
	if c.PartitionThreshold == 0 && unset(keyPartitionThreshold) {
		c.PartitionThreshold = PartitionThresholdDefault
	}

	// Connection.
	if msg := hostProblem(c.Host); msg != "" {
		ps.add(keyHost, "%s", msg)
	}
	checkInt(ps, keyPort, c.Port, 1, 65535)
	checkName(ps, keyDatabase, c.Database, true)
	checkName(ps, keyUser, c.User, true)
	if strings.ContainsRune(string(c.Password), 0) {
		ps.add(keyPassword, "must not contain a NUL character")
	}
	checkName(ps, keySchema, c.Schema, true)
	if !slices.Contains(sslModes, c.SSLMode) {
		ps.add(keySSLMode, "%s", enumProblem(c.SSLMode, sslModes))
	}
	if !slices.Contains(dialects, string(c.Dialect)) {
		ps.add(keyDialect, "%s", enumProblem(string(c.Dialect), dialects))
	}

	// Reading.
	checkInt(ps, keyBatchSize, c.BatchSize, 1, BatchSizeMax)
	checkInt(ps, keyBatchBytes, c.BatchBytes, BatchBytesNone, math.MaxInt)
	checkPatterns(ps, keyIncludeTables, c.IncludeTables)
	checkPatterns(ps, keyExcludeTables, c.ExcludeTables)
	if strings.ContainsRune(c.TableSpecFile, 0) {
		ps.add(keyTableSpecFile, "must not contain a NUL character")
	} else if c.TableSpecFile != "" && strings.TrimSpace(c.TableSpecFile) == "" {
		ps.add(keyTableSpecFile, "is blank; give the path of a table spec file, or remove the key")
	}
	checkInt(ps, keyMaxParallelWorkers, c.MaxParallelWorkers, 1, MaxParallelWorkersMax)

	// Checkpoints, timeouts, retries.
	checkInt(ps, keyCheckpointEveryRows, c.CheckpointEveryRows, 1, math.MaxInt)
	checkDuration(ps, keyCheckpointInterval, c.CheckpointInterval, false)
	checkDuration(ps, keyLookback, c.Lookback, true)
	checkDuration(ps, keyConnectTimeout, c.ConnectTimeout, false)
	checkDuration(ps, keyStatementTimeout, c.StatementTimeout, true)
	if c.StatementTimeout > maxStatementTimeo {
		ps.add(keyStatementTimeout, "%v is too long; expected at most %v (PostgreSQL's limit), or 0 for none", c.StatementTimeout, maxStatementTimeo)
	}
	checkInt(ps, keyMaxRetries, c.MaxRetries, 0, MaxRetriesMax)
	checkInt(ps, keyPartitions, c.Partitions, 1, MaxParallelWorkersMax)
	checkInt(ps, keyPartitionThreshold, c.PartitionThreshold, 1, math.MaxInt)
	return ps.list
}

func checkInt(ps *problems, key string, v, lo, hi int) {
	expect := intExpect(key)
	switch {
	case v < lo:
		ps.add(key, "%d is too small; expected %s", v, expect)
	case v > hi && key == keyBatchSize:
		ps.add(key, "%d is too large: a batch is held in memory at once, so more than %d rows per batch is almost certainly a mistake; use at most %d (10000 to 100000 is typical)", v, BatchSizeMax, BatchSizeMax)
	case v > hi:
		ps.add(key, "%d is too large; expected %s", v, expect)
	}
}

func checkDuration(ps *problems, key string, d time.Duration, zeroOK bool) {
	switch {
	case d < 0:
		ps.add(key, "%v is negative; expected %s", d, expectDuration)
	case d == 0 && !zeroOK:
		def := CheckpointIntervalDefault
		if key == keyConnectTimeout {
			def = ConnectTimeoutDefault
		}
		ps.add(key, "must be greater than 0; expected %s (remove the key for the default, %v)", expectDuration, def)
	}
}

// checkName checks a required name (database, user, schema).
func checkName(ps *problems, key, v string, required bool) {
	info, _, _ := lookupKey(key)
	switch {
	case strings.ContainsRune(v, 0):
		ps.add(key, "must not contain a NUL character")
	case required && v == "":
		ps.add(key, "is required; give %s", info.what)
	case strings.TrimSpace(v) == "":
		ps.add(key, "is blank; give %s", info.what)
	case isPlaceholder(key, v):
		ps.add(key, "%s", placeholderProblem(v, info.what))
	}
}

func checkPatterns(ps *problems, key string, patterns []string) {
	for _, p := range patterns {
		if strings.TrimSpace(p) == "" {
			ps.add(key, "holds a blank pattern; remove it")
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			ps.add(key, "%s is not a valid pattern; expected a table name or a path.Match pattern such as \"events_*\" (check the [ ] brackets and a trailing \\)", quote(p))
		}
	}
}

func enumProblem(v string, allowed []string) string {
	msg := fmt.Sprintf("%s is not allowed; expected one of %s", quote(v), strings.Join(allowed, ", "))
	if s := suggestValue(v, allowed); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg
}

// hostProblem checks a host name, IP address or unix socket directory.
func hostProblem(host string) string {
	info, _, _ := lookupKey(keyHost)
	switch {
	case host == "":
		return "is required; give " + info.what
	case strings.TrimSpace(host) == "":
		return "is blank; give " + info.what
	case isPlaceholder(keyHost, host):
		return placeholderProblem(host, info.what)
	case strings.ContainsRune(host, 0):
		return "must not contain a NUL character"
	case strings.HasPrefix(host, "/"), strings.HasPrefix(host, "@"):
		return "" // a unix socket directory, or an abstract socket
	case strings.Contains(host, "://"):
		return fmt.Sprintf("%s is a URL; give only the host name (or use ConfigFromURL for a postgres:// URL)", quote(host))
	case strings.Contains(host, ","):
		return fmt.Sprintf("%s holds several hosts; give one host", quote(host))
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		return fmt.Sprintf("%s: write an IPv6 address without brackets", quote(host))
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.Count(host, ":") == 1 {
		if _, err := strconv.Atoi(host[i+1:]); err == nil {
			return fmt.Sprintf("%s holds a port; put the host name here and the port in redshift_port", quote(host))
		}
	}
	if strings.ContainsFunc(host, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r) || strings.ContainsRune(`'"\/@?#&=;<>`, r)
	}) {
		return fmt.Sprintf("%s is not a valid host name; give %s", quote(host), info.what)
	}
	return ""
}

// sslModeFor returns the default sslmode for host: "prefer" for a local
// server (localhost, a loopback address, a unix socket directory or abstract
// socket), where TLS is often not set up; "require" for every other host,
// Redshift's (*.redshift.amazonaws.com, *.redshift-serverless.amazonaws.com)
// included, which always offer TLS.
func sslModeFor(host string) string {
	h := strings.ToLower(strings.TrimSpace(host))
	switch {
	case strings.HasPrefix(h, "/"), strings.HasPrefix(h, "@"):
		return "prefer"
	case h == "localhost", h == "localhost.", strings.HasSuffix(h, ".localhost"):
		return "prefer"
	}
	if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil && ip.IsLoopback() {
		return "prefer"
	}
	return "require"
}

// ConfigFromURL builds a Config from a postgres:// or postgresql:// URL:
//
//	postgres://user:password@host:port/database?sslmode=require&connect_timeout=10
//
// The port defaults to 5432 (it is a PostgreSQL URL; PortDefault applies to
// JSON configurations only). The query may hold sslmode, connect_timeout
// (seconds, or a Go duration) and host (a unix socket directory, for a URL
// without a host: postgres:///db?host=/var/run/postgresql); any other
// parameter is an error. Percent-encode a user name or password holding
// : / ? # @ or %. The other fields take their defaults as in ParseConfig
// (AutoSchemaDetection true, MaxRetries MaxRetriesDefault) and the result is
// validated. Errors name the URL with its password redacted, never the
// password.
func ConfigFromURL(rawURL string) (Config, error) {
	cfg, err := configFromURL(rawURL)
	var ce *ConfigError
	if errors.As(err, &ce) {
		// A problem may quote a value of the URL: never the password.
		for i := range ce.Problems {
			ce.Problems[i].Problem = redact.String(ce.Problems[i].Problem, rawURL)
		}
		ce.Source = redact.String(ce.Source, rawURL)
	}
	return cfg, err
}

func configFromURL(rawURL string) (Config, error) {
	ps := &problems{}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's errors quote the URL (and a misplaced password):
		// describe the problem without them.
		ps.add("", "%s", redact.URLProblem(err))
		return Config{}, ps.err("")
	}
	// Shown in the error: the URL with its password masked, or nothing
	// when the URL looks misparsed (an unescaped / ? # or @ in the
	// password would still show part of it).
	source := redact.DSN(rawURL)
	if u.Opaque != "" {
		ps.add("", "is not a postgres:// URL; expected postgres://user:password@host:port/database")
		return Config{}, ps.err("")
	}
	if strings.ContainsAny(u.Path+u.RawQuery+u.Fragment, "@") {
		// Likely a password with an unescaped / ? or #.
		ps.add("", "the URL looks misparsed (an @ after the host); percent-encode a user name or password holding : / ? # @ or %%")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		ps.add("", "the URL's scheme must be postgres:// or postgresql://")
		return Config{}, ps.err(source)
	}
	if u.Fragment != "" {
		ps.add("", "the URL must not have a #fragment")
	}

	cfg := Config{
		Host:                u.Hostname(),
		Database:            strings.TrimPrefix(u.Path, "/"),
		AutoSchemaDetection: true,
		MaxRetries:          MaxRetriesDefault,
		Port:                5432,
	}
	explicit := map[string]bool{}
	if u.User != nil {
		cfg.User = u.User.Username()
		if pw, ok := u.User.Password(); ok {
			cfg.Password = Secret(pw)
		}
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n > 65535 {
			ps.add(keyPort, "%s is not a port number; expected %s", quote(p), expectPort)
		} else {
			cfg.Port = n
			explicit[keyPort] = true
		}
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		ps.add("", "the URL's query is malformed; expected ?sslmode=require&connect_timeout=10")
	}
	var unknown []string
	for name, values := range query {
		if len(values) > 1 {
			ps.add(name, "is given more than once in the URL's query")
			continue
		}
		v := values[0]
		switch name {
		case "sslmode":
			cfg.SSLMode = v
		case "connect_timeout":
			if strings.TrimSpace(v) == "" {
				break
			}
			if d, ok := parseDuration(keyConnectTimeout, v, ps); ok {
				cfg.ConnectTimeout = d
				explicit[keyConnectTimeout] = true
			}
		case "host":
			if cfg.Host != "" {
				ps.add("host", "is given both in the URL and in its query; give it once")
			} else {
				cfg.Host = v
			}
		default:
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		names := make([]string, len(unknown))
		for i, n := range unknown {
			names[i] = quote(n)
		}
		ps.add("", "the URL's query holds unsupported parameters %s; only sslmode, connect_timeout and host are allowed", strings.Join(names, ", "))
	}
	if cfg.User == "" && u.User == nil {
		ps.add(keyUser, "is required: the URL has no user name; write postgres://USER@host/database")
	}
	for _, p := range cfg.check(explicit) {
		if !ps.has(p.Key) {
			ps.list = append(ps.list, p)
		}
	}
	if len(ps.list) > 0 {
		// Name the URL's parts rather than the JSON keys.
		list := ps.sorted()
		for i := range list {
			if k, ok := urlPartOf[list[i].Key]; ok {
				list[i].Key = k
			}
		}
		return Config{}, &ConfigError{Source: source, Problems: list}
	}
	return cfg, nil
}

// urlPartOf maps JSON keys to the parts of a URL, for ConfigFromURL's errors.
var urlPartOf = map[string]string{
	keyHost:     "host",
	keyPort:     "port",
	keyDatabase: "database",
	keyUser:     "user",
	keyPassword: "password",
}

// connString returns the lib/pq key=value connection string of c: host,
// port, dbname, user, password (when set), sslmode, connect_timeout (whole
// seconds, rounded up) and application_name=redshiftsync, each value quoted
// as libpq requires. It holds the password: never log it.
func (c Config) connString() string {
	var b strings.Builder
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteString("='")
		for _, r := range v {
			if r == '\\' || r == '\'' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('\'')
	}
	add("host", c.Host)
	add("port", strconv.Itoa(c.Port))
	add("dbname", c.Database)
	add("user", c.User)
	if c.Password != "" {
		add("password", string(c.Password))
	}
	if c.SSLMode != "" {
		add("sslmode", c.SSLMode)
	}
	if c.ConnectTimeout > 0 {
		secs := (c.ConnectTimeout + time.Second - 1) / time.Second
		add("connect_timeout", strconv.FormatInt(int64(secs), 10))
	}
	add("application_name", "redshiftsync")
	return b.String()
}

// LogValue makes slog print the configuration as a group keyed by the JSON
// keys, with the password shown as "[redacted]" when set.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String(keyHost, c.Host),
		slog.Int(keyPort, c.Port),
		slog.String(keyDatabase, c.Database),
		slog.String(keyUser, c.User),
	}
	if c.Password != "" {
		attrs = append(attrs, slog.String(keyPassword, redacted))
	}
	attrs = append(attrs,
		slog.String(keySchema, c.Schema),
		slog.String(keySSLMode, c.SSLMode),
		slog.String(keyDialect, string(c.Dialect)),
		slog.Int(keyBatchSize, c.BatchSize),
		slog.Int(keyBatchBytes, c.BatchBytes),
		slog.Bool(keyAutoSchemaDetection, c.AutoSchemaDetection),
		slog.Any(keyIncludeTables, c.IncludeTables),
		slog.Any(keyExcludeTables, c.ExcludeTables),
		slog.String(keyTableSpecFile, c.TableSpecFile),
		slog.Int(keyMaxParallelWorkers, c.MaxParallelWorkers),
		slog.Bool(keyEnableCompleteResync, c.EnableCompleteResync),
		slog.Int(keyCheckpointEveryRows, c.CheckpointEveryRows),
		slog.Duration(keyCheckpointInterval, c.CheckpointInterval),
		slog.Duration(keyLookback, c.Lookback),
		slog.Duration(keyConnectTimeout, c.ConnectTimeout),
		slog.Duration(keyStatementTimeout, c.StatementTimeout),
		slog.Int(keyMaxRetries, c.MaxRetries),
	)
	return slog.GroupValue(attrs...)
}
