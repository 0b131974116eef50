// Package redact keeps passwords out of what the library shows: connection
// strings, and the errors of the parsers and drivers that quote them. It is
// the one place where the root package (ConfigFromURL), pgsink (Open) and
// the test helpers of internal/pgtest turn a connection string, and any
// error about it, into something safe to print or log.
package redact

import (
	"cmp"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Mask replaces a secret: the same mask as url.URL.Redacted.
const Mask = "xxxxx"

// DSN returns dsn in a form that can be shown: a URL with its password
// replaced by Mask, a key=value string with the value of password replaced,
// or "" when dsn cannot be parsed well enough to tell where a password would
// be (a malformed URL, a URL whose password holds an unescaped / ? # or @, a
// string that is neither form).
func DSN(dsn string) string {
	if isURL(dsn) {
		u, err := url.Parse(dsn)
		if err != nil || u.Opaque != "" || strings.Contains(u.Path+u.RawQuery+u.Fragment, "@") {
			// Misparsed: the password may have landed in the path, the
			// query or the fragment, which Redacted shows.
			return ""
		}
		return u.Redacted()
	}
	if !strings.Contains(dsn, "=") {
		return ""
	}
	return passwordKV.ReplaceAllString(dsn, "${1}"+Mask)
}

// Error returns err with every secret of dsn masked in its message: the
// password as written and as decoded, the URL's user information, and (for
// a string that names no password where one can be found) every word of
// dsn. An error from url.Parse (which quotes the URL, and a misplaced
// password as a "port" or a "path") is replaced by a description of the
// problem that quotes nothing. An error whose message held a secret is
// returned as a new error that does not unwrap to the original (whose
// fields may hold the secret); any other error is returned as it is.
func Error(err error, dsn string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = strings.ReplaceAll(msg, ue.Error(), "the connection string "+URLProblem(ue))
	}
	msg = String(msg, dsn)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg}
}

// String returns s with every secret of dsn masked (see Error).
func String(s, dsn string) string {
	return scrub(s, secrets(dsn))
}

// URLProblem describes why url.Parse refused a connection URL, without
// quoting any part of it, and says how to write one: "is not a valid URL:
// its port is not a number; expected postgres://...".
func URLProblem(err error) string {
	text := err.Error()
	msg := "is not a valid URL"
	switch {
	case strings.Contains(text, "invalid port"):
		msg = "is not a valid URL: its port is not a number"
	case strings.Contains(text, "invalid URL escape"):
		msg = "is not a valid URL: it holds an invalid %-escape"
	case strings.Contains(text, "invalid character") && strings.Contains(text, "host name"):
		msg = "is not a valid URL: its host name holds an invalid character"
	}
	return msg + "; expected postgres://user:password@host:port/database " +
		"(percent-encode a user name or password holding : / ? # @ or %)"
}

// redactedError is an error whose message was scrubbed of secrets.
type redactedError struct{ msg string }

func (e *redactedError) Error() string { return e.msg }

// passwordKV finds the value of password in a libpq key=value string:
// quoted (with \' and \\ escapes) or up to the next space.
var passwordKV = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)

func isURL(dsn string) bool {
	return strings.Contains(dsn, "://")
}

// minFragment is the shortest piece of a password that is masked on its
// own (a parser may quote a password cut at a / ? # @ or :). Shorter pieces
// would mask ordinary letters of the message.
const minFragment = 3

// secrets returns the strings of dsn that must not be shown, longest first.
func secrets(dsn string) []string {
	var out []string
	add := func(s string) {
		if s == "" {
			return
		}
		out = append(out, s)
		if dec, err := url.PathUnescape(s); err == nil && dec != s {
			out = append(out, dec)
		}
		// As %q prints it, for the parsers that quote what they refuse.
		if q := strconv.Quote(s); q[1:len(q)-1] != s {
			out = append(out, q[1:len(q)-1])
		}
	}
	found := false
	if isURL(dsn) {
		rest := dsn[strings.Index(dsn, "://")+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			userinfo := rest[:at]
			add(userinfo)
			if _, pw, ok := strings.Cut(userinfo, ":"); ok {
				found = true
				add(pw)
				for _, f := range strings.FieldsFunc(pw, func(r rune) bool { return strings.ContainsRune("/?#@:", r) }) {
					if len(f) >= minFragment {
						add(f)
					}
				}
			}
		}
	}
	for _, m := range passwordKV.FindAllStringSubmatch(dsn, -1) {
		found = true
		v := m[2]
		add(v)
		if strings.HasPrefix(v, "'") {
			v = strings.TrimSuffix(strings.TrimPrefix(v, "'"), "'")
			add(v)
			add(strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(v))
		}
	}
	if !found && !isURL(dsn) && !strings.Contains(dsn, "=") {
		// Neither a URL nor key=value: the password could be any word.
		for _, w := range strings.Fields(dsn) {
			if len(w) >= minFragment {
				add(w)
			}
		}
	}
	// Longest first, so a secret is masked whole before a piece of it.
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return slices.Compact(out)
}

// scrub replaces every secret in msg with Mask.
func scrub(msg string, secrets []string) string {
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, Mask)
	}
	return msg
}
