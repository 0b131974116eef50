package main

import (
	"bufio"
	"database/sql"
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

// TestContract: the command prints one line "redshift-standin: listening on
// postgres://…", serves that URL (version() says Redshift) until it is
// sent SIGTERM, and exits 0 then.
func TestContract(t *testing.T) {
	dsn := pgtest.DSN(t)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "REDSHIFT_STANDIN_AS_COMMAND=1", "REDSHIFT_STANDIN_ARGS=-upstream "+dsn+" -listen 127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "redshift-standin: listening on ")
	if !ok || !strings.HasPrefix(url, "postgres://") || strings.Contains(url, "@127.0.0.1:0/") {
		t.Fatalf("first line %q", line)
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
	db.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v, want exit 0", err)
	}
}
