package main

import (
	"bytes"
	"strings"
	"testing"
)

// A stream of go test -json: a passing package with a subtest and a skip, a
// failing test whose output is shown, and a package that fails with no
// failing test.
const stream = `{"Action":"start","Package":"a"}
{"Action":"run","Package":"a","Test":"TestOK"}
{"Action":"output","Package":"a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"a","Test":"TestOK/sub","Output":"    quiet log\n"}
{"Action":"pass","Package":"a","Test":"TestOK/sub"}
{"Action":"pass","Package":"a","Test":"TestOK"}
{"Action":"skip","Package":"a","Test":"TestSkip"}
{"Action":"output","Package":"a","Test":"TestBad","Output":"    bad_test.go:3: boom\n"}
{"Action":"output","Package":"a","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"a","Test":"TestBad"}
{"Action":"output","Package":"a","Output":"PASS\n"}
{"Action":"output","Package":"a","Output":"FAIL\ta\t0.1s\n"}
{"Action":"fail","Package":"a"}
{"Action":"output","Package":"b","Output":"panic: init\n"}
{"Action":"fail","Package":"b"}
{"Action":"output","Package":"c","Output":"?   \tc\t[no test files]\n"}
{"Action":"skip","Package":"c"}
{"Action":"output","Package":"d","Output":"testing: warning: no tests to run\n"}
{"Action":"output","Package":"d","Output":"ok  \td\t0.1s [no tests to run]\n"}
{"Action":"pass","Package":"d"}
`

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(strings.NewReader(stream), &out, false, "scripts/test"); err != nil {
		t.Fatal(err)
	}
	want := "    bad_test.go:3: boom\n--- FAIL: TestBad (0.00s)\nPASS\nFAIL\ta\t0.1s\npanic: init\n" +
		"?   \tc\t[no test files]\nok  \td\t0.1s [no tests to run]\n" +
		"scripts/test: go test ran 3 packages: 4 tests (subtests included), 1 skipped\n" +
		"scripts/test: 2 passed, 2 failed\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	run(strings.NewReader(stream), &out, true, "x")
	if !strings.Contains(out.String(), "=== RUN   TestOK\n    quiet log\n") || !strings.HasSuffix(out.String(), "\nx: 2 passed, 2 failed\n") {
		t.Errorf("verbose output:\n%s", out.String())
	}
}
