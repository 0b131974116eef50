// This file holds the rewrite of an accepted statement for the upstream
// PostgreSQL: Redshift's functions and system views, its backslash escapes,
// its casts (the table in doc.go).

package standin

import (
	"strings"

	"github.com/seed2085993a/redshiftsync/internal/standin/sqltok"
)

// edit is one replacement of src[start:end].
type edit struct {
	start, end int
	text       string
}

// rewrite applies the stand-in's rewrites to an accepted text (see the
// table in doc.go).
func rewrite(sql string, toks []sqltok.Token) string {
	var edits []edit
	at := func(i int) sqltok.Token {
		if i < 0 || i >= len(toks) {
			return sqltok.Token{}
		}
		return toks[i]
	}
	qualified := func(i int) (start int, ok bool) {
		// toks[i] unqualified, or qualified by pg_catalog: returns where
		// the name (with its qualifier) starts.
		if at(i - 1).IsPunct(".") {
			if at(i-2).Is("pg_catalog") && !at(i-3).IsPunct(".") {
				return toks[i-2].Start, true
			}
			return 0, false
		}
		return toks[i].Start, true
	}
	for i, t := range toks {
		switch {
		case t.Kind == sqltok.String && strings.ContainsRune(t.Value, '\\') && t.Value[0] == '\'':
			// Redshift reads a backslash in '…' as an escape; PostgreSQL
			// 9.1+ does so only in E'…'.
			e := "E"
			if t.Start > 0 && isIdentByte(sql[t.Start-1]) {
				e = " E" // A'x' is A then 'x': keep them apart
			}
			edits = append(edits, edit{t.Start, t.Start, e})
		case t.Kind == sqltok.Ident && t.Value == "format_type" && at(i+1).IsPunct("("):
			if s, ok := qualified(i); ok {
				edits = append(edits, edit{s, t.End, Schema + ".format_type"})
			}
		case t.Kind == sqltok.Ident && at(i+1).IsPunct("(") && (t.Value == "version" || t.Value == "getdate") && at(i+2).IsPunct(")"):
			if s, ok := qualified(i); ok {
				edits = append(edits, edit{s, t.End, Schema + "." + t.Value})
			}
		case t.Kind == sqltok.Ident && t.Value == "pg_last_unload_count" && at(i+1).IsPunct("(") && at(i+2).IsPunct(")"):
			// PG_LAST_UNLOAD_COUNT: the relay puts the session's count in
			// place of the NULL (lastUnloadCall).
			if s, ok := qualified(i); ok {
				edits = append(edits, edit{s, toks[i+2].End, lastUnloadCall})
			}
		case t.Kind == sqltok.Ident && (t.Value == "current_namespace" || t.Value == "sysdate") && !at(i+1).IsPunct("(") && !at(i-1).IsPunct("."):
			edits = append(edits, edit{t.Start, t.End, Schema + "." + t.Value + "()"})
		case t.Kind == sqltok.Ident && (t.Value == "svv_table_info" || t.Value == "svv_transactions") && !at(i+1).IsPunct("("):
			if s, ok := qualified(i); ok {
				edits = append(edits, edit{s, t.End, Schema + "." + t.Value})
			}
		case t.Kind == sqltok.Ident && missing[t.Value] && at(i+1).IsPunct("("):
			if s, ok := qualified(i); ok {
				edits = append(edits, edit{s, t.End, missingSchema + "." + t.Value})
			}
		case t.IsPunct("::") && isTextType(toks, i+1):
			if s := operandStart(toks, i); s >= 0 {
				edits = append(edits, edit{toks[s].Start, toks[s].Start, Schema + ".to_varchar("}, edit{t.Start, t.Start, ")"})
			}
		case t.Is("cast") && at(i+1).IsPunct("("):
			end := sqltok.Match(toks, i+1)
			if end < 0 {
				continue
			}
			// CAST(expr AS type): the AS at the list's own level.
			for j := i + 2; j < end; j++ {
				if toks[j].IsPunct("(") || toks[j].IsPunct("[") {
					if k := sqltok.Match(toks, j); k > 0 {
						j = k
						continue
					}
				}
				if toks[j].Is("as") {
					if isTextType(toks, j+1) {
						edits = append(edits, edit{toks[i+2].Start, toks[i+2].Start, Schema + ".to_varchar("}, edit{toks[j-1].End, toks[j-1].End, ")"})
					}
					break
				}
			}
		}
	}
	if len(edits) == 0 {
		return sql
	}
	// Edits are in source order but for the pairs of to_varchar, whose
	// closing ")" comes after other edits: sort stably by offset.
	sortEdits(edits)
	var b strings.Builder
	last := 0
	for _, e := range edits {
		if e.start < last {
			continue // overlapping (cannot happen with the rules above)
		}
		b.WriteString(sql[last:e.start])
		b.WriteString(e.text)
		last = e.end
	}
	b.WriteString(sql[last:])
	return b.String()
}

func sortEdits(e []edit) {
	// Insertion sort: few edits, stable.
	for i := 1; i < len(e); i++ {
		for j := i; j > 0 && e[j].start < e[j-1].start; j-- {
			e[j], e[j-1] = e[j-1], e[j]
		}
	}
}

// isTextType reports whether toks[i:] starts with text, varchar or
// character varying (a cast Redshift performs only from some types).
func isTextType(toks []sqltok.Token, i int) bool {
	if i >= len(toks) || toks[i].Kind != sqltok.Ident {
		return false
	}
	switch toks[i].Value {
	case "text", "varchar":
		return true
	case "character", "char":
		return i+1 < len(toks) && toks[i+1].Is("varying")
	}
	return false
}

// operandStart returns the index of the first token of the operand of the
// :: at toks[i] (a name, a qualified name, a literal, a parameter, a
// parenthesised expression or a function call), or -1 when it is not one
// of these or is itself a cast (x::int::text is left alone).
func operandStart(toks []sqltok.Token, i int) int {
	j := i - 1
	if j < 0 {
		return -1
	}
	var k int
	switch t := toks[j]; {
	case t.IsPunct(")"):
		depth := 0
		k = -1
		for m := j; m >= 0; m-- {
			if toks[m].IsPunct(")") {
				depth++
			} else if toks[m].IsPunct("(") {
				depth--
				if depth == 0 {
					k = m
					break
				}
			}
		}
		if k < 0 {
			return -1
		}
		if k > 0 && isName(toks[k-1]) && !(toks[k-1].Kind == sqltok.Ident && keywords[toks[k-1].Value]) {
			k--
			for k >= 2 && toks[k-1].IsPunct(".") && isName(toks[k-2]) {
				k -= 2
			}
		}
	case isName(t):
		if t.Kind == sqltok.Ident && keywords[t.Value] {
			return -1
		}
		k = j
		for k >= 2 && toks[k-1].IsPunct(".") && isName(toks[k-2]) {
			k -= 2
		}
	case t.Kind == sqltok.String || t.Kind == sqltok.Number || t.Kind == sqltok.Param:
		k = j
	default:
		return -1
	}
	if k > 0 && toks[k-1].IsPunct("::") {
		return -1
	}
	return k
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80
}
