package pgident

import (
	"context"
	"database/sql"
	"net/url"
	"testing"

	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestSame covers the decisions of Same without a server.
func TestSame(t *testing.T) {
	pg := func(server, db, inst string) Identity { return Identity{Server: server, Database: db, Instance: inst} }
	for _, tc := range []struct {
		name        string
		a, b        Identity
		same, known bool
	}{
		{"one server, one database", pg("postgresql:1", "d", "10"), pg("postgresql:1", "d", "20"), true, true},
		{"one server, other database", pg("postgresql:1", "d", "10"), pg("postgresql:1", "e", "10"), false, true},
		{"other servers", pg("postgresql:1", "d", "10"), pg("postgresql:2", "d", "10"), false, true},
		{"one side unreadable, same instance", pg("", "d", "10"), pg("postgresql:1", "d", "10"), true, true},
		{"one side unreadable, other instance", pg("", "d", "10"), pg("postgresql:1", "d", "11"), false, true},
		{"nothing readable", pg("", "d", ""), pg("", "d", "10"), false, false},
		{"Redshift and PostgreSQL", Identity{Redshift: true, Server: "redshift:x", Database: "d"}, pg("postgresql:1", "d", "10"), false, true},
	} {
		if same, known := Same(tc.a, tc.b); same != tc.same || known != tc.known {
			t.Errorf("%s: Same = %v, %v; want %v, %v", tc.name, same, known, tc.same, tc.known)
		}
	}
}

// TestRead reads the identity of a database as the superuser, and as a role
// that may not run pg_control_system() (revoked in that database only):
// that role gets no Server, and the running instance still tells that both
// connections reach one database; another database of the server differs.
func TestRead(t *testing.T) {
	ctx := context.Background()
	admin := pgtest.Open(t)
	role := "ident_" + randomSuffix(t, admin)
	pgtest.Exec(t, admin, "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() { admin.Exec("DROP ROLE IF EXISTS " + role) })
	dsn := pgtest.NewDatabase(t)
	super := pgtest.OpenDSN(t, dsn)
	pgtest.Exec(t, super, "REVOKE EXECUTE ON FUNCTION pg_catalog.pg_control_system() FROM PUBLIC")
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	low := pgtest.OpenDSN(t, u.String())

	read := func(db *sql.DB) Identity {
		t.Helper()
		id, err := Read(ctx, db, false)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	a, b, other := read(super), read(low), read(admin)
	if len(a.Server) <= len("postgresql:") || a.Database != u.Path[1:] || a.Instance == "" {
		t.Errorf("superuser's identity = %+v", a)
	}
	if b.Server != "" || b.Instance != a.Instance || b.Database != a.Database {
		t.Errorf("unprivileged identity = %+v, want no Server and the superuser's instance %s", b, a.Instance)
	}
	if same, known := Same(a, b); !same || !known {
		t.Errorf("the same database through two roles: Same = %v, %v", same, known)
	}
	if same, _ := Same(a, other); same || other.Server != a.Server {
		t.Errorf("another database of the server: %+v vs %+v, Same = %v", other, a, same)
	}
}

// randomSuffix returns 8 random hex digits from the server.
func randomSuffix(t *testing.T, db *sql.DB) string {
	t.Helper()
	var s string
	if err := db.QueryRow(`SELECT substr(md5(random()::text), 1, 8)`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
