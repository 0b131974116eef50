// This file tests Remove: every file under the location goes, paginated,
// nothing else does, and DeleteObjects carries Content-MD5.

package unload

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// requireContentMD5 answers a DeleteObjects request without a correct
// Content-MD5 header the way S3-compatible stores that require it do
// (400 InvalidRequest), and counts the requests it let through.
func requireContentMD5(deletes *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && r.URL.Query().Has("delete") {
				body, _ := io.ReadAll(r.Body)
				sum := md5.Sum(body)
				if r.Header.Get("Content-MD5") != base64.StdEncoding.EncodeToString(sum[:]) {
					w.Header().Set("Content-Type", "application/xml")
					w.WriteHeader(http.StatusBadRequest)
					io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidRequest</Code><Message>Missing required header for this request: Content-MD5.</Message></Error>`)
					return
				}
				deletes.Add(1)
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TestRemoveDeletesEveryFileUnderLocation puts more files than one
// ListObjectsV2 page and one DeleteObjects request take under the location,
// and files beside it that share part of its prefix, behind an endpoint that
// rejects DeleteObjects without Content-MD5 (as OCI Object Storage and
// older MinIO do): Remove deletes exactly the location's files.
func TestRemoveDeletesEveryFileUnderLocation(t *testing.T) {
	var deletes atomic.Int64
	f := newFakeS3(t, requireContentMD5(&deletes))
	const n = 2100
	for i := range n {
		f.put(fmt.Sprintf("run/t/%04d_part_00.parquet", i), []byte("x"))
	}
	f.put("run/t/manifest", []byte("{}"))
	keep := []string{"run/t2/0000_part_00.parquet", "run/t_other", "run/manifest"}
	for _, k := range keep {
		f.put(k, []byte("keep"))
	}
	if err := f.r.Remove(context.Background(), "s3://"+testBucket+"/run/t/"); err != nil {
		t.Fatal(err)
	}
	if left := f.keys("run/t/"); len(left) != 0 {
		t.Fatalf("%d files left under run/t/, such as %s", len(left), left[0])
	}
	got := f.keys("run/")
	slices.Sort(got)
	slices.Sort(keep)
	if !slices.Equal(got, keep) {
		t.Fatalf("left %v, want %v", got, keep)
	}
	if d := deletes.Load(); d != 3 { // 2101 keys: 1000 + 1000 + 101
		t.Errorf("%d DeleteObjects requests, want 3", d)
	}
	// Removing again (files already gone) is not an error.
	if err := f.r.Remove(context.Background(), "s3://"+testBucket+"/run/t/"); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
}

// TestRemoveRefusesBroadLocations checks that a location that is not a
// prefix ending in "/" is refused before anything is listed.
func TestRemoveRefusesBroadLocations(t *testing.T) {
	f := newFakeS3(t, nil)
	f.put("a/b/manifest", []byte("{}"))
	f.put("a/bc", []byte("{}"))
	for _, loc := range []string{"s3://" + testBucket, "s3://" + testBucket + "/", "s3://" + testBucket + "/a/b", "https://" + testBucket + "/a/b/"} {
		err := f.r.Remove(context.Background(), loc)
		if err == nil || !strings.Contains(err.Error(), loc) {
			t.Errorf("Remove(%q) = %v, want an error naming it", loc, err)
		}
	}
	if got := f.keys(""); len(got) != 2 {
		t.Fatalf("files left: %v, want both", got)
	}
}
