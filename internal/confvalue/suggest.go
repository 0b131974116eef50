// This file finds the closest known name to a misspelt one, for a
// did-you-mean in a message.

package confvalue

import (
	"math"
	"strings"
	"unicode/utf8"
)

// Closest returns the name of names closest to s by edit distance, and that
// distance; names are compared as given (s as well). Inputs longer than
// maxLen runes are not compared (an edit distance costs their product).
func Closest(s string, names []string, maxLen int) (string, int) {
	if utf8.RuneCountInString(s) > maxLen {
		return "", math.MaxInt
	}
	best, bestD := "", math.MaxInt
	for _, n := range names {
		if d := EditDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best, bestD
}

// SuggestValue returns the allowed value closest to s (case-insensitive, a
// value that starts with an allowed one counting as it: "required",
// "postgresql"), or "" when none is within two edits.
func SuggestValue(s string, allowed []string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if utf8.RuneCountInString(s) > 32 {
		return ""
	}
	for _, a := range allowed {
		if strings.HasPrefix(s, a) {
			return a
		}
	}
	if best, d := Closest(s, allowed, 32); d <= 2 {
		return best
	}
	return ""
}

// EditDistance is the Levenshtein distance between a and b, in runes.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
