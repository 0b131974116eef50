package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	_ "github.com/lib/pq"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
)

// TestMain runs main when the test binary is started as the command (see
// TestContract).
func TestMain(m *testing.M) {
	if os.Getenv("REDSHIFT_STANDIN_AS_COMMAND") == "1" {
		os.Args = append([]string{"redshift-standin"}, strings.Fields(os.Getenv("REDSHIFT_STANDIN_ARGS"))...)
		main()
		return
	}
	os.Exit(m.Run())
}

// command returns the test binary set up to run as the command with args.
func command(args string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "REDSHIFT_STANDIN_AS_COMMAND=1", "REDSHIFT_STANDIN_ARGS="+args)
	return cmd
}

// contractLine reads the command's next line of output and returns what
// follows prefix on it.
func contractLine(t *testing.T, r *bufio.Reader, prefix string) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the line %q…: %v", prefix, err)
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), prefix)
	if !ok {
		t.Fatalf("line %q, want %q…", line, prefix)
	}
	return rest
}

// TestContract: the command prints one line "redshift-standin: listening on
// postgres://…", serves that URL (version() says Redshift) until it is
// sent SIGTERM, and exits 0 then. With -s3 it prints a second line
// "redshift-standin: s3 on http://…" and serves S3 there, with the
// -s3-bucket buckets created; without -s3 it prints nothing more.
func TestContract(t *testing.T) {
	dsn := pgtest.DSN(t)
	for _, tc := range []struct {
		name string
		args string
		s3   bool
	}{
		{"postgres only", "", false},
		{"with -s3", " -s3 127.0.0.1:0 -s3-bucket redshiftsync-test -s3-bucket second -slices 3 -unload-mb 16", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := command("-upstream " + dsn + " -listen 127.0.0.1:0" + tc.args)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			r := bufio.NewReader(out)
			url := contractLine(t, r, "redshift-standin: listening on ")
			if !strings.HasPrefix(url, "postgres://") || strings.Contains(url, "@127.0.0.1:0/") {
				t.Fatalf("first line gives %q, want a postgres:// URL with the chosen port", url)
			}
			db, err := sql.Open("postgres", url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var v string
			if err := db.QueryRow(`SELECT version()`).Scan(&v); err != nil || !strings.Contains(v, "Redshift") {
				t.Fatalf("version() through %s: %q %v", url, v, err)
			}
			// UNLOAD runs with -s3 only (and writes -slices parts).
			_, unloadErr := db.Exec(`UNLOAD ('SELECT i FROM generate_series(1, 9) i') TO 's3://redshiftsync-test/u/' IAM_ROLE 'arn:aws:iam::0123456789012:role/R' PARQUET MANIFEST VERBOSE`)
			db.Close()
			if (unloadErr == nil) != tc.s3 {
				t.Fatalf("UNLOAD with -s3 %v: %v", tc.s3, unloadErr)
			}
			if tc.s3 {
				endpoint := contractLine(t, r, "redshift-standin: s3 on ")
				if !strings.HasPrefix(endpoint, "http://127.0.0.1:") || strings.HasSuffix(endpoint, ":0") {
					t.Fatalf("second line gives %q, want http://127.0.0.1:PORT with the chosen port", endpoint)
				}
				resp, err := http.Get(endpoint + "/redshiftsync-test/u/manifest")
				if err != nil {
					t.Fatal(err)
				}
				manifest, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || strings.Count(string(manifest), `"url"`) != 3 {
					t.Fatalf("UNLOAD's manifest over HTTP: %d %s (want 3 parts, one per slice)", resp.StatusCode, manifest)
				}
				for _, bucket := range []string{"redshiftsync-test", "second"} {
					req, _ := http.NewRequest("PUT", endpoint+"/"+bucket+"/dir/obj", strings.NewReader("body of "+bucket))
					if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
						t.Fatalf("PUT into %s at %s: %v %v", bucket, endpoint, resp, err)
					} else {
						resp.Body.Close()
					}
					resp, err := http.Get(endpoint + "/" + bucket + "/dir/obj")
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || string(body) != "body of "+bucket {
						t.Fatalf("GET from %s: %d %q", bucket, resp.StatusCode, body)
					}
				}
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			// The rest of stdout, read to the end (the command has exited).
			rest, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if len(rest) > 0 {
				t.Errorf("more output after the contract lines: %q", rest)
			}
			if err := cmd.Wait(); err != nil {
				t.Errorf("after SIGTERM: %v, want exit 0", err)
			}
		})
	}
}

// TestContractS3Errors: a bad -s3-bucket name, or -s3-bucket without -s3,
// ends the command with an error on stderr before it prints anything on
// stdout.
func TestContractS3Errors(t *testing.T) {
	dsn := pgtest.DSN(t)
	for _, tc := range []struct {
		args     string
		exit     int
		inStderr string
	}{
		{"-s3 127.0.0.1:0 -s3-bucket Not_A_Bucket", 1, `S3 bucket name "Not_A_Bucket" is invalid`},
		{"-s3 127.0.0.1:0 -s3-bucket xn--abc", 1, "prefix xn-- is reserved"},
		{"-s3 127.0.0.1:0 -s3-bucket same -s3-bucket same", 1, `"same" is named twice`},
		{"-s3-bucket redshiftsync-test", 2, "usage:"},
	} {
		cmd := command("-upstream " + dsn + " -listen 127.0.0.1:0 " + tc.args)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != tc.exit {
			t.Errorf("%s: %v, want exit status %d", tc.args, err, tc.exit)
		}
		if stdout.Len() > 0 || !strings.Contains(stderr.String(), tc.inStderr) {
			t.Errorf("%s: stdout %q, stderr %q; want no stdout and %q in stderr", tc.args, stdout.String(), stderr.String(), tc.inStderr)
		}
	}
}
