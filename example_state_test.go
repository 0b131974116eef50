package redshiftsync_test

import (
	"fmt"
	"log"

	"github.com/seed2085993a/redshiftsync"
)

// Read a saved state without running a sync: which tables it holds, their
// bookmarks, and where an unfinished sync stands. The document's format is
// the library's own; InspectState is the way to read it.
func ExampleInspectState() {
	doc := []byte(`{
  "version": 2,
  "source": "dev/public",
  "tables": {
    "public.orders": {"mode": "incremental", "replication_key": "updated_at", "bookmark": "2024-05-01 12:00:00"},
    "public.events": {"mode": "full", "in_progress": {"phase": "rows", "resync": true, "rows": 5000, "after": ["5000"]}}
  }
}`)
	st, err := redshiftsync.InspectState(doc)
	if err != nil {
		log.Fatal(err) // wraps ErrStateCorrupt or ErrStateVersion
	}
	orders, events := st.Tables["public.orders"], st.Tables["public.events"]
	fmt.Println(st.Source, *orders.Bookmark, orders.InProgress == nil)
	fmt.Println(events.Resyncing(), events.Positioned(), events.InProgress.Rows)
	// Output:
	// dev/public 2024-05-01 12:00:00 true
	// true true 5000
}
