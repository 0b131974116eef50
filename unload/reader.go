// This file holds Options, New and Reader: the S3 client an unload reader
// works through, and how its errors are kept free of credentials.

package unload

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/semaphore"

	"github.com/seed2085993a/redshiftsync"
)

// Options configures New.
type Options struct {
	// Region is the bucket's AWS region, such as "us-east-1". Empty: the
	// region of the SDK's default configuration (AWS_REGION, shared
	// config); New fails when neither names one.
	Region string
	// Endpoint is the base URL of an S3-compatible store, such as
	// "http://127.0.0.1:9000", addressed path-style
	// (http://host/bucket/key). Empty: Amazon S3.
	Endpoint string
	// AccessKeyID, SecretAccessKey and SessionToken are static
	// credentials. When AccessKeyID is empty the SDK's default credential
	// chain is used (environment, shared config and credentials files,
	// web identity, container and instance roles). They never appear in
	// errors.
	AccessKeyID     string
	SecretAccessKey redshiftsync.Secret
	SessionToken    redshiftsync.Secret
	// Concurrency is the most parts this Reader streams at once; a
	// ReadPart past it waits for one to finish. 0: no limit of its own
	// (the extractor bounds how many parts it reads at once).
	Concurrency int
	// HTTPClient sends the requests. nil: the SDK's client (which honours
	// AWS_CA_BUNDLE) with a connection pool that keeps enough idle
	// connections per host for every column of several parts being
	// streamed at once (the SDK's default keeps few, which would open a
	// new connection for most column chunks). A client given here cannot
	// take the SDK's CA bundle setting.
	HTTPClient *http.Client
}

// Reader reads UNLOAD output from S3. It implements redshiftsync.Unloader;
// its methods are safe for concurrent use.
type Reader struct {
	s3      *s3.Client
	secrets []string
	parts   *semaphore.Weighted // nil: no limit
	// readBuffer is the read buffer of each column chunk's stream and the
	// size of the footer's optimistic read.
	readBuffer int
	// stats counts requests, bytes and rows (see Stats).
	stats *counters
}

var _ redshiftsync.Unloader = (*Reader)(nil)

// New returns a Reader for opts. It reads no object and contacts no
// service: with the default credential chain, credentials are resolved at
// the first request (so a missing instance role shows there, in the error
// of Parts, ReadPart or Remove).
func New(ctx context.Context, opts Options) (*Reader, error) {
	if opts.Concurrency < 0 {
		return nil, fmt.Errorf("unload: Concurrency is %d: give 0 (no limit) or the most parts to read at once", opts.Concurrency)
	}
	if opts.AccessKeyID == "" && (opts.SecretAccessKey != "" || opts.SessionToken != "") {
		return nil, errors.New("unload: a secret access key or session token is given without an access key ID: give the key ID too, or neither to use the default credential chain")
	}
	if opts.AccessKeyID != "" && opts.SecretAccessKey == "" {
		return nil, errors.New("unload: an access key ID is given without its secret access key: give both, or neither to use the default credential chain")
	}
	var hc config.HTTPClient = opts.HTTPClient
	if opts.HTTPClient == nil {
		// The SDK's buildable client, so that a CA bundle configured for
		// the SDK (AWS_CA_BUNDLE, ca_bundle) still applies.
		hc = awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = 256
			t.MaxIdleConnsPerHost = 128
			t.IdleConnTimeout = 90 * time.Second
		})
	}
	loads := []func(*config.LoadOptions) error{
		config.WithHTTPClient(hc),
		// DeleteObjects must carry a checksum that S3-compatible stores
		// understand (see contentMD5): compute checksums only where the
		// API requires them, and validate responses likewise.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if opts.Region != "" {
		loads = append(loads, config.WithRegion(opts.Region))
	}
	if opts.AccessKeyID != "" {
		loads = append(loads, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			opts.AccessKeyID, string(opts.SecretAccessKey), string(opts.SessionToken))))
	}
	r := &Reader{readBuffer: 64 << 10, stats: new(counters)}
	for _, s := range []string{opts.AccessKeyID, string(opts.SecretAccessKey), string(opts.SessionToken)} {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, r.wrap(err, "unload: load the AWS configuration")
	}
	if cfg.Region == "" {
		return nil, errors.New("unload: no AWS region: set Options.Region (unload_s3_region) or AWS_REGION to the bucket's region")
	}
	endpoint := strings.TrimRight(opts.Endpoint, "/")
	if endpoint != "" && !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		return nil, fmt.Errorf("unload: endpoint %q is not a URL: give http://host:port or https://host", endpoint)
	}
	r.s3 = s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
	if opts.Concurrency > 0 {
		r.parts = semaphore.NewWeighted(int64(opts.Concurrency))
	}
	return r, nil
}

// wrap returns err as an error that says what failed (what, such as
// "unload: read s3://b/k") with every credential of r masked. It does not
// unwrap to err: the SDK's error types carry the request, whose fields can
// hold the keys; it unwraps to the context's error when err is one, so that
// callers can tell a cancellation.
func (r *Reader) wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	msg := what + ": " + err.Error()
	for _, s := range r.secrets {
		msg = strings.ReplaceAll(msg, s, "[redacted]")
	}
	e := &sdkError{msg: msg}
	switch {
	case errors.Is(err, context.Canceled):
		e.cause = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		e.cause = context.DeadlineExceeded
	}
	return e
}

// sdkError is an error from the SDK with its credentials masked.
type sdkError struct {
	msg   string
	cause error // a context error, or nil
}

func (e *sdkError) Error() string { return e.msg }
func (e *sdkError) Unwrap() error { return e.cause }
