// This file reads a configuration from a postgres:// URL (ConfigFromURL).

package redshiftsync

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/seed2085993a/redshiftsync/internal/confvalue"
	"github.com/seed2085993a/redshiftsync/internal/redact"
)

// urlPortDefault is the port of a URL without one: it is a PostgreSQL URL.
const urlPortDefault = 5432

// ConfigFromURL builds a Config from a postgres:// or postgresql:// URL:
//
//	postgres://user:password@host:port/database?sslmode=require&connect_timeout=10
//
// The port defaults to 5432 (it is a PostgreSQL URL; PortDefault applies to
// JSON configurations only). The query may hold sslmode, sslrootcert (a CA
// file, see Config.SSLRootCert), connect_timeout (seconds, or a Go
// duration) and host (a unix socket directory, for a URL
// without a host: postgres:///db?host=/var/run/postgresql); any other
// parameter is an error. Percent-encode a user name or password holding
// : / ? # @ or %. The other fields take their defaults (Config.WithDefaults)
// and the result is validated. Errors name the URL with its password
// redacted, never the password.
func ConfigFromURL(rawURL string) (Config, error) {
	cfg, err := configFromURL(rawURL)
	var ce *ConfigError
	if errors.As(err, &ce) {
		// A problem may quote a value of the URL: never the password.
		for i := range ce.Problems {
			ce.Problems[i].Problem = redact.String(ce.Problems[i].Problem, rawURL)
		}
		ce.Source = redact.String(ce.Source, rawURL)
	}
	return cfg, err
}

func configFromURL(rawURL string) (Config, error) {
	ps := &problems{}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's errors quote the URL (and a misplaced password):
		// describe the problem without them.
		ps.add("", "%s", redact.URLProblem(err))
		return Config{}, ps.err("")
	}
	// Shown in the error: the URL with its password masked, or nothing
	// when the URL looks misparsed (an unescaped / ? # or @ in the
	// password would still show part of it).
	source := redact.DSN(rawURL)
	if u.Opaque != "" {
		ps.add("", "is not a postgres:// URL; expected postgres://user:password@host:port/database")
		return Config{}, ps.err("")
	}
	if strings.ContainsAny(u.Path+u.RawQuery+u.Fragment, "@") {
		// Likely a password with an unescaped / ? or #.
		ps.add("", "the URL looks misparsed (an @ after the host); percent-encode a user name or password holding : / ? # @ or %%")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		ps.add("", "the URL's scheme must be postgres:// or postgresql://")
		return Config{}, ps.err(source)
	}
	if u.Fragment != "" {
		ps.add("", "the URL must not have a #fragment")
	}

	cfg := Config{Host: u.Hostname(), Database: strings.TrimPrefix(u.Path, "/"), Port: urlPortDefault}
	if u.User != nil {
		cfg.User = u.User.Username()
		if pw, ok := u.User.Password(); ok {
			cfg.Password = Secret(pw)
		}
	}
	if p := u.Port(); p != "" {
		port := settingOf(keyPort)
		n, err := strconv.Atoi(p)
		if err != nil || n > 65535 {
			ps.add(keyPort, "%s is not a port number; expected %s", quote(p), port.expect)
		} else {
			port.setInt(&cfg.Port, n, ps)
		}
	}
	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		ps.add("", "the URL's query is malformed; expected ?sslmode=require&connect_timeout=10")
	}
	var unknown []string
	for name, values := range query {
		if len(values) > 1 {
			ps.add(name, "is given more than once in the URL's query")
			continue
		}
		v := values[0]
		switch name {
		case "sslmode":
			cfg.SSLMode = v
		case "sslrootcert":
			cfg.SSLRootCert = v
		case "connect_timeout":
			if strings.TrimSpace(v) == "" {
				break
			}
			d, problem := confvalue.Duration(v)
			if problem != "" {
				ps.add(keyConnectTimeout, "%s", problem)
			} else {
				settingOf(keyConnectTimeout).setDuration(&cfg.ConnectTimeout, d, ps)
			}
		case "host":
			if cfg.Host != "" {
				ps.add("host", "is given both in the URL and in its query; give it once")
			} else {
				cfg.Host = v
			}
		default:
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		names := make([]string, len(unknown))
		for i, n := range unknown {
			names[i] = quote(n)
		}
		ps.add("", "the URL's query holds unsupported parameters %s; only sslmode, sslrootcert, connect_timeout and host are allowed", strings.Join(names, ", "))
	}
	if cfg.User == "" && u.User == nil {
		ps.add(keyUser, "is required: the URL has no user name; write postgres://USER@host/database")
	}
	cfg = cfg.WithDefaults()
	checked := &problems{}
	cfg.check(checked)
	ps.merge(checked)
	if len(ps.list) > 0 {
		// Name the URL's parts rather than the configuration file's keys.
		list := ps.sorted()
		for i := range list {
			if k, ok := urlPartOf[list[i].Key]; ok {
				list[i].Key = k
			}
		}
		return Config{}, &ConfigError{Source: source, Problems: list}
	}
	return cfg, nil
}

// urlPartOf maps keys to the parts of a URL, for ConfigFromURL's errors.
var urlPartOf = map[string]string{
	keyHost:     "host",
	keyPort:     "port",
	keyDatabase: "database",
	keyUser:     "user",
	keyPassword: "password",
}
