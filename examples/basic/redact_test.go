package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets a test run this package's binary: the test binary itself,
// re-executed with BASIC_RUN_MAIN=1, runs main with the given arguments.
func TestMain(m *testing.M) {
	if os.Getenv("BASIC_RUN_MAIN") == "1" {
		os.Args = append([]string{"basic"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runBinary runs the basic command with args and returns its exit code and
// everything it printed, standard output and error together.
func runBinary(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "BASIC_RUN_MAIN=1")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// TestMalformedURLsHidePassword: a mistyped -source or -dest (an unescaped
// / ? # or % in the password, a bad port, an unknown sslmode, garbage) makes
// the command exit 2 (1 for -dest) with a line that holds no piece of the password.
// (It used to print `pgsink: connect to the destination: parse
// "postgres://loader:S3cr3t/pw@…": invalid port`.)
func TestMalformedURLsHidePassword(t *testing.T) {
	forms := []string{
		"postgres://loader:S3cr3t/pw%x@127.0.0.1:1/db",
		"postgres://loader:S3cr3t%zz@127.0.0.1:1/db",
		"postgres://loader:S3cr3t?pw@127.0.0.1:1/db",
		"postgres://loader:S3cr3tpw@127.0.0.1:54x2/db",
		"postgres://loader:S3cr3tpw@127.0.0.1:1/db?sslmode=bogus",
		"host=127.0.0.1 port=zz password=S3cr3tpw",
		"garbage S3cr3t/pw%x",
	}
	const good = "postgres://u@127.0.0.1:1/db"
	for _, bad := range forms {
		for _, c := range []struct {
			args []string
			code int // a -source that is wrong is bad usage: nothing was read
		}{
			{[]string{"-v", "-source", bad, "-schema", "public"}, 2},
			{[]string{"-v", "-source", good, "-schema", "public", "-dest", bad}, 1},
		} {
			args := c.args
			code, out := runBinary(t, args...)
			if code != c.code || !strings.Contains(out, "basic: ") {
				t.Errorf("%q: exit %d, output %q; want exit %d and a basic: line", args, code, out, c.code)
			}
			for _, piece := range []string{"S3cr3t", "cr3tpw", "t/pw", "pw%x"} {
				if strings.Contains(out, piece) {
					t.Errorf("%q: the output holds %q:\n%s", args, piece, out)
				}
			}
		}
	}
}
