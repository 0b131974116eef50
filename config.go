// This file holds Config, the settings of an Extractor: its fields, their
// defaults and limits, and the one place they are resolved (WithDefaults)
// and checked (Validate). What each setting is called in a configuration
// file, its default, bounds and messages are in the settings table
// (settings.go); parsing is in configparse.go and configurl.go.

package redshiftsync

import (
	"errors"
	"time"

	"github.com/lib/pq"
)

// Defaults of the settings, which a zero field (or an absent key) takes.
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
	BatchBytesDefault          = 16 << 20
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

// The values of Config.DeleteDetection.
const (
	DeleteDetectionOff = "off"
	DeleteDetectionOn  = "on"
)

// Named "none" values: a Go field cannot say "none" with its zero value,
// which means the default. A configuration file writes "0" for them, and the
// parsers store these constants.
const (
	// BatchBytesNone, as Config.BatchBytes, means no byte budget.
	BatchBytesNone = -1
	// MaxRetriesNone, as Config.MaxRetries, means no retry: the first
	// failure of a query or connection fails the table. It is below every
	// count of attempts, so the retry loops' "attempt >= MaxRetries" stops
	// at the first failure as 0 used to.
	MaxRetriesNone = -1
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

// Config is the configuration of an Extractor. A Config works as written: a
// zero field means the documented default, so
//
//	redshiftsync.Config{Host: "db.example.com", Database: "dev", User: "reader"}
//
// is complete; where a setting can be turned off, "none" is a named value
// (BatchBytesNone, MaxRetriesNone). Build one in Go, or read one with
// ParseConfig, LoadConfig or ConfigFromURL. New and NewFromDB validate it.
//
// The configuration file's key of each field is given in brackets; every key
// accepts a JSON string (as the example connector writes them: "5000",
// "true") or a native JSON number or boolean. A key whose value is "" or null
// takes its default, as an absent key does; "0" means "none" for the keys
// whose field has a named none value, and is the default itself for
// lookback and statement_timeout.
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
	// (localhost, a loopback address, a unix socket), verify-full for a
	// Redshift endpoint (*.redshift.amazonaws.com,
	// *.redshift-serverless.amazonaws.com and their amazonaws.com.cn forms,
	// whose certificates chain to roots every system trusts), and require
	// for any other host. See SSLRootCert for the roots certificates are
	// verified against.
	SSLMode string
	// SSLRootCert is the path of a PEM file of the CA certificates that
	// verify the server's certificate [sslrootcert], or "system" for the
	// system's roots. With verify-full and no SSLRootCert (nor
	// PGSSLROOTCERT in the environment, which lib/pq reads), the system's
	// roots verify it (never ~/.postgresql/root.crt, which lib/pq would
	// otherwise read when it exists). Otherwise lib/pq's (and libpq's) rule
	// applies: with verify-ca, ~/.postgresql/root.crt when it exists, else
	// the system's roots; with require or prefer, the certificate is
	// verified against the file given here, or ~/.postgresql/root.crt when
	// that exists, and not at all otherwise.
	SSLRootCert string
	// Dialect forces the SQL flavour [dialect]: auto (DialectAuto, the
	// default), redshift or postgres.
	Dialect Dialect

	// BatchSize is the number of rows read per page and handed to the sink
	// per Write [batch_size], 1 to BatchSizeMax, default BatchSizeDefault.
	BatchSize int
	// BatchBytes caps the bytes of a batch as well [batch_bytes], default
	// BatchBytesDefault; BatchBytesNone ("0" in a configuration file) means
	// no byte cap, a batch then being BatchSize rows whatever their width.
	// A single row larger than the budget is a batch on its own.
	BatchBytes int
	// TablesFromSpecs syncs the tables that table specs list (the file
	// TableSpecFile, or the option WithTableSpecs) instead of discovering
	// the tables of Schema from the catalog. It is the configuration file's
	// auto_schema_detection inverted: "auto_schema_detection": "false" sets
	// it; the default (false) discovers.
	TablesFromSpecs bool
	// IncludeTables and ExcludeTables filter the discovered tables by exact
	// name or glob pattern (path.Match) [include_tables, exclude_tables]:
	// a JSON array of strings or a comma-separated string. Default: every
	// table.
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
	// EnableCompleteResync makes every table sync in full
	// [enable_complete_resync]; default false.
	EnableCompleteResync bool

	// CheckpointEveryRows saves the state after this many rows of a table
	// [checkpoint_every_rows], at least 1, default CheckpointEveryRowsDefault.
	CheckpointEveryRows int
	// CheckpointInterval saves the state at least this often while a table
	// is read [checkpoint_interval], default CheckpointIntervalDefault.
	// JSON: a Go duration string ("90s") or a number of seconds.
	CheckpointInterval time.Duration
	// Lookback re-reads rows whose timestamp replication key is up to this
	// much older than the bookmark [lookback]; default 0, none. Rows
	// committed late need none for the keys the watermark covers (see the
	// README's "Late commits"); it is for keys set from a client's clock
	// and the like.
	Lookback time.Duration
	// ConnectTimeout bounds each connection attempt [connect_timeout],
	// default ConnectTimeoutDefault. It is sent to the driver in whole
	// seconds, rounded up.
	ConnectTimeout time.Duration
	// StatementTimeout bounds each statement run against the source
	// [statement_timeout]; default 0, which leaves the server's setting. At
	// most 2147483647ms (about 24 days), PostgreSQL's limit.
	StatementTimeout time.Duration
	// MaxRetries is how many times in a row a failed query or connection is
	// retried before the table fails [max_retries], up to MaxRetriesMax,
	// default MaxRetriesDefault; MaxRetriesNone ("0" in a configuration
	// file) means no retry. An attempt that moved the read's position
	// forward before it failed starts the count again.
	MaxRetries int
	// Partitions splits a table whose estimated rows reach
	// PartitionThreshold into this many key ranges, read concurrently
	// within MaxParallelWorkers [partitions], 1 to MaxParallelWorkersMax,
	// default PartitionsDefault; 1 turns splitting off.
	Partitions int
	// PartitionThreshold is the estimated row count from which a table is
	// split [partition_threshold_rows], default PartitionThresholdDefault.
	PartitionThreshold int

	// DeleteDetection finds the rows deleted at the source and tells a
	// sink that is a DeleteSink and a KeyLister [delete_detection]:
	// DeleteDetectionOff (the default) or DeleteDetectionOn. See the
	// README's "Deletes and schema changes" for its cost and guarantees.
	DeleteDetection string
	// DeleteDetectionInterval runs delete detection on a table at most
	// this often [delete_detection_interval]; default 0, every sync.
	DeleteDetectionInterval time.Duration
	// The UNLOAD read of large Redshift tables (see the README's "Large
	// tables: UNLOAD" and WithUnloader); every key is optional, and none
	// applies without UnloadS3URI.
	//
	// UnloadS3URI is where UNLOAD writes [unload_s3_uri]: "s3://bucket/" or
	// "s3://bucket/prefix/"; each UNLOAD writes under
	// "<prefix><run>/<schema.table>/".
	UnloadS3URI string
	// UnloadIAMRole is the ARN of the IAM role Redshift assumes to write
	// the files [unload_iam_role] ("arn:aws:iam::123456789012:role/name",
	// several comma-separated for role chaining, or "default" for the
	// cluster's default role). Give it, or the access-key form below.
	UnloadIAMRole string
	// UnloadAccessKeyID, UnloadSecretAccessKey and UnloadSessionToken are
	// the access-key form of UNLOAD's authorization [unload_access_key_id,
	// unload_secret_access_key, unload_session_token]: the keys Redshift
	// writes with, put in the UNLOAD statement (never in logs or errors).
	UnloadAccessKeyID     Secret
	UnloadSecretAccessKey Secret
	UnloadSessionToken    Secret
	// UnloadS3Region is the bucket's AWS region [unload_s3_region], given to
	// UNLOAD (REGION) and to the reader; default: the cluster's region.
	UnloadS3Region string
	// UnloadS3Endpoint is an S3-compatible endpoint the library's own reads
	// use [unload_s3_endpoint] ("http://127.0.0.1:9000"), path-style: for
	// tests and S3-compatible stores. Redshift itself writes to S3.
	UnloadS3Endpoint string
	// UnloadS3AccessKeyID and UnloadS3SecretAccessKey are the keys of the
	// library's own S3 reads and deletes [unload_s3_access_key_id,
	// unload_s3_secret_access_key]; default: the AWS SDK's default chain.
	UnloadS3AccessKeyID     Secret
	UnloadS3SecretAccessKey Secret
	// UnloadThreshold is the row count from which a Redshift table (its
	// estimate, or a phase's counted rows) is read with UNLOAD
	// [unload_threshold_rows]; default 0, never.
	UnloadThreshold int
	// UnloadKeepFiles keeps the files of an UNLOAD once its table's sync
	// succeeded [unload_keep_files]; default false, deleted.
	UnloadKeepFiles bool

	// dial, when set, opens the network connections of New's pool in place
	// of lib/pq's dialer: a test's seam (export_test.go), so that a
	// Redshift host name reaches a local TLS server.
	dial pq.Dialer
}

// DefaultConfig returns a Config holding every default: what a zero field
// means, written out. SSLMode stays "" because its default depends on Host;
// the connection fields (Host, Database, User, Password) are left for the
// caller.
func DefaultConfig() Config {
	var c Config
	for i := range settings {
		settings[i].applyDefault(&c)
	}
	return c
}

// WithDefaults returns a copy of c whose zero fields hold their defaults
// (SSLMode chosen from Host); named "none" values and the other fields are
// kept. It is how New and NewFromDB resolve a Config, and is idempotent.
func (c Config) WithDefaults() Config {
	for i := range settings {
		settings[i].applyDefault(&c)
	}
	if c.SSLMode == "" {
		c.SSLMode = sslModeFor(c.Host)
	}
	return c
}

// Validate resolves c in place (c = c.WithDefaults()) and checks every
// field, returning a *ConfigError that lists every problem at once, each
// named by its key in a configuration file. Validating a valid Config again
// changes nothing.
func (c *Config) Validate() error {
	*c = c.WithDefaults()
	ps := &problems{}
	c.check(ps)
	return ps.err("")
}
