package redshiftsync

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
)

// testPassword is distinctive, so that a leak is found by grepping for it.
const testPassword = "hunter2-SECRET-pw"

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "config", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// configErr asserts that err is a *ConfigError matching ErrInvalidConfig.
func configErr(t *testing.T, err error) *ConfigError {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want a *ConfigError")
	}
	if !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("errors.Is(err, ErrInvalidConfig) = false for %v", err)
	}
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error %T is not a *ConfigError: %v", err, err)
	}
	return ce
}

// problemOf returns the problem reported for key, failing when there is none.
func problemOf(t *testing.T, ce *ConfigError, key string) string {
	t.Helper()
	for _, p := range ce.Problems {
		if p.Key == key {
			return p.Problem
		}
	}
	t.Fatalf("no problem for key %q in:\n%v", key, ce)
	return ""
}

// withKeys returns a minimal valid configuration with the given keys
// replaced (a nil value deletes the key), as JSON.
func withKeys(t *testing.T, overrides map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"redshift_host":     "db.example.com",
		"redshift_database": "dev",
		"redshift_user":     "awsuser",
		"redshift_password": testPassword,
	}
	for k, v := range overrides {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseConfigTemplate(t *testing.T) {
	_, err := ParseConfig(readFixture(t, "template.json"))
	ce := configErr(t, err)
	keys := []string{
		"redshift_host", "redshift_port", "redshift_database", "redshift_user",
		"redshift_password", "redshift_schema", "batch_size",
		"auto_schema_detection", "enable_complete_resync", "max_parallel_workers",
	}
	if len(ce.Problems) != len(keys) {
		t.Errorf("got %d problems, want %d (one per key):\n%v", len(ce.Problems), len(keys), err)
	}
	for _, k := range keys {
		p := problemOf(t, ce, k)
		if !strings.Contains(p, "still holds the template placeholder") || !strings.Contains(p, "replace it with ") {
			t.Errorf("%s: problem %q does not point at the placeholder", k, p)
		}
	}
	if p := problemOf(t, ce, "redshift_host"); !strings.Contains(p, `"<YOUR_REDSHIFT_HOST>"`) || !strings.Contains(p, "host name") {
		t.Errorf("redshift_host: %q", p)
	}
	if p := problemOf(t, ce, "redshift_password"); strings.Contains(p, "<YOUR") {
		t.Errorf("redshift_password: the value is echoed: %q", p)
	}
	if !strings.HasPrefix(err.Error(), "redshiftsync: invalid configuration:\n  redshift_host: ") {
		t.Errorf("error text starts wrong:\n%v", err)
	}
}

func TestParseConfigStringsAndNativeAgree(t *testing.T) {
	fromStrings, err := ParseConfig(readFixture(t, "strings.json"))
	if err != nil {
		t.Fatal(err)
	}
	fromNative, err := ParseConfig(readFixture(t, "native.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Host:                 "examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com",
		Port:                 5439,
		Database:             "dev",
		User:                 "awsuser",
		Password:             testPassword,
		Schema:               "sales",
		SSLMode:              "verify-full",
		Dialect:              DialectRedshift,
		BatchSize:            5000,
		BatchBytes:           64 << 20,
		TablesFromSpecs:      true,
		IncludeTables:        []string{"orders", "events_*"},
		ExcludeTables:        []string{"tmp_*"},
		TableSpecFile:        "tables.json",
		MaxParallelWorkers:   8,
		EnableCompleteResync: true,
		CheckpointEveryRows:  20000,
		CheckpointInterval:   90 * time.Second,
		Lookback:             10 * time.Minute,
		ConnectTimeout:       15 * time.Second,
		StatementTimeout:     time.Hour,
		MaxRetries:           3,
		Partitions:           PartitionsDefault,
		PartitionThreshold:   PartitionThresholdDefault,
		DeleteDetection:      DeleteDetectionOff,
	}
	if !reflect.DeepEqual(fromStrings, want) {
		t.Errorf("string-valued config:\n got %+v\nwant %+v", fromStrings, want)
	}
	if !reflect.DeepEqual(fromNative, fromStrings) {
		t.Errorf("native-valued config differs:\n got %+v\nwant %+v", fromNative, fromStrings)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig(withKeys(t, map[string]any{"redshift_host": "examplecluster.abc.us-east-1.redshift.amazonaws.com"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Host:                "examplecluster.abc.us-east-1.redshift.amazonaws.com",
		Port:                PortDefault,
		Database:            "dev",
		User:                "awsuser",
		Password:            testPassword,
		Schema:              SchemaDefault,
		SSLMode:             "verify-full", // a Redshift endpoint (issue #14, item 11)
		Dialect:             DialectAuto,
		BatchSize:           BatchSizeDefault,
		BatchBytes:          BatchBytesDefault,
		MaxParallelWorkers:  MaxParallelWorkersDefault,
		CheckpointEveryRows: CheckpointEveryRowsDefault,
		CheckpointInterval:  CheckpointIntervalDefault,
		ConnectTimeout:      ConnectTimeoutDefault,
		MaxRetries:          MaxRetriesDefault,
		Partitions:          PartitionsDefault,
		PartitionThreshold:  PartitionThresholdDefault,
		DeleteDetection:     DeleteDetectionOff,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("\n got %+v\nwant %+v", cfg, want)
	}

	// "" and null take the default, like an absent key.
	empty := map[string]any{}
	null := []byte(`{"redshift_host":"localhost","redshift_database":"dev","redshift_user":"u"`)
	for _, k := range settings {
		switch k.key {
		case keyHost, keyDatabase, keyUser:
			continue
		}
		empty[k.key] = ""
		null = append(null, fmt.Sprintf(",%q:null", k.key)...)
	}
	null = append(null, '}')
	empty["redshift_host"] = "localhost"
	empty["redshift_user"] = "u"
	for name, data := range map[string][]byte{"empty strings": withKeys(t, empty), "nulls": null} {
		cfg, err := ParseConfig(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cfg.Port != PortDefault || cfg.Schema != SchemaDefault || cfg.SSLMode != "prefer" ||
			cfg.BatchSize != BatchSizeDefault || cfg.TablesFromSpecs || cfg.MaxRetries != MaxRetriesDefault ||
			cfg.ConnectTimeout != ConnectTimeoutDefault || cfg.Password != "" {
			t.Errorf("%s: defaults not applied: %+v", name, cfg)
		}
	}
}

func TestParseConfigValueForms(t *testing.T) {
	tests := []struct {
		key   string
		value any
		get   func(Config) any
		want  any
	}{
		{"batch_size", " 5000 ", func(c Config) any { return c.BatchSize }, 5000},
		{"batch_size", 5e3, func(c Config) any { return c.BatchSize }, 5000},
		{"batch_size", json.Number("5000.0"), func(c Config) any { return c.BatchSize }, 5000},
		{"redshift_port", "+5432", func(c Config) any { return c.Port }, 5432},
		{"auto_schema_detection", "TRUE", func(c Config) any { return !c.TablesFromSpecs }, true},
		{"auto_schema_detection", " false ", func(c Config) any { return !c.TablesFromSpecs }, false},
		{"auto_schema_detection", false, func(c Config) any { return !c.TablesFromSpecs }, false},
		{"enable_complete_resync", "tRuE", func(c Config) any { return c.EnableCompleteResync }, true},
		{"checkpoint_interval", "90s", func(c Config) any { return c.CheckpointInterval }, 90 * time.Second},
		{"checkpoint_interval", "1m30s", func(c Config) any { return c.CheckpointInterval }, 90 * time.Second},
		{"checkpoint_interval", "90", func(c Config) any { return c.CheckpointInterval }, 90 * time.Second},
		{"checkpoint_interval", 90, func(c Config) any { return c.CheckpointInterval }, 90 * time.Second},
		{"checkpoint_interval", 0.5, func(c Config) any { return c.CheckpointInterval }, 500 * time.Millisecond},
		{"lookback", "0", func(c Config) any { return c.Lookback }, time.Duration(0)},
		{"statement_timeout", 0, func(c Config) any { return c.StatementTimeout }, time.Duration(0)},
		{"connect_timeout", " 1m ", func(c Config) any { return c.ConnectTimeout }, time.Minute},
		{"include_tables", "a, b,,c ,", func(c Config) any { return c.IncludeTables }, []string{"a", "b", "c"}},
		{"include_tables", []string{"a", " b "}, func(c Config) any { return c.IncludeTables }, []string{"a", "b"}},
		{"exclude_tables", "tmp_*", func(c Config) any { return c.ExcludeTables }, []string{"tmp_*"}},
		{"sslmode", " Disable ", func(c Config) any { return c.SSLMode }, "disable"},
		{"dialect", "Postgres", func(c Config) any { return c.Dialect }, DialectPostgres},
		{"redshift_host", "  db.example.com  ", func(c Config) any { return c.Host }, "db.example.com"},
		{"redshift_host", "/var/run/postgresql", func(c Config) any { return c.Host }, "/var/run/postgresql"},
		{"redshift_host", "::1", func(c Config) any { return c.Host }, "::1"},
		{"redshift_host", "@abstract", func(c Config) any { return c.Host }, "@abstract"},
		{"redshift_schema", "  ", func(c Config) any { return c.Schema }, SchemaDefault},
		{"redshift_password", "", func(c Config) any { return c.Password }, Secret("")},
		{"redshift_password", "<not a placeholder>", func(c Config) any { return c.Password }, Secret("<not a placeholder>")},
		{"max_retries", "0", func(c Config) any { return c.MaxRetries }, MaxRetriesNone},
		{"batch_bytes", 0, func(c Config) any { return c.BatchBytes }, BatchBytesNone},
		{"batch_bytes", "", func(c Config) any { return c.BatchBytes }, BatchBytesDefault},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s=%v", tt.key, tt.value), func(t *testing.T) {
			cfg, err := ParseConfig(withKeys(t, map[string]any{tt.key: tt.value}))
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.get(cfg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseConfigProblems(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]any
		key       string
		want      []string // substrings of the problem
	}{
		{"batch_size not a number", map[string]any{"batch_size": "abc"}, "batch_size",
			[]string{`"abc" is not a whole number; expected a positive integer such as "5000"`}},
		{"batch_size fraction", map[string]any{"batch_size": 12.5}, "batch_size", []string{"12.5 is not a whole number"}},
		{"batch_size boolean", map[string]any{"batch_size": true}, "batch_size", []string{"not a JSON boolean"}},
		{"batch_size array", map[string]any{"batch_size": []int{1}}, "batch_size", []string{"not a JSON array"}},
		{"batch_size zero", map[string]any{"batch_size": "0"}, "batch_size", []string{"0 is too small", "positive integer"}},
		{"batch_size negative", map[string]any{"batch_size": -5}, "batch_size", []string{"-5 is too small"}},
		{"batch_size huge", map[string]any{"batch_size": "2000000"}, "batch_size", []string{"2000000 is too large", "mistake", "at most 1000000"}},
		{"batch_size overflow", map[string]any{"batch_size": "99999999999999999999"}, "batch_size", []string{"out of range"}},
		{"batch_size 1e400", map[string]any{"batch_size": json.Number("1e400")}, "batch_size", []string{"out of range"}},
		{"batch_bytes negative", map[string]any{"batch_bytes": "-2"}, "batch_bytes", []string{"-2 is too small", "no cap"}},
		// A file spells "none" 0; -1 is the Go constant, not a file's value.
		{"batch_bytes minus one", map[string]any{"batch_bytes": "-1"}, "batch_bytes", []string{"-1 is too small", `"0" for no cap`}},
		{"port too large", map[string]any{"redshift_port": "70000"}, "redshift_port", []string{"70000 is too large", "1 to 65535"}},
		{"port zero", map[string]any{"redshift_port": 0}, "redshift_port", []string{"0 is too small", "1 to 65535"}},
		{"port text", map[string]any{"redshift_port": "54a"}, "redshift_port", []string{`"54a" is not a whole number`, "port number"}},
		{"workers too many", map[string]any{"max_parallel_workers": 65}, "max_parallel_workers", []string{"65 is too large", "1 to 64"}},
		{"workers zero", map[string]any{"max_parallel_workers": "0"}, "max_parallel_workers", []string{"0 is too small", "1 to 64"}},
		{"checkpoint rows zero", map[string]any{"checkpoint_every_rows": 0}, "checkpoint_every_rows", []string{"0 is too small"}},
		{"checkpoint interval zero", map[string]any{"checkpoint_interval": "0"}, "checkpoint_interval", []string{"greater than 0", "1m0s"}},
		{"checkpoint interval negative", map[string]any{"checkpoint_interval": "-5s"}, "checkpoint_interval", []string{`"-5s" is negative`}},
		{"checkpoint interval words", map[string]any{"checkpoint_interval": "5 minutes"}, "checkpoint_interval", []string{`"5 minutes" is not a duration`, `"90s"`}},
		{"checkpoint interval bool", map[string]any{"checkpoint_interval": true}, "checkpoint_interval", []string{"not a JSON boolean"}},
		{"checkpoint interval NaN", map[string]any{"checkpoint_interval": "NaN"}, "checkpoint_interval", []string{"not a duration"}},
		{"checkpoint interval Inf", map[string]any{"checkpoint_interval": "inf"}, "checkpoint_interval", []string{"not a duration"}},
		{"checkpoint interval huge", map[string]any{"checkpoint_interval": 1e300}, "checkpoint_interval", []string{"too large"}},
		{"connect timeout zero", map[string]any{"connect_timeout": 0}, "connect_timeout", []string{"greater than 0", "30s"}},
		{"lookback negative", map[string]any{"lookback": -1}, "lookback", []string{"-1 is negative"}},
		{"statement timeout too long", map[string]any{"statement_timeout": "1000h"}, "statement_timeout", []string{"too long"}},
		{"sslmode typo", map[string]any{"sslmode": "required"}, "sslmode", []string{`"required" is not allowed`, "verify-full", `did you mean "require"?`}},
		{"sslmode bogus", map[string]any{"sslmode": "on"}, "sslmode", []string{`"on" is not allowed`, "disable, allow, prefer, require, verify-ca, verify-full"}},
		{"sslmode number", map[string]any{"sslmode": 1}, "sslmode", []string{"must be a JSON string"}},
		{"dialect", map[string]any{"dialect": "mysql"}, "dialect", []string{`"mysql" is not allowed`, "auto, redshift, postgres"}},
		{"dialect postgresql", map[string]any{"dialect": "postgresql"}, "dialect", []string{`did you mean "postgres"?`}},
		{"bool yes", map[string]any{"auto_schema_detection": "yes"}, "auto_schema_detection", []string{`"yes" is not a boolean; expected true or false`}},
		{"bool number", map[string]any{"enable_complete_resync": 1}, "enable_complete_resync", []string{"true or false, not a JSON number"}},
		{"include bad pattern", map[string]any{"include_tables": "orders["}, "include_tables", []string{`"orders[" is not a valid pattern`}},
		{"exclude bad pattern", map[string]any{"exclude_tables": []string{"ok", `tmp\`}}, "exclude_tables", []string{`"tmp\\" is not a valid pattern`}},
		{"include number item", map[string]any{"include_tables": []any{"a", 1}}, "include_tables", []string{"item 2 is a JSON number", "comma-separated"}},
		{"include object", map[string]any{"include_tables": map[string]any{}}, "include_tables", []string{"not a JSON object"}},
		{"max_retries too many", map[string]any{"max_retries": 101}, "max_retries", []string{"101 is too large", "0 to 100"}},
		{"max_retries negative", map[string]any{"max_retries": "-1"}, "max_retries", []string{"-1 is too small"}},
		{"host missing", map[string]any{"redshift_host": nil}, "redshift_host", []string{"is required", "host name"}},
		{"host empty", map[string]any{"redshift_host": ""}, "redshift_host", []string{"is required"}},
		{"host blank", map[string]any{"redshift_host": "   "}, "redshift_host", []string{"is required"}},
		{"host with port", map[string]any{"redshift_host": "db.example.com:5439"}, "redshift_host", []string{"holds a port", "redshift_port"}},
		{"host URL", map[string]any{"redshift_host": "postgres://db.example.com/dev"}, "redshift_host", []string{"is a URL", "ConfigFromURL"}},
		{"host spaces", map[string]any{"redshift_host": "db example"}, "redshift_host", []string{`"db example" is not a valid host name`}},
		{"host list", map[string]any{"redshift_host": "a,b"}, "redshift_host", []string{"several hosts"}},
		{"host brackets", map[string]any{"redshift_host": "[::1]"}, "redshift_host", []string{"without brackets"}},
		{"host number", map[string]any{"redshift_host": 10}, "redshift_host", []string{"must be a JSON string, not a JSON number"}},
		{"database missing", map[string]any{"redshift_database": nil}, "redshift_database", []string{"is required", "database"}},
		{"database number", map[string]any{"redshift_database": 123}, "redshift_database", []string{`must be a JSON string, not a JSON number (write it as "123")`}},
		{"user empty", map[string]any{"redshift_user": ""}, "redshift_user", []string{"is required", "user name"}},
		{"user NUL", map[string]any{"redshift_user": "a\x00b"}, "redshift_user", []string{"NUL"}},
		{"table spec file array", map[string]any{"table_spec_file": []string{"a"}}, "table_spec_file", []string{"must be a JSON string"}},
		{"password number", map[string]any{"redshift_password": 8675309}, "redshift_password", []string{"must be a JSON string"}},
		{"password array", map[string]any{"redshift_password": []string{testPassword}}, "redshift_password", []string{"must be a JSON string"}},
		{"password NUL", map[string]any{"redshift_password": testPassword + "\x00"}, "redshift_password", []string{"NUL"}},
		{"unknown key typo", map[string]any{"batch_sise": "5000"}, "batch_sise", []string{`unknown key; did you mean "batch_size"?`}},
		{"unknown key case", map[string]any{"Batch-Size": "5000"}, "Batch-Size", []string{`did you mean "batch_size"?`}},
		{"unknown key short", map[string]any{"host": "x"}, "host", []string{`did you mean "redshift_host"?`}},
		{"unknown key long typo", map[string]any{"checkpoint_every_row": "1"}, "checkpoint_every_row", []string{`did you mean "checkpoint_every_rows"?`}},
		{"unknown key far", map[string]any{"colour": "blue"}, "colour", []string{"unknown key; remove it", "redshift_host"}},
		{"unknown key unload", map[string]any{"s3_bucket": "b"}, "s3_bucket", []string{"UNLOAD"}},
		{"empty key", map[string]any{"": "b"}, "", []string{`a key is empty ("")`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig(withKeys(t, tt.overrides))
			ce := configErr(t, err)
			p := problemOf(t, ce, tt.key)
			for _, w := range tt.want {
				if !strings.Contains(p, w) {
					t.Errorf("problem %q\nlacks %q", p, w)
				}
			}
			if len(ce.Problems) != 1 {
				t.Errorf("want exactly one problem, got:\n%v", err)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("the password leaks:\n%v", err)
			}
		})
	}
}

func TestParseConfigDocumentProblems(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"empty", "", []string{"the configuration is empty"}},
		{"blank", " \n\t", []string{"the configuration is empty"}},
		{"array", `["redshift_host"]`, []string{"is a JSON array; expected a JSON object"}},
		{"string", `"x"`, []string{"is a JSON string; expected a JSON object"}},
		{"null", `null`, []string{"is null; expected a JSON object"}},
		{"trailing comma", "{\n  \"redshift_host\": \"h\",\n}", []string{"not valid JSON: line 3, column 1"}},
		{"missing comma", "{\n  \"batch_size\": \"1\"\n  \"redshift_user\": \"u\"\n}", []string{"not valid JSON: line 3, column 3"}},
		{"truncated", "{\n  \"redshift_host\": \"h", []string{"not valid JSON: line 2", "unexpected end"}},
		{"trailing garbage", `{} {}`, []string{"not valid JSON: line 1, column 4: invalid character '{' after top-level value"}},
		{"newline in string", "{\n  \"redshift_host\": \"h\n\"}", []string{`not valid JSON: line 2, column 22: invalid character '\n' in string literal`}},
		{"number", `5000`, []string{"is a JSON number; expected a JSON object"}},
		{"boolean", ` true`, []string{"is a JSON boolean; expected a JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.data))
			ce := configErr(t, err)
			if len(ce.Problems) != 1 || ce.Problems[0].Key != "" {
				t.Fatalf("want one document problem, got %#v", ce.Problems)
			}
			for _, w := range tt.want {
				if !strings.Contains(ce.Problems[0].Problem, w) {
					t.Errorf("problem %q\nlacks %q", ce.Problems[0].Problem, w)
				}
			}
		})
	}

	t.Run("BOM", func(t *testing.T) {
		if _, err := ParseConfig(append([]byte("\xef\xbb\xbf"), withKeys(t, nil)...)); err != nil {
			t.Error(err)
		}
	})
	t.Run("duplicate key", func(t *testing.T) {
		_, err := ParseConfig([]byte(`{"redshift_host":"a","redshift_database":"d","redshift_user":"u","redshift_host":"b"}`))
		if p := problemOf(t, configErr(t, err), "redshift_host"); !strings.Contains(p, "more than once") {
			t.Errorf("problem %q", p)
		}
	})
}

func TestParseConfigReportsEveryProblem(t *testing.T) {
	data := `{
		"redshift_host": "<YOUR_REDSHIFT_HOST>",
		"redshift_user": "",
		"redshift_password": 42,
		"batch_size": "abc",
		"max_parallel_workers": 100,
		"sslmode": "nope",
		"checkpoint_interval": "-1s",
		"include_tables": "[",
		"batch_sise": 1,
		"zzz": "hunter2-SECRET-pw"
	}`
	_, err := ParseConfig([]byte(data))
	ce := configErr(t, err)
	want := []string{
		"redshift_host", "redshift_database", "redshift_user", "redshift_password",
		"sslmode", "batch_size", "include_tables", "max_parallel_workers",
		"checkpoint_interval", "batch_sise", "zzz",
	}
	var got []string
	for _, p := range ce.Problems {
		got = append(got, p.Key)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems for keys\n %q\nwant (in this order)\n %q\n%v", got, want, err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want)+1 {
		t.Errorf("want one line per problem, got:\n%v", err)
	}
	for i, line := range lines[1:] {
		if !strings.HasPrefix(line, "  "+want[i]+": ") {
			t.Errorf("line %d = %q, want it to start with %q", i+2, line, want[i])
		}
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Errorf("the value of an unknown key is echoed:\n%v", err)
	}
}

func TestConfigErrorText(t *testing.T) {
	_, err := ParseConfig(withKeys(t, map[string]any{"batch_size": "abc"}))
	want := "redshiftsync: invalid configuration:\n" +
		`  batch_size: "abc" is not a whole number; expected a positive integer such as "5000" (at most 1000000)`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}

	// A strange unknown key cannot break the line layout, and a long value
	// is truncated.
	_, err = ParseConfig(withKeys(t, map[string]any{
		"a\nb":          1,
		"redshift_host": strings.Repeat("x", 100) + " y",
	}))
	text := err.Error()
	if strings.Count(text, "\n") != 2 || !strings.Contains(text, `  "a\nb": unknown key`) {
		t.Errorf("layout broken:\n%s", text)
	}
	if strings.Contains(text, strings.Repeat("x", 41)) || !strings.Contains(text, strings.Repeat("x", 40)+`…"`) {
		t.Errorf("long value not truncated:\n%s", text)
	}
}

func TestPasswordNeverShows(t *testing.T) {
	cfg, err := ParseConfig(readFixture(t, "strings.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.Password) != testPassword {
		t.Fatalf("password = %q", string(cfg.Password))
	}
	var outputs = map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s"} {
		outputs["Sprintf "+verb] = fmt.Sprintf(verb, cfg)
		outputs["Sprintf &"+verb] = fmt.Sprintf(verb, &cfg)
		outputs["Sprintf secret "+verb] = fmt.Sprintf(verb, cfg.Password)
	}
	outputs["Sprint"] = fmt.Sprint(cfg, cfg.Password)
	outputs["Println"] = fmt.Sprintln(cfg, cfg.Password)
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json.Marshal"] = string(j)
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		log := slog.New(h)
		log.Info("config", "cfg", cfg, "ptr", &cfg, "pw", cfg.Password)
		log.Info("config", slog.Any("cfg", cfg), slog.Group("g", "pw", cfg.Password))
	}
	outputs["slog"] = buf.String()

	for name, out := range outputs {
		if strings.Contains(out, testPassword) || strings.Contains(out, fmt.Sprintf("%x", testPassword)) {
			t.Errorf("%s shows the password: %s", name, out)
		}
	}
	if !strings.Contains(outputs["Sprintf %+v"], "Password:[redacted]") {
		t.Errorf("%%+v: %s", outputs["Sprintf %+v"])
	}
	if !strings.Contains(outputs["Sprintf %#v"], `Password:"[redacted]"`) {
		t.Errorf("%%#v: %s", outputs["Sprintf %#v"])
	}
	if !strings.Contains(outputs["json.Marshal"], `"Password":"[redacted]"`) {
		t.Errorf("json: %s", outputs["json.Marshal"])
	}
	if !strings.Contains(outputs["slog"], `"redshift_password":"[redacted]"`) ||
		!strings.Contains(outputs["slog"], `"redshift_host":"examplecluster.`) {
		t.Errorf("slog: %s", outputs["slog"])
	}

	// An empty secret shows as empty, and slog omits it from the group.
	var empty Secret
	if s := fmt.Sprintf("%v|%s|%#v|%q", empty, empty, empty, empty); s != `||""|""` {
		t.Errorf("empty secret: %s", s)
	}
	if j, _ := json.Marshal(empty); string(j) != `""` {
		t.Errorf("empty secret JSON: %s", j)
	}
	cfg.Password = ""
	if v := cfg.LogValue().String(); strings.Contains(v, "redshift_password") {
		t.Errorf("LogValue shows an unset password: %s", v)
	}
	if Secret("x").String() != "[redacted]" || Secret("x").GoString() != "[redacted]" || Secret("x").LogValue().String() != "[redacted]" {
		t.Error("Secret methods do not redact")
	}
}

func TestPasswordNotInErrors(t *testing.T) {
	inputs := []string{
		// The password of a broken configuration.
		`{"redshift_host":"<YOUR_REDSHIFT_HOST>","redshift_password":"hunter2-SECRET-pw","batch_size":"x"}`,
		// The password in an unknown key, a misspelt password key, a bad type.
		`{"redshift_host":"h","redshift_database":"d","redshift_user":"u","redshift_pasword":"hunter2-SECRET-pw"}`,
		`{"redshift_host":"h","redshift_database":"d","redshift_user":"u","redshift_password":["hunter2-SECRET-pw"]}`,
		`{"redshift_host":"h","redshift_database":"d","redshift_user":"u","redshift_password":{"p":"hunter2-SECRET-pw"}}`,
		`{"redshift_host":"h","redshift_database":"d","redshift_user":"u","redshift_password":"hunter2-SECRET-pw\u0000"}`,
		`{"redshift_host":"h","redshift_database":"d","redshift_user":"u","redshift_password":"hunter2-SECRET-pw","redshift_password":"x"}`,
		// Invalid JSON after the password.
		`{"redshift_password":"hunter2-SECRET-pw", "batch_size": }`,
	}
	for _, in := range inputs {
		_, err := ParseConfig([]byte(in))
		configErr(t, err)
		if strings.Contains(err.Error(), testPassword) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("input %s\nerror shows the password:\n%v", in, err)
		}
	}
	_, err := ParseConfig([]byte(`{"redshift_host":"h","redshift_database":"d","redshift_user":"u","redshift_password":86753091234}`))
	if err == nil || strings.Contains(err.Error(), "86753091234") {
		t.Errorf("numeric password echoed: %v", err)
	}
}

func TestValidate(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c := Config{Host: "localhost", Database: "dev", User: "u"}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		want := Config{
			Host: "localhost", Port: PortDefault, Database: "dev", User: "u", Schema: SchemaDefault,
			SSLMode: "prefer", Dialect: DialectAuto, BatchSize: BatchSizeDefault, BatchBytes: BatchBytesDefault,
			MaxParallelWorkers: MaxParallelWorkersDefault, CheckpointEveryRows: CheckpointEveryRowsDefault,
			CheckpointInterval: CheckpointIntervalDefault, ConnectTimeout: ConnectTimeoutDefault,
			Partitions: PartitionsDefault, PartitionThreshold: PartitionThresholdDefault, MaxRetries: MaxRetriesDefault,
			DeleteDetection: DeleteDetectionOff,
		}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("\n got %+v\nwant %+v", c, want)
		}
		again := c
		if err := again.Validate(); err != nil || !reflect.DeepEqual(again, c) {
			t.Errorf("validating again changed %+v into %+v (%v)", c, again, err)
		}
	})
	t.Run("zero value", func(t *testing.T) {
		var c Config
		ce := configErr(t, c.Validate())
		for _, k := range []string{"redshift_host", "redshift_database", "redshift_user"} {
			if p := problemOf(t, ce, k); !strings.Contains(p, "is required") {
				t.Errorf("%s: %q", k, p)
			}
		}
		if len(ce.Problems) != 3 {
			t.Errorf("want 3 problems:\n%v", ce)
		}
	})
	t.Run("rules", func(t *testing.T) {
		tests := []struct {
			mod  func(*Config)
			key  string
			want string
		}{
			{func(c *Config) { c.Port = 70000 }, "redshift_port", "70000 is too large"},
			{func(c *Config) { c.Port = -1 }, "redshift_port", "-1 is too small"},
			{func(c *Config) { c.BatchSize = 2_000_000 }, "batch_size", "mistake"},
			{func(c *Config) { c.BatchSize = -1 }, "batch_size", "-1 is too small"},
			{func(c *Config) { c.BatchBytes = -2 }, "batch_bytes", "-2 is too small"},
			{func(c *Config) { c.MaxParallelWorkers = 65 }, "max_parallel_workers", "65 is too large"},
			{func(c *Config) { c.CheckpointEveryRows = -3 }, "checkpoint_every_rows", "-3 is too small"},
			{func(c *Config) { c.CheckpointInterval = -time.Second }, "checkpoint_interval", "-1s is negative"},
			{func(c *Config) { c.Lookback = -time.Second }, "lookback", "-1s is negative"},
			{func(c *Config) { c.ConnectTimeout = -time.Second }, "connect_timeout", "-1s is negative"},
			{func(c *Config) { c.StatementTimeout = -time.Second }, "statement_timeout", "-1s is negative"},
			{func(c *Config) { c.StatementTimeout = 30 * 24 * time.Hour }, "statement_timeout", "too long"},
			{func(c *Config) { c.MaxRetries = 101 }, "max_retries", "101 is too large"},
			{func(c *Config) { c.MaxRetries = -2 }, "max_retries", "-2 is too small"},
			{func(c *Config) { c.SSLMode = "REQUIRE" }, "sslmode", `"REQUIRE" is not allowed`},
			{func(c *Config) { c.Dialect = "oracle" }, "dialect", `"oracle" is not allowed`},
			{func(c *Config) { c.IncludeTables = []string{"a[b"} }, "include_tables", "not a valid pattern"},
			{func(c *Config) { c.ExcludeTables = []string{""} }, "exclude_tables", "blank pattern"},
			{func(c *Config) { c.Schema = " " }, "redshift_schema", "is blank"},
			{func(c *Config) { c.Host = "<YOUR_REDSHIFT_HOST>" }, "redshift_host", "template placeholder"},
			{func(c *Config) { c.Host = " " }, "redshift_host", "is blank"},
			{func(c *Config) { c.Database = "<YOUR_REDSHIFT_DATABASE>" }, "redshift_database", "template placeholder"},
			{func(c *Config) { c.TableSpecFile = " " }, "table_spec_file", "is blank"},
		}
		for _, tt := range tests {
			c := Config{Host: "db.example.com", Database: "dev", User: "u", Password: testPassword}
			tt.mod(&c)
			err := c.Validate()
			ce := configErr(t, err)
			if p := problemOf(t, ce, tt.key); !strings.Contains(p, tt.want) {
				t.Errorf("%s: problem %q lacks %q", tt.key, p, tt.want)
			}
			if len(ce.Problems) != 1 {
				t.Errorf("%s: want one problem:\n%v", tt.key, err)
			}
		}
	})
}

func TestSSLModeFor(t *testing.T) {
	tests := map[string]string{
		"localhost":           "prefer",
		"LOCALHOST":           "prefer",
		"127.0.0.1":           "prefer",
		"127.0.0.2":           "prefer",
		"::1":                 "prefer",
		"/var/run/postgresql": "prefer",
		"/tmp":                "prefer",
		"@abstract":           "prefer",
		"db.localhost":        "prefer",
		// Redshift endpoints (issue #14, item 11): ACM certificates that the
		// system roots trust, so verify-full.
		"examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com":        "verify-full",
		"EXAMPLECLUSTER.abc123xyz789.us-west-2.redshift.amazonaws.com.":       "verify-full",
		"wg.123456789012.us-east-1.redshift-serverless.amazonaws.com":         "verify-full",
		"examplecluster.abc123xyz789.cn-north-1.redshift.amazonaws.com.cn":    "verify-full",
		"wg.123456789012.cn-northwest-1.redshift-serverless.amazonaws.com.cn": "verify-full",
		"redshift.amazonaws.com":                  "require", // no cluster label: not an endpoint
		"evil.redshift.amazonaws.com.example.org": "require",
		"notredshift.amazonaws.com":               "require",
		"db.example.com":                          "require",
		"10.0.0.5":                                "require",
		"postgres":                                "require",
		"localhost.evil.com":                      "require",
		"":                                        "require",
		"2001:db8::1":                             "require",
		"host.docker.internal":                    "require",
	}
	for host, want := range tests {
		if got := sslModeFor(host); got != want {
			t.Errorf("sslModeFor(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestConfigFromURL(t *testing.T) {
	ok := []struct {
		url  string
		want Config
	}{
		{"postgres://postgres@127.0.0.1:54321/postgres?sslmode=disable", Config{
			Host: "127.0.0.1", Port: 54321, Database: "postgres", User: "postgres", SSLMode: "disable"}},
		{"postgresql://awsuser:hunter2-SECRET-pw@examplecluster.abc.us-west-2.redshift.amazonaws.com:5439/dev?connect_timeout=10", Config{
			Host: "examplecluster.abc.us-west-2.redshift.amazonaws.com", Port: 5439, Database: "dev", User: "awsuser",
			Password: testPassword, SSLMode: "verify-full", ConnectTimeout: 10 * time.Second}},
		{"postgres://u@db.example.com/dev", Config{Host: "db.example.com", Port: 5432, Database: "dev", User: "u", SSLMode: "require"}},
		{"postgres://u@db.example.com/dev?sslrootcert=%2Fetc%2Fca.pem&sslmode=verify-ca", Config{Host: "db.example.com", Port: 5432, Database: "dev", User: "u",
			SSLMode: "verify-ca", SSLRootCert: "/etc/ca.pem"}},
		{"postgres://u:p%40ss%2Fw%3Ard@[::1]:6543/my%20db", Config{Host: "::1", Port: 6543, Database: "my db", User: "u",
			Password: "p@ss/w:rd", SSLMode: "prefer"}},
		{"postgres://u@/dev?host=/var/run/postgresql", Config{Host: "/var/run/postgresql", Port: 5432, Database: "dev", User: "u", SSLMode: "prefer"}},
		{"postgres://u@h/dev?connect_timeout=1m30s&sslmode=verify-full", Config{Host: "h", Port: 5432, Database: "dev", User: "u",
			SSLMode: "verify-full", ConnectTimeout: 90 * time.Second}},
	}
	for _, tt := range ok {
		got, err := ConfigFromURL(tt.url)
		if err != nil {
			t.Errorf("ConfigFromURL(%q): %v", tt.url, err)
			continue
		}
		want := tt.want
		want.Schema, want.Dialect, want.BatchSize, want.BatchBytes = SchemaDefault, DialectAuto, BatchSizeDefault, BatchBytesDefault
		want.MaxRetries = MaxRetriesDefault
		want.MaxParallelWorkers, want.CheckpointEveryRows = MaxParallelWorkersDefault, CheckpointEveryRowsDefault
		want.CheckpointInterval = CheckpointIntervalDefault
		want.Partitions, want.PartitionThreshold = PartitionsDefault, PartitionThresholdDefault
		want.DeleteDetection = DeleteDetectionOff
		if want.ConnectTimeout == 0 {
			want.ConnectTimeout = ConnectTimeoutDefault
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ConfigFromURL(%q)\n got %+v\nwant %+v", tt.url, got, want)
		}
	}

	bad := []struct {
		url  string
		key  string
		want string
	}{
		{"mysql://u:hunter2-SECRET-pw@h/db", "", "postgres:// or postgresql://"},
		{"postgres://u:hunter2-SECRET-pw@h/db?sslmode=disable&search_path=x&pool=3", "", `unsupported parameters "pool", "search_path"`},
		{"postgres://u:hunter2-SECRET-pw@h/db?sslmode=on", "sslmode", `"on" is not allowed`},
		{"postgres://u:hunter2-SECRET-pw@h/db?connect_timeout=soon", "connect_timeout", `"soon" is not a duration`},
		{"postgres://u:hunter2-SECRET-pw@h/db?connect_timeout=0", "connect_timeout", "greater than 0"},
		{"postgres://u:hunter2-SECRET-pw@h/db?sslmode=disable&sslmode=require", "sslmode", "more than once"},
		{"postgres://u:hunter2-SECRET-pw@h:0/db", "port", "0 is too small"},
		{"postgres://u:hunter2-SECRET-pw@h:99999/db", "port", "not a port number"},
		{"postgres://u:hunter2-SECRET-pw@h:54x/db", "", "port is not a number"},
		{"postgres://u:hunter2-SECRET-pw@h", "database", "is required"},
		{"postgres://h/db", "user", "no user name"},
		{"postgres://:hunter2-SECRET-pw@h/db", "user", "is required"},
		{"postgres://u:hunter2-SECRET-pw@/db", "host", "is required"},
		{"postgres://u:hunter2-SECRET-pw@h/db#frag", "", "fragment"},
		// Unescaped special characters in the password.
		{"postgres://u:hunter2/SECRET-pw@h/db", "", "percent-encode"},
		{"postgres://u:hunter2-SECRET-pw%zz@h/db", "", "invalid %-escape"},
		{"postgres://u:hunter2?SECRET-pw@h/db", "", "percent-encode"},
		{"postgres://u:12/hunter2-SECRET-pw@h/db", "", "percent-encode"},
		{"postgres://u:hunter2-SECRET-pw@h/db\x7f", "", "not a valid URL"},
		{"postgres:hunter2-SECRET-pw", "", "not a postgres:// URL"},
		{"db.example.com:5439", "", "not a postgres:// URL"}, {"mysql://u@h/db", "", "postgres:// or postgresql://"},
	}
	for _, tt := range bad {
		_, err := ConfigFromURL(tt.url)
		if err == nil {
			t.Errorf("ConfigFromURL(%q): no error", tt.url)
			continue
		}
		ce := configErr(t, err)
		if p := problemOf(t, ce, tt.key); !strings.Contains(p, tt.want) {
			t.Errorf("ConfigFromURL(%q): problem %q lacks %q", tt.url, p, tt.want)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("ConfigFromURL(%q): the error shows the password:\n%v", tt.url, err)
		}
	}

	_, err := ConfigFromURL("postgres://u:hunter2-SECRET-pw@h/db?sslmode=nope")
	if err == nil || !strings.Contains(err.Error(), "invalid configuration in postgres://u:xxxxx@h/db?sslmode=nope:") {
		t.Errorf("error does not name the redacted URL: %v", err)
	}
}

func TestConnString(t *testing.T) {
	tricky := `it's a \ pass word '' \\ =x`
	c := Config{
		Host: "db.example.com", Port: 5439, Database: "my db", User: `o'brien`, Password: Secret(tricky),
		SSLMode: "verify-full", ConnectTimeout: 1500 * time.Millisecond,
	}
	cs := c.connString()
	got, err := pq.NewConfig(cs)
	if err != nil {
		t.Fatalf("pq cannot parse the connection string: %v", err)
	}
	if got.Host != c.Host || got.Port != 5439 || got.Database != "my db" || got.User != `o'brien` ||
		got.Password != tricky || string(got.SSLMode) != "verify-full" || got.ConnectTimeout != 2*time.Second ||
		got.ApplicationName != "redshiftsync" {
		t.Errorf("pq parsed %q as host=%q port=%d dbname=%q user=%q password-ok=%v sslmode=%q connect_timeout=%v application_name=%q",
			cs, got.Host, got.Port, got.Database, got.User, got.Password == tricky, got.SSLMode, got.ConnectTimeout, got.ApplicationName)
	}
	if len(got.Runtime) != 0 {
		t.Errorf("unexpected run-time parameters %v", got.Runtime)
	}
	if _, err := pq.NewConnector(cs); err != nil {
		t.Errorf("pq.NewConnector: %v", err)
	}
	if !strings.Contains(cs, `password='it\'s a \\ pass word \'\' \\\\ =x'`) {
		t.Errorf("password not quoted as libpq wants: %s", cs)
	}

	// Without a password there is no password key (trust, .pgpass).
	c.Password = ""
	if cs := c.connString(); strings.Contains(cs, "password") {
		t.Errorf("empty password written: %s", cs)
	}

	// A validated configuration from a URL round-trips.
	u, err := ConfigFromURL("postgres://postgres@127.0.0.1:54321/postgres?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	got, err = pq.NewConfig(u.connString())
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != "127.0.0.1" || got.Port != 54321 || string(got.SSLMode) != "disable" || got.ConnectTimeout != ConnectTimeoutDefault {
		t.Errorf("round trip of %q: %+v", u.connString(), got)
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	p := write("configuration.json", string(readFixture(t, "strings.json")))
	cfg, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "tables.json"); cfg.TableSpecFile != want {
		t.Errorf("table_spec_file = %q, want %q", cfg.TableSpecFile, want)
	}

	abs := filepath.Join(dir, "elsewhere", "specs.json")
	p = write("abs.json", string(withKeys(t, map[string]any{"table_spec_file": abs})))
	if cfg, err := LoadConfig(p); err != nil || cfg.TableSpecFile != abs {
		t.Errorf("absolute table_spec_file = %q, %v", cfg.TableSpecFile, err)
	}

	p = write("bad.json", `{"redshift_host": "h", "batch_size": "x"}`)
	_, err = LoadConfig(p)
	ce := configErr(t, err)
	if ce.Source != p || !strings.Contains(err.Error(), "invalid configuration in "+p+":\n") {
		t.Errorf("error does not name the file:\n%v", err)
	}

	missing := filepath.Join(dir, "missing.json")
	_, err = LoadConfig(missing)
	if err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if errors.Is(err, ErrInvalidConfig) {
		t.Errorf("a missing file is not an invalid configuration: %v", err)
	}
}

func TestSuggestKey(t *testing.T) {
	tests := map[string]string{
		"batch_sise":            "batch_size",
		"batchsize":             "batch_size",
		"redshift_hots":         "redshift_host",
		"password":              "redshift_password",
		"max_parallel_worker":   "max_parallel_workers",
		"sslmod":                "sslmode",
		"ssl_mode":              "sslmode",
		"checkpoint_intervall":  "checkpoint_interval",
		"enable_complete_resyc": "enable_complete_resync",
		"x":                     "",
		"colour":                "",
		"":                      "",
	}
	for in, want := range tests {
		if got := suggestKey(in); got != want {
			t.Errorf("suggestKey(%q) = %q, want %q", in, got, want)
		}
	}
}
