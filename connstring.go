// This file turns a Config into the lib/pq key=value connection string that
// New opens its connections with.

package redshiftsync

import (
	"strconv"
	"strings"
	"time"
)

// connString returns the lib/pq key=value connection string of c: host,
// port, dbname, user, password (when set), sslmode, connect_timeout (whole
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
	if c.ConnectTimeout > 0 {
		secs := (c.ConnectTimeout + time.Second - 1) / time.Second
		add("connect_timeout", strconv.FormatInt(int64(secs), 10))
	}
	add("application_name", "redshiftsync")
	return b.String()
}
