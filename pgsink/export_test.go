// This file exports internals to the package's external tests.

package pgsink

// ResyncName is resyncName: the name, in ResyncSchema, of the resync copy of
// the destination table schema.name.
var ResyncName = resyncName
