// This file tests that credentials never reach an error.

package unload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/seed2085993a/redshiftsync"
)

// echoCredentials answers every request with an S3 error document whose
// message quotes the request's credentials, as a misbehaving proxy or store
// might (S3's own InvalidAccessKeyId and SignatureDoesNotMatch documents
// carry the access key ID in their fields).
func echoCredentials(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>request by %s, token %s, key %s was refused</Message><AWSAccessKeyId>%s</AWSAccessKeyId></Error>`,
			testKeyID, r.Header.Get("X-Amz-Security-Token"), testSecret, testKeyID)
	})
}

// TestCredentialsNeverInErrors runs every method against an endpoint that
// echoes the credentials in its errors: the SDK's own error shows them, the
// Reader's errors do not, and do not unwrap to the SDK's.
func TestCredentialsNeverInErrors(t *testing.T) {
	f := newFakeS3(t, echoCredentials)
	ctx := context.Background()
	loc := "s3://" + testBucket + "/run/t/"

	// The SDK's raw error carries them: without the Reader's masking they
	// would reach the caller.
	_, raw := f.r.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(testBucket), Key: aws.String("run/t/manifest")})
	if raw == nil || !strings.Contains(raw.Error(), testSecret) || !strings.Contains(raw.Error(), testKeyID) || !strings.Contains(raw.Error(), testToken) {
		t.Fatalf("the echoing endpoint's error does not carry the credentials: %v", raw)
	}

	table := &redshiftsync.Table{Schema: "public", Name: "t", Columns: []redshiftsync.Column{{Name: "id", Type: redshiftsync.TypeLong}}}
	errs := map[string]error{}
	_, errs["Parts"] = f.r.Parts(ctx, loc)
	errs["ReadPart"] = f.r.ReadPart(ctx, table, redshiftsync.UnloadPart{URL: loc + "0000_part_00.parquet", Bytes: 1000, Rows: 1}, 10, 0, func([][]any) error { return nil })
	errs["ReadPart (HEAD)"] = f.r.ReadPart(ctx, table, redshiftsync.UnloadPart{URL: loc + "0000_part_00.parquet"}, 10, 0, func([][]any) error { return nil })
	errs["Remove"] = f.r.Remove(ctx, loc)
	for name, err := range errs {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		text := fmt.Sprintf("%v %+v %#v", err, err, err)
		for _, secret := range []string{testKeyID, testSecret, testToken} {
			if strings.Contains(text, secret) {
				t.Errorf("%s: error shows a credential: %s", name, text)
			}
		}
		var api smithy.APIError
		if errors.As(err, &api) {
			t.Errorf("%s: error unwraps to the SDK's %T", name, api)
		}
		if !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "s3://"+testBucket) {
			t.Errorf("%s: error %q does not say what failed where", name, err)
		}
	}
	// Options print no secret either.
	if s := fmt.Sprintf("%v %+v", Options{SecretAccessKey: testSecret, SessionToken: testToken}, Options{SecretAccessKey: testSecret}); strings.Contains(s, testSecret) || strings.Contains(s, testToken) {
		t.Errorf("Options print a secret: %s", s)
	}
}
