// This file holds Remove: deleting every object an UNLOAD wrote.

package unload

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// deleteBatch is the most keys one DeleteObjects request takes.
const deleteBatch = 1000

// Remove deletes every object whose key starts with location's prefix (the
// manifest and the parts), listing them page by page and deleting up to
// 1,000 per request. location must end in "/" and name a prefix, so that
// it cannot take other UNLOADs' files (or a whole bucket) with it. Objects
// already gone are not an error; an object the store refuses to delete is,
// naming it and the store's reason.
func (r *Reader) Remove(ctx context.Context, location string) error {
	loc, err := parseS3URL(location, "unload location")
	if err != nil {
		return err
	}
	if loc.key == "" || !strings.HasSuffix(loc.key, "/") {
		return fmt.Errorf("unload: refusing to remove %q: an UNLOAD location to remove must name a prefix ending in \"/\" (s3://bucket/prefix/run/table/)", location)
	}
	pages := s3.NewListObjectsV2Paginator(r.s3, &s3.ListObjectsV2Input{Bucket: aws.String(loc.bucket), Prefix: aws.String(loc.key)})
	var keys []types.ObjectIdentifier
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return r.wrap(err, "unload: list the files of "+location)
		}
		for _, o := range page.Contents {
			keys = append(keys, types.ObjectIdentifier{Key: o.Key})
			if len(keys) == deleteBatch {
				if err := r.deleteObjects(ctx, loc, keys); err != nil {
					return err
				}
				keys = keys[:0]
			}
		}
	}
	if len(keys) > 0 {
		return r.deleteObjects(ctx, loc, keys)
	}
	return nil
}

// deleteObjects deletes keys from loc's bucket with one DeleteObjects.
func (r *Reader) deleteObjects(ctx context.Context, loc s3URL, keys []types.ObjectIdentifier) error {
	out, err := r.s3.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: aws.String(loc.bucket),
		Delete: &types.Delete{Objects: keys, Quiet: aws.Bool(true)},
	}, func(o *s3.Options) { o.APIOptions = append(o.APIOptions, addContentMD5) })
	if err != nil {
		return r.wrap(err, fmt.Sprintf("unload: delete %d files under %s", len(keys), loc))
	}
	for _, e := range out.Errors {
		if aws.ToString(e.Code) == "NoSuchKey" {
			continue // already gone
		}
		return fmt.Errorf("unload: delete s3://%s/%s: %s: %s (and %d more failures): check the credentials' s3:DeleteObject permission on %s",
			loc.bucket, aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message), len(out.Errors)-1, loc)
	}
	return nil
}

// addContentMD5 adds a Content-MD5 header to the request (DeleteObjects'),
// after the SDK's own checksum. Amazon S3 takes either that header or an
// x-amz-checksum-* one; recent aws-sdk-go-v2 versions send only the
// latter (CRC32), which S3-compatible stores that predate it (OCI Object
// Storage, older MinIO and Ceph) reject with "Missing required header for
// this request: Content-MD5" (aws/aws-sdk-go-v2#3258).
func addContentMD5(stack *middleware.Stack) error {
	return stack.Build.Add(middleware.BuildMiddlewareFunc("unloadContentMD5",
		func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
			req, ok := in.Request.(*smithyhttp.Request)
			if ok && req.Header.Get("Content-MD5") == "" {
				if body := req.GetStream(); body != nil {
					b, err := io.ReadAll(body)
					if err != nil {
						return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("unload: read the DeleteObjects request body: %w", err)
					}
					sum := md5.Sum(b)
					req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
					if req, err = req.SetStream(bytes.NewReader(b)); err != nil {
						return middleware.BuildOutput{}, middleware.Metadata{}, err
					}
					in.Request = req
				}
			}
			return next.HandleBuild(ctx, in)
		}), middleware.After)
}
