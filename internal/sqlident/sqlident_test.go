package sqlident

import (
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"Mixed Case", `"Mixed Case"`},
		{`a"b`, `"a""b"`},
		{`x"; DROP TABLE t; --`, `"x""; DROP TABLE t; --"`},
		{"", `""`},
		{"ünï", `"ünï"`},
		{"a\x00b", `"ab"`},
	}
	for _, c := range cases {
		if got := Quote(c.in); got != c.want {
			t.Errorf("Quote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	if got := Qualified(`s"`, "t"); got != `"s"""."t"` {
		t.Errorf("Qualified = %s", got)
	}
	if got := List([]string{"a", `b"`}); got != `"a", "b"""` {
		t.Errorf("List = %s", got)
	}
}

// FuzzQuote checks that a quoted name is always exactly one identifier token:
// it starts and ends with a quote and every inner quote is doubled.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", `"`, `""`, `a"; drop table x; --`, "ü", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		q := Quote(name)
		if len(q) < 2 || q[0] != '"' || q[len(q)-1] != '"' {
			t.Fatalf("Quote(%q) = %q: not enclosed in quotes", name, q)
		}
		inner := q[1 : len(q)-1]
		if strings.Contains(strings.ReplaceAll(inner, `""`, ""), `"`) {
			t.Fatalf("Quote(%q) = %q: lone quote inside", name, q)
		}
		if got := strings.ReplaceAll(inner, `""`, `"`); got != strings.ReplaceAll(name, "\x00", "") {
			t.Fatalf("Quote(%q) does not round-trip: %q", name, got)
		}
	})
}
