// Command redshift-standin serves the PostgreSQL wire protocol in front of a
// PostgreSQL server and behaves as Amazon Redshift documents: see package
// internal/standin for what it does and which AWS page each behaviour
// follows.
//
// Usage:
//
//	go run ./internal/cmd/redshift-standin -upstream postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable -listen 127.0.0.1:5439
//
// It prints one line, "redshift-standin: listening on postgres://…" (the
// URL to connect to: the upstream's user and database, the stand-in's
// address, no password), and serves until it is killed (SIGINT or SIGTERM
// close it cleanly).
//
// With -s3 ADDR (host:port; port 0 picks a free one) it also serves an
// S3-compatible endpoint in the same process (package
// internal/standin/s3stub: in memory, path-style, unauthenticated), with
// one bucket created at start for each -s3-bucket NAME (the flag may be
// repeated; names are checked against S3's bucket naming rules), and
// prints a second line after the first, "redshift-standin: s3 on
// http://…" (the endpoint's base URL):
//
//	go run ./internal/cmd/redshift-standin -upstream URL -listen 127.0.0.1:5439 -s3 127.0.0.1:0 -s3-bucket redshiftsync-test
//	redshift-standin: listening on postgres://postgres@127.0.0.1:5439/postgres?sslmode=disable
//	redshift-standin: s3 on http://127.0.0.1:41234
//
// With -s3 the stand-in executes UNLOAD … FORMAT PARQUET into that endpoint
// (see package internal/standin): -slices N (4 by default) is the number of
// slices PARALLEL ON spreads rows over, and -unload-mb BYTES the bytes it
// counts as one MB of MAXFILESIZE and row-group size (1 MiB by default).
//
// A bad bucket name or an address that cannot be listened on ends it with
// status 1 before it prints anything.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/seed2085993a/redshiftsync/internal/standin"
	"github.com/seed2085993a/redshiftsync/internal/standin/s3stub"
)

// names is a flag that may be given more than once; each value is kept.
type names []string

func (n *names) String() string     { return strings.Join(*n, ",") }
func (n *names) Set(v string) error { *n = append(*n, v); return nil }

func main() {
	upstream := flag.String("upstream", "", "postgres:// URL of the PostgreSQL server to stand in front of (a role that may create schemas and read every table)")
	listen := flag.String("listen", "127.0.0.1:0", "host:port to listen on (port 0 picks a free one)")
	verbose := flag.Bool("v", false, "log every rejected statement and ended connection on stderr")
	s3addr := flag.String("s3", "", "host:port to also serve an S3-compatible endpoint on (in memory, path-style; port 0 picks a free one); none when empty")
	slices := flag.Int("slices", 4, "with -s3: the slices an UNLOAD … PARALLEL ON spreads its rows over (one part file each, at least)")
	unloadMB := flag.Int64("unload-mb", 1<<20, "with -s3: the bytes UNLOAD counts as one MB in MAXFILESIZE, ROWGROUPSIZE and its 32-MB row groups (small values make small tables fill several row groups and files)")
	var buckets names
	flag.Var(&buckets, "s3-bucket", "a bucket to create at start in the -s3 endpoint (repeat the flag for several)")
	flag.Parse()
	if *upstream == "" || flag.NArg() > 0 || len(buckets) > 0 && *s3addr == "" {
		fmt.Fprintln(os.Stderr, "usage: redshift-standin -upstream postgres://... [-listen 127.0.0.1:PORT] [-s3 127.0.0.1:PORT [-s3-bucket NAME]...] [-v]")
		os.Exit(2)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// The S3 side starts first: a bad bucket name is the likelier mistake,
	// and it must end the command before the contract line is printed.
	var s3 *s3stub.Server
	if *s3addr != "" {
		var err error
		if s3, err = s3stub.Listen(*s3addr, buckets); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	s, err := standin.Listen(*upstream, *listen, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if s3 != nil {
		s.EnableUnload(standin.UnloadConfig{Store: s3, Slices: *slices, MB: *unloadMB})
	}
	fmt.Println("redshift-standin: listening on " + s.URL())
	if s3 != nil {
		fmt.Println("redshift-standin: s3 on " + s3.URL())
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	_ = s.Close()
	if s3 != nil {
		_ = s3.Close()
	}
}
