// This file holds the unit tests of package pgtest's name and DSN handling;
// they need no server.

package pgtest

import (
	"regexp"
	"strings"
	"testing"
)

func TestSanitize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"TestFoo", "testfoo"},
		{"TestFoo/sub_case#01", "testfoo_sub_case_01"},
		{"TestX/quote\"and'; DROP TABLE t; --", "testx_quote_and_drop_table_t"},
		{"__a__b__", "a_b"},
		{"Ünïcode/日本語/ok", "n_code_ok"},
		{"", ""},
		{"/////", ""},
		{"A1 B2\tC3\n", "a1_b2_c3"},
	}
	for _, c := range cases {
		if got := sanitize(c.in); got != c.want {
			t.Errorf("sanitize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

var plainIdentifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func TestUniqueName(t *testing.T) {
	long := "Test" + strings.Repeat("VeryLongName/", 20)
	for _, name := range []string{"TestFoo", "Test/sub#1", long, "", "ÜÜÜ", strings.Repeat("a_", 40)} {
		got := uniqueName("t_", name)
		if len(got) > maxIdentifier {
			t.Errorf("uniqueName(%q) = %q: %d bytes, more than %d", name, got, len(got), maxIdentifier)
		}
		if !plainIdentifier.MatchString(got) {
			t.Errorf("uniqueName(%q) = %q: not a plain lower-case identifier", name, got)
		}
		if !strings.HasPrefix(got, "t_") {
			t.Errorf("uniqueName(%q) = %q: lacks the prefix", name, got)
		}
		if strings.Contains(got, "__") {
			t.Errorf("uniqueName(%q) = %q: has a doubled underscore", name, got)
		}
	}
	if got := uniqueName("t_", "TestFoo/bar"); !regexp.MustCompile(`^t_testfoo_bar_[0-9a-f]{8}$`).MatchString(got) {
		t.Errorf("uniqueName(TestFoo/bar) = %q, want t_testfoo_bar_<8 hex digits>", got)
	}
	if got := uniqueName("t_", ""); !regexp.MustCompile(`^t_test_[0-9a-f]{8}$`).MatchString(got) {
		t.Errorf("uniqueName(\"\") = %q, want t_test_<8 hex digits>", got)
	}
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		n := uniqueName("t_", "TestSame")
		if seen[n] {
			t.Fatalf("uniqueName repeated %q", n)
		}
		seen[n] = true
	}
}

func TestWithDatabase(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/d_x?sslmode=disable"},
		{"postgresql://u:p%40ss@h:1/", "postgresql://u:p%40ss@h:1/d_x"},
		{"postgres://u@h", "postgres://u@h/d_x"},
		{"host=h port=1 dbname=postgres sslmode=disable", "host=h port=1 dbname=postgres sslmode=disable dbname='d_x'"},
	}
	for _, c := range cases {
		got, err := withDatabase(c.in, "d_x")
		if err != nil || got != c.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
