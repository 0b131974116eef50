// Command basic syncs the tables of one schema of a Redshift or PostgreSQL
// database into JSON Lines files, one per table, keeping its progress in a
// state file so that the next run is incremental and a crashed run resumes.
//
//	go run ./examples/basic -source postgres://user@localhost:5432/db -schema public -out ./out
//
// With -dest, it loads the tables into a PostgreSQL database instead (see
// package pgsink), exactly once: the state is kept in that database, in the
// table public.redshiftsync_state under the name "<source database>/<schema>",
// committed with the rows it covers, unless -state names a state file (then
// the load is at-least-once: a row may be applied twice after a crash).
//
//	go run ./examples/basic -source postgres://user@redshift:5439/db -schema public \
//		-dest postgres://loader@warehouse:5432/analytics
//
// When the configuration sets unload_s3_uri, large Redshift tables are read
// with UNLOAD (see the README's "Large tables: UNLOAD"): the command gives
// the extractor package unload's reader, with the unload_s3_* keys.
//
// With no -source, the connection comes from -config (default
// ./configuration.json when it exists, the example connector's keys), else
// from the standard PG* environment variables. -describe prints the plan as a
// table (-describe=json: the whole plan as JSON) and reads no rows. SIGINT or SIGTERM stop the run after saving the
// last checkpoint; run it again to resume. A run started while another sync
// of the same -out (or the same state) is running exits at once with one
// line naming the other's pid and host; -wait DURATION waits for it instead
// (-v logs the wait for a state lock).
//
// A -dest naming the source database, or a state saved against another
// server (a state file copied between environments), fails the run before
// it changes anything, with one line saying so. -adopt-state takes such a
// state on purpose, for a source that holds the same data (a restore).
//
// -check checks the setup the other flags describe (connection, SELECT
// privileges, the state and its lock, -dest) without reading a row or
// writing anything: one line per check, "ok   <check>" or "FAIL <check>:
// <what> — fix: <fix>", and exit status 0 only when none failed.
//
// While it runs, it shows the progress of each running table (rows, percent
// of the catalog's estimate, rows per second, time left) on standard error:
// redrawn in place twice a second on a terminal, one line per table every 5
// seconds otherwise (-progress changes that); tables not started yet show as
// waiting. At the end it prints a summary table on standard output, and
// where the rows and the state went.
//
// Before it connects it prints where to ("connecting to host:port database
// db as user") and where those settings came from, and a line per retry of
// the first connection; a connection that fails says what to change. When
// tables fail, each is named with its cause (for a privilege the role
// lacks, the GRANT to run); "run again to resume" is said only when a rerun
// gets further: after a signal, or when every failure was transient.
//
// Exit status: 0 when every table was synced, and for -h; 1 when the run
// (or -check) failed; 2 for bad usage, an unknown flag or a flag value, a
// -source or a configuration file that is wrong (nothing was read); 130
// after SIGINT and 143 after SIGTERM (128 + the signal) stopped the run.
package main

import (
	"context"
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
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/jsonlsink"
	"github.com/seed2085993a/redshiftsync/pgsink"
)

func main() {
	// The first SIGINT or SIGTERM cancels the run with the signal as the
	// cause, for the exit code; later ones are caught and ignored while the
	// last checkpoints are saved.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		for sig := range sigs {
			cancel(signalError{sig})
		}
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	signal.Stop(sigs)
	code := exitCode(ctx, err)
	if err != nil && code != 0 {
		fmt.Fprintln(os.Stderr, "basic:", err)
	}
	os.Exit(code)
}

// Exit codes: 0 when every table was synced (and for -h), 1 when the run
// failed, 2 for bad usage (a flag, or the configuration, is wrong: nothing
// was read), 130 after SIGINT and 143 after SIGTERM (128 + the signal's
// number, the shell's convention) when the run was stopped by it.
const (
	exitFailure = 1
	exitUsage   = 2
)

// exitCode returns the process's exit code for the error run returned,
// under ctx, the context main gave it.
func exitCode(ctx context.Context, err error) int {
	var se signalError
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(context.Cause(ctx), &se):
		if s, ok := se.sig.(syscall.Signal); ok {
			return 128 + int(s)
		}
		return 128 + int(syscall.SIGINT)
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitFailure
}

// signalError is the cause of the run's cancel: the signal received.
type signalError struct{ sig os.Signal }

func (e signalError) Error() string { return "stopped by " + e.sig.String() }

// usageError is a mistake in the flags or the configuration: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

