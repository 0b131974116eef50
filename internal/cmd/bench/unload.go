// This file holds the unload group (issue 16): one table read through the
// Redshift stand-in (internal/cmd/redshift-standin, started here as
// scripts/lib/standin.sh starts it, with its in-process S3) by the SQL path
// and by UNLOAD, side by side: the UNLOAD statement's time (the stand-in's,
// run by this process), then the parts streamed by unload.Reader.ReadAll with
// 1, 4 and 8 workers, each in a child process of its own so that its peak
// RSS is its own, with the reader's GET requests and bytes.

package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/unload"
)

// The kinds of the unload group's cases.
const (
	kindStandinExtract = "standin-extract" // child: as kindExtract, through the stand-in
	kindUnloadStmt     = "unload-stmt"     // parent: the UNLOAD statement, through the stand-in
	kindUnloadRead     = "unload-read"     // child: unload.Reader.ReadAll of that UNLOAD's parts
)

const (
	// envStandinDSN and envStandinS3 hold the stand-in's URL (no password:
	// the children give the server's, from PGPASSWORD) and S3 endpoint,
	// for the children, which inherit them.
	envStandinDSN = "REDSHIFTSYNC_BENCH_STANDIN_DSN"
	envStandinS3  = "REDSHIFTSYNC_BENCH_STANDIN_S3"
	// unloadBucket is the bucket the stand-in's S3 creates at its start.
	unloadBucket = "redshiftsync-bench"
	// unloadSlices is the stand-in's -slices: the parts an UNLOAD writes
	// (at least), so that 8 workers have 8 parts to read at once.
	unloadSlices = 8
	// unloadTable is the table the group reads (1,000,000 rows at the
	// default -rows).
	unloadTable = "wide_1m"
)

// unloadResult is what an unload-read child reports besides rows and
// seconds (embedded in result).
type unloadResult struct {
	ReadSecs float64 `json:"read_secs,omitempty"` // in ReadAll: the manifest and the parts, not the catalog read before
	Parts    int     `json:"parts,omitempty"`
	Gets     int64   `json:"gets,omitempty"`      // GET requests of the reader
	GetBytes int64   `json:"get_bytes,omitempty"` // object bytes the reader received
}

// unloadCases are the cases of the group, in the order they alternate: the
// UNLOAD runs once per repetition, before the reads of its parts.
func unloadCases() []*benchCase {
	t := unloadTable
	read := func(workers int) *benchCase {
		return &benchCase{ID: fmt.Sprintf("unload-read-w%d", workers), Group: "unload", Table: t, Kind: kindUnloadRead, Ref: "rs-sql",
			What: fmt.Sprintf("unload.Reader.ReadAll of the UNLOAD's parts, %d worker(s), discarding; with the catalog read before", workers),
			Job:  job{Kind: kindUnloadRead, Table: t, Workers: workers}}
	}
	return []*benchCase{
		{ID: "rs-sql", Group: "unload", What: "stand-in, SQL path: Extractor, discarding sink, checkpoint every 50,000 rows", Table: t,
			Kind: kindStandinExtract, Job: job{Kind: kindStandinExtract, Table: t, CkptRows: 50_000}},
		{ID: "unload-stmt", Group: "unload", What: "stand-in: the UNLOAD statement (PARQUET, MANIFEST VERBOSE, PARALLEL ON) into its S3", Table: t, Kind: kindUnloadStmt},
		read(1), read(4), read(8),
	}
}

// standin is the running stand-in, for the parent's unload-stmt cases.
type standin struct {
	cmd    *exec.Cmd
	db     *sql.DB        // through the stand-in
	reader *unload.Reader // of its S3, to list and remove an UNLOAD's files
}

// theStandin is set while the unload group runs.
var theStandin *standin

