// This file holds the steps a TableError names: every value of
// TableError.Step, one constant each, with what failed in it.

package redshiftsync

// The values of TableError.Step. A step names what the table's sync was
// doing when it failed; the values are stable, and no other value occurs.
//
// Steps of the sink and the state store (the cause is theirs):
const (
	StepOpenSink       = "open sink"       // Sink.Open (or StateSink.OpenState) failed
	StepWrite          = "write to sink"   // Sink.Write failed
	StepFlush          = "flush sink"      // Sink.Flush failed
	StepSaveCheckpoint = "save checkpoint" // StateStore.Save (or StateSink.FlushState) failed
	StepBeginResync    = "begin resync"    // ResyncSink.BeginResync failed
	StepEndResync      = "end resync"      // ResyncSink.EndResync failed
	StepBeginAttempt   = "begin attempt"   // AttemptSink.BeginAttempt failed
	StepUndoAttempt    = "undo attempt"    // AttemptSink.UndoAttempt failed
	StepSchemaChanged  = "schema changed"  // SchemaSink.SchemaChanged failed
	// StepDetectDeletes: delete detection failed: a query of its digests
	// or lookups at the source, or KeyLister.ListKeys or DeleteSink.Delete.
	StepDetectDeletes = "detect deletes"
)

// Steps of the table's own state and values:
const (
	// StepLoadState: the saved position does not fit the table's plan
	// (ErrStateCorrupt).
	StepLoadState = "load state"
	// StepDecode: a value the source holds cannot be decoded into its
	// column's logical type.
	StepDecode = "decode"
	// StepSync: the sync as a whole, for what is not one step's: a panic
	// outside a read (ErrPanic), or a table stopped because the run was.
	StepSync = "sync"
)

// Steps of reads from the source (the cause is the source's answer, after
// the retries, or the run's context):
const (
	StepRead             = "read"                          // a read streamed whole (no order to page by), or the rows phase's partitions
	StepReadPage         = "read page"                     // a keyset page
	StepReadChunk        = "read chunk"                    // a key range streamed whole (Redshift chunks, unindexed keys)
	StepReadTieGroup     = "read tie group"                // the rows sharing one ordering tuple, past a full page
	StepReadBlocks       = "read in block order"           // a keyless PostgreSQL table's scan in block order
	StepReadTableSize    = "read table size"               // the size and file node a pass in block order starts from
	StepReadBounds       = "read partition bounds"         // min and max of the leading ordering column
	StepReadHighWater    = "read high-water mark"          // the key's maximum and the mark taken with it
	StepReadTransactions = "read transactions in progress" // the release check of pending marks
	StepReadClock        = "read the server's clock"       // Redshift's clock, for its watermark
	StepExportSnapshot   = "export snapshot"               // the snapshot a full pass on PostgreSQL is read in
	StepImportSnapshot   = "import snapshot"               // a read's import of that snapshot
	StepCatchUp          = "catch up"                      // the rows a resumed pass re-reads, written since its first snapshot
	StepCountRows        = "count rows"                    // the rows of a phase, counted to decide whether it is unloaded
	StepUnload           = "unload"                        // the UNLOAD statement, or its manifest (see WithUnloader)
	StepReadUnloadPart   = "read unload part"              // a part of an UNLOAD, read from S3 by the Unloader
)
