// This file holds the settings table: one row per setting, naming its key in
// a configuration file, its Config field, its default, its bounds, how a
// file spells "none", and what belongs there. The table alone drives
// defaults (Config.WithDefaults, DefaultConfig), parsing (configparse.go,
// configurl.go), validation and its messages (configcheck.go) and
// Config.LogValue, so adding a setting is adding a row (and its field).

package redshiftsync

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/confvalue"
)

// fileZero says what an explicit "0" in a configuration file (or a URL)
// means for a numeric setting. In Go a zero field always means the default.
type fileZero int

const (
	// zeroIsProblem: 0 is out of bounds ("0 is too small"); remove the key
	// for the default.
	zeroIsProblem fileZero = iota
	// zeroIsNone: 0 means "none", stored as the setting's named none value
	// (BatchBytesNone, MaxRetriesNone).
	zeroIsNone
	// zeroIsDefault: 0 is the default, and means "none" itself (lookback,
	// statement_timeout).
	zeroIsDefault
)

// A setting is one row of the table.
type setting struct {
	key string
	// field returns a pointer to the setting's field of c: *string,
	// *Secret, *Dialect, *int, *bool, *time.Duration or *[]string; the
	// pointer's type is the setting's kind.
	field func(c *Config) any
	// def is the default a zero field takes, typed as the field; nil when
	// the zero value is the default.
	def any
	// min and max bound an int field (inclusive).
	min, max int
	// zero is what a file's "0" means; none is the field's none value,
	// for zeroIsNone.
	zero fileZero
	none int
	// invert marks a bool field that is its key negated
	// (auto_schema_detection and TablesFromSpecs).
	invert bool
	// clean normalizes a string read from a file; nil keeps it as written.
	clean func(string) string
	// allowed lists the values of an enum.
	allowed []string
	// what says what belongs in the key ("give …", "replace it with …").
	what string
	// expect says what a value must look like ("expected …"), for numbers.
	expect string
	// tooLarge, when set, replaces "is too large; expected …".
	tooLarge string
	// check reports the problems of the field's value that its kind and
	// bounds do not cover.
	check func(s *setting, c *Config) []string
}

var (
	sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
	dialects = []string{string(DialectAuto), string(DialectRedshift), string(DialectPostgres)}
	// deleteDetections are the values of delete_detection.
	deleteDetections = []string{DeleteDetectionOff, DeleteDetectionOn}
)

// maxStatementTimeout is PostgreSQL's limit of statement_timeout.
const maxStatementTimeout = time.Duration(math.MaxInt32) * time.Millisecond

