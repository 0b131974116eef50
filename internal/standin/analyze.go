// This file holds the analysis of one SQL text the client sends: which
// Redshift rule rejects it (with Redshift's error); names.go holds the
// names it checks against, rowcheck.go the checks of row constructors,
// CREATE TABLE and SET, and rewrite.go how an accepted text is rewritten
// for the upstream PostgreSQL.

package standin

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/seed2085993a/redshiftsync/internal/standin/sqltok"
)

// Schema is the schema the stand-in creates in every upstream database it
// serves: Redshift's functions and system views, computed from the upstream
// catalog (see catalog.go).
const Schema = "redshift_standin"

// missingSchema is an empty schema: a call of a function Redshift does not
// have is sent as missingSchema.name(...), so that PostgreSQL reports
// "function missingSchema.name(argument types) does not exist" with the
// argument types resolved, and the relay drops the schema from the message.
const missingSchema = "redshift_standin_missing"

// Rejection is the error Redshift answers a statement with.
type Rejection struct {
	// Rule names the rule (a row of the godoc table).
	Rule string
	// Code is the SQLSTATE, Message the primary message.
	Code, Message string
	// Position is the 1-based character offset of the error in the
	// statement, as PostgreSQL reports it; 0 for none.
	Position int
	// Info holds the INFO notices Redshift sends before the error (one per
	// unsupported function or type).
	Info []string
}

// Result is the outcome of Analyze.
type Result struct {
	// SQL is the text to send upstream: the client's, rewritten.
	SQL string
	// Reject is non-nil when Redshift rejects the text.
	Reject *Rejection
	// FloatDigits is the extra_float_digits the text sets (SET or RESET),
	// nil when it sets none: the relay renders floats with it.
	FloatDigits *int
}

// Analyze checks and rewrites one SQL text (a Query message's, possibly
// several statements, or a Parse message's). A text that does not lex (an
// unterminated quote) is sent as it is: the upstream reports the syntax
// error.
func Analyze(sql string) Result {
	toks, err := sqltok.TokenizeRedshift(sql)
	if err != nil {
		return Result{SQL: sql}
	}
	for _, st := range sqltok.Statements(toks) {
		if r := check(sql, st); r != nil {
			return Result{SQL: sql, Reject: r}
		}
	}
	return Result{SQL: rewrite(sql, toks), FloatDigits: floatDigits(toks)}
}

// floatDigits returns the last extra_float_digits a text's SET or RESET
// statements give, or nil.
func floatDigits(toks []sqltok.Token) *int {
	var out *int
	for _, st := range sqltok.Statements(toks) {
		i := 1
		if len(st) > 1 && (st[1].Is("session") || st[1].Is("local")) {
			i = 2
		}
		if len(st) <= i || !st[i].Is("extra_float_digits") {
			continue
		}
		switch {
		case st[0].Is("reset"):
			n := 0
			out = &n
		case st[0].Is("set") && len(st) > i+2 && (st[i+1].Is("to") || st[i+1].IsPunct("=")):
			v, sign := st[i+2], 1
			if v.IsPunct("-") && len(st) > i+3 {
				v, sign = st[i+3], -1
			}
			if n, err := strconv.Atoi(strings.Trim(v.Value, "'")); err == nil {
				n *= sign
				out = &n
			}
		}
	}
	return out
}

// pos returns the 1-based character position of byte offset off.
func pos(sql string, off int) int { return utf8.RuneCountInString(sql[:off]) + 1 }

func syntaxError(rule, sql string, t sqltok.Token) *Rejection {
	return &Rejection{Rule: rule, Code: "42601", Message: `syntax error at or near "` + sql[t.Start:t.End] + `"`, Position: pos(sql, t.Start)}
}

// notOnTables is Redshift's error for functions and types that its compute
// nodes lack, in a statement that reads a user table or a system table (see
// the table in doc.go).
func notOnTables(rule string, info ...string) *Rejection {
	return &Rejection{Rule: rule, Code: "0A000", Message: "Specified types or functions (one per INFO message) not supported on Redshift tables.", Info: info}
}