// startStandin builds and starts the stand-in in front of dsn, with its S3
// endpoint, as scripts/lib/standin.sh does, waits for its contract lines
// and puts its URL and endpoint in this process's environment for the
// children. stop stops it.
func startStandin(ctx context.Context, dsn, tmp string) (stop func(), err error) {
	logf("building and starting the Redshift stand-in (-s3, -slices %d)...", unloadSlices)
	bin := filepath.Join(tmp, "redshift-standin")
	if out, err := exec.CommandContext(ctx, goBin(), "build", "-o", bin, "github.com/seed2085993a/redshiftsync/internal/cmd/redshift-standin").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build internal/cmd/redshift-standin: %w\n%s", err, out)
	}
	// A password goes in PGPASSWORD (its upstream connections read it), not
	// in argv, where ps would show it.
	upstream, env := dsn, os.Environ()
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			u.User = url.User(u.User.Username())
			upstream, env = u.String(), append(env, "PGPASSWORD="+pw)
		}
	}
	cmd := exec.Command(bin, "-upstream", upstream, "-listen", "127.0.0.1:0", "-s3", "127.0.0.1:0",
		"-s3-bucket", unloadBucket, "-slices", fmt.Sprint(unloadSlices))
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &standin{cmd: cmd}
	stop = func() {
		if s.db != nil {
			s.db.Close()
		}
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		theStandin = nil
	}
	// The two contract lines, "redshift-standin: listening on URL" and
	// "redshift-standin: s3 on ENDPOINT", within 30 s.
	lines := make(chan []string, 1)
	go func() {
		var got []string
		sc := bufio.NewScanner(out)
		for len(got) < 2 && sc.Scan() {
			got = append(got, sc.Text())
		}
		lines <- got
	}()
	var got []string
	select {
	case got = <-lines:
	case <-time.After(30 * time.Second):
	}
	standinURL, okURL := strings.CutPrefix(strings.Join(got[:min(1, len(got))], ""), "redshift-standin: listening on ")
	endpoint, okS3 := "", false
	if len(got) == 2 {
		endpoint, okS3 = strings.CutPrefix(got[1], "redshift-standin: s3 on ")
	}
	if !okURL || !okS3 {
		stop()
		return nil, fmt.Errorf("the stand-in did not print its contract lines (got %q); its stderr:\n%s", got, stderr.String())
	}
	os.Setenv(envStandinDSN, standinURL)
	os.Setenv(envStandinS3, endpoint)
	if s.db, err = sql.Open("postgres", withServerPassword(standinURL, dsn)); err == nil {
		s.reader, err = newBenchReader(ctx, endpoint)
	}
	if err != nil {
		stop()
		return nil, err
	}
	theStandin = s
	return stop, nil
}

// newBenchReader returns an unload.Reader of the stand-in's S3 (which takes
// any credentials).
func newBenchReader(ctx context.Context, endpoint string) (*unload.Reader, error) {
	return unload.New(ctx, unload.Options{Region: "us-east-1", Endpoint: endpoint, AccessKeyID: "bench", SecretAccessKey: "bench"})
}

// unloadLocation is where the group's UNLOAD of table writes.
func unloadLocation(table string) string {
	return "s3://" + unloadBucket + "/unload/" + schema + "." + table + "/"
}

// runUnloadStmt removes the previous repetition's files (untimed) and times
// the UNLOAD of c's table into the stand-in's S3; the rows and bytes are
// those its manifest lists.
func (s *standin) runUnloadStmt(ctx context.Context, c *benchCase) (sample, error) {
	loc := unloadLocation(c.Table)
	if err := s.reader.Remove(ctx, loc); err != nil {
		return sample{}, fmt.Errorf("remove the previous UNLOAD at %s: %w", loc, err)
	}
	// As the library writes it (unloadsql.go), but for the table's columns
	// given by *: bench.wide has no type UNLOAD must cast.
	stmt := `UNLOAD ('SELECT * FROM "` + schema + `"."` + c.Table + `"') TO '` + loc +
		`' IAM_ROLE 'arn:aws:iam::123456789012:role/bench' FORMAT PARQUET MANIFEST VERBOSE PARALLEL ON MAXFILESIZE 128 MB`
	t0 := time.Now()
	_, err := s.db.ExecContext(ctx, stmt)
	smp := sample{result: result{Seconds: time.Since(t0).Seconds()}, RSSMiB: -1, CPU: -1}
	if err != nil {
		return smp, fmt.Errorf("UNLOAD of %s.%s through the stand-in: %w", schema, c.Table, err)
	}
	parts, err := s.reader.Parts(ctx, loc)
	if err != nil {
		return smp, err
	}
	for _, p := range parts {
		smp.Rows, smp.OutBytes = smp.Rows+p.Rows, smp.OutBytes+p.Bytes
	}
	smp.Parts = len(parts)
	return smp, nil
}