func lower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// settings lists the settings in the order problems are reported.
var settings = []setting{
	{key: keyHost, field: func(c *Config) any { return &c.Host },
		clean: strings.TrimSpace,
		what:  "the host name of your Redshift cluster or PostgreSQL server",
		check: func(s *setting, c *Config) []string { return one(hostProblem(c.Host, s.what)) }},
	{key: keyPort, field: func(c *Config) any { return &c.Port }, def: PortDefault, min: 1, max: 65535,
		what: `the server's port, such as "5439"`, expect: `a port number from 1 to 65535, such as "5439"`},
	{key: keyDatabase, field: func(c *Config) any { return &c.Database },
		what:  "the name of the database to read",
		check: func(s *setting, c *Config) []string { return one(nameProblem(c.Database, s.what)) }},
	{key: keyUser, field: func(c *Config) any { return &c.User },
		what:  "the user name to connect as",
		check: func(s *setting, c *Config) []string { return one(nameProblem(c.User, s.what)) }},
	{key: keyPassword, field: func(c *Config) any { return &c.Password },
		what:  `the password of redshift_user (or "" for none)`,
		check: func(_ *setting, c *Config) []string { return one(nulProblem(string(c.Password))) }},
	{key: keySchema, field: func(c *Config) any { return &c.Schema }, def: SchemaDefault,
		what:  `the schema to sync, such as "public"`,
		check: func(s *setting, c *Config) []string { return one(nameProblem(c.Schema, s.what)) }},
	// SSLMode's default depends on Host: see Config.WithDefaults.
	{key: keySSLMode, field: func(c *Config) any { return &c.SSLMode },
		clean: lower, allowed: sslModes, what: `an sslmode such as "require"`},
	{key: keySSLRootCert, field: func(c *Config) any { return &c.SSLRootCert },
		what: `the path of a PEM file of CA certificates, or "system"`,
		check: func(_ *setting, c *Config) []string {
			if p := nulProblem(c.SSLRootCert); p != "" {
				return []string{p}
			}
			if c.SSLRootCert != "" && strings.TrimSpace(c.SSLRootCert) == "" {
				return []string{`is blank; give the path of a PEM file of CA certificates, "system", or remove the key`}
			}
			return nil
		}},
	{key: keyDialect, field: func(c *Config) any { return &c.Dialect }, def: DialectAuto,
		clean: lower, allowed: dialects, what: `"auto", "redshift" or "postgres"`},
	{key: keyBatchSize, field: func(c *Config) any { return &c.BatchSize }, def: BatchSizeDefault, min: 1, max: BatchSizeMax,
		what:     `the number of rows per batch, such as "10000"`,
		expect:   `a positive integer such as "5000" (at most 1000000)`,
		tooLarge: fmt.Sprintf("is too large: a batch is held in memory at once, so more than %d rows per batch is almost certainly a mistake; use at most %d (10000 to 100000 is typical)", BatchSizeMax, BatchSizeMax)},
	{key: keyBatchBytes, field: func(c *Config) any { return &c.BatchBytes }, def: BatchBytesDefault, min: 1, max: math.MaxInt,
		zero: zeroIsNone, none: BatchBytesNone,
		what:   `a byte cap per batch such as "67108864", or "0" for none`,
		expect: `a number of bytes such as "16777216" (16 MiB, the default), or "0" for no cap`},
	{key: keyAutoSchemaDetection, field: func(c *Config) any { return &c.TablesFromSpecs }, invert: true,
		what: confvalue.ExpectBool},
	{key: keyIncludeTables, field: func(c *Config) any { return &c.IncludeTables },
		what: `table names or patterns such as "orders,events_*"`},
	{key: keyExcludeTables, field: func(c *Config) any { return &c.ExcludeTables },
		what: `table names or patterns such as "tmp_*"`},
	{key: keyTableSpecFile, field: func(c *Config) any { return &c.TableSpecFile },
		what: "the path of your table spec file",
		check: func(_ *setting, c *Config) []string {
			if p := nulProblem(c.TableSpecFile); p != "" {
				return []string{p}
			}
			if c.TableSpecFile != "" && strings.TrimSpace(c.TableSpecFile) == "" {
				return []string{"is blank; give the path of a table spec file, or remove the key"}
			}
			return nil
		}},
	{key: keyMaxParallelWorkers, field: func(c *Config) any { return &c.MaxParallelWorkers }, def: MaxParallelWorkersDefault,
		min: 1, max: MaxParallelWorkersMax,
		what: `the number of parallel workers, such as "4"`, expect: `a whole number from 1 to 64, such as "4"`},
	{key: keyEnableCompleteResync, field: func(c *Config) any { return &c.EnableCompleteResync },
		what: confvalue.ExpectBool},
	{key: keyCheckpointEveryRows, field: func(c *Config) any { return &c.CheckpointEveryRows }, def: CheckpointEveryRowsDefault,
		min: 1, max: math.MaxInt,
		what: `the number of rows between checkpoints, such as "50000"`, expect: `a positive integer such as "50000"`},
	{key: keyCheckpointInterval, field: func(c *Config) any { return &c.CheckpointInterval }, def: CheckpointIntervalDefault,
		what: `a duration such as "1m"`},
	{key: keyLookback, field: func(c *Config) any { return &c.Lookback }, zero: zeroIsDefault,
		what: `a duration such as "10m", or "0"`},
	{key: keyConnectTimeout, field: func(c *Config) any { return &c.ConnectTimeout }, def: ConnectTimeoutDefault,
		what: `a duration such as "30s"`},
	{key: keyStatementTimeout, field: func(c *Config) any { return &c.StatementTimeout }, zero: zeroIsDefault,
		what: `a duration such as "30m", or "0" for none`,
		check: func(_ *setting, c *Config) []string {
			if c.StatementTimeout > maxStatementTimeout {
				return []string{fmt.Sprintf("%v is too long; expected at most %v (PostgreSQL's limit), or 0 for none", c.StatementTimeout, maxStatementTimeout)}
			}
			return nil
		}},
	{key: keyMaxRetries, field: func(c *Config) any { return &c.MaxRetries }, def: MaxRetriesDefault, min: 0, max: MaxRetriesMax,
		zero: zeroIsNone, none: MaxRetriesNone,
		what: `the number of retries, such as "5"`, expect: `a whole number from 0 to 100, such as "5"`},
	{key: keyPartitions, field: func(c *Config) any { return &c.Partitions }, def: PartitionsDefault, min: 1, max: MaxParallelWorkersMax,
		what:   `the number of partitions of a large table, such as "4", or "1" for none`,
		expect: `a whole number from 1 to 64, such as "4"`},
	{key: keyPartitionThreshold, field: func(c *Config) any { return &c.PartitionThreshold }, def: PartitionThresholdDefault,
		min: 1, max: math.MaxInt,
		what: `a row count such as "1000000"`, expect: `a positive integer such as "50000"`},
	{key: keyDeleteDetection, field: func(c *Config) any { return &c.DeleteDetection }, def: DeleteDetectionOff,
		clean: lower, allowed: deleteDetections, what: `"off" or "on"`},
	{key: keyDeleteDetectionInterval, field: func(c *Config) any { return &c.DeleteDetectionInterval }, zero: zeroIsDefault,
		what: `a duration such as "24h", or "0" for every sync`},
	// The UNLOAD read (unloadconfig.go checks the keys together).
	{key: keyUnloadS3URI, field: func(c *Config) any { return &c.UnloadS3URI },
		clean: strings.TrimSpace, what: unloadURIWhat, check: checkUnloadURI},
	{key: keyUnloadIAMRole, field: func(c *Config) any { return &c.UnloadIAMRole },
		clean: strings.TrimSpace, what: unloadRoleWhat, check: checkUnloadRole},
	{key: keyUnloadAccessKeyID, field: func(c *Config) any { return &c.UnloadAccessKeyID },
		what: "the access key id Redshift writes the UNLOAD with", check: checkUnloadSecret},
	{key: keyUnloadSecretAccessKey, field: func(c *Config) any { return &c.UnloadSecretAccessKey },
		what: "the secret access key Redshift writes the UNLOAD with", check: checkUnloadSecret},
	{key: keyUnloadSessionToken, field: func(c *Config) any { return &c.UnloadSessionToken },
		what: "the session token of temporary keys Redshift writes the UNLOAD with", check: checkUnloadSecret},
	{key: keyUnloadS3Region, field: func(c *Config) any { return &c.UnloadS3Region },
		clean: lower, what: `the bucket's AWS region, such as "us-east-1"`, check: checkUnloadRegion},
	{key: keyUnloadS3Endpoint, field: func(c *Config) any { return &c.UnloadS3Endpoint },
		clean: strings.TrimSpace, what: `an S3-compatible endpoint such as "http://127.0.0.1:9000"`, check: checkUnloadEndpoint},
	{key: keyUnloadS3AccessKeyID, field: func(c *Config) any { return &c.UnloadS3AccessKeyID },
		what: "the access key id of the library's own S3 reads", check: checkUnloadSecret},
	{key: keyUnloadS3SecretAccessKey, field: func(c *Config) any { return &c.UnloadS3SecretAccessKey },
		what: "the secret access key of the library's own S3 reads", check: checkUnloadSecret},
	{key: keyUnloadThreshold, field: func(c *Config) any { return &c.UnloadThreshold }, min: 0, max: math.MaxInt,
		zero: zeroIsDefault,
		what: `a row count such as "10000000", or "0" for never`, expect: `a row count such as "10000000", or "0" for never`,
		check: checkUnloadNeedsURI},
	{key: keyUnloadKeepFiles, field: func(c *Config) any { return &c.UnloadKeepFiles },
		what: confvalue.ExpectBool, check: checkUnloadNeedsURI},
}

