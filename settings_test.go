package redshiftsync

import (
	"log/slog"
	"testing"
)

// TestLogValueListsEverySetting: LogValue shows every key of the settings
// table (it used to leave out partitions and partition_threshold_rows), so
// a setting added to the table cannot be missing from the log.
func TestLogValueListsEverySetting(t *testing.T) {
	// Every secret set: a secret left empty is left out.
	cfg := Config{Host: "db.example.com", Database: "dev", User: "reader", Password: "hunter2-SECRET-pw",
		UnloadAccessKeyID: "k", UnloadSecretAccessKey: "s", UnloadSessionToken: "t", UnloadS3AccessKeyID: "k", UnloadS3SecretAccessKey: "s"}
	got := map[string]slog.Value{}
	for _, a := range cfg.LogValue().Group() {
		got[a.Key] = a.Value
	}
	for _, s := range settings {
		if _, ok := got[s.key]; !ok {
			t.Errorf("LogValue lacks the key %s", s.key)
		}
	}
	if len(got) != len(settings) {
		t.Errorf("LogValue shows %d keys, the settings table has %d", len(got), len(settings))
	}
	// In the configuration file's terms: the defaults resolved, "none" as 0,
	// auto_schema_detection as written.
	for key, want := range map[string]string{
		keyMaxRetries: "5", keyPartitions: "4", keyPartitionThreshold: "1000000",
		keyAutoSchemaDetection: "true", keyPassword: redacted,
	} {
		if v := got[key].String(); v != want {
			t.Errorf("%s = %s, want %s", key, v, want)
		}
	}
	cfg.MaxRetries, cfg.BatchBytes, cfg.TablesFromSpecs = MaxRetriesNone, BatchBytesNone, true
	for _, a := range cfg.LogValue().Group() {
		switch a.Key {
		case keyMaxRetries, keyBatchBytes:
			if a.Value.Int64() != 0 {
				t.Errorf("%s none shows as %v, want 0 (as a file writes it)", a.Key, a.Value)
			}
		case keyAutoSchemaDetection:
			if a.Value.Bool() {
				t.Error("auto_schema_detection shows true for TablesFromSpecs")
			}
		}
	}
}

// TestSettingsTable: every row has a field, a "what", and an expectation
// when it is a number; its default has the field's type (applyDefault would
// panic otherwise); a key appears once.
func TestSettingsTable(t *testing.T) {
	seen := map[string]bool{}
	var c Config
	for _, s := range settings {
		if seen[s.key] {
			t.Errorf("%s appears twice", s.key)
		}
		seen[s.key] = true
		if s.what == "" {
			t.Errorf("%s: no what", s.key)
		}
		s.applyDefault(&c)
		if _, isInt := s.field(&c).(*int); isInt && (s.expect == "" || s.max == 0) {
			t.Errorf("%s: a number without expect or bounds", s.key)
		}
		if s.zero == zeroIsNone && s.none == 0 {
			t.Errorf("%s: a none spelt 0 in a file needs a named Go value", s.key)
		}
	}
}
