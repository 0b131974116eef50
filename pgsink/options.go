// This file holds the options of a Sink (and of a StateStore).

package pgsink

import (
	"errors"
	"fmt"
)

// options are what the Options set.
type options struct {
	schema          string // destination schema; "" for the source's
	stateSchema     string
	stateTable      string
	stateName       string
	nativeIntervals bool
	hardDeletes     bool // Delete removes rows instead of marking them (see delete.go)
}

func defaultOptions() options {
	return options{stateSchema: DefaultStateSchema, stateTable: DefaultStateTable, stateName: DefaultStateName}
}

// An Option configures a Sink (and, for WithStateName and WithStateTable, a
// StateStore). An Option that is given a value it cannot use returns an
// error naming it, which New (or NewStateStore) returns.
type Option func(*options) error

// WithSchema loads every table into the destination schema name, instead of
// the schema of the same name as the source's.
// The name must not be empty, nor ResyncSchema, which holds the sink's
// resync copies.
func WithSchema(name string) Option {
	return func(o *options) error {
		switch name {
		case "":
			return errors.New("pgsink: WithSchema: empty schema name (leave the option out to load into the source's schema)")
		case ResyncSchema:
			return fmt.Errorf("pgsink: WithSchema(%q): that schema holds pgsink's resync copies: load into another one", name)
		}
		o.schema = name
		return nil
	}
}

// WithStateTable sets the schema and name of the state table (default
// public.redshiftsync_state).
func WithStateTable(schema, table string) Option {
	return func(o *options) error {
		if schema == "" || table == "" {
			return fmt.Errorf("pgsink: WithStateTable(%q, %q): empty state table schema or name", schema, table)
		}
		o.stateSchema, o.stateTable = schema, table
		return nil
	}
}

// WithStateName sets the key of the sink's row in the state table (default
// "default"). Give each sync that shares a destination database its own
// name, such as "<source database>/<schema>".
func WithStateName(name string) Option {
	return func(o *options) error {
		if name == "" {
			return errors.New("pgsink: WithStateName: empty state name")
		}
		o.stateName = name
		return nil
	}
}

// WithNativeIntervals creates INTERVAL columns as interval instead of text.
// Use it when the source is PostgreSQL, whose interval text PostgreSQL reads
// back; it only affects columns the sink creates.
func WithNativeIntervals() Option {
	return func(o *options) error {
		o.nativeIntervals = true
		return nil
	}
}

// WithHardDeletes makes [Sink.Delete] remove the rows deleted at the source
// (DELETE) instead of marking them deleted in the column DeletedColumn (the
// default, Fivetran's "soft delete"). Tables are then created without that
// column; a table that has it keeps it.
func WithHardDeletes() Option {
	return func(o *options) error {
		o.hardDeletes = true
		return nil
	}
}

// apply returns the default options with opts applied, or the first error
// an option returns.
func apply(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return o, errors.New("pgsink: nil Option")
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}
