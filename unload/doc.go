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
// Each table column is matched by name to a Parquet column and decoded into
// the Go value the SQL path gives for its LogicalType:
//
//	LogicalType          Parquet (as UNLOAD writes it)                  Go value
//	BOOLEAN              BOOLEAN                                        bool
//	SHORT, INT, LONG     INT32 / INT64 (INT(16|32|64))                  int64
//	DECIMAL              DECIMAL(p,s) on INT32, INT64, FIXED_LEN_BYTE_  Decimal, exactly s fractional digits
//	                     ARRAY or BYTE_ARRAY; or UTF8 text              ("-0.05", 38 digits intact)
//	FLOAT, DOUBLE        FLOAT (widened exactly) / DOUBLE               float64
//	NAIVE_DATE           DATE                                           time.Time, midnight UTC
//	NAIVE_DATETIME,      TIMESTAMP (millis, micros, nanos; either       time.Time in UTC, never shifted
//	UTC_DATETIME         isAdjustedToUTC) or INT96
//	NAIVE_TIME, TIME_TZ  TIME (micros; TIMETZ adjusted to UTC, "+00")   string, as the server prints it
//	                     or UTF8 text                                   ("13:45:01.5", "24:00:00")
//	INTERVAL             UTF8 text (the SELECT casts it)                string
//	BINARY               BYTE_ARRAY; or hexadecimal UTF8 text           []byte, never nil
//	STRING               BYTE_ARRAY (UTF8), UUID                        string; char(n) padded to n
//	JSON                 BYTE_ARRAY (JSON, SUPER's form)                json.RawMessage, as written
//
// A type that cannot carry the column (a DOUBLE for a DATE column, say) is
// an error naming the column before any row is read.
//
// ReadAll reads every part of an UNLOAD with a number of workers, and Stats
// counts the requests and bytes fetched: the benchmark program's hooks.
//
// Credentials never reach an error: every error from the SDK is returned
// with the access key ID, secret key and session token masked, and does
// not unwrap to the SDK's error (whose fields could hold them).
package unload
