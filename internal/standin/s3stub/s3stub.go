// Package s3stub is the Redshift stand-in's S3-compatible endpoint: an
// in-memory, path-style S3 server (github.com/johannesboyne/gofakes3 over
// its s3mem backend) that internal/cmd/redshift-standin runs in its own
// process when it is given -s3 ADDR: the stand-in's UNLOAD (issue #16)
// writes its parts and manifest to it in process (ListKeys, PutObject,
// DeleteObject: it is the standin.ObjectStore), and clients read them over
// HTTP. It lives apart from package standin so that
// the proxy, and whatever imports it, does not compile gofakes3 unless the
// S3 side is used.
//
// What it serves is gofakes3's S3, not AWS's: requests are not
// authenticated (any access key and signature are accepted), objects live
// in memory and vanish with the process, and only path-style addressing is
// served (http://ADDR/BUCKET/KEY; a client must be set to path style, as
// aws-sdk-go-v2's UsePathStyle).
//
// Checksums: gofakes3 v1.2.0 checks no digest on DeleteObjects (neither
// Content-MD5 nor the x-amz-checksum-* header), and on PutObject only a
// Content-MD5 that is sent; it ignores x-amz-checksum-* headers. So it
// accepts what aws-sdk-go-v2 sends: service/s3 v1.114.10 sends
// DeleteObjects with x-amz-checksum-crc32 and no Content-MD5 under both
// request-checksum settings ("when supported", the default, and "when
// required"), and over plain HTTP PutObject with x-amz-checksum-crc32 in
// a header (no aws-chunked trailer) under "when supported"; put, get,
// ListObjectsV2 and DeleteObjects all succeeded and an unknown bucket came
// back as the SDK's NoSuchBucket (checked by hand for issue #16). AWS
// itself requires one of the two digests on DeleteObjects; the stub is
// more lenient, so a client that sends neither passes here and fails on
// AWS.
package s3stub

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running S3 endpoint.
type Server struct {
	ln      net.Listener
	http    *http.Server
	done    chan error
	backend gofakes3.Backend
}

// Listen validates every name in buckets (ValidateBucketName; a name given
// twice is an error too), then serves S3 on addr (host:port; port 0 picks
// a free one) with those buckets created and empty. It serves until Close.
func Listen(addr string, buckets []string) (*Server, error) {
	backend := s3mem.New()
	seen := map[string]bool{}
	for _, b := range buckets {
		if err := ValidateBucketName(b); err != nil {
			return nil, err
		}
		if seen[b] {
			return nil, fmt.Errorf("redshift-standin: S3 bucket %q is named twice: name each bucket once", b)
		}
		seen[b] = true
		if err := backend.CreateBucket(b); err != nil {
			return nil, fmt.Errorf("redshift-standin: create S3 bucket %q: %w", b, err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("redshift-standin: S3 endpoint: listen on %s: %w", addr, err)
	}
	// Path-style only (WithHostBucket is off by default): a virtual-host
	// request to 127.0.0.1 would take the address for the bucket name.
	fake := gofakes3.New(backend)
	s := &Server{
		ln:      ln,
		http:    &http.Server{Handler: fake.Server(), ReadHeaderTimeout: time.Minute},
		done:    make(chan error, 1),
		backend: backend,
	}
	go func() { s.done <- s.http.Serve(ln) }()
	return s, nil
}

// URL returns the endpoint's base URL, http://host:port with the address
// actually listened on (the port chosen when addr's was 0), no trailing
// slash: the endpoint to give an S3 client in path style.
func (s *Server) URL() string {
	return "http://" + s.ln.Addr().String()
}

// Close stops the endpoint at once: open requests are cut and every object
// is gone.
func (s *Server) Close() error {
	err := s.http.Close()
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}

// ValidateBucketName checks name against Amazon S3's rules for general
// purpose buckets (Amazon S3 User Guide, "General purpose bucket naming
// rules", https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html):
// 3 to 63 characters; lowercase letters, digits, dots and hyphens only;
// a letter or digit first and last; no two adjacent dots; not an IP
// address; none of the reserved prefixes (xn--, sthree-, amzn-s3-demo-)
// or suffixes (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3). The error
// names the bucket and the rule it breaks.
func ValidateBucketName(name string) error {
	bad := func(rule string) error {
		return fmt.Errorf("redshift-standin: S3 bucket name %q is invalid: %s (Amazon S3's bucket naming rules)", name, rule)
	}
	if len(name) < 3 || len(name) > 63 {
		return bad(fmt.Sprintf("it has %d characters, a bucket name has 3 to 63", len(name)))
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return bad(fmt.Sprintf("%q is not allowed: only lowercase letters, digits, dots and hyphens", r))
		}
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return bad("it must begin and end with a lowercase letter or a digit")
	}
	if strings.Contains(name, "..") {
		return bad("it must not contain two adjacent dots")
	}
	if net.ParseIP(name) != nil {
		return bad("it must not be formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return bad("the prefix " + p + " is reserved")
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, sfx) {
			return bad("the suffix " + sfx + " is reserved")
		}
	}
	return nil
}

// The in-process API: the stand-in's UNLOAD writes through it (it satisfies
// standin.ObjectStore), to the same backend the HTTP endpoint serves, so a
// client reads over HTTP what UNLOAD wrote.

// ListKeys returns the keys in bucket that start with prefix, in
// lexicographic order. An unknown bucket is an error that names it.
func (s *Server) ListKeys(bucket, prefix string) ([]string, error) {
	var keys []string
	page := gofakes3.ListBucketPage{}
	for {
		list, err := s.backend.ListBucket(bucket, &gofakes3.Prefix{HasPrefix: true, Prefix: prefix}, page)
		if err != nil {
			return nil, fmt.Errorf("redshift-standin: list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, c := range list.Contents {
			keys = append(keys, c.Key)
		}
		if !list.IsTruncated || list.NextMarker == "" {
			return keys, nil
		}
		page = gofakes3.ListBucketPage{HasMarker: true, Marker: list.NextMarker}
	}
}

// PutObject stores body at bucket/key, replacing what was there.
func (s *Server) PutObject(bucket, key string, body []byte) error {
	if _, err := s.backend.PutObject(bucket, key, map[string]string{}, bytes.NewReader(body), int64(len(body)), nil); err != nil {
		return fmt.Errorf("redshift-standin: put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

// DeleteObject removes bucket/key; a key that does not exist is no error
// (as S3's DeleteObject).
func (s *Server) DeleteObject(bucket, key string) error {
	if _, err := s.backend.DeleteObject(bucket, key); err != nil {
		return fmt.Errorf("redshift-standin: delete s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}