// The keys that code outside the table names.
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
	keySSLRootCert          = "sslrootcert"
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

	keyDeleteDetection         = "delete_detection"
	keyDeleteDetectionInterval = "delete_detection_interval"
	keyUnloadS3URI             = "unload_s3_uri"
	keyUnloadIAMRole           = "unload_iam_role"
	keyUnloadAccessKeyID       = "unload_access_key_id"
	keyUnloadSecretAccessKey   = "unload_secret_access_key"
	keyUnloadSessionToken      = "unload_session_token"
	keyUnloadS3Region          = "unload_s3_region"
	keyUnloadS3Endpoint        = "unload_s3_endpoint"
	keyUnloadS3AccessKeyID     = "unload_s3_access_key_id"
	keyUnloadS3SecretAccessKey = "unload_s3_secret_access_key"
	keyUnloadThreshold         = "unload_threshold_rows"
	keyUnloadKeepFiles         = "unload_keep_files"
)

// lookupSetting returns the row of key and its index, or nil and -1.
func lookupSetting(key string) (*setting, int) {
	for i := range settings {
		if settings[i].key == key {
			return &settings[i], i
		}
	}
	return nil, -1
}

// settingOf returns the row of a key the code names (a constant above).
func settingOf(key string) *setting {
	s, _ := lookupSetting(key)
	return s
}

