package redact

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestDSN(t *testing.T) {
	for _, c := range []struct{ dsn, want string }{
		{"postgres://loader:S3cr3t@host:5432/db?sslmode=require", "postgres://loader:xxxxx@host:5432/db?sslmode=require"},
		{"postgres://loader@host/db", "postgres://loader@host/db"},
		{"postgres://loader:S3cr3t/pw@host/db", ""},  // does not parse
		{"postgres://loader:S3cr3t#p@w@host/db", ""}, // parses, with the password cut into the fragment
		{"host=h password='S3 cr\\'3t' dbname=d", "host=h password=xxxxx dbname=d"},
		{"host=h PASSWORD = S3cr3t", "host=h PASSWORD = xxxxx"},
		{"garbage S3cr3t", ""},
	} {
		if got := DSN(c.dsn); got != c.want {
			t.Errorf("DSN(%q) = %q, want %q", c.dsn, got, c.want)
		}
	}
}

func TestError(t *testing.T) {
	const dsn = "postgres://loader:S3cr3t/pw@host:5432/db"
	_, perr := url.Parse(dsn)
	wrapped := fmt.Errorf("connect: %w", perr)
	got := Error(wrapped, dsn)
	if strings.Contains(got.Error(), "S3cr3t") || !strings.Contains(got.Error(), "port is not a number") {
		t.Errorf("Error = %q", got)
	}
	var ue *url.Error
	if errors.As(got, &ue) {
		t.Error("the redacted error still unwraps to the url.Error that quotes the password")
	}
	// An error without a secret is returned as it is.
	plain := errors.New("connection refused")
	if Error(plain, dsn) != plain {
		t.Error("an error without a secret was replaced")
	}
	if Error(nil, dsn) != nil {
		t.Error("Error(nil) != nil")
	}
	// Quoted, decoded and key=value forms.
	for _, c := range []struct{ dsn, msg string }{
		{"postgres://u:p%40ss%2Fw0rd@h/db", `bad "p@ss/w0rd"`},
		{"postgres://u:S3cr\"3t@h/db", `bad "S3cr\"3t"`},
		{"host=h password='S3 cr\\'3t'", `bad "S3 cr'3t"`},
		{"garbage S3cr3t", `missing "=" after "S3cr3t"`},
	} {
		got := Error(errors.New(c.msg), c.dsn).Error()
		for _, s := range []string{"p@ss/w0rd", "S3cr", "cr'3t"} {
			if strings.Contains(got, s) {
				t.Errorf("Error(%q, %q) = %q: holds %q", c.msg, c.dsn, got, s)
			}
		}
	}
}
