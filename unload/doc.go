// Package unload reads what a Redshift UNLOAD wrote to Amazon S3 (or an
// S3-compatible store) with FORMAT PARQUET MANIFEST VERBOSE: it implements
// redshiftsync.Unloader, which the extractor is given with WithUnloader, so
// that the root package never compiles the AWS SDK or a Parquet reader.
//
// New makes a Reader from Options (a region, an optional endpoint, optional
// static keys; otherwise the AWS SDK's default credential chain). The Reader
// lists the parts of an UNLOAD from its manifest (Parts), streams a part's
// rows decoded into the Go values the SQL path gives for each column's
// LogicalType (ReadPart), and deletes the UNLOAD's files (Remove). Its
// methods may be called concurrently.
//
// Reading a part never holds the part in memory or on disk: the Parquet
// footer is fetched with one ranged GET, then every column chunk of a row
// group is streamed by its own ranged GET, sequentially, through a small
// buffer, and decoded page by page. Memory is one page and one read buffer
// per column being read, plus the batch handed to emit: bounded by the
// batch and the file's page size, never by the part's size.
//
// Credentials never reach an error: every error from the SDK is returned
// with the access key ID, secret key and session token masked, and does
// not unwrap to the SDK's error (whose fields could hold them).
package unload
