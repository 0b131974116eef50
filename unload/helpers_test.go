// This file holds the test helpers of package unload: an in-process
// S3-compatible endpoint (gofakes3, through internal/standin/s3stub) and
// Parquet files written with explicit physical and logical types.

package unload

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/internal/standin/s3stub"
)

// TestMain keeps the AWS SDK off this machine's configuration and off the
// instance-metadata service, which a test must never wait on.
func TestMain(m *testing.M) {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	for _, k := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		os.Unsetenv(k)
	}
	os.Exit(m.Run())
}

const (
	testBucket = "unload-test"
	testKeyID  = "AKIAUNLOADTESTKEYID1"
	testSecret = "unloadTestSecretKey/With+Chars0123456789ab"
	testToken  = "unloadTestSessionToken0123456789"
)

// fakeS3 is an S3-compatible endpoint serving testBucket, and a Reader on
// it with static test keys.
type fakeS3 struct {
	t   testing.TB
	url string
	r   *Reader
}

// newFakeS3 starts gofakes3 (wrapped by wrap, when given) and returns a
// Reader on it.
func newFakeS3(t testing.TB, wrap func(http.Handler) http.Handler, opts ...func(*Options)) *fakeS3 {
	t.Helper()
	srv, err := s3stub.Listen("127.0.0.1:0", []string{testBucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	url := srv.URL()
	if wrap != nil {
		proxy := httptest.NewServer(wrap(reverseProxy(url)))
		t.Cleanup(proxy.Close)
		url = proxy.URL
	}
	o := Options{Region: "us-east-1", Endpoint: url, AccessKeyID: testKeyID, SecretAccessKey: testSecret, SessionToken: testToken}
	for _, f := range opts {
		f(&o)
	}
	r, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeS3{t: t, url: url, r: r}
}

// reverseProxy forwards every request to base unchanged.
func reverseProxy(base string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		out, err := http.NewRequestWithContext(req.Context(), req.Method, base+req.URL.RequestURI(), req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = req.Header.Clone()
		out.ContentLength = req.ContentLength
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			w.Write(buf[:n])
			if err != nil {
				return
			}
		}
	})
}

// put stores data at key in testBucket.
func (f *fakeS3) put(key string, data []byte) {
	f.t.Helper()
	_, err := f.r.s3.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(testBucket), Key: aws.String(key), Body: bytes.NewReader(data),
	})
	if err != nil {
		f.t.Fatalf("put %s: %v", key, err)
	}
}

// keys lists the keys of testBucket under prefix.
func (f *fakeS3) keys(prefix string) []string {
	f.t.Helper()
	var keys []string
	pages := s3.NewListObjectsV2Paginator(f.r.s3, &s3.ListObjectsV2Input{Bucket: aws.String(testBucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		p, err := pages.NextPage(context.Background())
		if err != nil {
			f.t.Fatal(err)
		}
		for _, o := range p.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// pqColumn is one column of a test Parquet file: its name, its Parquet node
// (physical and logical type, written explicitly) and a function giving the
// Parquet value of row i, or nil for NULL.
type pqColumn struct {
	name  string
	node  parquet.Node
	value func(i int) *parquet.Value
}

// v boxes a Parquet value for pqColumn.value.
func v(x parquet.Value) *parquet.Value { return &x }

// writeParquet writes rows rows of cols as a Parquet file (every column
// optional, as UNLOAD writes them), with row groups of groupRows rows
// (0: one) and pages of about pageBytes (0: parquet-go's default).
func writeParquet(t testing.TB, cols []pqColumn, rows, groupRows, pageBytes int) []byte {
	t.Helper()
	group := parquet.Group{}
	for _, c := range cols {
		group[c.name] = parquet.Optional(c.node)
	}
	schema := parquet.NewSchema("redshift", group)
	index := make([]int, len(cols))
	for i, c := range cols {
		leaf, ok := schema.Lookup(c.name)
		if !ok {
			t.Fatalf("no leaf %s", c.name)
		}
		index[i] = leaf.ColumnIndex
	}
	var buf bytes.Buffer
	opts := []parquet.WriterOption{schema}
	if groupRows > 0 {
		opts = append(opts, parquet.MaxRowsPerRowGroup(int64(groupRows)))
	}
	if pageBytes > 0 {
		opts = append(opts, parquet.PageBufferSize(pageBytes))
	}
	w := parquet.NewWriter(&buf, opts...)
	// The writer copies the values: the rows are reused batch to batch.
	batch := make([]parquet.Row, 0, 1024)
	spare := make([]parquet.Row, cap(batch))
	for i := range spare {
		spare[i] = make(parquet.Row, len(cols))
	}
	flush := func() {
		if _, err := w.WriteRows(batch); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range rows {
		row := spare[len(batch)]
		for j, c := range cols {
			if x := c.value(i); x != nil {
				row[index[j]] = x.Level(0, 1, index[j])
			} else {
				row[index[j]] = parquet.NullValue().Level(0, 0, index[j])
			}
		}
		batch = append(batch, row)
		if len(batch) == cap(batch) {
			flush()
		}
	}
	flush()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// manifestJSON returns a MANIFEST VERBOSE document listing parts (url,
// bytes, rows), as the AWS "UNLOAD" page shows one.
func manifestJSON(parts []redshiftsync.UnloadPart) []byte {
	var b bytes.Buffer
	b.WriteString(`{"entries":[`)
	var total, rows int64
	for i, p := range parts {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"url":%q,"meta":{"content_length":%d,"record_count":%d}}`, p.URL, p.Bytes, p.Rows)
		total += p.Bytes
		rows += p.Rows
	}
	fmt.Fprintf(&b, `],"schema":{"elements":[{"name":"id","type":{"base":"integer"}}]},"meta":{"content_length":%d,"record_count":%d},"author":{"name":"Amazon Redshift","version":"1.0.0"}}`, total, rows)
	return b.Bytes()
}

// readAll reads part with ReadPart and returns its rows and batch sizes.
func readAll(t testing.TB, r *Reader, table *redshiftsync.Table, part redshiftsync.UnloadPart, maxRows int, maxBytes int64) (rows [][]any, batches []int) {
	t.Helper()
	err := r.ReadPart(context.Background(), table, part, maxRows, maxBytes, func(b [][]any) error {
		batches = append(batches, len(b))
		rows = append(rows, b...) // the row slices are ours to keep
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows, batches
}
