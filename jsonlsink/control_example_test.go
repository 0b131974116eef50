package jsonlsink_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/seed2085993a/redshiftsync/jsonlsink"
)

// ExampleIsControl reads the latest complete copy of a table from its file:
// the rows between the last begin line that has an end line after it and
// that end, then the rows appended after it. The file here holds a first
// copy, a resync that started over (a second begin), and an incremental row.
func ExampleIsControl() {
	file := `{"id":1,"v":"first copy"}
{"_redshiftsync_resync":"begin","_redshiftsync_at":"2026-11-30T10:00:00.000000Z"}
{"id":1,"v":"failed attempt"}
{"_redshiftsync_resync":"begin","_redshiftsync_at":"2026-11-30T10:00:05.000000Z"}
{"id":1,"v":"a"}
{"id":2,"v":"b"}
{"_redshiftsync_resync":"end","_redshiftsync_at":"2026-11-30T10:00:09.000000Z"}
{"id":3,"v":"added later"}
`
	var lines []string
	var resync []string // the control value of each line, "" for a row
	sc := bufio.NewScanner(strings.NewReader(file))
	for sc.Scan() {
		var c struct {
			Resync string `json:"_redshiftsync_resync"`
		}
		if jsonlsink.IsControl(sc.Bytes()) {
			json.Unmarshal(sc.Bytes(), &c)
		}
		lines = append(lines, sc.Text())
		resync = append(resync, c.Resync)
	}
	start, ended := 0, false
	for i := len(lines) - 1; i >= 0; i-- {
		switch resync[i] {
		case jsonlsink.ResyncEnd:
			ended = true
		case jsonlsink.ResyncBegin:
			if ended && start == 0 {
				start = i + 1
			}
		}
	}
	for _, l := range lines[start:] {
		if !jsonlsink.IsControl([]byte(l)) {
			fmt.Println(l)
		}
	}
	// Output:
	// {"id":1,"v":"a"}
	// {"id":2,"v":"b"}
	// {"id":3,"v":"added later"}
}
