package orgauth

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PasswordPolicy says what a password must look like.
type PasswordPolicy struct {
	MinLength  int // in characters
	MaxLength  int // in characters
	MinUpper   int
	MinLower   int
	MinDigits  int
	MinSpecial int
	MaxBytes   int // hard limit of the encoded password, whatever the policy
}

// DefaultPasswordPolicy is the policy of a tenant that set none. behavior.md gives
// 64 as the longest password; orgauth allows 128 characters so that long
// passphrases work in full (security item 12).
var DefaultPasswordPolicy = PasswordPolicy{
	MinLength: 6, MaxLength: 128, MinUpper: 1, MinLower: 1, MinDigits: 1, MinSpecial: 1,
	MaxBytes: 1024,
}

// Check returns nil when pw satisfies the policy, else an EINVALID error whose
// message names every rule pw breaks.
func (p PasswordPolicy) Check(pw string) error {
	if !utf8.ValidString(pw) {
		return Errorf(EINVALID, "password must be valid UTF-8")
	}
	var upper, lower, digits, special int
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper++
		case unicode.IsLower(r):
			lower++
		case unicode.IsDigit(r):
			digits++
		case unicode.IsPunct(r) || unicode.IsSymbol(r) || r == ' ':
			special++
		}
	}
	n := utf8.RuneCountInString(pw)
	var broken []string
	if n < p.MinLength {
		broken = append(broken, fmt.Sprintf("at least %d characters", p.MinLength))
	}
	if p.MaxLength > 0 && n > p.MaxLength {
		broken = append(broken, fmt.Sprintf("at most %d characters", p.MaxLength))
	}
	if p.MaxBytes > 0 && len(pw) > p.MaxBytes {
		broken = append(broken, fmt.Sprintf("at most %d bytes", p.MaxBytes))
	}
	for _, c := range []struct {
		have, want int
		what       string
	}{
		{upper, p.MinUpper, "upper-case letter"},
		{lower, p.MinLower, "lower-case letter"},
		{digits, p.MinDigits, "digit"},
		{special, p.MinSpecial, "special character"},
	} {
		if c.have < c.want {
			broken = append(broken, fmt.Sprintf("at least %d %s", c.want, plural(c.what, c.want)))
		}
	}
	if len(broken) > 0 {
		return Errorf(EINVALID, "password must have %s", strings.Join(broken, ", "))
	}
	return nil
}

func plural(s string, n int) string {
	if n == 1 {
		return s
	}
	return s + "s"
}
