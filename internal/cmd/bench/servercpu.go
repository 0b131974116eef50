// This file holds the server's CPU time: what the local PostgreSQL server's
// processes spent on a case, read from /proc, to tell a client-bound case
// from a server-bound one on a machine whose cores both share.

package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// serverCPU returns a function that reads the CPU seconds (user + system)
// the server's processes have used so far: the postmaster's reaped children
// (backends that ended) and its live ones, and how many live ones there are
// (a backend that ended but is not yet reaped counts in neither: the
// caller waits for the count to fall back). It returns nil when the server's
// files cannot be read (a remote server, no /proc): the cases then show —.
// Background processes (the checkpointer, autovacuum) count too, a small
// noise beside a case's backends.
func serverCPU(ctx context.Context, db *sql.DB) func() (float64, int) {
	var dir string
	if err := db.QueryRowContext(ctx, `SELECT current_setting('data_directory')`).Scan(&dir); err != nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return nil
	}
	pm := strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	if _, ok := procTimes(pm); !ok {
		return nil
	}
	tick := 100.0 // USER_HZ on Linux
	return func() (float64, int) {
		var total float64
		live := 0
		if f, ok := procStat(pm); ok && len(f) > 14 {
			total += parseTicks(f[13]) + parseTicks(f[14]) // cutime, cstime (reaped children)
		}
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			if f, ok := procStat(e.Name()); ok && len(f) > 14 && f[1] == pm {
				total += parseTicks(f[11]) + parseTicks(f[12]) // utime, stime
				live++
			}
		}
		return total / tick, live
	}
}

// procStat returns the fields of /proc/pid/stat after the command's name
// (the state is field 0, the parent's pid field 1).
func procStat(pid string) ([]string, bool) {
	if _, err := strconv.Atoi(pid); err != nil {
		return nil, false
	}
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(s[i+1:]), true
}

// procTimes reports whether pid's stat can be read.
func procTimes(pid string) ([]string, bool) { return procStat(pid) }

func parseTicks(s string) float64 {
	n, _ := strconv.ParseFloat(s, 64)
	return n
}
