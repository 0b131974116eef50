// This file holds -check: the pre-flight check of the source, the state and
// the destination the flags name, printed one line per check, reading no
// rows and writing nothing.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/seed2085993a/redshiftsync"
)

// errCheckFailed is the error of a -check with a failed check: the lines
// printed say which and what to do.
var errCheckFailed = errors.New("some checks failed (see the FAIL lines above)")

// runCheck runs Extractor.Check for the source, state and destination that
// f names and prints one line per check on stdout: "ok   <check>" or
// "FAIL <check>: <what> — fix: <fix>". It returns errCheckFailed when a
// check failed. It creates nothing: with no -dest, the JSONL output
// directory is not created (the state file's check says whether it can
// be), and no output file is opened.
func runCheck(ctx context.Context, f flags, cfg redshiftsync.Config, stdout io.Writer) error {
	var sink redshiftsync.Sink = redshiftsync.SinkFuncs{WriteFunc: func(context.Context, redshiftsync.Batch) error {
		return errors.New("-check writes no rows")
	}}
	var store redshiftsync.StateStore
	if f.dest != "" {
		// The destination as a run opens it, which creates nothing there.
		dsink, dstore, _, closeSink, err := openDestination(f, cfg, io.Discard)
		if err != nil {
			fmt.Fprintf(stdout, "%s\n", redshiftsync.CheckResult{Name: "connect to the destination", Status: redshiftsync.CheckFail, Message: err.Error(), Fix: "check -dest"})
			return errCheckFailed
		}
		defer closeSink()
		sink, store = dsink, dstore
	} else {
		if f.state == "" {
			f.state = filepath.Join(f.out, "state.json")
		}
		store = redshiftsync.NewFileStore(f.state)
	}
	ex, err := newExtractor(f, cfg, sink, store)
	if err != nil {
		return err
	}
	defer ex.Close()
	results, err := ex.Check(ctx)
	for _, r := range results {
		fmt.Fprintln(stdout, r)
	}
	if err != nil {
		return err
	}
	if redshiftsync.CheckFailed(results) {
		return errCheckFailed
	}
	return nil
}
