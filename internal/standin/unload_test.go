// Tests of UNLOAD through the stand-in: parts and manifest in the
// documented layout, the Parquet types of the documented mapping read back
// with parquet-go, the rejections, the destination rules, quoting, and
// credentials kept out of logs.

package standin_test

import (
	"bytes"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
	"github.com/seed2085993a/redshiftsync/internal/pgtest"
	"github.com/seed2085993a/redshiftsync/internal/standin"
	"github.com/seed2085993a/redshiftsync/internal/standin/s3stub"
)

const unloadBucket = "redshiftsync-unload"

// syncBuffer is a log destination tests read while the stand-in writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startUnload runs a stand-in that executes UNLOAD into an in-process S3
// (served over HTTP too), logging at Debug into the returned buffer.
func startUnload(t *testing.T, cfg standin.UnloadConfig) (*sql.DB, *s3stub.Server, *syncBuffer) {
	t.Helper()
	store, err := s3stub.Listen("127.0.0.1:0", []string{unloadBucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	logs := &syncBuffer{}
	s, err := standin.Listen(pgtest.DSN(t), "127.0.0.1:0", slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	cfg.Store = store
	s.EnableUnload(cfg)
	return pgtest.OpenDSN(t, s.URL()), store, logs
}

// unloadManifest is the verbose manifest as AWS documents it.
type unloadManifest struct {
	Entries []struct {
		URL  string `json:"url"`
		Meta struct {
			ContentLength int64 `json:"content_length"`
			RecordCount   int64 `json:"record_count"`
		} `json:"meta"`
	} `json:"entries"`
	Schema struct {
		Elements []struct {
			Name string `json:"name"`
			Type struct {
				Base      string `json:"base"`
				Length    int    `json:"length"`
				Precision int    `json:"precision"`
				Scale     int    `json:"scale"`
			} `json:"type"`
		} `json:"elements"`
	} `json:"schema"`
	Meta struct {
		ContentLength int64 `json:"content_length"`
		RecordCount   int64 `json:"record_count"`
	} `json:"meta"`
	Author struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"author"`
}

// getObject reads an object over the stub's HTTP endpoint, as a client does.
func getObject(t *testing.T, store *s3stub.Server, key string) []byte {
	t.Helper()
	resp, err := http.Get(store.URL() + "/" + unloadBucket + "/" + key)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v %s", key, resp.StatusCode, err, b)
	}
	return b
}

func readManifest(t *testing.T, store *s3stub.Server, prefix string) unloadManifest {
	t.Helper()
	var m unloadManifest
	if err := json.Unmarshal(getObject(t, store, prefix+"manifest"), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// readParts reads every part the manifest lists, checks its entry
// (content_length, record_count), and returns the files' schema and rows.
func readParts(t *testing.T, store *s3stub.Server, m unloadManifest) (*parquet.Schema, []parquet.Row) {
	t.Helper()
	var schema *parquet.Schema
	var rows []parquet.Row
	var size, count int64
	for _, e := range m.Entries {
		key := strings.TrimPrefix(e.URL, "s3://"+unloadBucket+"/")
		body := getObject(t, store, key)
		if int64(len(body)) != e.Meta.ContentLength {
			t.Errorf("%s: content_length %d, file has %d bytes", key, e.Meta.ContentLength, len(body))
		}
		f, err := parquet.OpenFile(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if f.NumRows() != e.Meta.RecordCount {
			t.Errorf("%s: record_count %d, file has %d rows", key, e.Meta.RecordCount, f.NumRows())
		}
		for _, rg := range f.Metadata().RowGroups {
			for _, c := range rg.Columns {
				if c.MetaData.Codec != format.Snappy {
					t.Errorf("%s: column %v compressed with %v, not SNAPPY", key, c.MetaData.PathInSchema, c.MetaData.Codec)
				}
			}
		}
		if schema == nil {
			schema = f.Schema()
		} else if !parquet.EqualNodes(schema, f.Schema()) {
			t.Errorf("%s: schema differs from the first part's", key)
		}
		r := parquet.NewReader(f)
		buf := make([]parquet.Row, 64)
		for {
			n, err := r.ReadRows(buf)
			for _, row := range buf[:n] {
				rows = append(rows, row.Clone())
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
		}
		size += e.Meta.ContentLength
		count += e.Meta.RecordCount
	}
	if m.Meta.ContentLength != size || m.Meta.RecordCount != count {
		t.Errorf("manifest meta %+v, entries add up to %d bytes, %d records", m.Meta, size, count)
	}
	return schema, rows
}

// TestUnloadBasic: the path the library's reader is built on. UNLOAD of
// integer, text, timestamp and decimal columns writes one part per slice,
// <prefix>NNNN_part_00.parquet, and the verbose manifest at
// <prefix>manifest; the client gets Redshift's INFO and the UNLOAD tag.
func TestUnloadBasic(t *testing.T) {
	db, store, _ := startUnload(t, standin.UnloadConfig{Slices: 4})
	s := pgtest.NewSchema(t, pgtest.Open(t))
	pgtest.Exec(t, pgtest.Open(t), fmt.Sprintf(`CREATE TABLE %s.t (id integer, name varchar(20), at timestamp, price numeric(10,2));
		INSERT INTO %[1]s.t SELECT i, 'n' || i, timestamp '2026-01-02 03:04:05.123456' + i * interval '1 day', i * 1.25 FROM generate_series(1, 10) i;
		INSERT INTO %[1]s.t VALUES (11, NULL, NULL, NULL)`, s))

	var notices []string
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Raw(func(dc any) error {
		pq.SetNoticeHandler(dc.(driver.Conn), func(e *pq.Error) { notices = append(notices, string(e.Severity)+": "+e.Message) })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	res, err := conn.ExecContext(t.Context(), fmt.Sprintf(`UNLOAD ('SELECT id, name, at, price FROM %s.t ORDER BY id') TO 's3://%s/basic/t_'
		IAM_ROLE 'arn:aws:iam::0123456789012:role/MyRedshiftRole' FORMAT PARQUET MANIFEST VERBOSE`, s, unloadBucket))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); n != 0 || err != nil {
		t.Errorf("RowsAffected %d %v", n, err)
	}
	if want := []string{"INFO: UNLOAD completed, 11 record(s) unloaded successfully."}; !slices.Equal(notices, want) {
		t.Errorf("notices %q, want %q", notices, want)
	}
	keys, err := store.ListKeys(unloadBucket, "basic/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"basic/t_0000_part_00.parquet", "basic/t_0001_part_00.parquet", "basic/t_0002_part_00.parquet", "basic/t_0003_part_00.parquet", "basic/t_manifest"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	m := readManifest(t, store, "basic/t_")
	if m.Author.Name != "Amazon Redshift" || m.Meta.RecordCount != 11 || len(m.Entries) != 4 {
		t.Errorf("manifest %+v", m)
	}
	schema, rows := readParts(t, store, m)
	if len(rows) != 11 {
		t.Fatalf("%d rows", len(rows))
	}
	if got := schema.Fields()[0].Name(); got != "id" {
		t.Errorf("first column %q", got)
	}
	slices.SortFunc(rows, func(a, b parquet.Row) int { return int(a[0].Int32() - b[0].Int32()) })
	for i, r := range rows {
		id := i + 1
		if r[0].Int32() != int32(id) {
			t.Fatalf("row %d: id %v", i, r[0])
		}
		if id == 11 {
			if !r[1].IsNull() || !r[2].IsNull() || !r[3].IsNull() {
				t.Errorf("row 11 not null: %v", r)
			}
			continue
		}
		if got := string(r[1].ByteArray()); got != fmt.Sprintf("n%d", id) {
			t.Errorf("name %q", got)
		}
		wantAt := time.Date(2026, 1, 2+id, 3, 4, 5, 123456000, time.UTC)
		if got := int96Time(r[2].Int96()); !got.Equal(wantAt) {
			t.Errorf("at %v, want %v", got, wantAt)
		}
		if got, want := r[3].Int64(), int64(id*125); got != want {
			t.Errorf("price unscaled %d, want %d", got, want)
		}
	}
}

// int96Time decodes Parquet's INT96 timestamp (nanoseconds of the day, then
// the Julian day).
func int96Time(v deprecated.Int96) time.Time {
	nanos := int64(v[0]) | int64(v[1])<<32
	return time.Unix((int64(v[2])-2440588)*86400, nanos).UTC()
}

var _ = big.NewInt
