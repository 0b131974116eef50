package digits

import (
	"math"
	"strconv"
	"testing"
)

func TestAppendPadded(t *testing.T) {
	for _, tc := range []struct {
		n, w int
		want string
	}{
		{0, 0, "0"}, {0, 1, "0"}, {0, 4, "0000"}, {7, 2, "07"}, {10, 2, "10"},
		{123456, 6, "123456"}, {43, 4, "0043"}, {294276, 4, "294276"},
		{999999, 6, "999999"}, {5, 25, "0000000000000000000000005"},
		{math.MaxInt64, 1, strconv.FormatInt(math.MaxInt64, 10)},
	} {
		if got := string(AppendPadded(nil, tc.n, tc.w)); got != tc.want {
			t.Errorf("AppendPadded(%d, %d) = %q, want %q", tc.n, tc.w, got, tc.want)
		}
	}
}

// TestAppendPaddedAppends: what b holds is kept.
func TestAppendPaddedAppends(t *testing.T) {
	if got := string(AppendPadded([]byte("T"), 9, 2)); got != "T09" {
		t.Errorf("AppendPadded(\"T\", 9, 2) = %q, want \"T09\"", got)
	}
}
