// This file holds Secret, the type of the password: a string that fmt, slog,
// encoding/json and text marshalers print as "[redacted]".

package redshiftsync

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Secret is a string that never shows itself: fmt (every verb, including
// %#v), slog, encoding/json and encoding.TextMarshaler users print
// "[redacted]" in its place ("" when the secret is empty). Use string(s)
// where the value is needed.
type Secret string

const redacted = "[redacted]"

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string { return s.shown() }

// GoString returns "[redacted]", or "" for an empty secret.
func (s Secret) GoString() string { return s.shown() }

// Format prints "[redacted]" (or "" for an empty secret) for every verb, so
// that no fmt verb (%s, %v, %x, %d, ...) can reveal the secret.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.shown())
	case 'v':
		if f.Flag('#') {
			fmt.Fprintf(f, "%q", s.shown())
			return
		}
		fmt.Fprint(f, s.shown())
	default:
		fmt.Fprint(f, s.shown())
	}
}

// LogValue makes slog print "[redacted]" (or "" for an empty secret).
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.shown()) }

// MarshalJSON encodes the secret as "[redacted]" (or "" when empty), so that
// a Config dumped as JSON does not leak it.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.shown()) }

// MarshalText returns "[redacted]" (or "" when empty).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }
