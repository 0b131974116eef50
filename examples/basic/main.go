// Command basic syncs the tables of one schema of a Redshift or PostgreSQL
// database into JSON Lines files, one per table, keeping its progress in a
// state file so that the next run is incremental and a crashed run resumes.
//
//	go run ./examples/basic -source postgres://user@localhost:5432/db -schema public -out ./out
//
// With no -source, the connection comes from -config (default
// ./configuration.json when it exists, the example connector's keys), else
// from the standard PG* environment variables. -describe prints the plan as
// JSON and reads no rows. SIGINT or SIGTERM stop the run after saving the
// last checkpoint; run it again to resume.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "basic:", err)
		os.Exit(1)
	}
}

type flags struct {
	config, source, schema, tables, out, state string
	batchSize, workers, checkpointEvery        int
	describe, verbose                          bool
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("basic", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", "", "configuration file with the example connector's keys (default ./configuration.json when it exists)")
	fs.StringVar(&f.source, "source", "", "postgres:// URL of the source; overrides the connection keys of -config")
	fs.StringVar(&f.schema, "schema", "", "schema to sync (default: the configuration's redshift_schema, else public)")
	fs.StringVar(&f.tables, "tables", "", "comma-separated table names or glob patterns to sync (default: all)")
	fs.StringVar(&f.out, "out", "./out", "directory of the JSONL files")
	fs.StringVar(&f.state, "state", "", "state file (default <out>/state.json)")
	fs.IntVar(&f.batchSize, "batch-size", 0, "rows per page and batch (default: the configuration's, else 10000)")
	fs.IntVar(&f.workers, "workers", 0, "parallel workers (default: the configuration's, else 4)")
	fs.IntVar(&f.checkpointEvery, "checkpoint-every", 0, "rows between checkpoints (default 50000)")
	fs.BoolVar(&f.describe, "describe", false, "print the discovered plan as JSON and exit")
	fs.BoolVar(&f.verbose, "v", false, "log progress to stderr")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q (flags go before arguments; see -h)", fs.Arg(0))
	}
	return f, nil
}

// loadConfig builds the configuration from -source, -config or the PG*
// environment, then applies the flags over it.
func loadConfig(f flags) (redshiftsync.Config, error) {
	var cfg redshiftsync.Config
	var err error
	configPath := f.config
	if configPath == "" && f.source == "" {
		if _, statErr := os.Stat("configuration.json"); statErr == nil {
			configPath = "configuration.json"
		}
	}
	switch {
	case configPath != "":
		cfg, err = redshiftsync.LoadConfig(configPath)
		if err != nil {
			return cfg, err
		}
		if f.source != "" {
			src, err := redshiftsync.ConfigFromURL(f.source)
			if err != nil {
				return cfg, err
			}
			cfg.Host, cfg.Port, cfg.Database, cfg.User, cfg.Password, cfg.SSLMode = src.Host, src.Port, src.Database, src.User, src.Password, src.SSLMode
		}
	case f.source != "":
		if cfg, err = redshiftsync.ConfigFromURL(f.source); err != nil {
			return cfg, err
		}
	default:
		cfg = configFromEnv()
	}
	if f.schema != "" {
		cfg.Schema = f.schema
	}
	if f.tables != "" {
		cfg.IncludeTables = strings.Split(f.tables, ",")
	}
	if f.batchSize != 0 {
		cfg.BatchSize = f.batchSize
	}
	if f.workers != 0 {
		cfg.MaxParallelWorkers = f.workers
	}
	if f.checkpointEvery != 0 {
		cfg.CheckpointEveryRows = f.checkpointEvery
	}
	return cfg, cfg.Validate()
}

// configFromEnv reads the standard libpq environment variables.
func configFromEnv() redshiftsync.Config {
	env := func(k, def string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return def
	}
	name := "postgres"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	port, _ := strconv.Atoi(env("PGPORT", "5432"))
	return redshiftsync.Config{
		Host: env("PGHOST", "localhost"), Port: port, User: env("PGUSER", name),
		Database: env("PGDATABASE", env("PGUSER", name)), Password: redshiftsync.Secret(os.Getenv("PGPASSWORD")),
		SSLMode: os.Getenv("PGSSLMODE"), AutoSchemaDetection: true,
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(f)
	if err != nil {
		return err
	}
	logger := slog.New(slog.DiscardHandler)
	if f.verbose {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	if f.state == "" {
		f.state = filepath.Join(f.out, "state.json")
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	sink, err := jsonlsink.New(f.out)
	if err != nil {
		return err
	}
	defer sink.Close()
	ex, err := redshiftsync.New(cfg, sink, redshiftsync.NewFileStore(f.state), redshiftsync.WithLogger(logger))
	if err != nil {
		return err
	}
	defer ex.Close()

	if f.describe {
		d, err := ex.Discover(ctx)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	rep, err := ex.Run(ctx)
	printReport(stdout, rep)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("stopped; the last checkpoint is saved in %s, run again to resume: %w", f.state, err)
	}
	return err
}

func printReport(w io.Writer, rep *redshiftsync.Report) {
	if rep == nil || len(rep.Tables) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS\tSECONDS\tMODE\tKEY\tRESULT")
	for _, t := range rep.Tables {
		result := "ok"
		if t.Err != nil {
			result = "failed"
		}
		key := t.Key
		if key == "" {
			key = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\n", t.Table, t.Rows, t.Duration.Seconds(), t.Mode, key, result)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d rows in %.1fs\n", rep.Rows, rep.Duration.Seconds())
}
