// This file holds the row path's value allocator: the Go values a unit
// decodes (time.Time, Decimal, string) are carved out of chunks shared by
// many values, instead of one heap allocation (or two) per value.

package redshiftsync

import (
	"time"
	"unsafe"
)

// A Batch hands each value to the sink as an interface value (any). Boxing a
// time.Time, a string or a Decimal into an interface allocates a copy of it on
// the heap, and a string's bytes are a second allocation: with lib/pq's own
// boxing, allocation and garbage collection were about a third of the row
// path's CPU (BENCHMARKS.md, issue 15). valueAlloc makes each of them an
// element of a chunk instead: one allocation per chunk of values.
//
// Safety. The interface values it builds point into a chunk (see box), which
// is how the runtime lays out every boxed value of these types (a type word
// and a pointer to the value); the values are never written again once
// handed out, and a chunk is never reused: when it is used up it is dropped
// (the values in it keep it alive for as long as anyone holds one) and a
// new one allocated. So a value a sink keeps past Write stays what it was,
// as the Batch contract promises. The price is memory held: a value kept
// alone keeps its chunk (at most valueChunkBytes) alive.
type valueAlloc struct {
	times []time.Time // the unused part of the current chunk of each kind
	strs  []string
	decs  []Decimal
	nums  []float64
	ints  []int64 // integers the wire reader decodes (wire.go)
	text  []byte  // the unused part of the current chunk of string bytes
}

// valueChunkLen is the values per chunk of times, strings and decimals;
// valueChunkBytes the bytes of a chunk of string bytes, and
// valueOwnBytes the longest string whose bytes go into such a chunk (a
// longer one is allocated on its own, so a large value is not copied into a
// chunk and a chunk is not left mostly empty).
const (
	valueChunkLen   = 256
	valueChunkBytes = 16 << 10
	valueOwnBytes   = 1 << 10
)

// eface is the runtime's layout of an interface value of type any.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// typeWord returns the type word of v's dynamic type.
func typeWord(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	timeTypeWord    = typeWord(time.Time{})
	stringTypeWord  = typeWord("")
	decimalTypeWord = typeWord(Decimal(""))
	floatTypeWord   = typeWord(float64(0))
	intTypeWord     = typeWord(int64(0))
)

// box returns the interface value of dynamic type typ (a type word of this
// file) whose value is *p, without copying it: p must never be written again.
func box[T any](typ unsafe.Pointer, p *T) any {
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, unsafe.Pointer(p)
	return v
}

// boxIn returns v as an any whose value is the next unused element of
// *chunk (a new chunk when it is used up); typ is the type word of T.
func boxIn[T any](chunk *[]T, typ unsafe.Pointer, v T) any {
	if len(*chunk) == 0 {
		*chunk = make([]T, valueChunkLen)
	}
	p := &(*chunk)[0]
	*chunk = (*chunk)[1:]
	*p = v
	return box(typ, p)
}

// time returns t as an any.
func (a *valueAlloc) time(t time.Time) any { return boxIn(&a.times, timeTypeWord, t) }

// float returns f as an any.
func (a *valueAlloc) float(f float64) any { return boxIn(&a.nums, floatTypeWord, f) }

// string returns b's text as a string in an any; b is not kept.
func (a *valueAlloc) string(b []byte) any { return boxIn(&a.strs, stringTypeWord, a.bytesText(b)) }

// decimal returns b's text as a Decimal in an any; b is not kept.
func (a *valueAlloc) decimal(b []byte) any {
	return boxIn(&a.decs, decimalTypeWord, Decimal(a.bytesText(b)))
}

// bytesText returns a string holding a copy of b.
func (a *valueAlloc) bytesText(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	if n > valueOwnBytes {
		return string(b)
	}
	if len(a.text) < n {
		a.text = make([]byte, valueChunkBytes)
	}
	dst := a.text[:n:n]
	a.text = a.text[n:]
	copy(dst, b)
	return unsafe.String(&dst[0], n)
}

// int returns x as an any.
func (a *valueAlloc) int(x int64) any {
	if x >= 0 && x < 256 {
		return x // the runtime boxes these without allocating
	}
	return boxIn(&a.ints, intTypeWord, x)
}
