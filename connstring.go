// This file turns a Config into the lib/pq key=value connection string that
// New opens its connections with.

package redshiftsync

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// connString returns the lib/pq key=value connection string of c: host,
// port, dbname, user, password (when set), sslmode, sslrootcert (see
// rootCert), connect_timeout (whole
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
	if root := c.rootCert(); root != "" {
		add("sslrootcert", root)
	}
	if c.ConnectTimeout > 0 {
		secs := (c.ConnectTimeout + time.Second - 1) / time.Second
		add("connect_timeout", strconv.FormatInt(int64(secs), 10))
	}
	add("application_name", "redshiftsync")
	return b.String()
}

// rootCert returns the sslrootcert that lib/pq gets: SSLRootCert when set;
// else "" when the environment names one (PGSSLROOTCERT, which lib/pq
// reads as libpq does); else "system" for verify-full, so that the system's roots verify the
// certificate and not ~/.postgresql/root.crt, which lib/pq (as libpq) reads
// when it exists and no root is named; else "" (lib/pq's own rule: for
// verify-ca the system roots unless that file exists, for require and
// prefer that file when it exists). lib/pq accepts "system" with
// verify-full only.
func (c Config) rootCert() string {
	switch {
	case c.SSLRootCert != "":
		return c.SSLRootCert
	case os.Getenv("PGSSLROOTCERT") != "":
		return ""
	case c.SSLMode == "verify-full":
		return "system"
	}
	return ""
}
