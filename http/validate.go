package http

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/orgauth/orgauth"
)

// Reserved org names: the system tenant and names a deployment routes itself.
var reservedOrgNames = map[string]bool{"system": true, "www": true, "api": true, "auth": true, "admin": true}

// validOrgName checks behavior.md's rule: 3-63 characters of [a-z0-9-], no leading
// or trailing '-'.
func validOrgName(name string) error {
	bad := orgauth.Errorf(orgauth.EINVALID, "orgName must be 3 to 63 characters of a-z, 0-9 and '-', not starting or ending with '-'")
	if len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return bad
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return bad
		}
	}
	return nil
}

// validEmail checks that s is one plain address (no display name), at most 254
// bytes, and returns it trimmed.
func validEmail(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := orgauth.Errorf(orgauth.EINVALID, "%s must be a valid email address", field)
	if s == "" || len(s) > 254 {
		return "", bad
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || !strings.Contains(s, "@") {
		return "", bad
	}
	return s, nil
}

// validName checks a person's or object's name: required when required is set,
// at most 128 characters, printable.
func validName(field, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return "", orgauth.Errorf(orgauth.EINVALID, "%s is required", field)
		}
		return "", nil
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > 128 {
		return "", orgauth.Errorf(orgauth.EINVALID, "%s must be at most 128 characters", field)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return "", orgauth.Errorf(orgauth.EINVALID, "%s must not contain control characters", field)
		}
	}
	return s, nil
}

// validMap checks annotations or labels: at most 64 entries, keys up to 253 bytes,
// values up to 4096 bytes.
func validMap(field string, m map[string]string) error {
	if len(m) > 64 {
		return orgauth.Errorf(orgauth.EINVALID, "%s may have at most 64 entries", field)
	}
	for k, v := range m {
		if k == "" || len(k) > 253 || len(v) > 4096 || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return orgauth.Errorf(orgauth.EINVALID, "%s keys must be 1 to 253 bytes and values at most 4096 bytes", field)
		}
	}
	return nil
}

// validLoginMode checks a login mode, defaulting to "devops".
func validLoginMode(s string) (string, error) {
	switch s {
	case "":
		return "devops", nil
	case "dev", "devops":
		return s, nil
	}
	return "", orgauth.Errorf(orgauth.EINVALID, "loginMode must be dev or devops")
}
