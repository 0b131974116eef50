// This file checks the settings of the UNLOAD read (the unload_* rows of the
// settings table): the S3 URI, the IAM role or the access-key form of
// UNLOAD's authorization, the reader's region, endpoint and keys, and the
// rules between them (a key without unload_s3_uri, a key without its
// partner, the role and the keys both given). No message ever shows a
// secret's value.

package redshiftsync

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

const (
	unloadURIWhat  = `an S3 URI such as "s3://my-bucket/redshiftsync/"`
	unloadRoleWhat = `an IAM role ARN such as "arn:aws:iam::123456789012:role/redshift-unload"`
)

// s3BucketName is S3's rule for a bucket name (general purpose buckets):
// 3 to 63 lower-case letters, digits, dots and hyphens, starting and
// ending with a letter or digit
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
var s3BucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// iamRoleARN is an IAM role's ARN in any partition (aws, aws-cn,
// aws-us-gov): a 12-digit account and a role name, with its path.
var iamRoleARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$`)

// awsRegion is the shape of a region name, such as "us-east-1",
// "us-gov-west-1" or "cn-north-1".
var awsRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// unloadNeedsURI is the problem of an unload_* key set without
// unload_s3_uri: it would be silently ignored.
const unloadNeedsURI = "is set, but unload_s3_uri is not: without it no table is unloaded; set unload_s3_uri too, or remove the key"

func checkUnloadURI(_ *setting, c *Config) []string {
	uri := c.UnloadS3URI
	if uri == "" {
		return nil
	}
	var out []string
	if p := s3URIProblem(uri); p != "" {
		out = append(out, p)
	}
	if c.UnloadIAMRole == "" && c.UnloadAccessKeyID == "" && c.UnloadSecretAccessKey == "" {
		out = append(out, "is set, but Redshift has no authorization to write there: give unload_iam_role (the role the cluster assumes), or unload_access_key_id and unload_secret_access_key")
	}
	return out
}

// s3URIProblem checks "s3://bucket/prefix/".
func s3URIProblem(uri string) string {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return fmt.Sprintf("%s is not an S3 URI; expected %s", quote(uri), unloadURIWhat)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	switch {
	case !s3BucketName.MatchString(bucket) || strings.Contains(bucket, ".."):
		return fmt.Sprintf("%s: %s is not a valid bucket name (3 to 63 lower-case letters, digits, dots and hyphens); expected %s", quote(uri), quote(bucket), unloadURIWhat)
	case strings.ContainsFunc(prefix, func(r rune) bool { return r == 0 || !unicode.IsPrint(r) || unicode.IsSpace(r) }):
		return fmt.Sprintf("%s: the prefix holds a space or a control character; expected %s", quote(uri), unloadURIWhat)
	case strings.ContainsAny(prefix, `'\?#*`):
		return fmt.Sprintf("%s: the prefix holds one of ' \\ ? # *, which S3 tools and UNLOAD's prefix handle badly; expected %s", quote(uri), unloadURIWhat)
	case strings.Contains(prefix, "//"):
		return fmt.Sprintf("%s: the prefix holds an empty segment (//); expected %s", quote(uri), unloadURIWhat)
	}
	return ""
}

func checkUnloadRole(_ *setting, c *Config) []string {
	role := c.UnloadIAMRole
	if role == "" {
		return nil
	}
	var out []string
	if c.UnloadS3URI == "" {
		out = append(out, unloadNeedsURI)
	}
	if role != "default" {
		for _, arn := range strings.Split(role, ",") {
			if !iamRoleARN.MatchString(arn) {
				out = append(out, fmt.Sprintf("%s is not an IAM role ARN; expected %s (several comma-separated, with no spaces, for role chaining; or \"default\" for the cluster's default role)", quote(arn), unloadRoleWhat))
				break
			}
		}
	}
	if c.UnloadAccessKeyID != "" || c.UnloadSecretAccessKey != "" || c.UnloadSessionToken != "" {
		out = append(out, "and unload_access_key_id / unload_secret_access_key are both given: UNLOAD takes one authorization; keep the role (recommended) or the keys")
	}
	return out
}