type flags struct {
	config, source, schema, tables, out, state string
	dest, progress                             string
	batchSize, workers, checkpointEvery        int
	wait                                       time.Duration
	describe                                   describeMode
	verbose                                    bool
	adoptState                                 bool
	check                                      bool
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
	fs.StringVar(&f.state, "state", "", "state file (default <out>/state.json; with -dest, the destination's state table)")
	fs.StringVar(&f.dest, "dest", "", "postgres:// URL of a destination database: load the tables there instead of into JSONL files")
	fs.StringVar(&f.progress, "progress", "auto", "progress display on stderr: auto (live on a terminal, else a line every 5s), live, plain or off")
	fs.IntVar(&f.batchSize, "batch-size", 0, "rows per page and batch (default: the configuration's, else 5000)")
	fs.IntVar(&f.workers, "workers", 0, "parallel workers (default: the configuration's, else 4)")
	fs.IntVar(&f.checkpointEvery, "checkpoint-every", 0, "rows between checkpoints (default 50000)")
	fs.DurationVar(&f.wait, "wait", 0, "when another sync of the same -out or state is running, wait up to this long for it (default: fail at once)")
	fs.Var(&f.describe, "describe", "print the discovered plan as a table, read no rows and exit; -describe=json prints the whole plan as JSON")
	fs.BoolVar(&f.verbose, "v", false, "log progress to stderr")
	fs.BoolVar(&f.check, "check", false, "check the setup (connection, privileges, state, -dest) without reading rows or writing anything; print one line per check and exit 0 only if all pass")
	fs.BoolVar(&f.adoptState, "adopt-state", false, "use a saved state that belongs to another server, database or schema (a restored or migrated copy of the source) and bind it to this source")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q (flags go before arguments; see -h)", fs.Arg(0))
	}
	switch f.progress {
	case "auto", "live", "plain", "off":
	default:
		return f, fmt.Errorf("-progress %q: want auto, live, plain or off", f.progress)
	}
	return f, nil
}

// defaultBatchSize is the example's batch size when neither -batch-size nor
// the configuration sets one: half the library's BatchSizeDefault. Each of
// the default four workers holds a page of a batch of decoded rows, and
// those pages are most of the program's memory: with 10,000 rows of the
// benchmark's 10-column table it peaked at 67 MiB, with 5,000 under 64 MiB
// (BENCHMARKS.md, issue 15), at the cost of twice the sink calls, which
// cost little next to the rows.
const defaultBatchSize = redshiftsync.BatchSizeDefault / 2

// loadConfig builds the configuration from -source, -config or the PG*
// environment, then applies the flags over it. origin says where the
// connection settings came from, for the error of a connection that fails.
func loadConfig(f flags) (cfg redshiftsync.Config, origin string, err error) {
	configPath := f.config
	if configPath == "" && f.source == "" {
		if _, statErr := os.Stat("configuration.json"); statErr == nil {
			configPath = "configuration.json"
		}
	}
	switch {
	case configPath != "":
		origin = "the configuration file " + configPath
		if f.config == "" {
			origin += " (found in the working directory)"
		}
		cfg, err = redshiftsync.LoadConfig(configPath)
		if err != nil {
			return cfg, origin, err
		}
		if f.source != "" {
			origin = "-source"
			src, err := redshiftsync.ConfigFromURL(f.source)
			if err != nil {
				return cfg, origin, err
			}
			cfg.Host, cfg.Port, cfg.Database, cfg.User, cfg.Password, cfg.SSLMode = src.Host, src.Port, src.Database, src.User, src.Password, src.SSLMode
		}
	case f.source != "":
		origin = "-source"
		if cfg, err = redshiftsync.ConfigFromURL(f.source); err != nil {
			return cfg, origin, err
		}
	default:
		origin = "the PG* environment variables and their defaults, as neither -source, -config nor a configuration.json in the working directory was found"
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
	} else if cfg.BatchSize == 0 {
		cfg.BatchSize = defaultBatchSize
	}
	if f.workers != 0 {
		cfg.MaxParallelWorkers = f.workers
	}
	if f.checkpointEvery != 0 {
		cfg.CheckpointEveryRows = f.checkpointEvery
	}
	return cfg, origin, cfg.Validate()
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
		SSLMode: os.Getenv("PGSSLMODE"),
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return usageError{err}
	}
	cfg, origin, err := loadConfig(f)
	if err != nil {
		return usageError{err}
	}
	var verbose slog.Handler = slog.DiscardHandler
	if f.verbose {
		verbose = slog.NewTextHandler(stderr, nil)
	}
	logger := slog.New(startupRetries{next: verbose, w: stderr, max: cfg.MaxRetries})
	if f.check {
		return runCheck(ctx, f, cfg, stdout) // its first line is the connection's
	}
	// A first connection that hangs (a firewall dropping packets) shows
	// where it is going at once.
	fmt.Fprintf(stderr, "basic: connecting to %s database %s as %s (settings from %s)\n", cfg.Address(), cfg.Database, cfg.User, origin)
	unloadOpts, err := unloadOptions(ctx, cfg)
	if err != nil {
		return usageError{err}
	}
	if f.describe != "" {
		// The plan needs no destination: write nowhere, save nothing.
		nowhere := redshiftsync.SinkFuncs{WriteFunc: func(context.Context, redshiftsync.Batch) error { return nil }}
		ex, err := redshiftsync.New(cfg, nowhere, &redshiftsync.MemoryStore{}, append(unloadOpts, redshiftsync.WithLogger(logger))...)
		if err != nil {
			return err
		}
		defer ex.Close()
		d, err := ex.Discover(ctx)
		if err != nil {
			return connectHint(err, origin)
		}
		return printPlan(stdout, d, f.describe)
	}

	sink, store, where, closeSink, err := openDestination(f, cfg, stderr)
	if err != nil {
		return lockHint(err, f.wait)
	}
	defer closeSink()
	ex, err := newExtractor(f, cfg, sink, store, append(unloadOpts, redshiftsync.WithLogger(logger), redshiftsync.WithLockWait(f.wait))...)
	if err != nil {
		return err
	}
	defer ex.Close()

	stopProgress := startProgress(progressMode(f, stderr), stderr, ex.Stats)
	rep, err := ex.Run(ctx)
	stopProgress()
	printReport(stdout, rep)
	printWhere(stdout, f, cfg, rep, where)
	return runError(ctx, rep, err, where, origin, f.wait)
}

