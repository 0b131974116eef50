package redshiftsync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// The unload secrets are distinctive, so that a leak is found by grepping.
const (
	testUnloadKeyID  = "AKIAUNLOADKEYID77777"
	testUnloadSecret = "unload-SECRET-wJalrXUtnFEMI"
	testUnloadToken  = "unload-TOKEN-FwoGZXIvYXdz"
	testReaderKeyID  = "AKIAREADERKEYID88888"
	testReaderSecret = "reader-SECRET-bPxRfiCYEXAMPLE"
)

// TestUnloadConfigValid: the unload keys read as strings and as native
// values, into their fields.
func TestUnloadConfigValid(t *testing.T) {
	cfg, err := ParseConfig(withKeys(t, map[string]any{
		"unload_s3_uri": " s3://my-bucket/redshiftsync/ ", "unload_iam_role": "arn:aws:iam::123456789012:role/unload,arn:aws-cn:iam::210987654321:role/path/chained",
		"unload_s3_region": "EU-West-1", "unload_s3_endpoint": "http://127.0.0.1:9000",
		"unload_s3_access_key_id": testReaderKeyID, "unload_s3_secret_access_key": testReaderSecret,
		"unload_threshold_rows": 5000000, "unload_keep_files": true,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UnloadS3URI != "s3://my-bucket/redshiftsync/" || cfg.UnloadS3Region != "eu-west-1" || cfg.UnloadThreshold != 5_000_000 || !cfg.UnloadKeepFiles ||
		string(cfg.UnloadS3SecretAccessKey) != testReaderSecret || cfg.UnloadS3Endpoint != "http://127.0.0.1:9000" {
		t.Errorf("parsed %+v", cfg)
	}
	cfg, err = ParseConfig(withKeys(t, map[string]any{
		"unload_s3_uri": "s3://b-1.example", "unload_access_key_id": testUnloadKeyID, "unload_secret_access_key": testUnloadSecret,
		"unload_session_token": testUnloadToken, "unload_threshold_rows": "0", "unload_keep_files": "false",
	}))
	if err != nil || cfg.UnloadThreshold != 0 || string(cfg.UnloadSessionToken) != testUnloadToken {
		t.Errorf("access-key form: %v %+v", err, cfg)
	}
	if cfg, err := ParseConfig(withKeys(t, map[string]any{"unload_s3_uri": "s3://bucket/", "unload_iam_role": "default"})); err != nil || cfg.UnloadIAMRole != "default" {
		t.Errorf("default role: %v", err)
	}
}

// TestUnloadConfigProblems: every wrong value, missing partner and
// contradiction is named by its key, with what to do; a secret's value
// never shows.
func TestUnloadConfigProblems(t *testing.T) {
	cases := []struct {
		keys map[string]any
		key  string
		want string
	}{
		{map[string]any{"unload_s3_uri": "https://bucket/x/", "unload_iam_role": "default"}, "unload_s3_uri", `"https://bucket/x/" is not an S3 URI`},
		{map[string]any{"unload_s3_uri": "s3://Bad_Bucket/x/", "unload_iam_role": "default"}, "unload_s3_uri", "is not a valid bucket name"},
		{map[string]any{"unload_s3_uri": "s3://bucket/a b/", "unload_iam_role": "default"}, "unload_s3_uri", "holds a space"},
		{map[string]any{"unload_s3_uri": "s3://bucket/"}, "unload_s3_uri", "give unload_iam_role"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_iam_role": "arn:aws:iam::1234:role/x"}, "unload_iam_role", "is not an IAM role ARN"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_iam_role": "arn:aws:iam::123456789012:user/x"}, "unload_iam_role", "is not an IAM role ARN"},
		{map[string]any{"unload_iam_role": "default"}, "unload_iam_role", "unload_s3_uri is not"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_iam_role": "default", "unload_access_key_id": testUnloadKeyID, "unload_secret_access_key": testUnloadSecret}, "unload_iam_role", "both given"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_access_key_id": testUnloadKeyID}, "unload_access_key_id", "unload_secret_access_key is not"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_secret_access_key": testUnloadSecret}, "unload_secret_access_key", "unload_access_key_id is not"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_iam_role": "default", "unload_session_token": testUnloadToken}, "unload_session_token", "unload_access_key_id is not"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_iam_role": "default", "unload_s3_access_key_id": testReaderKeyID}, "unload_s3_access_key_id", "unload_s3_secret_access_key is not"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_iam_role": "default", "unload_s3_secret_access_key": " " + testReaderSecret, "unload_s3_access_key_id": testReaderKeyID}, "unload_s3_secret_access_key", "spaces or line breaks around it"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_iam_role": "default", "unload_s3_region": "Frankfurt"}, "unload_s3_region", "is not an AWS region"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_iam_role": "default", "unload_s3_endpoint": "127.0.0.1:9000"}, "unload_s3_endpoint", "is not an http:// or https:// URL"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_iam_role": "default", "unload_s3_endpoint": "http://u:" + testReaderSecret + "@h:9000"}, "unload_s3_endpoint", "holds a user name or password"},
		{map[string]any{"unload_threshold_rows": "1000"}, "unload_threshold_rows", "unload_s3_uri is not"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_iam_role": "default", "unload_threshold_rows": "-1"}, "unload_threshold_rows", "too small"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_iam_role": "default", "unload_threshold_rows": "lots"}, "unload_threshold_rows", "is not a whole number"},
		{map[string]any{"unload_keep_files": "true"}, "unload_keep_files", "unload_s3_uri is not"},
		{map[string]any{"unload_s3_uri": "s3://bucket/", "unload_iam_role": "default", "unload_keep_files": "maybe"}, "unload_keep_files", "is not a boolean"},
		{map[string]any{"unload_s3_url": "s3://bucket/"}, "unload_s3_url", `did you mean "unload_s3_uri"?`},
		{map[string]any{"unload_treshold_rows": "5"}, "unload_treshold_rows", `did you mean "unload_threshold_rows"?`},
		{map[string]any{"iam_role": "arn:aws:iam::123456789012:role/x"}, "iam_role", "redshiftsync's is unload_iam_role"},
		{map[string]any{"unload_format": "parquet"}, "unload_format", "always unloads Parquet"},
	}
	for _, c := range cases {
		_, err := ParseConfig(withKeys(t, c.keys))
		ce := configErr(t, err)
		if p := problemOf(t, ce, c.key); !strings.Contains(p, c.want) {
			t.Errorf("%v: %s: %q, want it to say %q", c.keys, c.key, p, c.want)
		}
		for _, secret := range []string{testUnloadSecret, testUnloadToken, testReaderSecret, testUnloadKeyID, testReaderKeyID} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%v: the error shows a secret: %v", c.keys, err)
			}
		}
	}
}

// TestUnloadSecretsNeverShow: fmt, slog (LogValue) and JSON never print the
// unload's keys.
func TestUnloadSecretsNeverShow(t *testing.T) {
	cfg := Config{Host: "h", Database: "d", User: "u", UnloadS3URI: "s3://bucket/", UnloadAccessKeyID: testUnloadKeyID,
		UnloadSecretAccessKey: testUnloadSecret, UnloadSessionToken: testUnloadToken,
		UnloadS3AccessKeyID: testReaderKeyID, UnloadS3SecretAccessKey: testReaderSecret, UnloadThreshold: 10}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "config", cfg)
	js, _ := json.Marshal(cfg)
	out := logs.String() + string(js) + fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg)
	for _, secret := range []string{testUnloadSecret, testUnloadToken, testReaderSecret, testUnloadKeyID, testReaderKeyID} {
		if strings.Contains(out, secret) {
			t.Errorf("%s shows in:\n%s", secret, out)
		}
	}
	if !strings.Contains(logs.String(), `"unload_secret_access_key":"[redacted]"`) || !strings.Contains(logs.String(), `"unload_threshold_rows":10`) {
		t.Errorf("LogValue: %s", logs.String())
	}
}