// unloadRead is an unload-read child: the table's columns as the library
// discovers them through the stand-in, then every part of the UNLOAD the
// parent ran read with j.Workers workers into a discarding emit, in
// batches of pageRows rows.
func unloadRead(ctx context.Context, j job) (result, error) {
	cfg, err := redshiftsync.ConfigFromURL(os.Getenv(envStandinDSN))
	if err != nil {
		return result{}, err
	}
	cfg.Schema, cfg.IncludeTables = schema, []string{j.Table}
	ex, err := redshiftsync.New(cfg, redshiftsync.SinkFuncs{}, &redshiftsync.MemoryStore{})
	if err != nil {
		return result{}, err
	}
	d, err := ex.Discover(ctx)
	ex.Close()
	if err != nil {
		return result{}, err
	}
	if len(d.Plans) != 1 {
		return result{}, fmt.Errorf("discovered %d tables through the stand-in, want %s.%s", len(d.Plans), schema, j.Table)
	}
	r, err := newBenchReader(ctx, os.Getenv(envStandinS3))
	if err != nil {
		return result{}, err
	}
	loc := unloadLocation(j.Table)
	parts, err := r.Parts(ctx, loc)
	if err != nil {
		return result{}, err
	}
	before := r.Stats() // the GETs of ReadAll's own, not of the Parts above
	t0 := time.Now()
	n, err := r.ReadAll(ctx, d.Plans[0].Table, loc, j.Workers, pageRows, 0, func([][]any) error { return nil })
	res := result{Rows: n}
	res.ReadSecs = time.Since(t0).Seconds()
	st := r.Stats()
	res.Parts, res.Gets, res.GetBytes = len(parts), st.Requests-before.Requests, st.Bytes-before.Bytes
	return res, err
}

// withServerPassword returns the stand-in's URL with the password of the
// server's URL, if it has one (the stand-in's URL never carries one).
func withServerPassword(standinURL, serverURL string) string {
	su, err := url.Parse(serverURL)
	if err != nil {
		return standinURL
	}
	pw, ok := su.User.Password()
	u, err := url.Parse(standinURL)
	if !ok || err != nil || u.User == nil {
		return standinURL
	}
	u.User = url.UserPassword(u.User.Username(), pw)
	return u.String()
}

// unloadMarkdown renders the group's comparison: each path's medians, the
// UNLOAD's time added to each read of its parts.
func (r *report) unloadMarkdown(b *strings.Builder, st map[string]*stats) {
	stmt := st["unload-stmt"]
	if stmt == nil {
		return
	}
	med := func(c *benchCase, f func(sample) float64) float64 {
		var xs []float64
		for _, s := range c.Samples {
			xs = append(xs, f(s))
		}
		return median(xs)
	}
	var sqlSecs float64
	if s := st["rs-sql"]; s != nil {
		sqlSecs = s.Median
	}
	fmt.Fprintf(b, "\n## UNLOAD through the stand-in: bench.%s, %s rows, medians\n\n", unloadTable, thousands(stmt.Rows))
	b.WriteString("| path | UNLOAD s | read s | process s | rows/s of the read | rows/s UNLOAD + process | time ÷ rs-sql | peak RSS MiB | client CPU s | parts | GETs | GET MB |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, c := range r.Cases {
		s := st[c.ID]
		if s == nil || c.Group != "unload" || c.ID == "unload-stmt" {
			continue
		}
		cells := []string{c.ID, "—", "—", fmt.Sprintf("%.2f", s.Median), "—", thousands(int64(s.MedianRowsPS)), "", known(s.RSS, "%.1f"), known(s.CPU, "%.2f"), "—", "—", "—"}
		total := s.Median
		if c.Kind == kindUnloadRead {
			read := med(c, func(x sample) float64 { return x.ReadSecs })
			total += stmt.Median
			cells[1], cells[2] = fmt.Sprintf("%.2f", stmt.Median), fmt.Sprintf("%.2f", read)
			cells[4], cells[5] = thousands(int64(float64(s.Rows)/read)), thousands(int64(float64(s.Rows)/total))
			cells[9] = fmt.Sprint(c.Samples[len(c.Samples)-1].Parts)
			cells[10] = thousands(int64(med(c, func(x sample) float64 { return float64(x.Gets) })))
			cells[11] = fmt.Sprintf("%.1f", med(c, func(x sample) float64 { return float64(x.GetBytes) })/1e6)
		}
		if sqlSecs > 0 {
			cells[6] = fmt.Sprintf("%.2f×", total/sqlSecs)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	fmt.Fprintf(b, "\nUNLOAD: median %.2f s (best %.2f s), %s parts, %.1f MB of Parquet.\n", stmt.Median, stmt.Best,
		fmt.Sprint(r.Cases[slicesIndex(r.Cases, "unload-stmt")].Samples[0].Parts), float64(stmt.Out)/1e6)
}

// slicesIndex returns the index of the case id in cs.
func slicesIndex(cs []*benchCase, id string) int {
	return slices.IndexFunc(cs, func(c *benchCase) bool { return c.ID == id })
}
