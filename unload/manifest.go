// This file holds Parts: reading the MANIFEST VERBOSE manifest of an UNLOAD,
// and the parsing of the s3:// URLs it and the extractor name.

package unload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/seed2085993a/redshiftsync"
)

// maxManifestBytes bounds the manifest read into memory. A verbose
// manifest entry is about 150 bytes, so this allows some 400,000 parts,
// far more than an UNLOAD writes (one or more per slice, up to 6.2 GB each).
const maxManifestBytes = 64 << 20

// s3URL is a parsed "s3://bucket/key".
type s3URL struct{ bucket, key string }

func (u s3URL) String() string { return "s3://" + u.bucket + "/" + u.key }

// parseS3URL parses "s3://bucket/key"; what names the URL in the error.
func parseS3URL(s, what string) (s3URL, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return s3URL{}, fmt.Errorf("unload: %s %q is not an s3:// URL: give s3://bucket/prefix/", what, s)
	}
	bucket, key, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return s3URL{}, fmt.Errorf("unload: %s %q names no bucket: give s3://bucket/prefix/", what, s)
	}
	return s3URL{bucket: bucket, key: key}, nil
}

// manifest is the MANIFEST VERBOSE document UNLOAD writes to
// "<prefix>manifest" (AWS, "UNLOAD", MANIFEST [ VERBOSE ]): the parts in
// "entries", each with its size and row count in "meta"; the column list
// in "schema"; totals in "meta"; and "author". Only the entries are used.
type manifest struct {
	Entries *[]manifestEntry `json:"entries"`
	Meta    *struct {
		ContentLength int64 `json:"content_length"`
		RecordCount   int64 `json:"record_count"`
	} `json:"meta"`
}

type manifestEntry struct {
	URL  string `json:"url"`
	Meta *struct {
		ContentLength *int64 `json:"content_length"`
		RecordCount   *int64 `json:"record_count"`
	} `json:"meta"`
}

// Parts reads "<location>manifest" and returns the parts it lists, in its
// order. An error names the manifest and says what is wrong with it: missing
// (the UNLOAD did not finish, or its files were removed), not JSON, not a
// verbose manifest (an entry without content_length and record_count).
func (r *Reader) Parts(ctx context.Context, location string) ([]redshiftsync.UnloadPart, error) {
	loc, err := parseS3URL(location, "unload location")
	if err != nil {
		return nil, err
	}
	m := s3URL{bucket: loc.bucket, key: loc.key + "manifest"}
	out, err := r.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(m.bucket), Key: aws.String(m.key)})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("unload: no manifest at %s: the UNLOAD to %s did not finish or its files were removed; run the UNLOAD again (%w)", m, location, redshiftsync.ErrUnloadNotFound)
		}
		return nil, r.wrap(err, "unload: read the manifest "+m.String())
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxManifestBytes+1))
	r.stats.request(int64(len(data)))
	if err != nil {
		return nil, r.wrap(err, "unload: read the manifest "+m.String())
	}
	if len(data) > maxManifestBytes {
		return nil, fmt.Errorf("unload: the manifest %s is over %d MiB: not an UNLOAD manifest", m, maxManifestBytes>>20)
	}
	return parseManifest(data, m, location)
}

// parseManifest decodes a verbose manifest read from m (for errors).
func parseManifest(data []byte, m s3URL, location string) ([]redshiftsync.UnloadPart, error) {
	var doc manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("unload: the manifest %s is not valid JSON (%v): it is not what UNLOAD ... MANIFEST VERBOSE writes; run the UNLOAD again", m, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("unload: the manifest %s holds more than one JSON document: it is not what UNLOAD ... MANIFEST VERBOSE writes", m)
	}
	if doc.Entries == nil {
		return nil, fmt.Errorf("unload: the manifest %s has no \"entries\" list: it is not what UNLOAD ... MANIFEST writes", m)
	}
	parts := make([]redshiftsync.UnloadPart, 0, len(*doc.Entries))
	var rows int64
	for i, e := range *doc.Entries {
		if _, err := parseS3URL(e.URL, fmt.Sprintf("entry %d of the manifest %s: url", i, m)); err != nil {
			return nil, err
		}
		if e.Meta == nil || e.Meta.ContentLength == nil || e.Meta.RecordCount == nil {
			return nil, fmt.Errorf("unload: entry %d (%s) of the manifest %s has no meta.content_length and meta.record_count: the UNLOAD must be run with MANIFEST VERBOSE", i, e.URL, m)
		}
		if *e.Meta.ContentLength < 0 || *e.Meta.RecordCount < 0 {
			return nil, fmt.Errorf("unload: entry %d (%s) of the manifest %s has a negative content_length or record_count", i, e.URL, m)
		}
		parts = append(parts, redshiftsync.UnloadPart{URL: e.URL, Bytes: *e.Meta.ContentLength, Rows: *e.Meta.RecordCount})
		rows += *e.Meta.RecordCount
	}
	if doc.Meta != nil && doc.Meta.RecordCount != rows {
		return nil, fmt.Errorf("unload: the manifest %s lists %d rows in its entries but %d in its meta.record_count: it is damaged; run the UNLOAD to %s again", m, rows, doc.Meta.RecordCount, location)
	}
	return parts, nil
}
