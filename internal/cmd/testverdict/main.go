// Command testverdict reads the output of go test -json on standard input,
// prints it as go test prints without -json (with -v: every line), and ends
// with what ran and the verdict:
//
//	scripts/test: go test ran 11 packages: 312 tests (subtests included), 4 skipped
//	scripts/test: 308 passed, 0 failed
//
// scripts/test pipes go test through it; the exit status stays go test's
// (testverdict exits 0 unless its input cannot be read). A package that
// fails with no failing test (a build error, a panic outside a test, a
// timeout) counts as one failure.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// event is one line of go test -json (see go doc test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output, build-fail
}

func main() {
	verbose := flag.Bool("v", false, "print every line of the tests' output, as go test -v does")
	label := flag.String("label", "scripts/test", "the word that begins the verdict lines")
	flag.Parse()
	if err := run(os.Stdin, os.Stdout, *verbose, *label); err != nil {
		fmt.Fprintln(os.Stderr, "testverdict:", err)
		os.Exit(1)
	}
}

// counts are the results read so far.
type counts struct {
	packages, passed, failed, skipped int
	pkgFailed                         int // packages failed outside any test, counted in failed too
}

// printPackage prints the held output of a package that ended: whole when
// it failed, else only its summary lines ("ok  \tpkg\t1.2s", "?   \tpkg\t[no
// test files]").
func printPackage(w io.Writer, out string, failed bool) {
	if failed {
		io.WriteString(w, out)
		return
	}
	for _, l := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(l, "ok  ") || strings.HasPrefix(l, "?   ") {
			io.WriteString(w, l)
		}
	}
}

func run(in io.Reader, out io.Writer, verbose bool, label string) error {
	w := bufio.NewWriter(out)
	var c counts
	// Without -v, as go test prints a list of packages: the output of each
	// running top-level test is held and kept only if the test fails; the
	// output of a package is held until it ends, then printed whole if it
	// failed, else only its "ok" line.
	heldTest := map[string]*strings.Builder{}
	heldPkg := map[string]*strings.Builder{}
	hold := func(m map[string]*strings.Builder, key, s string) {
		b := m[key]
		if b == nil {
			b = &strings.Builder{}
			m[key] = b
		}
		b.WriteString(s)
	}
	failedIn := map[string]int{} // tests failed per package
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not an event (go vet or build text on stdout): as it is.
			w.Write(line)
			w.WriteByte('\n')
			w.Flush()
			continue
		}
		top, _, _ := strings.Cut(e.Test, "/")
		key := e.Package + "\x00" + top
		switch e.Action {
		case "build-output":
			io.WriteString(w, e.Output)
		case "output":
			switch {
			case verbose:
				io.WriteString(w, e.Output)
			case e.Test == "":
				hold(heldPkg, e.Package, e.Output)
			case strings.HasPrefix(e.Output, "=== "):
				// RUN, PAUSE, CONT, NAME: go test shows them only with -v.
			default:
				hold(heldTest, key, e.Output)
			}
		case "pass", "fail", "skip":
			if e.Test == "" {
				if e.Action != "skip" {
					c.packages++
				}
				if e.Action == "fail" && failedIn[e.Package] == 0 {
					c.failed++ // the package failed outside any test
					c.pkgFailed++
				}
				if b := heldPkg[e.Package]; b != nil && !verbose {
					printPackage(w, b.String(), e.Action == "fail")
				}
				delete(heldPkg, e.Package)
				break
			}
			switch e.Action {
			case "pass":
				c.passed++
			case "fail":
				c.failed++
				failedIn[e.Package]++
			case "skip":
				c.skipped++
			}
			if e.Test == top {
				if b := heldTest[key]; b != nil && e.Action == "fail" {
					hold(heldPkg, e.Package, b.String())
				}
				delete(heldTest, key)
			}
		}
		w.Flush()
	}
	if err := sc.Err(); err != nil {
		return err
	}
	// Output of tests and packages that never ended is shown.
	for _, b := range heldTest {
		io.WriteString(w, b.String())
	}
	for _, b := range heldPkg {
		io.WriteString(w, b.String())
	}
	fmt.Fprintf(w, "%s go test ran %d packages: %d tests (subtests included), %d skipped\n",
		label+":", c.packages, c.passed+c.failed-c.pkgFailed+c.skipped, c.skipped)
	fmt.Fprintf(w, "%s: %d passed, %d failed\n", label, c.passed, c.failed)
	return w.Flush()
}
