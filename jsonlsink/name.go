package jsonlsink

import (
	"crypto/sha256"
	"encoding/hex"
	"unicode"
	"unicode/utf8"
)

// fileExt is the extension of every table file.
const fileExt = ".jsonl"

// maxFileName is the longest file name, in bytes, that common file systems
// (ext4, XFS, APFS, NTFS in UTF-8) accept.
const maxFileName = 255

// FileName returns the name of the file, inside the sink's directory, that
// holds the rows of the table schema.table: "<schema>.<table>.jsonl", with
// both names escaped as the package documentation describes ('/', '\', '%',
// control characters and invalid UTF-8 bytes as %XX, and '.' as %2E in the
// schema). Distinct (schema, table) pairs always get distinct names; names
// too long for a file system are shortened with a hash.
func FileName(schema, table string) string {
	b := make([]byte, 0, len(schema)+len(table)+len(fileExt)+1)
	b = appendEscapedName(b, schema, true)
	b = append(b, '.')
	b = appendEscapedName(b, table, false)
	if len(b)+len(fileExt) <= maxFileName {
		return string(append(b, fileExt...))
	}
	// Too long: keep a readable prefix, cut at an escape and rune boundary,
	// then "%-" (never produced by escaping) and a hash of the full names.
	sum := sha256.Sum256([]byte(schema + "\x00" + table))
	const hashLen = 32
	limit := maxFileName - len(fileExt) - 2 - hashLen
	n := 0
	for n < len(b) {
		step := 3
		if b[n] != '%' {
			_, step = utf8.DecodeRune(b[n:])
		}
		if n+step > limit {
			break
		}
		n += step
	}
	out := append(b[:n:n], "%-"...)
	out = append(out, hex.EncodeToString(sum[:])[:hashLen]...)
	return string(append(out, fileExt...))
}

// appendEscapedName appends name to b with the bytes that are unsafe in a
// file name percent-encoded. When escapeDot is set (for the schema), every
// '.' is encoded too.
func appendEscapedName(b []byte, name string, escapeDot bool) []byte {
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			switch {
			case c < 0x20, c == 0x7f, c == '/', c == '\\', c == '%', c == '.' && escapeDot:
				b = appendPercent(b, c)
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		if (r == utf8.RuneError && size == 1) || unicode.IsControl(r) {
			for j := i; j < i+size; j++ {
				b = appendPercent(b, name[j])
			}
		} else {
			b = append(b, name[i:i+size]...)
		}
		i += size
	}
	return b
}

func appendPercent(b []byte, c byte) []byte {
	const hexDigits = "0123456789ABCDEF"
	return append(b, '%', hexDigits[c>>4], hexDigits[c&0xf])
}
