// This file holds the error of a connection to the source that could not be
// opened: where it was going (host, port, database, user) and, per cause,
// what to do about it.

package redshiftsync

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/lib/pq"

	"github.com/seed2085993a/redshiftsync/internal/redact"
)

// ConnectError is the error of a connection to the source that the
// extractor's own pool (New) could not open. It reads "redshiftsync: connect
// to host:port database db as user: cause; hint" and unwraps to the cause
// (a *pq.Error, a *net.OpError, ...), so SQLState and errors.Is work on it.
// Its message never holds the password.
type ConnectError struct {
	Host     string
	Port     int
	Database string
	User     string
	// Hint says what to do about the cause, when it is one of the usual
	// mistakes: a server without TLS while sslmode requires it, nothing
	// listening at the port, a host name that does not resolve, no answer
	// at all (a firewall), a refused user or password, an unknown database.
	// It may be empty.
	Hint string
	Err  error
}

// Error reads "redshiftsync: connect to host:port database db as user:
// cause; hint".
func (e *ConnectError) Error() string {
	msg := fmt.Sprintf("redshiftsync: connect to %s database %s as %s: %v", e.Address(), e.Database, e.User, e.Err)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

func (e *ConnectError) Unwrap() error { return e.Err }

// Address returns where the connection went, as Config.Address.
func (e *ConnectError) Address() string {
	return Config{Host: e.Host, Port: e.Port}.Address()
}

// Address returns where c connects: "host:port" ("[::1]:5432" for an IPv6
// address), or the socket's path for a unix socket directory.
func (c Config) Address() string {
	if strings.HasPrefix(c.Host, "/") {
		return fmt.Sprintf("%s/.s.PGSQL.%d", strings.TrimSuffix(c.Host, "/"), c.Port)
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// connectError wraps err, the failure of a new connection made from cfg, with
// where it was going and what to do about it; a password the message holds
// is masked.
func connectError(cfg Config, err error) error {
	if cfg.Password != "" {
		err = redact.Error(err, cfg.connString())
	}
	e := &ConnectError{Host: cfg.Host, Port: cfg.Port, Database: cfg.Database, User: cfg.User, Err: err}
	e.Hint = connectHint(cfg, e)
	return e
}

// connectHint returns what to do about the failure of a connection, by its
// cause, or "".
func connectHint(cfg Config, e *ConnectError) string {
	err := e.Err
	var dnsErr *net.DNSError
	var netErr net.Error
	var hostErr x509.HostnameError
	var authErr x509.UnknownAuthorityError
	var invalidErr x509.CertificateInvalidError
	code := SQLState(err)
	switch {
	case errors.As(err, &hostErr):
		return fmt.Sprintf(`the server's certificate is not issued for host %q (sslmode %q checks the name): connect by the name the certificate holds (for Redshift, the cluster's or workgroup's endpoint, not an IP address or an alias), or set "sslmode": "verify-ca" (?sslmode=verify-ca in a URL) to check only the CA`, cfg.Host, cfg.SSLMode)
	case errors.As(err, &authErr), errors.As(err, &invalidErr):
		return fmt.Sprintf(`the server's certificate does not verify against %s with sslmode %q: set "sslrootcert" (?sslrootcert= in a URL) to the PEM file of the CA that signs it (for Redshift, Amazon's bundle https://s3.amazonaws.com/redshift-downloads/amazon-trust-ca-bundle.crt, if this machine's roots lack Amazon's); "sslmode": "require" encrypts without verifying, which lets a man in the middle read the password and the data`, rootsName(cfg), cfg.SSLMode)
	case errors.Is(err, pq.ErrSSLNotSupported):
		return fmt.Sprintf(`the server does not offer TLS, which sslmode %q requires (the default for a host that is not local): set "sslmode": "disable" (or "prefer") in the configuration, ?sslmode=disable in a URL, or PGSSLMODE=disable`, cfg.SSLMode)
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Sprintf("the host name %q does not resolve: check the host (redshift_host) for a typo, and this machine's DNS", cfg.Host)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing accepts connections at %s: check the port (redshift_port), that the server is running, and that no firewall or security group rejects this machine", e.Address())
	case code == "28P01":
		return fmt.Sprintf("the server refused the password of user %q: check the user and the password (redshift_user, redshift_password)", cfg.User)
	case code == "28000" && strings.Contains(err.Error(), "pg_hba.conf"):
		return fmt.Sprintf("the server accepts no connection of user %q to database %q from this address: check the user and the database, sslmode (the server may accept only TLS connections, or only others), and the server's pg_hba.conf", cfg.User, cfg.Database)
	case strings.HasPrefix(code, "28"):
		return fmt.Sprintf("the server refused user %q: check the user and the password (redshift_user, redshift_password)", cfg.User)
	case code == "3D000":
		return fmt.Sprintf("the server has no database %q: check the database name (redshift_database)", cfg.Database)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("no answer from %s within the connect timeout: check the host and the port, and that no firewall or security group drops the packets", e.Address())
	}
	return ""
}

// rootsName says which roots verified the certificate of a connection made
// from cfg, as connString's sslrootcert chooses them.
func rootsName(cfg Config) string {
	switch root := cfg.rootCert(); root {
	case "system":
		return "the system's roots"
	case "":
		if f := os.Getenv("PGSSLROOTCERT"); f != "" {
			return fmt.Sprintf("the file %s (PGSSLROOTCERT)", f)
		}
		return "lib/pq's default roots (~/.postgresql/root.crt when it exists, else the system's)"
	default:
		return fmt.Sprintf("the file %s (sslrootcert)", root)
	}
}
