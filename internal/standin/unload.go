// This file holds the UNLOAD statement as the stand-in reads it (issue #16):
// its recognition on sqltok's tokens, its parsing into an Unload, and the
// combinations of options Redshift rejects (r_UNLOAD), with the error the
// client receives. unload_exec.go runs an accepted UNLOAD.

package standin

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/seed2085993a/redshiftsync/internal/standin/sqltok"
)

// Unload is a parsed UNLOAD statement (r_UNLOAD's syntax).
type Unload struct {
	// Select is the query, the value of the quoted literal as Redshift
	// reads it: '' is a quote and a backslash escapes the next character
	// (r_UNLOAD: "put the literal between two sets of single quotation
	// marks"; r_Literals for the backslash).
	Select string
	// Bucket and Prefix are the TO location s3://Bucket/Prefix.
	Bucket, Prefix string

	// Authorization (copy-parameters-authorization): IAMRole (an ARN or
	// "default"), or AccessKeyID and SecretAccessKey (and SessionToken),
	// or Credentials (the credentials-args string).
	IAMRole, AccessKeyID, SecretAccessKey, SessionToken, Credentials string
	hasIAMRole, hasAccessKey, hasSecretKey, hasToken, hasCredentials bool

	// Format is "PARQUET", "CSV", "JSON" or "" (pipe-delimited text).
	Format              string
	Manifest, Verbose   bool
	Header, AddQuotes   bool
	Escape              bool
	AllowOverwrite      bool
	CleanPath           bool
	Delimiter           *string
	FixedWidth          *string
	NullAs              *string
	Encrypted, AutoKey  bool
	KMSKeyID, MasterKey *string
	// Compression is "GZIP", "BZIP2", "ZSTD" or "".
	Compression string
	// Parallel is PARALLEL's value, true by default.
	Parallel bool
	// MaxFileSizeMB and RowGroupSizeMB are MAXFILESIZE and ROWGROUPSIZE in
	// MB (GB converted), 0 when not given.
	MaxFileSizeMB, RowGroupSizeMB float64
	Region                        *string
	Extension                     *string
	PartitionBy                   []string
	PartitionInclude              bool

	// secrets are the byte ranges of the credential literals in the
	// statement's text: what a log line must not show.
	secrets [][2]int
}

// isUnload reports whether the tokens of one statement are an UNLOAD.
func isUnload(st []sqltok.Token) bool { return len(st) > 0 && st[0].Is("unload") }

// unloadReject is a rejection of an UNLOAD statement. Messages marked † in
// doc.go are the stand-in's own (AWS documents which combinations fail,
// not the words): they name the rule and the page.
func unloadReject(rule, code, msg string) *Rejection {
	return &Rejection{Rule: rule, Code: code, Message: msg}
}

// conflict is the rejection of two options r_UNLOAD says cannot be used
// together.
func conflict(a, b string) *Rejection {
	return unloadReject("UNLOAD option conflict", "0A000", fmt.Sprintf("UNLOAD: %s cannot be used with %s (r_UNLOAD)", a, b))
}

// stringValue returns the value of a string literal token as Redshift
// reads it: quotes doubled, and backslash escapes (as PostgreSQL's E'…').
func stringValue(t sqltok.Token) string {
	v := t.Value
	if len(v) > 0 && (v[0] == 'e' || v[0] == 'E') {
		v = v[1:]
	}
	if len(v) < 2 {
		return ""
	}
	return unescape(v[1 : len(v)-1])
}

