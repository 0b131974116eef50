// This file holds schema changes as events: the table's column list kept in
// the state at each finished sync, what changed since (added, dropped,
// retyped, renamed where detectable), told to a SchemaSink after Open and
// before the table's first Write, and shown in the plan.

package redshiftsync

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
)

// columnList is the table's columns as the state keeps them: name, source
// type, logical type.
func columnList(t *Table) [][3]string {
	out := make([][3]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = [3]string{c.Name, c.SourceType, string(c.Type)}
	}
	return out
}

// Empty reports whether nothing changed.
func (c SchemaChange) Empty() bool {
	return len(c.Added) == 0 && len(c.Dropped) == 0 && len(c.Retyped) == 0 && len(c.Renamed) == 0
}

// schemaChange computes what changed from the saved column list to t's.
// A dropped and an added column of the same type at the same position are a
// rename.
func schemaChange(saved [][3]string, t *Table) SchemaChange {
	var ch SchemaChange
	oldAt := map[string]int{}
	for i, c := range saved {
		oldAt[c[0]] = i
	}
	newAt := map[string]int{}
	for i, c := range t.Columns {
		newAt[c.Name] = i
	}
	var added []int
	for i, c := range t.Columns {
		j, ok := oldAt[c.Name]
		switch {
		case !ok:
			added = append(added, i)
		case saved[j][1] != c.SourceType:
			ch.Retyped = append(ch.Retyped, c)
			ch.Before = append(ch.Before, savedColumn(saved[j]))
		}
	}
	var dropped []int
	for j, c := range saved {
		if _, ok := newAt[c[0]]; !ok {
			dropped = append(dropped, j)
		}
	}
	for _, i := range added {
		c := t.Columns[i]
		if k := slices.Index(dropped, i); k >= 0 && saved[i][1] == c.SourceType {
			if ch.Renamed == nil {
				ch.Renamed = map[string]string{}
			}
			ch.Renamed[saved[i][0]] = c.Name
			dropped = slices.Delete(dropped, k, k+1)
			continue
		}
		ch.Added = append(ch.Added, c)
	}
	for _, j := range dropped {
		ch.Dropped = append(ch.Dropped, savedColumn(saved[j]))
	}
	return ch
}

// savedColumn is a column as the state recorded it (name and types only).
func savedColumn(c [3]string) Column {
	return Column{Name: c[0], SourceType: c[1], Type: LogicalType(c[2])}
}

// tellSchemaChange tells a SchemaSink how the table's columns changed since
// its last finished sync. A table without a saved column list (its first
// sync, or a state saved before the list was kept) has none.
func (s *tableSync) tellSchemaChange(ctx context.Context) error {
	saved := s.ck.table(s.name)
	if saved == nil || saved.Columns == nil {
		return nil
	}
	ch := schemaChange(saved.Columns, s.plan.Table)
	if ch.Empty() {
		return nil
	}
	s.log.Info("the table's columns changed since its last sync", "added", len(ch.Added), "dropped", len(ch.Dropped), "retyped", len(ch.Retyped), "renamed", len(ch.Renamed))
	if err := s.e.ab.schemaChanged(ctx, s.plan.Table, ch); err != nil {
		return &TableError{Table: s.name, Step: StepSchemaChanged, Err: err}
	}
	return nil
}

// pendingChanges fills the plans' pending schema changes and the state of
// delete detection from the saved state, when the store holds one; a
// store that cannot be read leaves them empty (Run reports its error).
func (e *Extractor) pendingChanges(ctx context.Context, plans []*Plan) {
	doc, err := e.ab.store.Load(ctx)
	if err != nil {
		if !errors.Is(err, ErrNoCheckpoint) {
			e.log.Debug("plan: the state could not be read for pending schema changes", "error", err)
		}
		return
	}
	var st stateDoc
	if json.Unmarshal(doc, &st) != nil {
		return
	}
	for _, p := range plans {
		ts := st.Tables[p.Table.QualifiedName()]
		if ts == nil || ts.Columns == nil {
			continue
		}
		if ch := schemaChange(ts.Columns, p.Table); !ch.Empty() {
			p.SchemaChange = &ch
		}
	}
}