// check returns the Rejection of one statement, or nil.
func check(sql string, st []sqltok.Token) *Rejection {
	at := func(i int) sqltok.Token {
		if i < 0 || i >= len(st) {
			return sqltok.Token{}
		}
		return st[i]
	}
	if st[0].Is("copy") {
		for i := range st {
			if (st[i].Is("from") || st[i].Is("to")) && (at(i+1).Is("stdin") || at(i+1).Is("stdout")) {
				if st[i].Is("to") {
					return syntaxError("COPY TO", sql, st[i])
				}
				// r_COPY: only Amazon S3, EMR, DynamoDB and remote hosts
				// over SSH are data sources; STDIN is not in the grammar
				// (reported: darwin-eu/CDMConnector#38, 'syntax error at
				// or near "STDIN"').
				return syntaxError("COPY FROM STDIN", sql, st[i+1])
			}
		}
	}
	if st[0].Is("set") || st[0].Is("reset") {
		if r := checkSet(sql, st); r != nil {
			return r
		}
	}
	if st[0].Is("create") {
		if r := checkCreateTable(sql, st); r != nil {
			return r
		}
	}
	onTables := readsTables(st)
	var info []string
	var selectCommas []bool // selectListCommas(st), computed at the first "("
	for i, t := range st {
		switch {
		case t.Is("distinct") && at(i+1).Is("on") && at(i+2).IsPunct("(") && at(i-1).Is("select"):
			// c_unsupported-postgresql-features has no DISTINCT ON in
			// Redshift's SELECT (r_SELECT_list); the error is reported
			// (jakob/Postico#420, jazzband/django-redshift-backend#14).
			return &Rejection{Rule: "SELECT DISTINCT ON", Code: "0A000", Message: "SELECT DISTINCT ON is not supported"}
		case t.Is("is") && (at(i+1).Is("distinct") || at(i+1).Is("not") && at(i+2).Is("distinct")) && onTables:
			// c_unsupported-postgresql-functions lists IS DISTINCT FROM;
			// on the leader node (no table) it answers, on the compute
			// nodes Redshift's code generation fails (jakob/Postico#446:
			// "Not implemented", location cg_expr.cpp).
			return &Rejection{Rule: "IS DISTINCT FROM", Code: "XX000", Message: "Not implemented"}
		case (t.Is("any") || t.Is("some")) && at(i+1).IsPunct("(") && at(i-1).Kind == sqltok.Op && at(i-1).Value != "=":
			// r_comparison_condition: ANY and SOME take = only (reported:
			// jOOQ/jOOQ#18394, SQLSTATE 0A000).
			return &Rejection{Rule: "ANY or SOME with an operator but =", Code: "0A000",
				Message: "ANY or SOME with <, >, <=, >=, <>, or != comparison condition is not supported"}
		case t.Is("cast") && at(i+1).IsPunct("("):
			if at(i+2).Kind == sqltok.Param && at(i+3).Is("as") && at(i+4).Is("interval") {
				return intervalParam()
			}
			if end := sqltok.Match(st, i+1); end > 0 {
				if n := at(end - 1); n.Kind == sqltok.Ident && badTypes[n.Value] && at(end-2).Is("as") {
					return &Rejection{Rule: "unsupported type", Code: "42704", Message: `type "` + n.Value + `" does not exist`, Position: pos(sql, n.Start)}
				}
			}
		case t.Is("on") && at(i+1).Is("conflict"):
			return syntaxError("ON CONFLICT", sql, t)
		case t.Is("filter") && at(i-1).IsPunct(")") && at(i+1).IsPunct("(") && at(i+2).Is("where"):
			// FILTER is no keyword of Redshift's grammar: it reads as the
			// column's alias, and the "(" after it is the error (reported:
			// AgamiAI/agami-core#325, 'syntax error at or near "("').
			return syntaxError("FILTER (WHERE ...)", sql, at(i+1))
		case t.Is("lateral") && (at(i+1).IsPunct("(") || isName(at(i+1))) && (at(i-1).Is("join") || at(i-1).IsPunct(",") || at(i-1).Is("from")):
			return syntaxError("LATERAL", sql, at(i+1))
		case t.Is("row") && at(i+1).IsPunct("(") && !at(i-1).IsPunct("."):
			return rowError(sql, st, i)
		case t.IsPunct("("):
			if selectCommas == nil {
				selectCommas = selectListCommas(st)
			}
			if r := rowConstructor(sql, st, i, selectCommas); r != nil {
				return r
			}
		case t.Is("array") && at(i+1).IsPunct("[") && onTables:
			info = append(info, `Function "array" not supported.`)
		case t.IsPunct("::"):
			if n := at(i + 1); n.Kind == sqltok.Ident && badTypes[n.Value] {
				return &Rejection{Rule: "unsupported type", Code: "42704", Message: `type "` + n.Value + `" does not exist`, Position: pos(sql, n.Start)}
			}
			if at(i-1).Kind == sqltok.Param && at(i+1).Is("interval") {
				return intervalParam()
			}
		case t.Kind == sqltok.Ident && at(i+1).IsPunct("(") && !at(i-1).IsPunct(".") && onTables:
			if leaderOnly[t.Value] {
				info = append(info, `Function "`+t.Value+`()" not supported.`)
			} else if unsupported[t.Value] {
				info = append(info, `Function "`+t.Value+`()" not supported.`)
			}
		}
	}
	if len(info) > 0 {
		return notOnTables("function not supported on tables", info...)
	}
	return nil
}
