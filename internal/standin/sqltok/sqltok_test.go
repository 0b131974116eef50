package sqltok

import (
	"strings"
	"testing"
)

// kinds renders tokens as kind:value for comparison.
func render(toks []Token) string {
	names := map[Kind]string{Ident: "id", QuotedIdent: "qid", String: "str", Number: "num", Param: "param", Op: "op", Punct: "p"}
	var b []string
	for _, t := range toks {
		b = append(b, names[t.Kind]+":"+t.Value)
	}
	return strings.Join(b, " ")
}

func TestTokenize(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`SELECT a, "B""c" FROM t`, `id:select id:a p:, qid:B"c id:from id:t`},
		{`x::text`, `id:x op::: id:text`},
		{`'on conflict' -- on conflict` + "\n" + `/* lateral /* nested */ filter */ ok`, `str:'on conflict' id:ok`},
		{`$$ row(1,2) $$ $tag$ it's $$ $tag$ $1`, `str:$$ row(1,2) $$ str:$tag$ it's $$ $tag$ param:$1`},
		{`E'a\'b' 'c''d'`, `str:E'a\'b' str:'c''d'`},
		{`U&"x" B'01' X'ff' N'n'`, `qid:x str:B'01' str:X'ff' str:N'n'`},
		{`1.5e10 .5 1..2`, `num:1.5e10 num:.5 num:1 p:. num:.2`}, // as PostgreSQL's lexer: 1, ".", .2
		{`x`, `id:x`},
		{`a<=b||c`, `id:a op:<= id:b op:|| id:c`},
		{`a$b _x Ünï`, `id:a$b id:_x id:Ünï`},
		{`a--b`, `id:a`},
		{`1-/*c*/2`, `num:1 op:- num:2`},
	} {
		got, err := Tokenize(c.src)
		if err != nil {
			t.Errorf("%q: %v", c.src, err)
			continue
		}
		if r := render(got); r != c.want {
			t.Errorf("%q:\n got %s\nwant %s", c.src, r, c.want)
		}
		for _, tk := range got {
			if tk.Start < 0 || tk.End > len(c.src) || tk.Start >= tk.End {
				t.Errorf("%q: token %+v out of the source", c.src, tk)
			}
		}
	}
}

// TestTokenizeRedshiftBackslash: Redshift reads a backslash in '…' as an
// escape, PostgreSQL 9.1+ does not: the same text has other tokens.
func TestTokenizeRedshiftBackslash(t *testing.T) {
	src := `SELECT 'a\' ON CONFLICT '`
	// PostgreSQL: 'a\' is a string, ON CONFLICT keywords, and the last
	// quote unterminated.
	pg, err := Tokenize(src)
	if err == nil {
		t.Error("PostgreSQL reading: the trailing quote is unterminated, no error")
	}
	if r := render(pg); r != `id:select str:'a\' id:on id:conflict` {
		t.Errorf("PostgreSQL reading: %s", r)
	}
	rs, err := TokenizeRedshift(src)
	if err != nil {
		t.Fatal(err)
	}
	if r := render(rs); r != `id:select str:'a\' ON CONFLICT '` {
		t.Errorf("Redshift reading: %s", r)
	}
}

func TestTokenizeErrors(t *testing.T) {
	for _, src := range []string{`'abc`, `"abc`, `/* x`, `$q$ abc`, `E'\'`, `/* /* */`} {
		if _, err := Tokenize(src); err == nil {
			t.Errorf("%q: no error", src)
		}
	}
}

func TestStatementsAndMatch(t *testing.T) {
	toks, err := Tokenize(`SET a TO 1; ; SELECT f((1), ';') ;`)
	if err != nil {
		t.Fatal(err)
	}
	st := Statements(toks)
	if len(st) != 2 || render(st[0]) != "id:set id:a id:to num:1" {
		t.Fatalf("statements: %d %v", len(st), st)
	}
	sel := st[1]
	if m := Match(sel, 2); m != len(sel)-1 {
		t.Errorf("match of f( = %d, want %d", m, len(sel)-1)
	}
	if m := Match(sel[:4], 2); m != -1 {
		t.Errorf("unclosed: %d", m)
	}
}

// FuzzTokenize: on any input, tokens lie inside the source, in order, never
// overlapping, and the bytes between them are white space or comments
// (re-tokenizing the gaps yields nothing).
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{`SELECT (a,b) > (1,2) FROM t WHERE x::text = 'on conflict'`, `$a$ $ $a$`, `E'\\'`, `/* /* */ */`, `U&"a"`, `1e+`, "a\u00ff--\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, tok := range []func(string) ([]Token, error){Tokenize, TokenizeRedshift} {
			toks, err := tok(src)
			last := 0
			for _, tk := range toks {
				if tk.Start < last || tk.End <= tk.Start || tk.End > len(src) {
					t.Fatalf("%q: token %+v after offset %d", src, tk, last)
				}
				gap, gerr := Tokenize(src[last:tk.Start])
				if gerr == nil && len(gap) > 0 {
					t.Fatalf("%q: bytes %d..%d between tokens hold tokens %v", src, last, tk.Start, gap)
				}
				last = tk.End
			}
			if err == nil {
				if gap, gerr := Tokenize(src[last:]); gerr == nil && len(gap) > 0 {
					t.Fatalf("%q: tail holds tokens %v", src, gap)
				}
			}
		}
	})
}
