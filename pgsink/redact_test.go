package pgsink_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

// leakPassword is the password of every malformed connection string below;
// no output may hold it, or any piece of it of 3 characters or more.
const leakPassword = "S3cr3t/pw%x"

// malformedDSNs are connection strings an operator mistypes, each holding
// leakPassword (or its pieces): an unescaped / ? # or % in the password, a
// bad port, an unknown sslmode, a key=value string with a bad value, and
// garbage.
var malformedDSNs = []string{
	"postgres://loader:S3cr3t/pw%x@127.0.0.1:1/db",
	"postgres://loader:S3cr3t%zz@127.0.0.1:1/db",
	"postgres://loader:S3cr3t?pw@127.0.0.1:1/db",
	"postgres://loader:S3cr3t#pw@127.0.0.1:1/db",
	"postgres://loader:S3cr3tpw@127.0.0.1:54x2/db",
	"postgres://loader:S3cr3tpw@127.0.0.1:99999/db",
	"postgres://loader:S3cr3tpw@127.0.0.1:1/db?sslmode=bogus",
	"postgres://loader:S3cr3tpw@local host:1/db",
	"host=127.0.0.1 port=zz password=S3cr3tpw",
	"host=127.0.0.1 password='S3cr3t/pw",
	"garbage S3cr3t/pw%x",
}

// TestOpenRedactsPassword: a malformed destination URL used to be quoted in
// pgsink.Open's error, password included (`parse "postgres://loader:S3cr3t/pw@…":
// invalid port`). Every malformed form fails Open and ConfigFromURL with an
// error whose %v, %+v and %#v hold no piece of the password.
func TestOpenRedactsPassword(t *testing.T) {
	for _, dsn := range malformedDSNs {
		s, err := pgsink.Open(dsn)
		if err == nil {
			s.Close()
			t.Errorf("pgsink.Open(%q) succeeded", dsn)
			continue
		}
		checkNoPassword(t, "pgsink.Open", dsn, err)
		if _, err := redshiftsync.ConfigFromURL(dsn); err != nil {
			checkNoPassword(t, "ConfigFromURL", dsn, err)
		}
	}
}

func checkNoPassword(t *testing.T, what, dsn string, err error) {
	t.Helper()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		out := fmt.Sprintf(verb, err)
		for _, piece := range []string{"S3cr3t", "cr3tpw", "t/pw", "pw%x"} {
			if strings.Contains(out, piece) {
				t.Errorf("%s(%q): %s of the error holds %q: %s", what, dsn, verb, piece, out)
			}
		}
	}
}