// applyDefault sets the field of c to the default when it is zero.
func (s *setting) applyDefault(c *Config) {
	if s.def == nil {
		return
	}
	switch p := s.field(c).(type) {
	case *string:
		if *p == "" {
			*p = s.def.(string)
		}
	case *Dialect:
		if *p == "" {
			*p = s.def.(Dialect)
		}
	case *int:
		if *p == 0 {
			*p = s.def.(int)
		}
	case *time.Duration:
		if *p == 0 {
			*p = s.def.(time.Duration)
		}
	}
}

// setInt stores a whole number read from a file or URL, translating 0 as
// s.zero says; a negative number is a problem (a file spells "none" 0).
func (s *setting) setInt(p *int, n int, ps *problems) {
	switch {
	case n == 0 && s.zero == zeroIsNone:
		*p = s.none
	case n < 0, n == 0 && s.zero == zeroIsProblem:
		ps.add(s.key, "%d is too small; expected %s", n, s.expect)
	default:
		*p = n
	}
}

// setDuration stores a duration (never negative) read from a file or URL.
func (s *setting) setDuration(p *time.Duration, d time.Duration, ps *problems) {
	if d == 0 && s.zero == zeroIsProblem {
		ps.add(s.key, "%s", s.zeroDurationProblem())
		return
	}
	*p = d
}

func (s *setting) zeroDurationProblem() string {
	return fmt.Sprintf("must be greater than 0; expected %s (remove the key for the default, %v)", confvalue.ExpectDuration, s.def)
}

// LogValue makes slog print the configuration resolved (as by WithDefaults)
// as a group keyed by the configuration file's keys, every setting of the
// table, in the file's terms: "none" as 0, auto_schema_detection as the
// negation of TablesFromSpecs. The password (and every other secret: the
// unload keys) shows as "[redacted]" when set and is left out when empty.
func (c Config) LogValue() slog.Value {
	c = c.WithDefaults()
	attrs := make([]slog.Attr, 0, len(settings))
	for i := range settings {
		s := &settings[i]
		switch p := s.field(&c).(type) {
		case *Secret:
			if *p != "" {
				attrs = append(attrs, slog.String(s.key, redacted))
			}
		case *string:
			attrs = append(attrs, slog.String(s.key, *p))
		case *Dialect:
			attrs = append(attrs, slog.String(s.key, string(*p)))
		case *int:
			v := *p
			if s.zero == zeroIsNone && v == s.none {
				v = 0
			}
			attrs = append(attrs, slog.Int(s.key, v))
		case *bool:
			attrs = append(attrs, slog.Bool(s.key, *p != s.invert))
		case *time.Duration:
			attrs = append(attrs, slog.Duration(s.key, *p))
		case *[]string:
			attrs = append(attrs, slog.Any(s.key, *p))
		}
	}
	return slog.GroupValue(attrs...)
}

// one makes a list of a problem, none when it is "".
func one(problem string) []string {
	if problem == "" {
		return nil
	}
	return []string{problem}
}

// keyNames lists the keys of the table, for messages.
func keyNames() []string {
	names := make([]string, len(settings))
	for i := range settings {
		names[i] = settings[i].key
	}
	return names
}
