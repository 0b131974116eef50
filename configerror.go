// This file holds ConfigError, the error of an invalid configuration, and
// the collector of its problems.

package redshiftsync

import (
	"fmt"
	"slices"
	"strings"
)

// ConfigProblem is one problem of a configuration: the key it concerns ("" for
// the document as a whole) and what is wrong with it.
type ConfigProblem struct {
	Key     string
	Problem string
}

// ConfigError reports every problem of a configuration at once. It matches
// ErrInvalidConfig with errors.Is. Its text never contains the password.
type ConfigError struct {
	// Source names where the configuration came from: a file name, or a URL
	// with its password redacted; "" when unknown.
	Source   string
	Problems []ConfigProblem
}

// Error lists the problems, one per line:
//
//	redshiftsync: invalid configuration:
//	  batch_size: "abc" is not a whole number; expected a positive integer such as "5000"
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("redshiftsync: invalid configuration")
	if e.Source != "" {
		b.WriteString(" in ")
		b.WriteString(e.Source)
	}
	if len(e.Problems) == 0 {
		return b.String()
	}
	b.WriteString(":")
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		if p.Key != "" {
			b.WriteString(displayKey(p.Key))
			b.WriteString(": ")
		}
		b.WriteString(p.Problem)
	}
	return b.String()
}

// Is reports whether target is ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// displayKey prints a key bare when it is a plain name, quoted (and
// truncated) otherwise, so that a strange unknown key cannot break the
// one-problem-per-line layout.
func displayKey(key string) string {
	if len(key) <= 64 && key != "" && strings.IndexFunc(key, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}) < 0 {
		return key
	}
	return quote(key)
}

// problems collects ConfigProblems.
type problems struct {
	list []ConfigProblem
}

func (ps *problems) add(key, format string, args ...any) {
	ps.list = append(ps.list, ConfigProblem{Key: key, Problem: fmt.Sprintf(format, args...)})
}

func (ps *problems) has(key string) bool {
	return slices.ContainsFunc(ps.list, func(p ConfigProblem) bool { return p.Key == key })
}

// merge adds the problems of more whose key has none yet: a key that failed
// to parse is not judged again on the default it fell back to.
func (ps *problems) merge(more *problems) {
	for _, p := range more.list {
		if !ps.has(p.Key) {
			ps.list = append(ps.list, p)
		}
	}
}

// sorted orders the problems: the document's first, then the known keys in
// the settings table's order, then unknown keys as they came.
func (ps *problems) sorted() []ConfigProblem {
	rank := func(p ConfigProblem) int {
		if p.Key == "" {
			return -1
		}
		if _, i := lookupSetting(p.Key); i >= 0 {
			return i
		}
		return len(settings)
	}
	out := slices.Clone(ps.list)
	slices.SortStableFunc(out, func(a, b ConfigProblem) int { return rank(a) - rank(b) })
	return out
}

func (ps *problems) err(source string) error {
	if len(ps.list) == 0 {
		return nil
	}
	return &ConfigError{Source: source, Problems: ps.sorted()}
}
