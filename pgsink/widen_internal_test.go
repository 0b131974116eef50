package pgsink

import "testing"

func TestCompareTypes(t *testing.T) {
	for _, c := range []struct {
		have, want string
		change     typeChange
	}{
		{"integer", "integer", keepType},
		{"character varying(20)", "text", keepType}, // changed by hand
		{"citext", "text", keepType},
		{"text", "uuid", keepType}, // made by an earlier version
		{"text", "interval", keepType},
		{"smallint", "integer", widenType},
		{"integer", "bigint", widenType},
		{"bigint", "integer", reshapeType},
		{"integer", "numeric(12,2)", widenType},
		{"integer", "numeric(10,2)", reshapeType}, // 8 integer digits < 10
		{"bigint", "numeric", widenType},
		{"integer", "double precision", widenType},
		{"bigint", "double precision", reshapeType},
		{"smallint", "real", widenType},
		{"numeric(10,2)", "numeric(12,4)", widenType},
		{"numeric(10,2)", "numeric(11,3)", widenType}, // 8 integer digits, one more of scale
		{"numeric(12,4)", "numeric(10,2)", reshapeType},
		{"numeric(10,2)", "numeric(10,3)", reshapeType},
		{"numeric(10,2)", "numeric", widenType},
		{"numeric", "numeric(38,10)", reshapeType},
		{"real", "double precision", widenType},
		{"double precision", "real", reshapeType},
		{"date", "timestamp", widenType},
		{"date", "timestamptz", reshapeType},
		{"timestamp", "date", reshapeType},
		{"timestamp", "timestamptz", reshapeType},
		{"boolean", "text", widenType},
		{"uuid", "text", widenType},
		{"jsonb", "text", widenType},
		{"text", "integer", reshapeType},
	} {
		if got := compareTypes(c.have, c.want); got != c.change {
			t.Errorf("compareTypes(%q, %q) = %v, want %v", c.have, c.want, got, c.change)
		}
	}
}
