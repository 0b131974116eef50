package redshiftsync

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/lib/pq"
)

// FuzzParseConfig checks, for any input, that ParseConfig does not panic;
// that a failure is a *ConfigError with one line per problem; that a success
// validates, idempotently, into a connection string lib/pq reads back; and
// that the password never shows in an error or in fmt's output. The seed
// corpus is in testdata/fuzz/FuzzParseConfig.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"redshift_host":"h","redshift_database":"d","redshift_user":"u","redshift_password":"pw"}`))
	f.Add([]byte(`{"redshift_host":"h","redshift_database":"d","redshift_user":"u","include_tables":"a,b*,[c-d]","exclude_tables":["x?"]}`))
	f.Add([]byte(`{"redshift_host":"h","redshift_database":"d","redshift_user":"u","lookback":"1h2m3.5s","statement_timeout":"2147483.647"}`))
	f.Add([]byte(`[1,2,3]`))

	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			checkConfigError(t, err)
		} else {
			checkValidConfig(t, cfg)
		}
		checkPasswordHidden(t, data)
	})
}

func checkConfigError(t *testing.T, err error) {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("error %T is not a *ConfigError: %v", err, err)
	}
	if len(ce.Problems) == 0 {
		t.Fatalf("a *ConfigError without problems: %v", err)
	}
	for _, p := range ce.Problems {
		if p.Problem == "" {
			t.Errorf("empty problem for key %q", p.Key)
		}
	}
	if n := strings.Count(err.Error(), "\n"); n != len(ce.Problems) {
		t.Errorf("%d problems on %d lines:\n%v", len(ce.Problems), n, err)
	}
}

func checkValidConfig(t *testing.T, cfg Config) {
	t.Helper()
	again := cfg
	if err := again.Validate(); err != nil {
		t.Fatalf("ParseConfig returned a Config that does not validate: %v\n%+v", err, cfg)
	}
	if !reflect.DeepEqual(again, cfg) {
		t.Fatalf("Validate changed a parsed Config:\n was %+v\n now %+v", cfg, again)
	}
	// The connection string reads back as the same settings.
	pc, err := pq.NewConfig(cfg.connString())
	if err != nil {
		t.Fatalf("lib/pq rejects the connection string of %+v: %v", cfg, err)
	}
	if pc.Host != cfg.Host || int(pc.Port) != cfg.Port || pc.Database != cfg.Database ||
		pc.User != cfg.User || pc.Password != string(cfg.Password) {
		t.Fatalf("lib/pq reads the connection string of %+v back as host=%q port=%d dbname=%q user=%q (password equal: %v)",
			cfg, pc.Host, pc.Port, pc.Database, pc.User, pc.Password == string(cfg.Password))
	}
}

// checkPasswordHidden sets a distinctive password in the input (when it is a
// JSON object) and checks that neither the error nor fmt shows it. It also
// checks the input's own password, when it is distinctive enough to look for.
func checkPasswordHidden(t *testing.T, data []byte) {
	t.Helper()
	if bytes.Contains(bytes.ToLower(data), []byte("hunter2")) {
		return // the input itself holds the marker: it may legitimately be echoed
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil || m == nil {
		return
	}

	// The input's own password: when it is a string of 8 or more
	// characters, the error must not hold it, unless the error without the
	// password holds it too (it then comes from some other part of the
	// input, or from the message text).
	var own string
	if raw, ok := m[keyPassword]; ok && json.Unmarshal(raw, &own) == nil && len(own) >= 8 {
		if _, err := ParseConfig(data); err != nil && strings.Contains(err.Error(), own) {
			without := clone(m)
			delete(without, keyPassword)
			_, errBase := ParseConfig(marshal(t, without))
			if errBase == nil || !strings.Contains(errBase.Error(), own) {
				t.Fatalf("the error shows the password %q:\n%v", own, err)
			}
		}
	}

	// A marker password, as a string, then as the wrong JSON types.
	for _, pw := range []string{`"hunter2-SECRET-pw"`, `["hunter2-SECRET-pw"]`, `{"hunter2-SECRET-pw":1}`, `"hunter2-SECRET-pw\u0000"`} {
		withPw := clone(m)
		withPw[keyPassword] = json.RawMessage(pw)
		cfg, err := ParseConfig(marshal(t, withPw))
		if err != nil {
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error shows the password:\n%v", err)
			}
			continue
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			if out := fmt.Sprintf(verb, cfg); strings.Contains(out, "hunter2") || strings.Contains(out, fmt.Sprintf("%x", "hunter2")) {
				t.Fatalf("%s shows the password: %s", verb, out)
			}
		}
		if j, err := json.Marshal(cfg); err != nil || bytes.Contains(j, []byte("hunter2")) {
			t.Fatalf("json.Marshal shows the password (or fails: %v): %s", err, j)
		}
	}
}

func clone(m map[string]json.RawMessage) map[string]json.RawMessage {
	c := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func marshal(t *testing.T, m map[string]json.RawMessage) []byte {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
