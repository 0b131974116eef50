// This file holds the options of a Sink (and of a StateStore).

package pgsink

import ()

// options are what the Options set.
type options struct {
	schema          string // destination schema; "" for the source's
	stateSchema     string
	stateTable      string
	stateName       string
	nativeIntervals bool
}

func defaultOptions() options {
	return options{stateSchema: DefaultStateSchema, stateTable: DefaultStateTable, stateName: DefaultStateName}
}

// An Option configures a Sink (and, for WithStateName and WithStateTable, a
// StateStore).
type Option func(*options)

// WithSchema loads every table into the destination schema name, instead of
// the schema of the same name as the source's.
func WithSchema(name string) Option {
	return func(o *options) { o.schema = name }
}

// WithStateTable sets the schema and name of the state table (default
// public.redshiftsync_state).
func WithStateTable(schema, table string) Option {
	return func(o *options) { o.stateSchema, o.stateTable = schema, table }
}

// WithStateName sets the key of the sink's row in the state table (default
// "default"). Give each sync that shares a destination database its own
// name, such as "<source database>/<schema>".
func WithStateName(name string) Option {
	return func(o *options) { o.stateName = name }
}

// WithNativeIntervals creates INTERVAL columns as interval instead of text.
// Use it when the source is PostgreSQL, whose interval text PostgreSQL reads
// back; it only affects columns the sink creates.
func WithNativeIntervals() Option {
	return func(o *options) { o.nativeIntervals = true }
}
