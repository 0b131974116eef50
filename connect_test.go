package redshiftsync_test

// This file tests the errors of connections that cannot be opened: each
// names host:port, the database and the user, says what to do, and never
// shows the password.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/synctest"
)

// connectFailure runs a sync with cfg, which cannot connect, and returns its
// *ConnectError, failing the test unless the error is one whose message
// names where the connection went and holds hint but not the password.
func connectFailure(t *testing.T, cfg redshiftsync.Config, hint string) *redshiftsync.ConnectError {
	t.Helper()
	cfg.MaxRetries = redshiftsync.MaxRetriesNone
	cfg.ConnectTimeout = 5 * time.Second
	logger, logs := debugLogger()
	_, err := runOnce(t, cfg, newMemSink(), &redshiftsync.MemoryStore{}, redshiftsync.WithLogger(logger))
	var ce *redshiftsync.ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *ConnectError", err)
	}
	where := fmt.Sprintf("redshiftsync: connect to %s:%d database %s as %s: ", cfg.Host, cfg.Port, cfg.Database, cfg.User)
	if msg := err.Error(); !strings.HasPrefix(msg, where) || !strings.Contains(msg, hint) {
		t.Errorf("error %q\ndoes not begin with %q and say %q", msg, where, hint)
	}
	if strings.Contains(err.Error(), "detect dialect") {
		t.Errorf("error %q speaks of detecting the dialect", err)
	}
	assertSecretHidden(t, string(cfg.Password), "connect", append(errorTexts(err, nil), logs.String())...)
	return ce
}

// TestConnectErrors reproduces each usual connection mistake against a
// real server, or a real absence of one.
func TestConnectErrors(t *testing.T) {
	pgtest.NotOnCluster(t, "it makes connections fail as only the local test server allows (a free port, a server without TLS, trust authentication, unknown roles and databases)")
	base := testConfig(t, "public")
	base.Password = redshiftsync.Secret("pw-" + randomHex(t, 12)) // trust auth ignores it; it must not show

	t.Run("nothing listening", func(t *testing.T) {
		cfg := base
		cfg.Port = pgtest.FreePort(t)
		connectFailure(t, cfg, "nothing accepts connections at "+fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)+": check the port")
	})
	t.Run("sslmode require, server without TLS", func(t *testing.T) {
		cfg := base
		cfg.SSLMode = "require"
		connectFailure(t, cfg, `the server does not offer TLS, which sslmode "require" requires`)
	})
	t.Run("unknown database", func(t *testing.T) {
		cfg := base
		cfg.Database = "no_such_db_" + randomHex(t, 4)
		ce := connectFailure(t, cfg, fmt.Sprintf("the server has no database %q", cfg.Database))
		if redshiftsync.SQLState(ce) != "3D000" {
			t.Errorf("SQLSTATE %q, want 3D000", redshiftsync.SQLState(ce))
		}
	})
	t.Run("host that does not resolve", func(t *testing.T) {
		cfg := base
		cfg.Host = "nonexistent.invalid"
		cfg.SSLMode = "disable"
		connectFailure(t, cfg, `the host name "nonexistent.invalid" does not resolve`)
	})
	t.Run("unknown role", func(t *testing.T) {
		cfg := base
		cfg.User = "no_such_role_" + randomHex(t, 4)
		ce := connectFailure(t, cfg, fmt.Sprintf("the server refused user %q: check the user and the password", cfg.User))
		if !strings.HasPrefix(redshiftsync.SQLState(ce), "28") {
			t.Errorf("SQLSTATE %q, want class 28", redshiftsync.SQLState(ce))
		}
	})
	t.Run("no answer", func(t *testing.T) {
		// A listener that accepts and never answers: what a server behind
		// a firewall that drops its replies looks like to the client.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		cfg := base
		cfg.Port = l.Addr().(*net.TCPAddr).Port
		cfg.SSLMode = "disable"
		cfg.MaxRetries = redshiftsync.MaxRetriesNone
		cfg.ConnectTimeout = time.Second
		logger, logs := debugLogger()
		_, err = runOnce(t, cfg, newMemSink(), &redshiftsync.MemoryStore{}, redshiftsync.WithLogger(logger))
		hint := fmt.Sprintf("no answer from %s:%d within the connect timeout", cfg.Host, cfg.Port)
		var ce *redshiftsync.ConnectError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), hint) {
			t.Errorf("err = %v, want a *ConnectError saying %q", err, hint)
		}
		assertSecretHidden(t, string(cfg.Password), "no answer", append(errorTexts(err, nil), logs.String())...)
	})
	t.Run("caller canceled", func(t *testing.T) {
		// Not a connection failure to explain: the caller's cancel.
		ex := synctest.New(t, base, newMemSink(), &redshiftsync.MemoryStore{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := ex.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}
