// This file holds the SQL of the UNLOAD read: the one helper that makes a
// string literal for Redshift (unloadLiteral), the UNLOAD's inner SELECT
// with its bounds as literals, its location, and the statement with its
// authorization (shown redacted in logs).

package redshiftsync

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/sqlident"
)

// unloadMaxFileSizeMB is UNLOAD's MAXFILESIZE: a part is the unit of resume
// and of concurrency, so parts far smaller than Redshift's 6.2 GB default
// keep a crash's re-read small and give the readers parts to share, while
// staying large enough that S3 requests cost little per row.
const unloadMaxFileSizeMB = 128

// errNULInLiteral: a NUL cannot be written in a Redshift literal (nor
// stored in a Redshift or PostgreSQL text value).
var errNULInLiteral = errors.New("a value holds a NUL character, which no SQL literal can carry")

// unloadLiteral returns v as a Redshift string literal. UNLOAD takes no
// bind parameters, so every bound becomes a literal in the inner SELECT,
// and the SELECT itself a literal of the UNLOAD: the same helper makes
// both, so a value is escaped once for each level it is nested in.
// Redshift reads a backslash in a literal as an escape (\' is a quote, \\
// a backslash: "If your query contains quotation marks ... put the literal
// between two sets of single quotation marks", r_UNLOAD), so a backslash is
// doubled as well as a quote; everything else (newlines, any Unicode) is
// written as it is.
func unloadLiteral(v string) (string, error) {
	if strings.IndexByte(v, 0) >= 0 {
		return "", errNULInLiteral
	}
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\'', '\\':
			b.WriteByte(c)
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String(), nil
}

// unloadSelect returns the SELECT that the UNLOAD of plan's rows phase
// writes: every column (cast to VARCHAR where unloadCast says), and for an
// incremental phase its predicate, the bounds From (less the lookback) and
// HighWater as literals cast to the key's type.
func unloadSelect(plan *Plan, prog *progress, lookback time.Duration) (string, error) {
	t := plan.Table
	exprs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		q := sqlident.Quote(c.Name)
		exprs[i] = q
		if unloadCast(c) {
			exprs[i] = "CAST(" + q + " AS VARCHAR) AS " + q
		}
	}
	q := "SELECT " + strings.Join(exprs, ", ") + " FROM " + sqlident.Qualified(t.Schema, t.Name)
	if plan.Mode != ModeIncremental {
		return q, nil
	}
	key := plan.keyColumn()
	k := sqlident.Quote(key.Name)
	where := []string{k + " IS NOT NULL"}
	bound := func(op, v string) error {
		lit, err := unloadLiteral(v)
		if err != nil {
			return fmt.Errorf("the bound of column %q: %w", key.Name, err)
		}
		where = append(where, k+" "+op+" CAST("+lit+" AS "+key.SourceType+")")
		return nil
	}
	if prog.From != nil {
		if err := bound(">=", lowerBound(*prog.From, lookback, key)); err != nil {
			return "", err
		}
	}
	if prog.HighWater != nil {
		if err := bound("<=", *prog.HighWater); err != nil {
			return "", err
		}
	}
	return q + " WHERE " + strings.Join(where, " AND "), nil
}

// unloadAuth is the authorization of an UNLOAD, from the configuration.
type unloadAuth struct {
	role                 string
	keyID, secret, token Secret
	region               string
}

func unloadAuthOf(cfg Config) unloadAuth {
	return unloadAuth{role: cfg.UnloadIAMRole, keyID: cfg.UnloadAccessKeyID, secret: cfg.UnloadSecretAccessKey, token: cfg.UnloadSessionToken, region: cfg.UnloadS3Region}
}

// unloadStatement returns the UNLOAD of query to location. With redact,
// the access keys show as '[redacted]': that form alone is ever logged.
func unloadStatement(query, location string, auth unloadAuth, redact bool) (string, error) {
	lit := func(v string) string {
		s, _ := unloadLiteral(v) // NUL-free: checked by the configuration, or by unloadSelect
		return s
	}
	secret := func(v Secret) string {
		if redact {
			return "'" + redacted + "'"
		}
		return lit(string(v))
	}
	if strings.IndexByte(query, 0) >= 0 {
		return "", errNULInLiteral
	}
	var b strings.Builder
	b.WriteString("UNLOAD (" + lit(query) + ") TO " + lit(location))
	switch {
	case auth.role == "default":
		b.WriteString(" IAM_ROLE default")
	case auth.role != "":
		b.WriteString(" IAM_ROLE " + lit(auth.role))
	default:
		b.WriteString(" ACCESS_KEY_ID " + secret(auth.keyID) + " SECRET_ACCESS_KEY " + secret(auth.secret))
		if auth.token != "" {
			b.WriteString(" SESSION_TOKEN " + secret(auth.token))
		}
	}
	b.WriteString(" FORMAT PARQUET MANIFEST VERBOSE PARALLEL ON MAXFILESIZE " + strconv.Itoa(unloadMaxFileSizeMB) + " MB")
	if auth.region != "" {
		b.WriteString(" REGION " + lit(auth.region))
	}
	return b.String(), nil
}

// unloadLocation returns a new UNLOAD location for table under uri:
// "<uri>/<run>/<schema.table>/", run being the time and 8 random hex
// digits (unique, and sorted by time in a listing), the table's name with
// every byte but letters, digits, '.', '_' and '-' percent-encoded (a '/'
// in a quoted name must not make a level of its own).
func unloadLocation(uri string, t *Table, now time.Time) string {
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}
	return uri + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(rnd[:]) + "/" + s3Segment(t.QualifiedName()) + "/"
}

func s3Segment(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
