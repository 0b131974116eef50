package s3stub

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"hash/crc32"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// call sends one plain HTTP request (no signature: the endpoint takes any)
// and returns the status and body.
func call(t *testing.T, method, url string, body []byte, header map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// errorCode is the Code of an S3 error document.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct{ Code string }
	if err := xml.Unmarshal(body, &e); err != nil {
		t.Fatalf("not an S3 error document: %v\n%s", err, body)
	}
	return e.Code
}

// listKeys lists bucket with ListObjectsV2 under prefix.
func listKeys(t *testing.T, base, bucket, prefix string) []string {
	t.Helper()
	status, body := call(t, "GET", base+"/"+bucket+"?list-type=2&prefix="+prefix, nil, nil)
	if status != 200 {
		t.Fatalf("ListObjectsV2 %s: %d %s", bucket, status, body)
	}
	var res struct {
		KeyCount int
		Contents []struct{ Key string }
	}
	if err := xml.Unmarshal(body, &res); err != nil {
		t.Fatalf("ListObjectsV2 answer: %v\n%s", err, body)
	}
	var keys []string
	for _, c := range res.Contents {
		keys = append(keys, c.Key)
	}
	if res.KeyCount != len(keys) {
		t.Errorf("ListObjectsV2 KeyCount %d, %d keys listed", res.KeyCount, len(keys))
	}
	return keys
}

// deleteObjects sends DeleteObjects for keys with header (never
// Content-MD5) and returns the keys reported deleted.
func deleteObjects(t *testing.T, base, bucket string, keys []string, header map[string]string) []string {
	t.Helper()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	for _, k := range keys {
		b.WriteString("<Object><Key>")
		_ = xml.EscapeText(&b, []byte(k))
		b.WriteString("</Key></Object>")
	}
	b.WriteString("</Delete>")
	body := []byte(b.String())
	h := map[string]string{"Content-Type": "application/xml"}
	for k, v := range header {
		h[k] = v
	}
	if h["x-amz-checksum-crc32"] == "computed" {
		var sum [4]byte
		binary.BigEndian.PutUint32(sum[:], crc32.ChecksumIEEE(body))
		h["x-amz-checksum-crc32"] = base64.StdEncoding.EncodeToString(sum[:])
	}
	status, out := call(t, "POST", base+"/"+bucket+"?delete", body, h)
	if status != 200 {
		t.Fatalf("DeleteObjects %v: %d %s", keys, status, out)
	}
	var res struct {
		Deleted []struct{ Key string }
		Error   []struct{ Key, Code string }
	}
	if err := xml.Unmarshal(out, &res); err != nil {
		t.Fatalf("DeleteObjects answer: %v\n%s", err, out)
	}
	if len(res.Error) > 0 {
		t.Fatalf("DeleteObjects %v: errors %+v", keys, res.Error)
	}
	var deleted []string
	for _, d := range res.Deleted {
		deleted = append(deleted, d.Key)
	}
	slices.Sort(deleted)
	return deleted
}