// unescape undoes ” and the backslash escapes of an E'…' string body:
// \b \f \n \r \t, octal \o \oo \ooo, hexadecimal \xh \xhh, \uXXXX,
// \UXXXXXXXX, and \c for any other c.
func unescape(s string) string {
	if !strings.ContainsAny(s, `\'`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' && i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch d := s[i]; d {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x':
			j := i + 1
			for j < len(s) && j < i+3 && isHex(s[j]) {
				j++
			}
			if j == i+1 {
				b.WriteByte('x')
				continue
			}
			n, _ := strconv.ParseUint(s[i+1:j], 16, 8)
			b.WriteByte(byte(n))
			i = j - 1
		case 'u', 'U':
			n := 4
			if d == 'U' {
				n = 8
			}
			if i+n < len(s) {
				if r, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32); err == nil && utf8.ValidRune(rune(r)) {
					b.WriteRune(rune(r))
					i += n
					continue
				}
			}
			b.WriteByte(d)
		default:
			if d >= '0' && d <= '7' {
				j := i
				for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
					j++
				}
				n, _ := strconv.ParseUint(s[i:j], 8, 16)
				b.WriteByte(byte(n))
				i = j - 1
				continue
			}
			b.WriteByte(d)
		}
	}
	return b.String()
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// parseUnload parses the tokens of one UNLOAD statement of text sql and
// checks it against r_UNLOAD's rules; it returns the statement, or the
// rejection Redshift answers.
func parseUnload(sql string, st []sqltok.Token) (*Unload, *Rejection) {
	u := &Unload{Parallel: true}
	i := 1
	at := func(k int) sqltok.Token {
		if k < len(st) {
			return st[k]
		}
		return sqltok.Token{}
	}
	syntax := func(k int) *Rejection {
		if k >= len(st) {
			return &Rejection{Rule: "UNLOAD syntax", Code: "42601", Message: "syntax error at end of input", Position: utf8.RuneCountInString(sql) + 1}
		}
		return syntaxError("UNLOAD syntax", sql, st[k])
	}
	// ('select-statement')
	if !at(i).IsPunct("(") {
		return nil, syntax(i)
	}
	if at(i+1).Kind != sqltok.String {
		return nil, syntax(i + 1)
	}
	u.Select = stringValue(st[i+1])
	if !at(i + 2).IsPunct(")") {
		return nil, syntax(i + 2)
	}
	i += 3
	// TO 's3://object-path/name-prefix'
	if !at(i).Is("to") {
		return nil, syntax(i)
	}
	if at(i+1).Kind != sqltok.String {
		return nil, syntax(i + 1)
	}
	to := stringValue(st[i+1])
	rest, ok := strings.CutPrefix(to, "s3://")
	bucket, prefix, _ := strings.Cut(rest, "/")
	if !ok || bucket == "" {
		// r_UNLOAD: TO is "the full path, including bucket name, to the
		// location on Amazon S3".
		return nil, unloadReject("UNLOAD TO", "XX000", fmt.Sprintf("UNLOAD: TO %q is not an Amazon S3 location: give s3://bucket/name-prefix (r_UNLOAD)", to))
	}
	u.Bucket, u.Prefix = bucket, prefix
	i += 2

	seen := map[string]bool{}
	once := func(name string) *Rejection {
		if seen[name] {
			return unloadReject("UNLOAD option twice", "42601", "conflicting or redundant options: "+name+" is given twice")
		}
		seen[name] = true
		return nil
	}
	str := func(k int) (string, bool) {
		if at(k).Kind != sqltok.String {
			return "", false
		}
		return stringValue(st[k]), true
	}
	// optAs skips an optional AS.
	optAs := func(k int) int {
		if at(k).Is("as") {
			return k + 1
		}
		return k
	}
	size := func(k int) (mb float64, next int, ok bool) {
		k = optAs(k)
		if at(k).Kind != sqltok.Number {
			return 0, k, false
		}
		v, err := strconv.ParseFloat(at(k).Value, 64)
		if err != nil {
			return 0, k, false
		}
		k++
		switch {
		case at(k).Is("gb"):
			v *= 1024
			k++
		case at(k).Is("mb"):
			k++
		}
		return v, k, true
	}
	for i < len(st) {
		t := st[i]
		if t.Kind != sqltok.Ident {
			return nil, syntax(i)
		}
		name := strings.ToUpper(t.Value)
		if name == "WITH" && at(i+1).Is("credentials") {
			i++
			name = "CREDENTIALS"
		}
		if name == "FORMAT" {
			i = optAs(i + 1)
			if at(i).Kind != sqltok.Ident {
				return nil, syntax(i)
			}
			name = strings.ToUpper(at(i).Value)
			if name != "CSV" && name != "PARQUET" && name != "JSON" {
				return nil, syntax(i)
			}
		}
		if r := once(name); r != nil {
			return nil, r
		}
		switch name {
		case "CSV", "PARQUET", "JSON":
			if u.Format != "" {
				return nil, unloadReject("UNLOAD option twice", "42601", "conflicting or redundant options: FORMAT "+u.Format+" and "+name)
			}
			u.Format = name
			i++
		case "IAM_ROLE":
			u.hasIAMRole = true
			if at(i + 1).Is("default") {
				u.IAMRole = "default"
				i += 2
				continue
			}
			v, ok := str(i + 1)
			if !ok {
				return nil, syntax(i + 1)
			}
			u.IAMRole = v
			u.secrets = append(u.secrets, [2]int{st[i+1].Start, st[i+1].End})
			i += 2
		case "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN":
			v, ok := str(i + 1)
			if !ok {
				return nil, syntax(i + 1)
			}
			u.secrets = append(u.secrets, [2]int{st[i+1].Start, st[i+1].End})
			switch name {
			case "ACCESS_KEY_ID":
				u.AccessKeyID, u.hasAccessKey = v, true
			case "SECRET_ACCESS_KEY":
				u.SecretAccessKey, u.hasSecretKey = v, true
			default:
				u.SessionToken, u.hasToken = v, true
			}
			i += 2
		case "CREDENTIALS":
			k := optAs(i + 1)
			v, ok := str(k)
			if !ok {
				return nil, syntax(k)
			}
			u.Credentials, u.hasCredentials = v, true
			u.secrets = append(u.secrets, [2]int{st[k].Start, st[k].End})
			i = k + 1
		case "PARTITION":
			if !at(i+1).Is("by") || !at(i+2).IsPunct("(") {
				return nil, syntax(i + 1)
			}
			end := sqltok.Match(st, i+2)
			if end < 0 {
				return nil, syntax(len(st))
			}
			for k := i + 3; k < end; k++ {
				if isName(st[k]) {
					u.PartitionBy = append(u.PartitionBy, st[k].Value)
				} else if !st[k].IsPunct(",") {
					return nil, syntax(k)
				}
			}
			i = end + 1
			if at(i).Is("include") {
				u.PartitionInclude = true
				i++
			}
		case "MANIFEST":
			u.Manifest = true
			i++
			if at(i).Is("verbose") {
				u.Verbose = true
				i++
			}
		case "HEADER":
			u.Header = true
			i++
		case "DELIMITER", "FIXEDWIDTH", "NULL", "KMS_KEY_ID", "MASTER_SYMMETRIC_KEY", "REGION", "EXTENSION":
			k := i + 1
			if name != "KMS_KEY_ID" && name != "MASTER_SYMMETRIC_KEY" && name != "EXTENSION" {
				k = optAs(k)
			}
			v, ok := str(k)
			if !ok {
				return nil, syntax(k)
			}
			switch name {
			case "DELIMITER":
				u.Delimiter = &v
			case "FIXEDWIDTH":
				u.FixedWidth = &v
			case "NULL":
				u.NullAs = &v
			case "KMS_KEY_ID":
				u.KMSKeyID = &v
			case "MASTER_SYMMETRIC_KEY":
				u.MasterKey = &v
				u.secrets = append(u.secrets, [2]int{st[k].Start, st[k].End})
			case "REGION":
				u.Region = &v
			default:
				u.Extension = &v
			}
			i = k + 1
		case "ENCRYPTED":
			u.Encrypted = true
			i++
			if at(i).Is("auto") {
				u.AutoKey = true
				i++
			}
		case "GZIP", "BZIP2", "ZSTD":
			if u.Compression != "" {
				return nil, conflict(u.Compression, name)
			}
			u.Compression = name
			i++
		case "ADDQUOTES":
			u.AddQuotes = true
			i++
		case "ESCAPE":
			u.Escape = true
			i++
		case "ALLOWOVERWRITE":
			u.AllowOverwrite = true
			i++
		case "CLEANPATH":
			u.CleanPath = true
			i++
		case "PARALLEL":
			i++
			switch {
			case at(i).Is("on") || at(i).Is("true"):
				i++
			case at(i).Is("off") || at(i).Is("false"):
				u.Parallel = false
				i++
			}
		case "MAXFILESIZE", "ROWGROUPSIZE":
			v, next, ok := size(i + 1)
			if !ok {
				return nil, syntax(next)
			}
			if name == "MAXFILESIZE" {
				u.MaxFileSizeMB = v
			} else {
				u.RowGroupSizeMB = v
			}
			i = next
		default:
			return nil, syntax(i)
		}
	}
	if r := u.check(); r != nil {
		return nil, r
	}
	return u, nil
}

