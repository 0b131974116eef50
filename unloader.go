// This file holds the Unloader contract: how the extractor reads the files a
// Redshift UNLOAD wrote, without the root package compiling the AWS SDK or a
// Parquet reader (package unload implements it; see WithUnloader).
//
// Contract draft (session 3): the extractor's side (when to unload, the
// UNLOAD statement, resume per part) and package unload are built against it.

package redshiftsync

import "context"

// An Unloader reads the Parquet files of an UNLOAD that the extractor ran
// with FORMAT PARQUET MANIFEST VERBOSE. Package unload implements it over S3.
// Its methods may be called concurrently, for different parts and tables.
type Unloader interface {
	// Parts reads the manifest of the UNLOAD whose TO prefix is location
	// ("s3://bucket/prefix/run/table/", the manifest being
	// "<location>manifest") and returns its parts in manifest order. An
	// UNLOAD that selected no rows has a manifest with no entries.
	Parts(ctx context.Context, location string) ([]UnloadPart, error)
	// ReadPart streams the rows of one part, each decoded for the columns
	// of table (one value per Table.Columns entry, in that order, of the Go
	// type its LogicalType gives, exactly as the SQL path delivers it; nil
	// for NULL), calling emit with at most maxRows rows and, past the first
	// row, at most about maxBytes bytes of values (0: no byte bound) at a
	// time. The rows passed to emit are the extractor's until emit
	// returns: it clears each row's values once its sink has them, so
	// ReadPart must not hand it rows it keeps (its own copy of a file, say),
	// and may reuse the slice and the rows afterwards. The values in them
	// are never reused: a sink may keep them. Memory is bounded by these batches, never by
	// the part's size. An error from emit stops the read and is returned.
	ReadPart(ctx context.Context, table *Table, part UnloadPart, maxRows int, maxBytes int64, emit func(rows [][]any) error) error
	// Remove deletes every file the UNLOAD at location wrote (its parts and
	// manifest). Removing files already gone is not an error.
	Remove(ctx context.Context, location string) error
}

// UnloadPart is one file an UNLOAD wrote, as its verbose manifest lists it.
type UnloadPart struct {
	// URL is the part's "s3://bucket/key".
	URL string `json:"url"`
	// Bytes is the file's size (the manifest's content_length).
	Bytes int64 `json:"content_length"`
	// Rows is how many rows it holds (the manifest's record_count).
	Rows int64 `json:"record_count"`
}
