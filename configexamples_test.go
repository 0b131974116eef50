package redshiftsync

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestReadmeConfigExamples: the complete configuration.json examples of the
// README (testdata/config/postgres.json and redshift.json) load, every key
// in them is one LoadConfig knows, set to what it means, and the README
// shows them as they are.
func TestReadmeConfigExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		file string
		want Config
	}{
		{"postgres.json", Config{
			Host: "db.internal.example.com", Port: 5432, Database: "shop", User: "reader", Password: "change-me",
			Schema: "public", SSLMode: "require", SSLRootCert: "/etc/ssl/certs/db-internal-ca.pem", Dialect: DialectPostgres,
			IncludeTables: []string{"orders", "customers", "events_*"}, ExcludeTables: []string{"tmp_*"},
			BatchSize: 10000, BatchBytes: 16 << 20, MaxParallelWorkers: 4, CheckpointEveryRows: 50000, CheckpointInterval: time.Minute,
			Partitions: 4, PartitionThreshold: 1000000, ConnectTimeout: 30 * time.Second, MaxRetries: 5,
			DeleteDetection: DeleteDetectionOff,
		}},
		{"redshift.json", Config{
			Host: "examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com", Port: 5439, Database: "dev",
			User: "awsuser", Password: "change-me", Schema: "sales", SSLMode: "verify-full", SSLRootCert: "system", Dialect: DialectRedshift,
			IncludeTables: []string{"orders", "events_*"}, ExcludeTables: []string{"tmp_*"},
			BatchSize: 10000, BatchBytes: 64 << 20, MaxParallelWorkers: 4, CheckpointEveryRows: 50000,
			CheckpointInterval: time.Minute, Partitions: 4, PartitionThreshold: 1000000,
			ConnectTimeout: 30 * time.Second, StatementTimeout: time.Hour, MaxRetries: 5,
			DeleteDetection: DeleteDetectionOff,
			UnloadS3URI:     "s3://example-unload-bucket/redshiftsync/", UnloadIAMRole: "arn:aws:iam::123456789012:role/redshift-unload",
			UnloadS3Region: "us-west-2", UnloadThreshold: 10_000_000,
		}},
	} {
		path := filepath.Join("testdata", "config", c.file)
		if !strings.Contains(string(readme), "```json\n"+string(readFixture(t, c.file))+"```\n") {
			t.Errorf("README.md does not show %s as it is", path)
		}
		cfg, err := LoadConfig(path)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if !reflect.DeepEqual(cfg, c.want) {
			t.Errorf("%s loads as\n%+v\nwant\n%+v", c.file, cfg, c.want)
		}
		// Every key is one LoadConfig knows (an unknown key would be an
		// error above; this keeps the examples complete as keys are added).
		var keys map[string]any
		if err := json.Unmarshal(readFixture(t, c.file), &keys); err != nil {
			t.Fatal(err)
		}
		for _, k := range settings {
			// UNLOAD is Redshift's: the PostgreSQL example leaves its keys out.
			unload := c.file == "postgres.json" && strings.HasPrefix(k.key, "unload_")
			if _, ok := keys[k.key]; !ok && k.key != keyTableSpecFile && !unload {
				t.Errorf("%s lacks the key %q", c.file, k.key)
			}
		}
	}
}
