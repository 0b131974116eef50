// This file summarises a CPU profile written by a child: it reads the
// profile's samples with github.com/google/pprof/profile (the structure
// go tool pprof reads, not its text output) and sums them by package and by
// function.

package main

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/google/pprof/profile"
)

// share is the flat and cumulative share of a package or function in a
// profile's CPU time, in percent.
type share struct {
	Name      string
	Flat, Cum float64
}

// profSummary is a profile summed by package and by function.
type profSummary struct {
	Case     string // the case profiled
	Path     string
	Seconds  float64 // CPU time sampled
	Packages []share // by flat share, highest first
	Funcs    []share // by flat share, highest first
}

// summarise reads the CPU profile at path. A sample's flat time goes to its
// innermost function (inlined frames count as functions of their own, as in
// go tool pprof); its cumulative time to every function and package on its
// stack, once each.
func summarise(path string) (*profSummary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	vi := slices.IndexFunc(p.SampleType, func(t *profile.ValueType) bool { return t.Type == "cpu" })
	if vi < 0 {
		return nil, fmt.Errorf("%s: no cpu samples", path)
	}
	var total int64
	flatF, cumF, flatP, cumP := map[string]int64{}, map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, s := range p.Sample {
		v := s.Value[vi]
		total += v
		seenF, seenP := map[string]bool{}, map[string]bool{}
		for i, loc := range s.Location {
			lines := loc.Line
			if len(lines) == 0 {
				lines = []profile.Line{{Function: &profile.Function{Name: fmt.Sprintf("0x%x", loc.Address)}}}
			}
			for j, l := range lines { // innermost first
				fn := l.Function.Name
				pkg := packageOf(fn)
				if i == 0 && j == 0 {
					flatF[fn] += v
					flatP[pkg] += v
				}
				if !seenF[fn] {
					seenF[fn] = true
					cumF[fn] += v
				}
				if !seenP[pkg] {
					seenP[pkg] = true
					cumP[pkg] += v
				}
			}
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("%s: no samples", path)
	}
	ps := &profSummary{Path: path, Seconds: float64(total) / 1e9}
	shares := func(flat, cum map[string]int64) []share {
		var out []share
		for name, c := range cum {
			out = append(out, share{name, 100 * float64(flat[name]) / float64(total), 100 * float64(c) / float64(total)})
		}
		slices.SortFunc(out, func(a, b share) int {
			return cmp.Or(cmp.Compare(b.Flat, a.Flat), cmp.Compare(b.Cum, a.Cum), strings.Compare(a.Name, b.Name))
		})
		return out
	}
	ps.Packages, ps.Funcs = shares(flatP, cumP), shares(flatF, cumF)
	return ps, nil
}

// packageOf returns the import path of a Go symbol name:
// "github.com/lib/pq.(*conn).recv" → "github.com/lib/pq",
// "runtime.mallocgc" → "runtime"; a name with no package (an assembly
// routine) is its own.
func packageOf(fn string) string {
	head := fn
	if i := strings.IndexByte(head, '['); i >= 0 { // type parameters may hold dots and slashes
		head = head[:i]
	}
	slash := strings.LastIndexByte(head, '/') + 1
	if dot := strings.IndexByte(head[slash:], '.'); dot >= 0 {
		return fn[:slash+dot]
	}
	return fn
}
