// This file holds the checks of row constructors (which Redshift rejects
// outside VALUES) and of whether a statement reads tables, CREATE TABLE's
// column types, and SET/RESET's parameters.

package standin

import (
	"strconv"
	"strings"

	"github.com/seed2085993a/redshiftsync/internal/standin/sqltok"
)

// checkCreateTable rejects a CREATE TABLE whose column has a type Redshift
// does not have (c_unsupported-postgresql-datatypes), as Redshift words it:
// Column "table.column" has unsupported type "serial" (reported:
// salsita/node-pg-migrate#767; its SQLSTATE is not, 0A000 is the
// stand-in's).
func checkCreateTable(sql string, st []sqltok.Token) *Rejection {
	i := 1
	for i < len(st) && !st[i].Is("table") {
		if !(st[i].Is("temp") || st[i].Is("temporary") || st[i].Is("local")) {
			return nil
		}
		i++
	}
	var table string
	for i++; i < len(st) && !st[i].IsPunct("("); i++ {
		if isName(st[i]) && !st[i].Is("if") && !st[i].Is("not") && !st[i].Is("exists") {
			table = st[i].Value
		}
	}
	end := -1
	if i < len(st) {
		end = sqltok.Match(st, i)
	}
	if end < 0 {
		return nil
	}
	item := i + 1 // first token of the current column or constraint
	for j := i + 1; j <= end; j++ {
		if st[j].IsPunct("(") || st[j].IsPunct("[") {
			if k := sqltok.Match(st, j); k > 0 && k < end {
				j = k
				continue
			}
		}
		if !(st[j].IsPunct(",") || j == end) {
			continue
		}
		if j-item >= 2 && isName(st[item]) && st[item+1].Kind == sqltok.Ident && badTypes[st[item+1].Value] &&
			!(st[item].Kind == sqltok.Ident && (keywords[st[item].Value] || st[item].Is("primary") || st[item].Is("unique") ||
				st[item].Is("constraint") || st[item].Is("foreign") || st[item].Is("check") || st[item].Is("like"))) {
			return &Rejection{Rule: "CREATE TABLE with a type Redshift lacks", Code: "0A000",
				Message: `Column "` + table + "." + st[item].Value + `" has unsupported type "` + st[item+1].Value + `".`}
		}
		item = j + 1
	}
	return nil
}

// intervalParam is the rejection of a bound parameter cast to INTERVAL: an
// interval is a literal of the statement's text, "the INTERVAL keyword with
// a numeric quantity and a supported date part" (r_interval_literals), and
// Redshift answers a parameter where it needs a constant with an internal
// "Not implemented" (reported for LIMIT $1, 'IsA(cons, Const)':
// aws/amazon-redshift-python-driver#24).
func intervalParam() *Rejection {
	return &Rejection{Rule: "bound INTERVAL parameter", Code: "XX000", Message: "Not implemented"}
}

// rowError is the rejection of a row constructor that starts at st[i].
func rowError(sql string, st []sqltok.Token, i int) *Rejection {
	// In a select list Redshift names the construct; elsewhere (a row
	// comparison) the 8.0.2 grammar it keeps would compare element by
	// element, which is not what a PostgreSQL 8.2+ query means, and its
	// compute nodes have no row type.
	inList := false
	for j := i - 1; j >= 0; j-- {
		if st[j].Is("select") {
			inList = true
			break
		}
		if st[j].Is("from") || st[j].Is("where") || st[j].Is("on") || st[j].Is("having") || st[j].Is("when") {
			break
		}
	}
	if inList {
		return &Rejection{Rule: "row constructor", Code: "0A000", Message: "ROW expression, implicit or explicit, is not supported in target list", Position: pos(sql, st[i].Start)}
	}
	return &Rejection{Rule: "row comparison", Code: "0A000", Message: "row value constructors and row comparisons are not supported", Position: pos(sql, st[i].Start)}
}