// unloadPartners names, for each secret key, the keys it needs beside it.
var unloadPartners = map[string][]string{
	keyUnloadAccessKeyID:       {keyUnloadSecretAccessKey},
	keyUnloadSecretAccessKey:   {keyUnloadAccessKeyID},
	keyUnloadSessionToken:      {keyUnloadAccessKeyID, keyUnloadSecretAccessKey},
	keyUnloadS3AccessKeyID:     {keyUnloadS3SecretAccessKey},
	keyUnloadS3SecretAccessKey: {keyUnloadS3AccessKeyID},
}

// unloadSecretOf returns the secret of key in c (not through the settings
// table, which refers to the checks).
func unloadSecretOf(c *Config, key string) Secret {
	switch key {
	case keyUnloadAccessKeyID:
		return c.UnloadAccessKeyID
	case keyUnloadSecretAccessKey:
		return c.UnloadSecretAccessKey
	case keyUnloadS3AccessKeyID:
		return c.UnloadS3AccessKeyID
	case keyUnloadS3SecretAccessKey:
		return c.UnloadS3SecretAccessKey
	}
	return c.UnloadSessionToken
}

// checkUnloadSecret checks a key of the unload's credentials: never by
// showing it.
func checkUnloadSecret(s *setting, c *Config) []string {
	v := string(*s.field(c).(*Secret))
	if v == "" {
		return nil
	}
	var out []string
	switch {
	case strings.ContainsRune(v, 0):
		out = append(out, "must not contain a NUL character")
	case strings.TrimSpace(v) != v:
		out = append(out, "has spaces or line breaks around it (its value is not shown); remove them")
	}
	if c.UnloadS3URI == "" {
		out = append(out, unloadNeedsURI)
	}
	for _, partner := range unloadPartners[s.key] {
		if unloadSecretOf(c, partner) == "" {
			out = append(out, fmt.Sprintf("is set, but %s is not: give both (the access key id and its secret access key)", partner))
		}
	}
	return out
}

func checkUnloadRegion(_ *setting, c *Config) []string {
	r := c.UnloadS3Region
	if r == "" {
		return nil
	}
	var out []string
	if !awsRegion.MatchString(r) {
		out = append(out, fmt.Sprintf("%s is not an AWS region; expected a region such as \"us-east-1\"", quote(r)))
	}
	if c.UnloadS3URI == "" {
		out = append(out, unloadNeedsURI)
	}
	return out
}

func checkUnloadEndpoint(_ *setting, c *Config) []string {
	ep := c.UnloadS3Endpoint
	if ep == "" {
		return nil
	}
	var out []string
	u, err := url.Parse(ep)
	switch {
	case err != nil:
		out = append(out, `is not an http:// or https:// URL; expected an S3-compatible endpoint such as "http://127.0.0.1:9000"`)
	case u.User != nil || strings.Contains(ep, "@"):
		// Not quoted: it may hold a password.
		out = append(out, "holds a user name or password; give the reader's keys in unload_s3_access_key_id and unload_s3_secret_access_key instead")
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		out = append(out, fmt.Sprintf("%s is not an http:// or https:// URL; expected %s", quote(ep), `an S3-compatible endpoint such as "http://127.0.0.1:9000"`))
	case u.RawQuery != "" || u.Fragment != "":
		out = append(out, fmt.Sprintf("%s has a query or a fragment; give only the scheme, host and port", quote(ep)))
	}
	if c.UnloadS3URI == "" {
		out = append(out, unloadNeedsURI)
	}
	return out
}

// checkUnloadNeedsURI checks unload_threshold_rows and unload_keep_files,
// which mean nothing without unload_s3_uri.
func checkUnloadNeedsURI(s *setting, c *Config) []string {
	set := false
	switch p := s.field(c).(type) {
	case *int:
		set = *p > 0
	case *bool:
		set = *p
	}
	if set && c.UnloadS3URI == "" {
		return []string{unloadNeedsURI}
	}
	return nil
}
