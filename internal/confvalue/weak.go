// This file converts a decoded JSON value to a whole number, a boolean, a
// duration or a list of strings, accepting the JSON string forms the example
// connector writes ("5000", "true", "90s") as well as native JSON. Each
// returns a problem in words ("" when the value is good); expect is what the
// key expects, for the message.

package confvalue

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Expectations shared by every key of a kind, for messages.
const (
	ExpectBool     = `true or false`
	ExpectDuration = `a duration such as "90s" or "5m", or a number of seconds such as "90"`
	ExpectList     = `a JSON array of strings such as ["orders", "events_*"], or a comma-separated string such as "orders,events_*"`
)

// Int accepts a JSON number that is a whole number (5000, 5e3, 5000.0) or a
// string holding a decimal integer (" 5000 "), not "0x10" nor "1_000".
func Int(v any, expect string) (int, string) {
	var n int64
	switch v := v.(type) {
	case json.Number:
		i, err := strconv.ParseInt(v.String(), 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(v.String(), 64)
			switch {
			case ferr == nil && f == math.Trunc(f) && math.Abs(f) <= 1<<53:
				i = int64(f)
			case (ferr == nil || errors.Is(ferr, strconv.ErrRange)) && math.Abs(f) >= 1<<53:
				return 0, fmt.Sprintf("%s is out of range; expected %s", Quote(v.String()), expect)
			default:
				return 0, fmt.Sprintf("%s is not a whole number; expected %s", v.String(), expect)
			}
		}
		n = i
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return 0, fmt.Sprintf("%s is out of range; expected %s", Quote(v), expect)
			}
			return 0, fmt.Sprintf("%s is not a whole number; expected %s", Quote(v), expect)
		}
		n = i
	default:
		return 0, fmt.Sprintf("must be %s, not %s", expect, Kind(v))
	}
	if int64(int(n)) != n { // only on 32-bit platforms
		return 0, fmt.Sprintf("%d is out of range; expected %s", n, expect)
	}
	return int(n), ""
}

// Bool accepts a JSON boolean or the strings true and false in any case (not
// "1", "yes" nor "t").
func Bool(v any) (bool, string) {
	switch v := v.(type) {
	case bool:
		return v, ""
	case string:
		t := strings.TrimSpace(v)
		switch {
		case strings.EqualFold(t, "true"):
			return true, ""
		case strings.EqualFold(t, "false"):
			return false, ""
		}
		return false, fmt.Sprintf("%s is not a boolean; expected %s", Quote(v), ExpectBool)
	}
	return false, fmt.Sprintf("must be %s, not %s", ExpectBool, Kind(v))
}

// Duration accepts a Go duration string ("90s", "1h30m"), or a number of
// seconds as a JSON number or string (90, "90", "0.5"). A negative duration
// is a problem.
func Duration(v any) (time.Duration, string) {
	var text string
	switch v := v.(type) {
	case json.Number:
		text = v.String()
	case string:
		text = strings.TrimSpace(v)
	default:
		return 0, fmt.Sprintf("must be %s, not %s", ExpectDuration, Kind(v))
	}
	shown := Quote(text)
	if _, isNum := v.(json.Number); isNum {
		shown = text
	}
	if isDecimal(text) {
		secs, err := strconv.ParseFloat(text, 64)
		if err != nil || math.Abs(secs) > float64(math.MaxInt64)/float64(time.Second) {
			return 0, fmt.Sprintf("%s is too large; expected %s", shown, ExpectDuration)
		}
		if secs < 0 {
			return 0, fmt.Sprintf("%s is negative; expected 0 or more: %s", shown, ExpectDuration)
		}
		return time.Duration(math.Round(secs * float64(time.Second))), ""
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Sprintf("%s is not a duration; expected %s", shown, ExpectDuration)
	}
	if d < 0 {
		return 0, fmt.Sprintf("%s is negative; expected 0 or more: %s", shown, ExpectDuration)
	}
	return d, ""
}

// isDecimal reports whether s is a plain decimal number: an optional sign,
// digits and at most one point (no exponent, no Inf, no NaN). A JSON number
// with an exponent is accepted too.
func isDecimal(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	digits, points := 0, 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
			points++
		case (r == 'e' || r == 'E') && digits > 0:
			rest := strings.TrimLeft(s[i+1:], "+-")
			return rest != "" && strings.Trim(rest, "0123456789") == "" && points <= 1
		default:
			return false
		}
	}
	return digits > 0 && points <= 1
}

// List accepts a JSON array of strings or a comma-separated string; blank
// items are dropped. A wrong array item is reported by its 1-based index; all
// of them are returned.
func List(v any) ([]string, []string) {
	var items []string
	switch v := v.(type) {
	case string:
		items = strings.Split(v, ",")
	case []any:
		var problems []string
		for i, e := range v {
			s, isStr := e.(string)
			if !isStr {
				problems = append(problems, fmt.Sprintf("item %d is %s; expected %s", i+1, Kind(e), ExpectList))
				continue
			}
			items = append(items, s)
		}
		if problems != nil {
			return nil, problems
		}
	default:
		return nil, []string{fmt.Sprintf("must be %s, not %s", ExpectList, Kind(v))}
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}
