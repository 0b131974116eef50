// This file holds the tests of the cluster mode (cluster.go); they need no
// server.

package pgtest

import (
	"fmt"
	"strings"
	"testing"
)

// skipTB records Skip instead of skipping the real test.
type skipTB struct {
	testing.TB
	skipped string
}

func (s *skipTB) Helper() {}

func (s *skipTB) Skip(args ...any) {
	s.skipped = fmt.Sprint(args...)
	panic("skip")
}

// skipped runs f with a skipTB over t and returns what it skipped with.
func skipped(t *testing.T, f func(tb testing.TB)) string {
	st := &skipTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		f(st)
	}()
	return st.skipped
}

// TestClusterMode: in cluster mode SourceDSN gives the cluster to a test
// that made its fixtures through the source (and to its subtests), and
// skips any other saying why; NotOnCluster skips with its reason, and
// does nothing outside cluster mode.
func TestClusterMode(t *testing.T) {
	const cluster = "postgres://reader@cluster.invalid:5439/dev"
	if got := skipped(t, func(tb testing.TB) { NotOnCluster(tb, "needs pg_sleep") }); got != "" {
		t.Errorf("outside cluster mode NotOnCluster skipped: %q", got)
	}
	t.Setenv(EnvRedshiftCluster, cluster)
	if !Cluster() {
		t.Fatal("Cluster() is false with the variable set")
	}
	if got := skipped(t, func(tb testing.TB) { SourceDSN(tb) }); got != clusterSkip {
		t.Errorf("an unregistered test: skipped %q, want %q", got, clusterSkip)
	}
	if got := skipped(t, func(tb testing.TB) { NotOnCluster(tb, "needs pg_sleep") }); !strings.HasSuffix(got, ": needs pg_sleep") {
		t.Errorf("NotOnCluster skipped with %q", got)
	}
	register(t)
	if got := SourceDSN(t); got != cluster {
		t.Errorf("a registered test reads %q, want the cluster", got)
	}
	t.Run("subtest", func(t *testing.T) {
		if got := SourceDSN(t); got != cluster {
			t.Errorf("a registered test's subtest reads %q, want the cluster", got)
		}
	})
}

func TestValues(t *testing.T) {
	if got := Values(3, func(i int) string { return fmt.Sprintf("(%d, 'v%d')", i, i) }); got != "(1, 'v1'),\n(2, 'v2'),\n(3, 'v3')" {
		t.Errorf("Values = %q", got)
	}
}
