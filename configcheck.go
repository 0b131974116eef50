// This file checks a resolved Config against the settings table (bounds,
// enums, patterns) and the rules of single settings (host names, required
// names, template placeholders left in), and picks the default sslmode.

package redshiftsync

import (
	"fmt"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/seed2085993a/redshiftsync/internal/confvalue"
)

// check adds the problems of c, whose defaults are applied, to ps.
func (c *Config) check(ps *problems) {
	for i := range settings {
		s := &settings[i]
		switch p := s.field(c).(type) {
		case *string:
			s.checkEnum(*p, ps)
		case *Dialect:
			s.checkEnum(string(*p), ps)
		case *int:
			s.checkInt(*p, ps)
		case *time.Duration:
			switch {
			case *p < 0:
				ps.add(s.key, "%v is negative; expected %s", *p, confvalue.ExpectDuration)
			case *p == 0 && s.zero == zeroIsProblem:
				ps.add(s.key, "%s", s.zeroDurationProblem())
			}
		case *[]string:
			checkPatterns(ps, s.key, *p)
		}
		if s.check != nil {
			for _, problem := range s.check(s, c) {
				ps.add(s.key, "%s", problem)
			}
		}
	}
}

func (s *setting) checkEnum(v string, ps *problems) {
	if s.allowed != nil && !slices.Contains(s.allowed, v) {
		ps.add(s.key, "%s", enumProblem(v, s.allowed))
	}
}

func (s *setting) checkInt(v int, ps *problems) {
	switch {
	case s.zero == zeroIsNone && v == s.none:
	case v < s.min:
		ps.add(s.key, "%d is too small; expected %s", v, s.expect)
	case v > s.max && s.tooLarge != "":
		ps.add(s.key, "%d %s", v, s.tooLarge)
	case v > s.max:
		ps.add(s.key, "%d is too large; expected %s", v, s.expect)
	}
}

func nulProblem(v string) string {
	if strings.ContainsRune(v, 0) {
		return "must not contain a NUL character"
	}
	return ""
}

// nameProblem checks a required name (database, user, schema).
func nameProblem(v, what string) string {
	if p := nulProblem(v); p != "" {
		return p
	}
	return missingProblem(v, what)
}

// missingProblem reports a required value that is empty, blank, or the
// template's placeholder.
func missingProblem(v, what string) string {
	switch {
	case v == "":
		return "is required; give " + what
	case strings.TrimSpace(v) == "":
		return "is blank; give " + what
	case isPlaceholder(v, false):
		return placeholderProblem(v, what)
	}
	return ""
}

func checkPatterns(ps *problems, key string, patterns []string) {
	for _, p := range patterns {
		if strings.TrimSpace(p) == "" {
			ps.add(key, "holds a blank pattern; remove it")
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			ps.add(key, "%s is not a valid pattern; expected a table name or a path.Match pattern such as \"events_*\" (check the [ ] brackets and a trailing \\)", quote(p))
		}
	}
}

func enumProblem(v string, allowed []string) string {
	msg := fmt.Sprintf("%s is not allowed; expected one of %s", quote(v), strings.Join(allowed, ", "))
	if s := confvalue.SuggestValue(v, allowed); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg
}

// quote quotes a value for a message, truncated to 40 characters. Never use
// it for the password.
func quote(s string) string { return confvalue.Quote(s) }

// placeholderProblem describes a template placeholder left in a key (never
// the password's, whose value is not shown).
func placeholderProblem(v, what string) string {
	return fmt.Sprintf("still holds the template placeholder %s; replace it with %s", confvalue.QuoteN(strings.TrimSpace(v), 64), what)
}

// isPlaceholder reports whether s is a template placeholder such as
// "<YOUR_REDSHIFT_HOST>". For a secret only the template's own shape (upper
// case, digits, underscores) counts, as a password may hold < and >.
func isPlaceholder(s string, secret bool) bool {
	t := strings.TrimSpace(s)
	if len(t) < 3 || t[0] != '<' || t[len(t)-1] != '>' {
		return false
	}
	inner := t[1 : len(t)-1]
	if strings.ContainsAny(inner, "<>") {
		return false
	}
	if secret {
		return strings.IndexFunc(inner, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
		}) < 0
	}
	return true
}

// hostProblem checks a host name, IP address or unix socket directory.
func hostProblem(host, what string) string {
	if p := missingProblem(host, what); p != "" {
		return p
	}
	switch {
	case strings.ContainsRune(host, 0):
		return "must not contain a NUL character"
	case strings.HasPrefix(host, "/"), strings.HasPrefix(host, "@"):
		return "" // a unix socket directory, or an abstract socket
	case strings.Contains(host, "://"):
		return fmt.Sprintf("%s is a URL; give only the host name (or use ConfigFromURL for a postgres:// URL)", quote(host))
	case strings.Contains(host, ","):
		return fmt.Sprintf("%s holds several hosts; give one host", quote(host))
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		return fmt.Sprintf("%s: write an IPv6 address without brackets", quote(host))
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.Count(host, ":") == 1 {
		if _, err := strconv.Atoi(host[i+1:]); err == nil {
			return fmt.Sprintf("%s holds a port; put the host name here and the port in redshift_port", quote(host))
		}
	}
	if strings.ContainsFunc(host, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r) || strings.ContainsRune(`'"\/@?#&=;<>`, r)
	}) {
		return fmt.Sprintf("%s is not a valid host name; give %s", quote(host), what)
	}
	return ""
}

// sslModeFor returns the default sslmode for host: "prefer" for a local
// server (localhost, a loopback address, a unix socket directory or abstract
// socket), where TLS is often not set up; "verify-full" for a Redshift
// endpoint (isRedshiftHost), whose certificate AWS Certificate Manager issues
// and every system trust store trusts ("Configuring security options for
// connections", https://docs.aws.amazon.com/redshift/latest/mgmt/connecting-ssl-support.html),
// so that a man in the middle cannot read the password and the data;
// "require" for every other host.
func sslModeFor(host string) string {
	h := strings.ToLower(strings.TrimSpace(host))
	switch {
	case strings.HasPrefix(h, "/"), strings.HasPrefix(h, "@"):
		return "prefer"
	case h == "localhost", h == "localhost.", strings.HasSuffix(h, ".localhost"):
		return "prefer"
	case isRedshiftHost(h):
		return "verify-full"
	}
	if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil && ip.IsLoopback() {
		return "prefer"
	}
	return "require"
}

// redshiftDomains are the DNS suffixes of Redshift endpoints: provisioned
// clusters and serverless workgroups, in the commercial partitions and in
// China's (amazonaws.com.cn).
var redshiftDomains = []string{
	".redshift.amazonaws.com", ".redshift-serverless.amazonaws.com",
	".redshift.amazonaws.com.cn", ".redshift-serverless.amazonaws.com.cn",
}

// isRedshiftHost reports whether host (any case, a final dot allowed) is a
// name under one of redshiftDomains, such as
// examplecluster.abc123.us-west-2.redshift.amazonaws.com.
func isRedshiftHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	for _, d := range redshiftDomains {
		if name, ok := strings.CutSuffix(h, d); ok && name != "" && !strings.HasSuffix(name, ".") {
			return true
		}
	}
	return false
}
