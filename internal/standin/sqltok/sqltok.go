// Package sqltok splits SQL text into tokens the way PostgreSQL's lexer (and
// so Redshift's, a PostgreSQL 8.0.2 descendant) does: identifiers and
// keywords, quoted identifiers, string constants in every quoting form
// ('…' with ” doubled, E'…' with backslash escapes, B'…', X'…', N'…',
// U&'…', and dollar quoting $tag$…$tag$), numbers, positional parameters
// ($1), operators and punctuation. Comments (-- to the end of the line, and
// /* … */, which nest) and white space separate tokens and are dropped.
//
// The stand-in recognises the constructs Redshift rejects on these tokens,
// so that a keyword inside a string, a quoted name or a comment is never
// taken for the construct (a bare substring match would be).
package sqltok

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Kind is a token's kind.
type Kind int

// The kinds of token.
const (
	// Ident is an unquoted identifier or keyword; Token.Value is it in
	// lower case, as PostgreSQL folds it.
	Ident Kind = iota + 1
	// QuotedIdent is a "quoted" (or U&"quoted") identifier; Value is its
	// name, with "" undoubled.
	QuotedIdent
	// String is a string constant of any quoting form; Value is the
	// source text, quotes included.
	String
	// Number is a numeric constant.
	Number
	// Param is a positional parameter such as $1.
	Param
	// Op is an operator (one or more of + - * / < > = ~ ! @ # % ^ & | ` ?),
	// or the cast operator ::.
	Op
	// Punct is one of ( ) [ ] , ; . : and the lone :.
	Punct
)

// Token is one token of a statement.
type Token struct {
	Kind Kind
	// Value: see Kind.
	Value string
	// Start and End are the token's byte offsets in the source: the source
	// text is src[Start:End].
	Start, End int
}

// Is reports whether t is the unquoted keyword or identifier kw (lower case).
func (t Token) Is(kw string) bool { return t.Kind == Ident && t.Value == kw }

// IsPunct reports whether t is the punctuation or operator p.
func (t Token) IsPunct(p string) bool { return (t.Kind == Punct || t.Kind == Op) && t.Value == p }

// Error is a lexical error: an unterminated quote or comment.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("sqltok: %s at offset %d", e.Msg, e.Offset) }

const opChars = "+-*/<>=~!@#%^&|`?"

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// Tokenize returns the tokens of src, read as PostgreSQL 9.1 and later read
// it (standard_conforming_strings on: a backslash in '…' is a plain
// character). On a lexical error it returns the tokens before it and the
// error.
func Tokenize(src string) ([]Token, error) { return tokenize(src, false) }

// TokenizeRedshift is Tokenize as Redshift reads src: a backslash escapes
// the next character in every string constant, '…' included ("Literals"
// in Redshift's developer guide: r_Literals, and its
// standard_conforming_strings, which Redshift does not support).
func TokenizeRedshift(src string) ([]Token, error) { return tokenize(src, true) }

