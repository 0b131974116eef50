// This file holds the progress display: live lines redrawn in place on a
// terminal, plain periodic lines elsewhere.

package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/seed2085993a/redshiftsync"
)

// How often the display is refreshed.
const (
	liveEvery  = 500 * time.Millisecond
	plainEvery = 5 * time.Second
)

// displayMode is how progress is shown.
type displayMode int

const (
	displayOff   displayMode = iota
	displayLive              // redrawn in place (ANSI escapes), for a terminal
	displayPlain             // a line per running table, now and then
)

// progressMode resolves -progress: auto is live when w is a terminal and the
// logs (-v) do not go there too, plain otherwise.
func progressMode(f flags, w io.Writer) displayMode {
	switch f.progress {
	case "off":
		return displayOff
	case "live":
		return displayLive
	case "plain":
		return displayPlain
	}
	if isTerminal(w) && !f.verbose {
		return displayLive
	}
	return displayPlain
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// startProgress shows the progress of stats on w until the returned function
// is called; that function clears a live display and returns once the
// display has stopped.
func startProgress(mode displayMode, w io.Writer, stats func() redshiftsync.Stats) (stop func()) {
	if mode == displayOff {
		return func() {}
	}
	every := plainEvery
	if mode == displayLive {
		every = liveEvery
	}
	p := &progress{w: w, live: mode == displayLive}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				p.clear()
				return
			case <-t.C:
				p.draw(stats(), time.Now())
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// progress draws frames. It is used by one goroutine.
type progress struct {
	w     io.Writer
	live  bool
	lines int // lines of the live frame on screen
}

// maxWaitingLines is how many waiting tables a live frame names; the rest
// are counted.
const maxWaitingLines = 5

// draw shows one frame of s: in live mode it replaces the previous frame.
// A live frame has a line per running table, one per waiting table (up to
// maxWaitingLines) and a total; a plain frame a line per running table and
// the total, which counts the waiting ones.
func (p *progress) draw(s redshiftsync.Stats, now time.Time) {
	var running, waiting []redshiftsync.TableStats
	done := 0
	for _, t := range s.Tables {
		switch t.State {
		case "running":
			running = append(running, t)
		case "waiting":
			waiting = append(waiting, t)
		default: // done, failed, canceled or interrupted
			done++
		}
	}
	total := fmt.Sprintf("%d/%d tables done, %d running, %d waiting, %s rows", done, len(s.Tables), len(running), len(waiting), count(s.Rows))
	var b strings.Builder
	if p.live {
		p.erase(&b)
		lines := 0
		for _, t := range running {
			b.WriteString(tableLine(t))
			b.WriteString("\x1b[K\n")
			lines++
		}
		for i, t := range waiting {
			if i == maxWaitingLines {
				fmt.Fprintf(&b, "… %d more waiting\x1b[K\n", len(waiting)-i)
				lines++
				break
			}
			b.WriteString(waitingLine(t))
			b.WriteString("\x1b[K\n")
			lines++
		}
		fmt.Fprintf(&b, "%s\x1b[K\n", total)
		p.lines = lines + 1
	} else {
		stamp := now.Format("15:04:05")
		for _, t := range running {
			fmt.Fprintf(&b, "%s %s\n", stamp, tableLine(t))
		}
		if len(running) > 0 || len(waiting) > 0 {
			fmt.Fprintf(&b, "%s %s\n", stamp, total)
		}
	}
	io.WriteString(p.w, b.String())
}

// clear removes a live frame, so that what is printed next starts where it
// began.
func (p *progress) clear() {
	if !p.live || p.lines == 0 {
		return
	}
	var b strings.Builder
	p.erase(&b)
	p.lines = 0
	io.WriteString(p.w, b.String())
}

// erase moves the cursor to the start of the live frame and clears the
// screen from there.
func (p *progress) erase(b *strings.Builder) {
	if p.lines > 0 {
		fmt.Fprintf(b, "\x1b[%dF\x1b[J", p.lines)
	}
}

// tableLine is one running table's progress: name, rows, percent of the
// estimate, rate and time left. Where the rows to read are not known (no
// catalog estimate, or an incremental sync, which reads only the rows
// changed since the last: see TableStats.EstimatedRows), it shows the rows
// and the rate, and "?" for the rest rather than a percentage of the whole
// table.
func tableLine(t redshiftsync.TableStats) string {
	name := shortName(t.Table)
	pct, eta := "?", "?"
	if t.EstimatedRows > 0 {
		pct = strconv.Itoa(int(min(100, t.Rows*100/t.EstimatedRows))) + "%"
		if t.ETA > 0 {
			eta = t.ETA.Round(time.Second).String()
		} else if t.Rows >= t.EstimatedRows {
			eta = "0s"
		}
	}
	total := "?"
	if t.EstimatedRows >= 0 {
		total = "~" + count(t.EstimatedRows)
	}
	return fmt.Sprintf("%s %11s / %-12s %4s %9s rows/s  ETA %s", name, count(t.Rows), total, pct, count(int64(t.RowsPerSecond)), eta)
}

// waitingLine is a table that no worker reads yet.
func waitingLine(t redshiftsync.TableStats) string {
	total := "?"
	if t.EstimatedRows >= 0 {
		total = "~" + count(t.EstimatedRows)
	}
	return fmt.Sprintf("%s %11s / %-12s waiting for a worker", shortName(t.Table), "", total)
}

// shortName is name cut to 32 characters and padded to them.
func shortName(name string) string {
	if r := []rune(name); len(r) > 32 {
		name = string(r[:31]) + "…"
	}
	return name + strings.Repeat(" ", max(0, 32-len([]rune(name))))
}

// count prints n with thousands separators: 1,234,567.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
