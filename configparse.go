// This file reads a configuration file: the JSON object of the example
// connector's configuration.json, each key looked up in the settings table,
// every problem reported at once.

package redshiftsync

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seed2085993a/redshiftsync/internal/confvalue"
)

// ParseConfig parses a configuration: a JSON object with the keys of the
// example connector's configuration.json (see Config for each key, in
// brackets). Values may be JSON strings ("5000", "true", " 90s ") or native
// JSON numbers, booleans and (for include_tables, exclude_tables) arrays; a
// duration is a Go duration string or a number of seconds. A key set to ""
// or null takes its default, as an absent key does; "0" means "none" where
// Config says so (batch_bytes and max_retries are then BatchBytesNone and
// MaxRetriesNone). The result has its defaults applied (see
// Config.WithDefaults) and is validated as by Config.Validate.
//
// On failure it returns a *ConfigError that lists every problem at once:
// bad values, template placeholders left in ("<YOUR_REDSHIFT_HOST>"),
// unknown keys (with a did-you-mean), invalid JSON (with line and column).
// The error never contains the password.
func ParseConfig(data []byte) (Config, error) {
	cfg, ps := parseConfig(data)
	if err := ps.err(""); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// LoadConfig reads the configuration file at path and parses it with
// ParseConfig. A relative table_spec_file is resolved against the file's
// directory. A *ConfigError names the file in its Source.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("redshiftsync: reading configuration file: %w", err)
	}
	cfg, ps := parseConfig(data)
	if err := ps.err(path); err != nil {
		return Config{}, err
	}
	if cfg.TableSpecFile != "" && !filepath.IsAbs(cfg.TableSpecFile) {
		cfg.TableSpecFile = filepath.Join(filepath.Dir(path), cfg.TableSpecFile)
	}
	return cfg, nil
}

func parseConfig(data []byte) (Config, *problems) {
	ps := &problems{}
	members, problem := confvalue.Object(data)
	if problem != "" {
		ps.add("", "%s", problem)
		return Config{}, ps
	}
	var cfg Config
	seen := map[string]bool{}
	for _, m := range members {
		if seen[m.Key] {
			if !ps.has(m.Key) {
				ps.add(m.Key, "appears more than once; keep one")
			}
			continue
		}
		seen[m.Key] = true
		s, _ := lookupSetting(m.Key)
		if s == nil {
			ps.add(m.Key, "%s", unknownKeyProblem(m.Key))
			continue
		}
		v, err := m.Value()
		if err != nil { // cannot happen: the document is valid
			ps.add(m.Key, "is not valid JSON")
			continue
		}
		s.parse(&cfg, v, ps)
	}
	cfg = cfg.WithDefaults()
	checked := &problems{}
	cfg.check(checked)
	ps.merge(checked)
	return cfg, ps
}

// parse stores the JSON value v of the setting's key in its field of cfg. A
// value that is null, "" or wrong leaves the field zero (a wrong one adds a
// problem), so that it takes its default.
func (s *setting) parse(cfg *Config, v any, ps *problems) {
	if v == nil {
		return // null: as if absent
	}
	p := s.field(cfg)
	_, secret := p.(*Secret)
	if str, ok := v.(string); ok {
		if isPlaceholder(str, secret) {
			if secret { // the password's value is not shown
				ps.add(s.key, "still holds the template placeholder; replace it with %s", s.what)
			} else {
				ps.add(s.key, "%s", placeholderProblem(str, s.what))
			}
			return
		}
		if !secret && strings.TrimSpace(str) == "" {
			return // "": the default
		}
	}
	switch p := p.(type) {
	case *Secret:
		str, ok := v.(string)
		if !ok {
			ps.add(s.key, "must be a JSON string")
			return
		}
		*p = Secret(str)
	case *string, *Dialect:
		str, ok := v.(string)
		if !ok {
			hint := ""
			if n, isNum := v.(json.Number); isNum {
				hint = fmt.Sprintf(" (write it as %q)", n.String())
			}
			ps.add(s.key, "must be a JSON string, not %s%s", confvalue.Kind(v), hint)
			return
		}
		if s.clean != nil {
			str = s.clean(str)
		}
		if d, ok := p.(*Dialect); ok {
			*d = Dialect(str)
		} else {
			*p.(*string) = str
		}
	case *int:
		n, problem := confvalue.Int(v, s.expect)
		if problem != "" {
			ps.add(s.key, "%s", problem)
			return
		}
		s.setInt(p, n, ps)
	case *bool:
		b, problem := confvalue.Bool(v)
		if problem != "" {
			ps.add(s.key, "%s", problem)
			return
		}
		*p = b != s.invert
	case *time.Duration:
		d, problem := confvalue.Duration(v)
		if problem != "" {
			ps.add(s.key, "%s", problem)
			return
		}
		s.setDuration(p, d, ps)
	case *[]string:
		list, problems := confvalue.List(v)
		for _, problem := range problems {
			ps.add(s.key, "%s", problem)
		}
		if problems == nil {
			*p = list
		}
	}
}

// Keys of the example connector's UNLOAD variant: each names the unload_*
// key that takes its place ("" for an option redshiftsync always sets
// itself), instead of a did-you-mean.
var unloadKeys = map[string]string{
	"s3_bucket": keyUnloadS3URI, "s3_prefix": keyUnloadS3URI, "s3_region": keyUnloadS3Region,
	"iam_role": keyUnloadIAMRole, "aws_access_key_id": keyUnloadAccessKeyID,
	"aws_secret_access_key": keyUnloadSecretAccessKey, "cleanup_s3": keyUnloadKeepFiles,
	"unload_format": "", "unload_parallel": "", "unload_max_filesize": "", "unload_cleanpath": "",
}

// unknownKeyProblem explains an unknown key, with a did-you-mean when a
// known key is close. The value is never echoed.
func unknownKeyProblem(key string) string {
	if key == "" {
		return `a key is empty (""); remove it`
	}
	norm := strings.ToLower(strings.TrimSpace(strings.ReplaceAll(key, "-", "_")))
	if instead, ok := unloadKeys[norm]; ok {
		if instead == "" {
			return "unknown key: it belongs to the example's UNLOAD variant; redshiftsync always unloads Parquet with a manifest, in parallel, so remove it"
		}
		return fmt.Sprintf("unknown key: it belongs to the example's UNLOAD variant; redshiftsync's is %s (see the README's \"Large tables: UNLOAD\")", instead)
	}
	if s := suggestKey(norm); s != "" {
		return fmt.Sprintf("unknown key; did you mean %q?", s)
	}
	return "unknown key; remove it (the known keys are " + strings.Join(keyNames(), ", ") + ")"
}

// suggestKey returns the known key closest to norm by edit distance, or ""
// when none is close enough.
func suggestKey(norm string) string {
	if s, _ := lookupSetting("redshift_" + norm); s != nil {
		return s.key // "host" → "redshift_host"
	}
	best, d := confvalue.Closest(norm, keyNames(), 64)
	limit := 2
	if len(best) >= 12 {
		limit = 3
	}
	if best != "" && d <= limit && d < len([]rune(norm)) {
		return best
	}
	return ""
}
