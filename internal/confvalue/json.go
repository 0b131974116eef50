// Package confvalue reads a JSON configuration document the way the example
// connector writes it: the object's members in order with their raw values
// (json.go), values given as JSON strings or native JSON ("5000" or 5000,
// "true" or true, "90s" or 90; weak.go), and the closest known name to a
// misspelt one (suggest.go). It knows no setting: the caller (the root
// package's settings table) says what each key expects, and every function
// returns a problem in words, for a message that names the key, instead of
// an error.
//
// Why not github.com/go-viper/mapstructure/v2 (v2.5.0, WeaklyTypedInput,
// tried on the inputs config_test.go pins): it rejects " 5439 " and the JSON
// number 5e3 ("cannot parse value as 'int': strconv.ParseInt: invalid
// syntax"), accepts "1_000", "0x10" and, for a bool, "1", and turns
// "redshift_port": true into 1; its StringToTimeDurationHookFunc panics on a
// json.Number and knows no number of seconds ("90"); its messages name
// neither the value nor what is expected, unknown keys come as one "has
// invalid keys: a, b" without a did-you-mean, and a template placeholder is
// a parse error like any other. Keeping the messages would take a decode
// hook per kind doing what weak.go does, leaving mapstructure only the
// assignment to a field, which the settings table already does, at the
// price of a dependency the root package may not have.
package confvalue

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Member is one member of a JSON object, in document order.
type Member struct {
	Key string
	Raw json.RawMessage
}

// Object checks that data is a JSON object and returns its members in
// document order, duplicates included. On failure it returns "the
// configuration is …": empty, not valid JSON (with line and column), or not
// an object.
func Object(data []byte) ([]Member, string) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 BOM, as some editors write
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, `the configuration is empty; expected a JSON object such as {"redshift_host": "...", "redshift_database": "...", "redshift_user": "..."}`
	}
	var check json.RawMessage // checks the syntax of the whole document
	if err := json.Unmarshal(data, &check); err != nil {
		return nil, syntaxProblem(data, err)
	}
	if kind := topLevelKind(data); kind != "a JSON object" {
		return nil, fmt.Sprintf("the configuration is %s; expected a JSON object such as {\"redshift_host\": \"...\"}", kind)
	}
	var members []Member
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // '{'
		return nil, syntaxProblem(data, err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxProblem(data, err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntaxProblem(data, err)
		}
		members = append(members, Member{key, raw})
	}
	return members, ""
}

// Value decodes a member's raw value, numbers as json.Number: nil, string,
// json.Number, bool, []any or map[string]any.
func (m Member) Value() (any, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(m.Raw))
	d.UseNumber()
	err := d.Decode(&v)
	return v, err
}

// topLevelKind names the kind of the (valid) JSON document data.
func topLevelKind(data []byte) string {
	switch bytes.TrimLeft(data, " \t\r\n")[0] {
	case '{':
		return "a JSON object"
	case '[':
		return "a JSON array"
	case '"':
		return "a JSON string"
	case 't', 'f':
		return "a JSON boolean"
	case 'n':
		return "null"
	}
	return "a JSON number"
}

// syntaxProblem describes a JSON decoding error with its line and column.
func syntaxProblem(data []byte, err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := lineCol(data, syn.Offset)
		return fmt.Sprintf("the configuration is not valid JSON: line %d, column %d: %v", line, col, syn)
	}
	return fmt.Sprintf("the configuration is not valid JSON: %v", err)
}

// lineCol returns the 1-based line and column (in characters) of the byte
// that a json.SyntaxError's Offset (the bytes read, that byte included)
// points at.
func lineCol(data []byte, offset int64) (line, col int) {
	pos := int(min(max(offset-1, 0), int64(len(data))))
	before := data[:pos]
	line = bytes.Count(before, []byte("\n")) + 1
	lastNL := bytes.LastIndexByte(before, '\n')
	col = utf8.RuneCount(before[lastNL+1:]) + 1
	return line, col
}

// Kind names the kind of a decoded JSON value, for messages ("must be …,
// not a JSON array").
func Kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a JSON string"
	case json.Number, float64:
		return "a JSON number"
	case bool:
		return "a JSON boolean"
	case []any:
		return "a JSON array"
	case map[string]any:
		return "a JSON object"
	}
	return "an unexpected JSON value"
}

// Quote quotes a value for a message, truncated to 40 characters. Never use
// it for a password.
func Quote(s string) string { return QuoteN(s, 40) }

// QuoteN quotes s truncated to max characters.
func QuoteN(s string, max int) string {
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max]) + "…"
	}
	return strconv.Quote(s)
}