func tokenize(src string, backslashStrings bool) ([]Token, error) {
	var out []Token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case isSpace(c):
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' && src[i] != '\r' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end, err := skipBlockComment(src, i)
			if err != nil {
				return out, err
			}
			i = end
		case c == '\'':
			end, err := quoted(src, i, i+1, '\'', backslashStrings)
			if err != nil {
				return out, err
			}
			out = append(out, Token{Kind: String, Value: src[i:end], Start: i, End: end})
			i = end
		case c == '"':
			end, err := quoted(src, i, i+1, '"', false)
			if err != nil {
				return out, err
			}
			name := strings.ReplaceAll(src[i+1:end-1], `""`, `"`)
			out = append(out, Token{Kind: QuotedIdent, Value: name, Start: i, End: end})
			i = end
		case (c == 'e' || c == 'E') && i+1 < len(src) && src[i+1] == '\'':
			end, err := quoted(src, i, i+2, '\'', true)
			if err != nil {
				return out, err
			}
			out = append(out, Token{Kind: String, Value: src[i:end], Start: i, End: end})
			i = end
		case (c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N') && i+1 < len(src) && src[i+1] == '\'':
			end, err := quoted(src, i, i+2, '\'', false)
			if err != nil {
				return out, err
			}
			out = append(out, Token{Kind: String, Value: src[i:end], Start: i, End: end})
			i = end
		case (c == 'u' || c == 'U') && i+2 < len(src) && src[i+1] == '&' && (src[i+2] == '\'' || src[i+2] == '"'):
			q := src[i+2]
			end, err := quoted(src, i, i+3, q, false)
			if err != nil {
				return out, err
			}
			if q == '"' {
				out = append(out, Token{Kind: QuotedIdent, Value: strings.ReplaceAll(src[i+3:end-1], `""`, `"`), Start: i, End: end})
			} else {
				out = append(out, Token{Kind: String, Value: src[i:end], Start: i, End: end})
			}
			i = end
		case c == '$' && i+1 < len(src) && isDigit(src[i+1]):
			j := i + 1
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			out = append(out, Token{Kind: Param, Value: src[i:j], Start: i, End: j})
			i = j
		case c == '$':
			// A dollar quote: $$ or $tag$, the tag an identifier without $.
			j := i + 1
			for j < len(src) && isIdentChar(src[j]) && src[j] != '$' {
				j++
			}
			if j >= len(src) || src[j] != '$' || (j > i+1 && isDigit(src[i+1])) {
				// Not a dollar quote: a lone $ (an error for PostgreSQL);
				// keep it as punctuation.
				out = append(out, Token{Kind: Punct, Value: "$", Start: i, End: i + 1})
				i++
				continue
			}
			tag := src[i : j+1]
			k := strings.Index(src[j+1:], tag)
			if k < 0 {
				return out, &Error{Offset: i, Msg: "unterminated dollar-quoted string"}
			}
			end := j + 1 + k + len(tag)
			out = append(out, Token{Kind: String, Value: src[i:end], Start: i, End: end})
			i = end
		case isIdentStart(c):
			j := i
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			out = append(out, Token{Kind: Ident, Value: lower(src[i:j]), Start: i, End: j})
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			j := number(src, i)
			out = append(out, Token{Kind: Number, Value: src[i:j], Start: i, End: j})
			i = j
		case c == ':' && i+1 < len(src) && src[i+1] == ':':
			out = append(out, Token{Kind: Op, Value: "::", Start: i, End: i + 2})
			i += 2
		case strings.IndexByte("()[],;.:", c) >= 0:
			out = append(out, Token{Kind: Punct, Value: string(c), Start: i, End: i + 1})
			i++
		case strings.IndexByte(opChars, c) >= 0:
			j := i
			for j < len(src) && strings.IndexByte(opChars, src[j]) >= 0 {
				// A comment starts inside an operator ends it.
				if j+1 < len(src) && ((src[j] == '-' && src[j+1] == '-') || (src[j] == '/' && src[j+1] == '*')) && j > i {
					break
				}
				j++
			}
			out = append(out, Token{Kind: Op, Value: src[i:j], Start: i, End: j})
			i = j
		default:
			// Anything else (a stray byte) is one punctuation token, so
			// that every byte of src is accounted for.
			_, n := utf8.DecodeRuneInString(src[i:])
			out = append(out, Token{Kind: Punct, Value: src[i : i+n], Start: i, End: i + n})
			i += n
		}
	}
	return out, nil
}

// lower folds ASCII letters, as PostgreSQL folds unquoted identifiers.
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// quoted returns the end (past the closing quote) of a quoted token that
// starts at start and whose body starts at body. A doubled quote is the
// quote itself; with backslash, a backslash escapes the next byte.
func quoted(src string, start, body int, q byte, backslash bool) (int, error) {
	for j := body; j < len(src); j++ {
		switch src[j] {
		case '\\':
			if backslash {
				j++
			}
		case q:
			if j+1 < len(src) && src[j+1] == q {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	what := "quoted string"
	if q == '"' {
		what = "quoted identifier"
	}
	return 0, &Error{Offset: start, Msg: "unterminated " + what}
}

// skipBlockComment returns the end of the /* comment */ at i; they nest.
func skipBlockComment(src string, i int) (int, error) {
	depth := 0
	for j := i; j < len(src); {
		switch {
		case strings.HasPrefix(src[j:], "/*"):
			depth++
			j += 2
		case strings.HasPrefix(src[j:], "*/"):
			depth--
			j += 2
			if depth == 0 {
				return j, nil
			}
		default:
			j++
		}
	}
	return 0, &Error{Offset: i, Msg: "unterminated /* comment"}
}

// number returns the end of the numeric constant at i: digits, a fraction,
// an exponent.
func number(src string, i int) int {
	j := i
	for j < len(src) && isDigit(src[j]) {
		j++
	}
	if j < len(src) && src[j] == '.' && !(j+1 < len(src) && src[j+1] == '.') {
		j++
		for j < len(src) && isDigit(src[j]) {
			j++
		}
	}
	if j < len(src) && (src[j] == 'e' || src[j] == 'E') {
		k := j + 1
		if k < len(src) && (src[k] == '+' || src[k] == '-') {
			k++
		}
		if k < len(src) && isDigit(src[k]) {
			for k < len(src) && isDigit(src[k]) {
				k++
			}
			j = k
		}
	}
	return j
}

// Statements splits tokens at top-level semicolons; empty statements are
// dropped.
func Statements(toks []Token) [][]Token {
	var out [][]Token
	start := 0
	for i, t := range toks {
		if t.IsPunct(";") {
			if i > start {
				out = append(out, toks[start:i])
			}
			start = i + 1
		}
	}
	if start < len(toks) {
		out = append(out, toks[start:])
	}
	return out
}

// Match returns the index of the token that closes the bracket at toks[i]
// (a "(" or "["), or -1 when it is not closed.
func Match(toks []Token, i int) int {
	open, close := toks[i].Value, ")"
	if open == "[" {
		close = "]"
	}
	depth := 0
	for j := i; j < len(toks); j++ {
		if toks[j].Kind != Punct {
			continue
		}
		switch toks[j].Value {
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}