// check applies r_UNLOAD's (and copy-parameters-authorization's) rules on
// which options go together.
func (u *Unload) check() *Rejection {
	// Authorization: one form (copy-parameters-authorization; r_UNLOAD's
	// IAM_ROLE: "you can't use ACCESS_KEY_ID and SECRET_ACCESS_KEY,
	// SESSION_TOKEN, or CREDENTIALS").
	keys := u.hasAccessKey || u.hasSecretKey || u.hasToken
	switch {
	case u.hasIAMRole && keys:
		return conflict("IAM_ROLE", "ACCESS_KEY_ID, SECRET_ACCESS_KEY or SESSION_TOKEN")
	case u.hasIAMRole && u.hasCredentials:
		return conflict("IAM_ROLE", "CREDENTIALS")
	case u.hasCredentials && keys:
		return conflict("CREDENTIALS", "ACCESS_KEY_ID, SECRET_ACCESS_KEY or SESSION_TOKEN")
	case keys && !(u.hasAccessKey && u.hasSecretKey):
		return unloadReject("UNLOAD authorization", "XX000", "UNLOAD: ACCESS_KEY_ID and SECRET_ACCESS_KEY must be given together (copy-parameters-authorization)")
	case !u.hasIAMRole && !keys && !u.hasCredentials:
		return unloadReject("UNLOAD authorization", "XX000", "UNLOAD: no authorization: give IAM_ROLE, ACCESS_KEY_ID and SECRET_ACCESS_KEY, or CREDENTIALS (copy-parameters-authorization)")
	}
	if u.hasIAMRole && u.IAMRole != "default" {
		for _, arn := range strings.Split(u.IAMRole, ",") {
			if !strings.HasPrefix(arn, "arn:aws") || !strings.Contains(arn, ":role/") {
				return unloadReject("UNLOAD authorization", "XX000", "UNLOAD: IAM_ROLE is not a role ARN (arn:aws:iam::<account-id>:role/<role-name>) (copy-parameters-authorization)")
			}
		}
	}
	if u.hasCredentials {
		if r := checkCredentials(u.Credentials); r != nil {
			return r
		}
	}
	// Formats (r_UNLOAD, FORMAT): "You can't use CSV with FIXEDWIDTH. You
	// can't use PARQUET with DELIMITER, FIXEDWIDTH, ADDQUOTES, ESCAPE, NULL
	// AS, HEADER, GZIP, BZIP2, or ZSTD. PARQUET with ENCRYPTED is only
	// supported with server-side encryption with an AWS Key Management
	// Service key (SSE-KMS). You can't use JSON with DELIMITER, HEADER,
	// FIXEDWIDTH, ADDQUOTES, ESCAPE, or NULL AS."
	type opt struct {
		on   bool
		name string
	}
	textOnly := []opt{{u.Delimiter != nil, "DELIMITER"}, {u.FixedWidth != nil, "FIXEDWIDTH"}, {u.AddQuotes, "ADDQUOTES"},
		{u.Escape, "ESCAPE"}, {u.NullAs != nil, "NULL AS"}, {u.Header, "HEADER"}}
	switch u.Format {
	case "CSV":
		if u.FixedWidth != nil {
			return conflict("CSV", "FIXEDWIDTH")
		}
	case "PARQUET":
		for _, o := range append(textOnly, opt{u.Compression != "", u.Compression}) {
			if o.on {
				return conflict("PARQUET", o.name)
			}
		}
		if u.Encrypted && u.KMSKeyID == nil && !u.AutoKey {
			return unloadReject("UNLOAD option conflict", "0A000", "UNLOAD: PARQUET with ENCRYPTED is only supported with server-side encryption with an AWS KMS key (KMS_KEY_ID) (r_UNLOAD)")
		}
		if u.MasterKey != nil {
			return conflict("PARQUET", "MASTER_SYMMETRIC_KEY")
		}
	case "JSON":
		for _, o := range textOnly {
			if o.on {
				return conflict("JSON", o.name)
			}
		}
	}
	// r_UNLOAD, HEADER: "You can't use HEADER with FIXEDWIDTH"; DELIMITER:
	// "You can't use DELIMITER with FIXEDWIDTH".
	if u.FixedWidth != nil && u.Delimiter != nil {
		return conflict("FIXEDWIDTH", "DELIMITER")
	}
	if u.FixedWidth != nil && u.Header {
		return conflict("FIXEDWIDTH", "HEADER")
	}
	// r_UNLOAD, CLEANPATH: "You can't specify the CLEANPATH option if you
	// specify the ALLOWOVERWRITE option."
	if u.CleanPath && u.AllowOverwrite {
		return conflict("CLEANPATH", "ALLOWOVERWRITE")
	}
	// r_UNLOAD, KMS_KEY_ID / MASTER_SYMMETRIC_KEY / ENCRYPTED AUTO.
	if u.KMSKeyID != nil && !u.Encrypted {
		return unloadReject("UNLOAD option conflict", "0A000", "UNLOAD: KMS_KEY_ID requires ENCRYPTED (r_UNLOAD)")
	}
	if u.MasterKey != nil && !u.Encrypted {
		return unloadReject("UNLOAD option conflict", "0A000", "UNLOAD: MASTER_SYMMETRIC_KEY requires ENCRYPTED (r_UNLOAD)")
	}
	if u.KMSKeyID != nil && u.hasCredentials {
		return conflict("KMS_KEY_ID", "CREDENTIALS")
	}
	if u.MasterKey != nil && u.hasCredentials {
		return conflict("MASTER_SYMMETRIC_KEY", "CREDENTIALS")
	}
	if u.AutoKey && (u.KMSKeyID != nil || u.MasterKey != nil) {
		return conflict("ENCRYPTED AUTO", "KMS_KEY_ID or MASTER_SYMMETRIC_KEY")
	}
	// r_UNLOAD, MAXFILESIZE: "a decimal value between 5 MB and 6.2 GB".
	if u.MaxFileSizeMB != 0 && (u.MaxFileSizeMB < 5 || u.MaxFileSizeMB > 6.2*1024) {
		return unloadReject("UNLOAD MAXFILESIZE", "XX000", fmt.Sprintf("UNLOAD: MAXFILESIZE %g MB is out of range: give a value between 5 MB and 6.2 GB (r_UNLOAD)", u.MaxFileSizeMB))
	}
	// r_UNLOAD, ROWGROUPSIZE: "an integer value between 32 MB and 128 MB
	// … the storage format must be Parquet".
	if u.RowGroupSizeMB != 0 {
		if u.Format != "PARQUET" {
			return unloadReject("UNLOAD ROWGROUPSIZE", "0A000", "UNLOAD: ROWGROUPSIZE requires FORMAT PARQUET (r_UNLOAD)")
		}
		if u.RowGroupSizeMB != float64(int64(u.RowGroupSizeMB)) || u.RowGroupSizeMB < 32 || u.RowGroupSizeMB > 128 {
			return unloadReject("UNLOAD ROWGROUPSIZE", "XX000", fmt.Sprintf("UNLOAD: ROWGROUPSIZE %g MB is out of range: give an integer between 32 MB and 128 MB (r_UNLOAD)", u.RowGroupSizeMB))
		}
	}
	return nil
}

