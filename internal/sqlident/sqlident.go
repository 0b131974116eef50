// Package sqlident quotes SQL identifiers. Every schema, table and column
// name that reaches a query goes through Quote: no name is ever pasted into
// SQL as it is.
package sqlident

import "strings"

// Quote returns name as a double-quoted SQL identifier, with each embedded
// double quote doubled, so that any name (spaces, quotes, semicolons, "--",
// mixed case, reserved words, unicode) stays one identifier. A NUL byte, which
// no PostgreSQL or Redshift identifier can hold, is dropped.
func Quote(name string) string {
	var b strings.Builder
	b.Grow(len(name) + 2)
	b.WriteByte('"')
	for i := 0; i < len(name); i++ {
		switch c := name[i]; c {
		case '"':
			b.WriteString(`""`)
		case 0:
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Qualified returns schema.name with both parts quoted.
func Qualified(schema, name string) string {
	return Quote(schema) + "." + Quote(name)
}

// List returns the quoted names joined by ", ".
func List(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = Quote(n)
	}
	return strings.Join(q, ", ")
}