// TestS3Endpoint: the buckets named at start exist; objects are put, got,
// listed with ListObjectsV2 and deleted with DeleteObjects sent without
// Content-MD5 (plain, and with the x-amz-checksum-crc32 header that
// aws-sdk-go-v2 sends in its place), which issue #16 depends on; an
// unknown bucket answers NoSuchBucket.
func TestS3Endpoint(t *testing.T) {
	s, err := Listen("127.0.0.1:0", []string{"redshiftsync-test", "second.bucket-2"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := s.URL()
	if !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":0") || strings.HasSuffix(base, "/") {
		t.Fatalf("URL() = %q, want http://127.0.0.1:PORT with the chosen port", base)
	}

	status, body := call(t, "GET", base+"/", nil, nil)
	if status != 200 {
		t.Fatalf("ListBuckets: %d %s", status, body)
	}
	var buckets struct {
		Buckets []struct{ Name string } `xml:"Buckets>Bucket"`
	}
	if err := xml.Unmarshal(body, &buckets); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range buckets.Buckets {
		names = append(names, b.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"redshiftsync-test", "second.bucket-2"}) {
		t.Fatalf("ListBuckets at start: %v, want the two named", names)
	}
	for _, b := range names {
		if status, _ := call(t, "HEAD", base+"/"+b, nil, nil); status != 200 {
			t.Errorf("HeadBucket %s: %d, want 200", b, status)
		}
		if keys := listKeys(t, base, b, ""); len(keys) != 0 {
			t.Errorf("bucket %s at start holds %v, want nothing", b, keys)
		}
	}

	objects := map[string]string{
		"run1/t/0000_part_00.parquet": "part zero",
		"run1/t/0001_part_00.parquet": "part one",
		"run1/t/manifest":             `{"entries":[]}`,
		"other/key with spaces":       "kept",
	}
	for k, v := range objects {
		status, body := call(t, "PUT", base+"/redshiftsync-test/"+strings.ReplaceAll(k, " ", "%20"), []byte(v), nil)
		if status != 200 {
			t.Fatalf("PutObject %s: %d %s", k, status, body)
		}
	}
	status, body = call(t, "GET", base+"/redshiftsync-test/run1/t/0001_part_00.parquet", nil, nil)
	if status != 200 || string(body) != "part one" {
		t.Fatalf("GetObject: %d %q, want 200 %q", status, body, "part one")
	}
	keys := listKeys(t, base, "redshiftsync-test", "run1/t/")
	want := []string{"run1/t/0000_part_00.parquet", "run1/t/0001_part_00.parquet", "run1/t/manifest"}
	if !slices.Equal(keys, want) {
		t.Fatalf("ListObjectsV2 prefix run1/t/: %v, want %v", keys, want)
	}
	if keys := listKeys(t, base, "second.bucket-2", ""); len(keys) != 0 {
		t.Errorf("the other bucket holds %v after puts to redshiftsync-test", keys)
	}

	if got := deleteObjects(t, base, "redshiftsync-test", want[:2], nil); !slices.Equal(got, want[:2]) {
		t.Fatalf("DeleteObjects without Content-MD5 deleted %v, want %v", got, want[:2])
	}
	sdk := map[string]string{"x-amz-checksum-crc32": "computed", "x-amz-sdk-checksum-algorithm": "CRC32"}
	if got := deleteObjects(t, base, "redshiftsync-test", want[2:], sdk); !slices.Equal(got, want[2:]) {
		t.Fatalf("DeleteObjects with x-amz-checksum-crc32 deleted %v, want %v", got, want[2:])
	}
	if keys := listKeys(t, base, "redshiftsync-test", ""); !slices.Equal(keys, []string{"other/key with spaces"}) {
		t.Fatalf("after DeleteObjects the bucket holds %v, want only the other key", keys)
	}
	status, body = call(t, "GET", base+"/redshiftsync-test/run1/t/manifest", nil, nil)
	if status != 404 || errorCode(t, body) != "NoSuchKey" {
		t.Errorf("GetObject of a deleted key: %d %s, want 404 NoSuchKey", status, body)
	}

	for _, req := range []struct{ method, path string }{
		{"GET", "/no-such-bucket?list-type=2"},
		{"PUT", "/no-such-bucket/k"},
		{"GET", "/no-such-bucket/k"},
		{"POST", "/no-such-bucket?delete"},
	} {
		status, body := call(t, req.method, base+req.path, []byte("<Delete/>"), nil)
		if status != 404 || errorCode(t, body) != "NoSuchBucket" {
			t.Errorf("%s %s: %d %s, want 404 NoSuchBucket", req.method, req.path, status, body)
		}
	}
}

// TestS3BucketNames: Listen refuses a bucket name that breaks one of S3's
// naming rules, or is given twice, with an error naming the bucket and the
// rule, and starts no endpoint.
func TestS3BucketNames(t *testing.T) {
	for _, name := range []string{"abc", "redshiftsync-test", "a.b-c.9", strings.Repeat("a", 63), "1.2.3.example"} {
		if err := ValidateBucketName(name); err != nil {
			t.Errorf("ValidateBucketName(%q): %v, want nil", name, err)
		}
	}
	for name, rule := range map[string]string{
		"ab":                        "3 to 63",
		strings.Repeat("a", 64):     "3 to 63",
		"Redshiftsync":              "lowercase",
		"under_score":               "lowercase",
		"-abc":                      "begin and end",
		"abc.":                      "begin and end",
		"a..b":                      "adjacent dots",
		"192.168.5.4":               "IP address",
		"xn--abc":                   "prefix xn--",
		"sthree-abc":                "prefix sthree-",
		"amzn-s3-demo-bucket":       "prefix amzn-s3-demo-",
		"abc-s3alias":               "suffix -s3alias",
		"abc--ol-s3":                "suffix --ol-s3",
		"abc.mrap":                  "suffix .mrap",
		"abc--x-s3":                 "suffix --x-s3",
		"abc--table-s3":             "suffix --table-s3",
		"space in-name":             "lowercase",
		"ünicode":                   "lowercase",
		"redshiftsync-test/prefix/": "lowercase",
	} {
		s, err := Listen("127.0.0.1:0", []string{"fine-bucket", name})
		if err == nil {
			s.Close()
			t.Errorf("Listen with bucket %q: no error, want one naming the rule %q", name, rule)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, `"`+name+`"`) || !strings.Contains(msg, rule) {
			t.Errorf("Listen with bucket %q: %q, want the name quoted and %q", name, msg, rule)
		}
	}
	if s, err := Listen("127.0.0.1:0", []string{"twice", "twice"}); err == nil || !strings.Contains(err.Error(), `"twice" is named twice`) {
		if s != nil {
			s.Close()
		}
		t.Errorf("Listen with a bucket named twice: %v, want an error saying so", err)
	}
}

// TestS3ListenError: an address that cannot be listened on is an error
// naming it.
func TestS3ListenError(t *testing.T) {
	s, err := Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	addr := strings.TrimPrefix(s.URL(), "http://")
	if s2, err := Listen(addr, nil); err == nil || !strings.Contains(err.Error(), addr) {
		if s2 != nil {
			s2.Close()
		}
		t.Errorf("Listen on the address in use %s: %v, want an error naming it", addr, err)
	}
}
