// This file holds the io.ReaderAt views of an S3 object that the Parquet
// reader reads a part through: ranged GETs for the footer, and one
// sequential stream per column chunk.

package unload

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// object is a part being read: its location and size.
type object struct {
	r    *Reader
	ctx  context.Context
	url  s3URL
	size int64
}

// get opens the object's bytes [off, end) with a ranged GET.
func (o *object) get(off, end int64) (io.ReadCloser, error) {
	if off >= end {
		return io.NopCloser(eofReader{}), nil
	}
	out, err := o.r.s3.GetObject(o.ctx, &s3.GetObjectInput{
		Bucket: aws.String(o.url.bucket),
		Key:    aws.String(o.url.key),
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", off, end-1)),
	})
	if err != nil {
		return nil, o.r.wrap(err, "unload: read "+o.url.String())
	}
	o.r.stats.request(0)
	return out.Body, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// ReadAt reads len(p) bytes at off with one ranged GET (reopened at the
// byte reached when the connection breaks mid-body). The Parquet reader
// uses it only for the footer (one optimistic read of the file's tail) and
// for any read outside a column chunk.
func (o *object) ReadAt(p []byte, off int64) (int, error) {
	if off >= o.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), o.size)
	var n int
	for tries := 0; ; tries++ {
		body, err := o.get(off+int64(n), end)
		if err != nil {
			return n, err
		}
		m, err := io.ReadFull(body, p[n:end-off])
		body.Close()
		n += m
		o.r.stats.bytes.Add(int64(m))
		if err == nil {
			break
		}
		if ctxErr := o.ctx.Err(); ctxErr != nil {
			return n, ctxErr
		}
		if tries >= maxReopens {
			return n, o.r.wrap(err, fmt.Sprintf("unload: read %s at byte %d", o.url, off+int64(n)))
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// stream is an io.ReaderAt over the bytes [start, end) of an object (one
// column chunk) that serves sequential reads from one open GET, reading
// each byte once. A read anywhere else, or after the connection broke,
// reopens the GET at that offset (the Parquet reader reads a chunk front
// to back, so that happens only on a network fault).
type stream struct {
	o          *object
	start, end int64
	mu         sync.Mutex
	body       io.ReadCloser
	pos        int64 // offset of the next byte body gives
}

// maxReopens is how many times a stream reopens its GET after the
// connection broke mid-body before giving up (the SDK retries the request
// itself, but not a body cut off after the response began).
const maxReopens = 3

func (s *stream) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if off < s.start || off >= s.end {
		// Outside the chunk: not expected, but served.
		return s.o.ReadAt(p, off)
	}
	want := min(int64(len(p)), s.end-off)
	var n int
	for tries := 0; ; tries++ {
		if s.body == nil || s.pos != off+int64(n) {
			s.closeBody()
			body, err := s.o.get(off+int64(n), s.end)
			if err != nil {
				return n, err
			}
			s.body, s.pos = body, off+int64(n)
		}
		m, err := io.ReadFull(s.body, p[n:want])
		n += m
		s.pos += int64(m)
		s.o.r.stats.bytes.Add(int64(m))
		if err == nil {
			break
		}
		s.closeBody()
		if ctxErr := s.o.ctx.Err(); ctxErr != nil {
			return n, ctxErr
		}
		if tries >= maxReopens {
			return n, s.o.r.wrap(err, fmt.Sprintf("unload: read %s at byte %d", s.o.url, s.pos))
		}
	}
	if int64(n) < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

func (s *stream) closeBody() {
	if s.body != nil {
		s.body.Close()
		s.body = nil
	}
}

// Close closes the open GET, if any.
func (s *stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeBody()
}
