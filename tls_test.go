package redshiftsync_test

// This file tests TLS to a Redshift endpoint (issue #14, item 11): the
// default sslmode verify-full, the sslrootcert key, and the error when the
// certificate does not verify. A TLS-terminating forwarder run by the test
// serves a certificate for a Redshift host name, signed by a CA the test
// creates, in front of the test PostgreSQL; the pool dials it whatever host
// it is told (redshiftsync.WithDialAddress), so lib/pq checks the
// certificate against the Redshift name as it would against a cluster.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// testCA is a certificate authority made by a test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // its certificate, PEM, in a temporary file
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name+".pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, file: file}
}

// issue returns a server certificate for host, signed by ca.
func (ca *testCA) issue(t *testing.T, host string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}
}

// tlsForwarder answers PostgreSQL's SSLRequest with 'S', completes the TLS
// handshake with cert, and relays the decrypted stream to upstream, a
// server reached in plain text. It returns its address and the number of
// TLS handshakes completed so far.
func tlsForwarder(t *testing.T, cert tls.Certificate, upstream string) (addr string, handshakes func() int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		done  int
		conns sync.WaitGroup
	)
	t.Cleanup(func() { l.Close(); conns.Wait() })
	serve := func(c net.Conn) {
		defer conns.Done()
		defer c.Close()
		var req [8]byte
		if _, err := io.ReadFull(c, req[:]); err != nil ||
			binary.BigEndian.Uint32(req[:4]) != 8 || binary.BigEndian.Uint32(req[4:]) != 80877103 {
			return // not an SSLRequest: the client does not want TLS
		}
		if _, err := c.Write([]byte{'S'}); err != nil {
			return
		}
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		if err := tc.Handshake(); err != nil {
			return // the client refused the certificate
		}
		mu.Lock()
		done++
		mu.Unlock()
		up, err := net.Dial("tcp", upstream)
		if err != nil {
			return
		}
		defer up.Close()
		go func() { io.Copy(up, tc); up.Close() }()
		io.Copy(tc, up)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go serve(c)
		}
	}()
	return l.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return done }
}

// TestRedshiftTLSVerifyFull syncs a table from a Redshift host name through
// TLS: by default (sslmode verify-full, the system's roots) a certificate
// from a CA the system does not trust fails with an error that says which
// setting to change; with the CA in sslrootcert (a Config field, a
// configuration file's key, a URL parameter) the sync runs; a wrong CA, or
// a certificate for another host, fails with that error too. No error holds
// the password.
func TestRedshiftTLSVerifyFull(t *testing.T) {
	const host = "examplecluster.abc123xyz789.us-west-2.redshift.amazonaws.com"
	db := pgtest.Open(t)
	schema := pgtest.NewSchema(t, db)
	pgtest.Exec(t, db, `CREATE TABLE `+schema+`.t (id int PRIMARY KEY, v text)`)
	pgtest.Exec(t, db, `INSERT INTO `+schema+`.t SELECT g, 'v' || g FROM generate_series(1, 5) g`)

	plain := testConfig(t, schema)
	upstream := net.JoinHostPort(plain.Host, strconv.Itoa(plain.Port))
	ca := newTestCA(t, "redshiftsync-test-ca")
	addr, handshakes := tlsForwarder(t, ca.issue(t, host), upstream)

	base := plain
	base.Host, base.Port, base.SSLMode = host, 5439, ""
	base.Password = redshiftsync.Secret("pw-" + randomHex(t, 12)) // trust auth ignores it; it must not show
	base.MaxRetries = redshiftsync.MaxRetriesNone
	base.ConnectTimeout = 5 * time.Second
	if got := base.WithDefaults().SSLMode; got != "verify-full" {
		t.Errorf("default sslmode for %s = %q, want verify-full", host, got)
	}

	run := func(t *testing.T, cfg redshiftsync.Config) error {
		t.Helper()
		logger, logs := debugLogger()
		_, err := runOnce(t, redshiftsync.WithDialAddress(cfg, addr), newMemSink(), &redshiftsync.MemoryStore{}, redshiftsync.WithLogger(logger))
		assertSecretHidden(t, string(cfg.Password), "tls", append(errorTexts(err, nil), logs.String())...)
		return err
	}
	refused := func(t *testing.T, cfg redshiftsync.Config, hint string) {
		t.Helper()
		before := handshakes()
		err := run(t, cfg)
		var ce *redshiftsync.ConnectError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), hint) {
			t.Fatalf("err = %v, want a *ConnectError saying %q", err, hint)
		}
		if n := handshakes() - before; n != 0 {
			t.Errorf("%d TLS handshakes completed with a certificate that does not verify", n)
		}
	}

	t.Run("system roots refuse the test CA", func(t *testing.T) {
		refused(t, base, `the server's certificate does not verify against the system's roots with sslmode "verify-full": set "sslrootcert"`)
	})
	t.Run("sslrootcert trusts the test CA", func(t *testing.T) {
		cfg := base
		cfg.SSLRootCert = ca.file
		sink := newMemSink()
		logger, _ := debugLogger()
		if _, err := runOnce(t, redshiftsync.WithDialAddress(cfg, addr), sink, &redshiftsync.MemoryStore{}, redshiftsync.WithLogger(logger)); err != nil {
			t.Fatal(err)
		}
		if n := len(sink.rows[schema+".t"]); n != 5 {
			t.Errorf("%d rows delivered, want 5", n)
		}
		if handshakes() == 0 {
			t.Error("no TLS handshake reached the forwarder")
		}
	})
	t.Run("sslrootcert from a configuration file and a URL", func(t *testing.T) {
		fromFile, err := redshiftsync.ParseConfig([]byte(`{"redshift_host": "` + host + `", "redshift_database": "d", "redshift_user": "u", "sslrootcert": ` + strconv.Quote(ca.file) + `}`))
		if err != nil {
			t.Fatal(err)
		}
		fromURL, err := redshiftsync.ConfigFromURL("postgres://u@" + host + ":5439/d?sslrootcert=" + url.QueryEscape(ca.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []redshiftsync.Config{fromFile, fromURL} {
			if c.SSLRootCert != ca.file || c.SSLMode != "verify-full" {
				t.Errorf("sslrootcert %q, sslmode %q; want %q, verify-full", c.SSLRootCert, c.SSLMode, ca.file)
			}
		}
	})
	t.Run("wrong CA", func(t *testing.T) {
		cfg := base
		cfg.SSLRootCert = newTestCA(t, "another-ca").file
		refused(t, cfg, `the server's certificate does not verify against the file `+cfg.SSLRootCert+` (sslrootcert) with sslmode "verify-full": set "sslrootcert"`)
	})
	t.Run("certificate for another host", func(t *testing.T) {
		cfg := base
		cfg.Host = "othercluster.abc123xyz789.us-west-2.redshift.amazonaws.com"
		cfg.SSLRootCert = ca.file
		refused(t, cfg, `the server's certificate is not issued for host "othercluster.abc123xyz789.us-west-2.redshift.amazonaws.com"`)
	})
}