// checkCredentials checks a CREDENTIALS string (copy-parameters-authorization:
// 'aws_iam_role=arn' or 'aws_access_key_id=…;aws_secret_access_key=…[;token=…]',
// optionally with master_symmetric_key=…). The error never shows the
// string.
func checkCredentials(c string) *Rejection {
	fields := map[string]bool{}
	for _, part := range strings.Split(c, ";") {
		k, _, ok := strings.Cut(part, "=")
		if !ok {
			return unloadReject("UNLOAD authorization", "XX000", "UNLOAD: CREDENTIALS is not a list of key=value pairs separated by ';' (copy-parameters-authorization)")
		}
		fields[strings.ToLower(strings.TrimSpace(k))] = true
	}
	role := fields["aws_iam_role"]
	keys := fields["aws_access_key_id"] || fields["aws_secret_access_key"] || fields["token"]
	switch {
	case role && keys:
		return conflict("aws_iam_role", "aws_access_key_id, aws_secret_access_key or token in CREDENTIALS")
	case keys && !(fields["aws_access_key_id"] && fields["aws_secret_access_key"]):
		return unloadReject("UNLOAD authorization", "XX000", "UNLOAD: CREDENTIALS needs both aws_access_key_id and aws_secret_access_key (copy-parameters-authorization)")
	case !role && !keys:
		return unloadReject("UNLOAD authorization", "XX000", "UNLOAD: CREDENTIALS names neither aws_iam_role nor aws_access_key_id and aws_secret_access_key (copy-parameters-authorization)")
	}
	return nil
}

