// This file tests the unload group (unload.go) end to end on a tiny table.

package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestUnloadGroup runs the unload group on a tiny table, so that it cannot
// rot: the stand-in starts, the UNLOAD runs and each read of its parts
// (1, 4 and 8 workers) reads every row of the table (the program checks
// the rows and fails otherwise), all 8 parts, with GET requests counted.
func TestUnloadGroup(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "bench.md")
	if err := run(context.Background(), []string{"-dsn", dsn, "-rows", "5000", "-reps", "1", "-cases", "unload", "-out", out, "-profiles", dir}, io.Discard); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	if !strings.Contains(md, "## UNLOAD through the stand-in: bench.wide_1m, 1,000 rows") {
		t.Errorf("the report lacks the UNLOAD section:\n%s", md)
	}
	if !strings.Contains(md, "\n| rs-sql | — | — | ") {
		t.Errorf("the UNLOAD section lacks rs-sql:\n%s", md)
	}
	// unload-read-wN | UNLOAD s | read s | process s | rows/s | rows/s | ÷ | RSS | CPU | parts | GETs | GET MB
	for _, w := range []string{"1", "4", "8"} {
		re := regexp.MustCompile(`\n\| unload-read-w` + w + ` \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9,]+ \| [0-9,]+ \| [0-9.]+× \| [^|]+ \| [^|]+ \| 8 \| [1-9][0-9,]* \| [0-9.]+ \|\n`)
		if !re.MatchString(md) {
			t.Errorf("the UNLOAD section lacks a full row for unload-read-w%s (8 parts, GETs counted):\n%s", w, md)
		}
	}
}
