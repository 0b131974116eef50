// This file tests Parts: the manifest of an UNLOAD, and the errors of a
// missing or damaged one.

package unload

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/seed2085993a/redshiftsync"
)

// TestPartsReadsVerboseManifest reads a manifest in the documented MANIFEST
// VERBOSE layout, and one with no entries (an UNLOAD that selected no rows).
func TestPartsReadsVerboseManifest(t *testing.T) {
	f := newFakeS3(t, nil)
	loc := "s3://" + testBucket + "/run1/public.orders/"
	want := []redshiftsync.UnloadPart{
		{URL: loc + "0000_part_00.parquet", Bytes: 32295, Rows: 10},
		{URL: loc + "0001_part_00.parquet", Bytes: 32771, Rows: 12},
	}
	f.put("run1/public.orders/manifest", manifestJSON(want))
	got, err := f.r.Parts(context.Background(), loc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parts = %+v, want %+v", got, want)
	}

	f.put("run1/empty/manifest", manifestJSON(nil))
	got, err = f.r.Parts(context.Background(), "s3://"+testBucket+"/run1/empty/")
	if err != nil || len(got) != 0 {
		t.Fatalf("Parts of an empty UNLOAD = %v, %v; want none, nil", got, err)
	}
}

// TestPartsErrors checks that a missing, garbled or non-verbose manifest is
// an error naming the manifest and saying what to do.
func TestPartsErrors(t *testing.T) {
	f := newFakeS3(t, nil)
	loc := "s3://" + testBucket + "/run2/t/"
	cases := []struct {
		name, body string
		wants      []string
	}{
		{"missing", "", []string{"no manifest at " + loc + "manifest", "run the UNLOAD again"}},
		{"garbled", `{"entries": [`, []string{loc + "manifest", "not valid JSON"}},
		{"not json", "0000_part_00\n0001_part_00\n", []string{loc + "manifest", "not valid JSON"}},
		{"no entries", `{"files": []}`, []string{loc + "manifest", `no "entries"`}},
		{"not verbose", `{"entries":[{"url":"s3://b/k","mandatory":true}]}`, []string{loc + "manifest", "MANIFEST VERBOSE", "s3://b/k"}},
		{"bad url", `{"entries":[{"url":"https://b/k","meta":{"content_length":1,"record_count":1}}]}`, []string{loc + "manifest", "not an s3:// URL"}},
		{"totals", `{"entries":[{"url":"s3://b/k","meta":{"content_length":1,"record_count":1}}],"meta":{"content_length":1,"record_count":5}}`, []string{loc + "manifest", "damaged"}},
		{"two documents", `{"entries":[]} {"entries":[]}`, []string{loc + "manifest", "more than one"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.body != "" {
				f.put("run2/t/manifest", []byte(c.body))
			}
			_, err := f.r.Parts(context.Background(), loc)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	for _, bad := range []string{"https://" + testBucket + "/x/", "s3:///x/", testBucket + "/x/"} {
		if _, err := f.r.Parts(context.Background(), bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("Parts(%q) = %v, want an error naming it", bad, err)
		}
	}
}