// redact returns sql with the credential literals of u replaced by '***',
// for logs.
func (u *Unload) redact(sql string) string {
	if u == nil {
		return redactUnload(sql)
	}
	var b strings.Builder
	last := 0
	for _, r := range u.secrets {
		b.WriteString(sql[last:r[0]])
		b.WriteString("'***'")
		last = r[1]
	}
	b.WriteString(sql[last:])
	return b.String()
}

// redactUnload hides every string literal after TO in an UNLOAD text that
// did not parse (so no credential it may hold reaches a log).
func redactUnload(sql string) string {
	toks, err := sqltok.TokenizeRedshift(sql)
	if err != nil {
		return "UNLOAD … (not shown: it did not lex, and may hold credentials)"
	}
	var b strings.Builder
	last, afterTo := 0, false
	for _, t := range toks {
		if t.Is("to") {
			afterTo = true
		}
		if afterTo && t.Kind == sqltok.String {
			b.WriteString(sql[last:t.Start])
			b.WriteString("'***'")
			last = t.End
		}
	}
	b.WriteString(sql[last:])
	return b.String()
}

// outerLimit returns the index of a LIMIT at the outermost level of the
// query's tokens, or -1. r_UNLOAD, "Limit clause": "The SELECT query can't
// use a LIMIT clause in the outer SELECT."
func outerLimit(toks []sqltok.Token) int {
	depth := 0
	for i, t := range toks {
		switch {
		case t.IsPunct("(") || t.IsPunct("["):
			depth++
		case t.IsPunct(")") || t.IsPunct("]"):
			depth--
		case depth == 0 && t.Is("limit"):
			return i
		}
	}
	return -1
}
