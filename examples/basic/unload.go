// This file wires the UNLOAD read: package unload's reader, made from the
// configuration's unload_s3_* keys, given to the extractor when
// unload_s3_uri is set.

package main

import (
	"context"
	"fmt"

	"github.com/seed2085993a/redshiftsync"
	"github.com/seed2085993a/redshiftsync/unload"
)

// unloadOptions returns the extractor options of the UNLOAD read: none
// when the configuration sets no unload_s3_uri, else WithUnloader with a
// reader on the bucket's region and endpoint, with the reader's keys (or
// the AWS SDK's default credential chain when unload_s3_access_key_id is
// not set).
func unloadOptions(ctx context.Context, cfg redshiftsync.Config) ([]redshiftsync.Option, error) {
	if cfg.UnloadS3URI == "" {
		return nil, nil
	}
	r, err := unload.New(ctx, unload.Options{
		Region:          cfg.UnloadS3Region,
		Endpoint:        cfg.UnloadS3Endpoint,
		AccessKeyID:     string(cfg.UnloadS3AccessKeyID),
		SecretAccessKey: cfg.UnloadS3SecretAccessKey,
	})
	if err != nil {
		return nil, fmt.Errorf("unload_s3_uri is set, but its reader cannot be made (check unload_s3_region, unload_s3_endpoint and the unload_s3_* keys): %w", err)
	}
	return []redshiftsync.Option{redshiftsync.WithUnloader(r)}, nil
}