// rowConstructor returns the rejection of the parenthesised list at st[i]
// when it is an implicit row constructor: it has a comma at its own level,
// is not a subquery, and stands where an expression does (after an
// operator or one of rowContext, or before a comparison).
func rowConstructor(sql string, st []sqltok.Token, i int, selectCommas []bool) *Rejection {
	end := sqltok.Match(st, i)
	if end < 0 || i+1 >= len(st) || st[i+1].Is("select") || st[i+1].Is("with") || st[i+1].Is("values") {
		return nil
	}
	comma := false
	for j := i + 1; j < end; j++ {
		if st[j].IsPunct("(") || st[j].IsPunct("[") {
			if k := sqltok.Match(st, j); k > 0 {
				j = k
				continue
			}
			return nil
		}
		if st[j].IsPunct(",") {
			comma = true
			break
		}
	}
	if !comma {
		return nil
	}
	var prev sqltok.Token
	if i > 0 {
		prev = st[i-1]
	}
	var next sqltok.Token
	if end+1 < len(st) {
		next = st[end+1]
	}
	if isName(prev) && !(prev.Kind == sqltok.Ident && keywords[prev.Value]) {
		return nil // arguments of a function, columns of a table or alias, a type's modifiers
	}
	switch {
	case next.Kind == sqltok.Op && comparisons[next.Value]:
	case prev.Kind == sqltok.Op && prev.Value != "::":
	case prev.Kind == sqltok.Ident && rowContext[prev.Value]:
	case prev.IsPunct("(") && i >= 2 && !isName(st[i-2]):
	case prev.IsPunct(",") && selectCommas[i-1]:
	default:
		return nil
	}
	return rowError(sql, st, i)
}

// selectListCommas returns, per token of st, whether it is a comma that
// separates items of a select list (not of a VALUES list, arguments, or
// columns): the nearest keyword before it at its own bracket level is
// SELECT or DISTINCT. One pass, so that a long VALUES list (fixtures of
// thousands of rows) costs linear time, not a backward scan per row.
func selectListCommas(st []sqltok.Token) []bool {
	out := make([]bool, len(st))
	last := []string{""} // the last keyword at each open bracket level
	for i, t := range st {
		switch {
		case t.IsPunct("(") || t.IsPunct("["):
			last = append(last, "")
		case t.IsPunct(")") || t.IsPunct("]"):
			if len(last) > 1 {
				last = last[:len(last)-1]
			}
		case t.Kind == sqltok.Ident && keywords[t.Value]:
			last[len(last)-1] = t.Value
		case t.IsPunct(","):
			k := last[len(last)-1]
			out[i] = k == "select" || k == "distinct"
		}
	}
	return out
}

// readsTables reports whether a statement references a user table or a
// Redshift system table (STL, STV, SVL, SVV), which makes Redshift run it
// on the compute nodes (c_SQL_functions_leader_node_only): a name after
// FROM, JOIN, INTO or UPDATE that is not a catalog table (pg_*,
// information_schema) and not a function.
func readsTables(st []sqltok.Token) bool {
	for i := 0; i+1 < len(st); i++ {
		if !(st[i].Is("from") || st[i].Is("join") || st[i].Is("into") || st[i].Is("update")) {
			continue
		}
		j := i + 1
		if !isName(st[j]) {
			continue
		}
		name := st[j].Value
		if j+2 < len(st) && st[j+1].IsPunct(".") && isName(st[j+2]) {
			if name == "pg_catalog" || name == "information_schema" {
				continue
			}
			name = st[j+2].Value
			j += 2
		}
		if j+1 < len(st) && st[j+1].IsPunct("(") {
			continue // a function in FROM
		}
		if strings.HasPrefix(name, "pg_") && st[i+1].Kind == sqltok.Ident {
			continue
		}
		return true
	}
	return false
}

// checkSet checks SET and RESET against Redshift's parameters.
func checkSet(sql string, st []sqltok.Token) *Rejection {
	i := 1
	if i < len(st) && (st[i].Is("session") || st[i].Is("local")) && i+1 < len(st) && !st[i+1].IsPunct("=") && !st[i+1].Is("to") {
		if st[i].Is("session") && i+1 < len(st) && (st[i+1].Is("authorization") || st[i+1].Is("characteristics")) {
			return nil
		}
		i++
	}
	if i >= len(st) || !isName(st[i]) {
		return nil
	}
	name := st[i].Value
	if name == "time" && i+1 < len(st) && st[i+1].Is("zone") {
		return nil
	}
	if st[0].Is("reset") && name == "all" {
		return nil
	}
	if !settings[name] {
		return &Rejection{Rule: "SET of a parameter Redshift lacks", Code: "42704", Message: `unrecognized configuration parameter "` + name + `"`}
	}
	if name == "extra_float_digits" && i+2 < len(st) {
		v := st[i+2]
		sign := 1
		if v.IsPunct("-") && i+3 < len(st) {
			sign, v = -1, st[i+3]
		}
		if n, err := strconv.Atoi(v.Value); err == nil && v.Kind == sqltok.Number && (sign*n > 2 || sign*n < -15) {
			// r_extra_float_digits: "-15 to 2".
			return &Rejection{Rule: "extra_float_digits above 2", Code: "22023",
				Message: strconv.Itoa(sign*n) + ` is outside the valid range for parameter "extra_float_digits" (-15 .. 2)`}
		}
	}
	return nil
}