// lockHint adds to the error of a lock held by another sync what to do.
func lockHint(err error, wait time.Duration) error {
	if errors.Is(err, redshiftsync.ErrLocked) && wait == 0 {
		return fmt.Errorf("%w; wait for it to end, or pass -wait DURATION to wait for it", err)
	}
	return err
}

// openDestination returns the sink and state store the flags ask for, a
// description of where the state is kept, and what closes the sink.
func openDestination(f flags, cfg redshiftsync.Config, stderr io.Writer) (redshiftsync.Sink, redshiftsync.StateStore, string, func(), error) {
	if f.dest != "" {
		// The state is named after the source, so that syncs of several
		// sources can share one destination database.
		name := cfg.Database + "/" + cfg.Schema
		ps, err := pgsink.Open(f.dest, pgsink.WithStateName(name))
		if err != nil {
			return nil, nil, "", nil, err
		}
		closeSink := func() { ps.Close() }
		if f.state != "" {
			// The state in a file cannot be committed with the rows: the
			// extractor flushes and saves it separately (at-least-once).
			return ps.WithoutState(), redshiftsync.NewFileStore(f.state), f.state, closeSink, nil
		}
		schema, table := ps.StateStore().Table()
		return ps, ps.StateStore(), fmt.Sprintf("the destination's table %s.%s (name %q)", schema, table, name), closeSink, nil
	}
	if f.state == "" {
		f.state = filepath.Join(f.out, "state.json")
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return nil, nil, "", nil, err
	}
	js, err := jsonlsink.New(f.out)
	if errors.Is(err, redshiftsync.ErrLocked) && f.wait > 0 {
		fmt.Fprintf(stderr, "basic: waiting up to %s: %v\n", f.wait, err)
		js, err = jsonlsink.New(f.out, jsonlsink.WithLockWait(f.wait))
	}
	if err != nil {
		return nil, nil, "", nil, err
	}
	return js, redshiftsync.NewFileStore(f.state), f.state, func() { js.Close() }, nil
}

func printReport(w io.Writer, rep *redshiftsync.Report) {
	if rep == nil || len(rep.Tables) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS\tSECONDS\tMODE\tKEY\tRESULT")
	for _, t := range rep.Tables {
		result := string(t.Status)
		key := t.Key
		if key == "" {
			key = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\n", t.Table, t.Rows, t.Duration.Seconds(), t.Mode, key, result)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d rows in %.1fs\n", rep.Rows, rep.Duration.Seconds())
}

// newExtractor returns the extractor of a run or a check: cfg, sink and
// store, with opts and the options the flags ask for.
func newExtractor(f flags, cfg redshiftsync.Config, sink redshiftsync.Sink, store redshiftsync.StateStore, opts ...redshiftsync.Option) (*redshiftsync.Extractor, error) {
	if f.adoptState {
		opts = append(opts, redshiftsync.WithAdoptState())
	}
	return redshiftsync.New(cfg, sink, store, opts...)
}
