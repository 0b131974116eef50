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
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/seed2085993a/redshiftsync/internal/standin"
)

func main() {
	upstream := flag.String("upstream", "", "postgres:// URL of the PostgreSQL server to stand in front of (a role that may create schemas and read every table)")
	listen := flag.String("listen", "127.0.0.1:0", "host:port to listen on (port 0 picks a free one)")
	verbose := flag.Bool("v", false, "log every rejected statement and ended connection on stderr")
	flag.Parse()
	if *upstream == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: redshift-standin -upstream postgres://... [-listen 127.0.0.1:PORT] [-v]")
		os.Exit(2)
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	s, err := standin.Listen(*upstream, *listen, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("redshift-standin: listening on " + s.URL())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	_ = s.Close()
}
