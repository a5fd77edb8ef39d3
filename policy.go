package orgauth

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxPasswordBytes is the longest password orgauth accepts, whatever the policy:
// long passphrases work in full (no silent truncation), and a megabyte of
// "password" cannot tie up a hash.
const MaxPasswordBytes = 1024

// PasswordPolicy says what a password must look like and how long it lives. The
// system has a default; a tenant may set its own, which replaces it whole.
type PasswordPolicy struct {
	MinLength  int // in characters
	MaxLength  int // in characters
	MinUpper   int
	MinLower   int
	MinDigits  int
	MinSpecial int

	// IsRegex switches to regular-expression mode: the password must match Regex
	// (RE2 syntax, anchored by the author if wanted), and the length and
	// character-class rules above are not applied.
	IsRegex bool
	Regex   string

	ExpiryDays        int // a password expires this long after it was set; 0: never
	FirstReminderDays int // a reminder mail goes out this long before expiry; 0: none
	ReminderEveryDays int // later reminders until expiry (system policy's reminderFrequency); 0: one
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// DefaultPasswordPolicy is the system default until the operator sets one.
// behavior.md gives 64 as the longest password; orgauth allows 128 characters
// so that long passphrases work in full (security item 12).
var DefaultPasswordPolicy = PasswordPolicy{
	MinLength: 6, MaxLength: 128, MinUpper: 1, MinLower: 1, MinDigits: 1, MinSpecial: 1,
	ExpiryDays: 365, FirstReminderDays: 7,
}

// Bounds of the policy fields an administrator may set.
const (
	maxPolicyLength  = 256  // characters
	maxPolicyRegex   = 1024 // bytes of the expression
	maxPolicyDays    = 3650
	maxPolicyClasses = 64
)

// Validate returns nil when the policy is one an administrator may set, else an
// EINVALID error naming every field that is out of bounds.
func (p *PasswordPolicy) Validate() error {
	var bad []string
	if p.IsRegex {
		switch {
		case p.Regex == "":
			bad = append(bad, "regex is required when isRegex is true")
		case len(p.Regex) > maxPolicyRegex:
			bad = append(bad, fmt.Sprintf("regex must be at most %d bytes", maxPolicyRegex))
		default:
			if _, err := regexp.Compile(p.Regex); err != nil {
				bad = append(bad, "regex is not a valid regular expression (RE2 syntax)")
			}
		}
	} else {
		if p.MinLength < 1 || p.MinLength > maxPolicyLength {
			bad = append(bad, fmt.Sprintf("minLength must be between 1 and %d", maxPolicyLength))
		}
		if p.MaxLength < p.MinLength || p.MaxLength > maxPolicyLength {
			bad = append(bad, fmt.Sprintf("maxLength must be between minLength and %d", maxPolicyLength))
		}
		for _, c := range []struct {
			name string
			n    int
		}{{"minNumOfBlockLetters", p.MinUpper}, {"minNumOfSmallLetters", p.MinLower},
			{"minNumOfDigits", p.MinDigits}, {"minNumOfSpecialCharacters", p.MinSpecial}} {
			if c.n < 0 || c.n > maxPolicyClasses {
				bad = append(bad, fmt.Sprintf("%s must be between 0 and %d", c.name, maxPolicyClasses))
			}
		}
		if sum := p.MinUpper + p.MinLower + p.MinDigits + p.MinSpecial; p.MaxLength > 0 && sum > p.MaxLength {
			bad = append(bad, "the character minimums add up to more than maxLength")
		}
	}
	if p.ExpiryDays < 0 || p.ExpiryDays > maxPolicyDays {
		bad = append(bad, fmt.Sprintf("expiryDurationInDays must be between 0 (never) and %d", maxPolicyDays))
	}
	if p.FirstReminderDays < 0 || (p.FirstReminderDays > 0 && p.FirstReminderDays >= p.ExpiryDays) {
		bad = append(bad, "firstReminderInDays must be 0 (none) or less than expiryDurationInDays")
	}
	if p.ReminderEveryDays < 0 || p.ReminderEveryDays > maxPolicyDays {
		bad = append(bad, fmt.Sprintf("reminderFrequency must be between 0 and %d", maxPolicyDays))
	}
	if len(bad) > 0 {
		return Errorf(EINVALID, "invalid password policy: %s", strings.Join(bad, "; "))
	}
	return nil
}

// Check returns nil when pw satisfies the policy, else an EINVALID error whose
// message names every rule pw breaks.
func (p *PasswordPolicy) Check(pw string) error {
	if !utf8.ValidString(pw) {
		return Errorf(EINVALID, "password must be valid UTF-8")
	}
	var broken []string
	if pw == "" {
		return Errorf(EINVALID, "password is required")
	}
	if len(pw) > MaxPasswordBytes {
		broken = append(broken, fmt.Sprintf("at most %d bytes", MaxPasswordBytes))
	}
	if p.IsRegex {
		re, err := regexp.Compile(p.Regex)
		if err != nil || !re.MatchString(pw) {
			broken = append(broken, "to match the organization's password pattern")
		}
	} else {
		broken = append(broken, p.checkRules(pw)...)
	}
	if len(broken) > 0 {
		return Errorf(EINVALID, "password must have %s", strings.Join(broken, ", "))
	}
	return nil
}

// checkRules returns the length and character-class rules pw breaks.
func (p *PasswordPolicy) checkRules(pw string) []string {
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
	var broken []string
	n := utf8.RuneCountInString(pw)
	if n < p.MinLength {
		broken = append(broken, fmt.Sprintf("at least %d characters", p.MinLength))
	}
	if p.MaxLength > 0 && n > p.MaxLength {
		broken = append(broken, fmt.Sprintf("at most %d characters", p.MaxLength))
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
	return broken
}

// Expires returns when a password set at changed expires under p, and false when
// it never does.
func (p *PasswordPolicy) Expires(changed time.Time) (time.Time, bool) {
	if p.ExpiryDays <= 0 || changed.IsZero() {
		return time.Time{}, false
	}
	return changed.AddDate(0, 0, p.ExpiryDays), true
}

func plural(s string, n int) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// PasswordReminder is a user whose password expires soon and who is due a
// reminder mail.
type PasswordReminder struct {
	TenantID  string
	UserID    string
	Email     string
	Name      string
	ExpiresAt time.Time
	// RemindedAt is when the last reminder went out (zero: never), for
	// TenantQueries.MarkPasswordReminded.
	RemindedAt time.Time
	// PasswordChangedAt is when the password was set: with UserID, the order of
	// Store.DuePasswordReminders and the place to go on from.
	PasswordChangedAt time.Time
	// TenantPolicy tells that the tenant's own policy set the reminder, not the
	// system's.
	TenantPolicy bool
}

// ReminderPolicy is a password policy as far as reminders go: a tenant's own,
// or the system's (TenantID "").
type ReminderPolicy struct {
	TenantID                                         string
	ExpiryDays, FirstReminderDays, ReminderEveryDays int
}

// ReminderStart is where a store's read of one part of the due reminders
// starts: after the user UserID whose password was set at PasswordChangedAt.
type ReminderStart struct {
	PasswordChangedAt time.Time
	UserID            string
}

// reminderPolicyBatch is how many tenant policies PageDueReminders asks for at
// once.
const reminderPolicyBatch = 100

// PageDueReminders is the paging of Store.DuePasswordReminders, shared by the
// stores: first the users who follow sys, then those of each tenant whose own
// policy sends reminders, in the order of TenantID, each part in the order of
// (PasswordChangedAt, UserID), going on after after.
//
// part reads, of the users under p (sys when p.TenantID is "", else that
// tenant's users), at most limit due at now, in that order after start. start
// is after, or where p's reminder window opens if that is later: a password set
// at that very millisecond expires at now, so the store's read begins just past
// the users who cannot be due. policies returns up to n of the tenants' own
// policies that send reminders, of active tenants, from the TenantID from on,
// ordered by TenantID (bytewise).
//
// Each part is read from where the last page left it, so a sweep reads each
// user once, however the users of the parts interleave, and each tenant's
// policy once.
func PageDueReminders(sys *PasswordPolicy, now time.Time, after *PasswordReminder, limit int,
	policies func(from string, n int) ([]ReminderPolicy, error),
	part func(p ReminderPolicy, start ReminderStart, limit int) ([]*PasswordReminder, error),
) ([]*PasswordReminder, error) {
	if limit <= 0 {
		return nil, nil
	}
	read := func(p ReminderPolicy, after *PasswordReminder, limit int) ([]*PasswordReminder, error) {
		start := ReminderStart{PasswordChangedAt: now.Add(-time.Duration(p.ExpiryDays) * 24 * time.Hour).Truncate(time.Millisecond)}
		if after != nil && after.PasswordChangedAt.After(start.PasswordChangedAt) {
			start = ReminderStart{after.PasswordChangedAt, after.UserID}
		}
		return part(p, start, limit)
	}
	var out []*PasswordReminder
	if after == nil || !after.TenantPolicy {
		if sys.ExpiryDays > 0 && sys.FirstReminderDays > 0 {
			page, err := read(ReminderPolicy{ExpiryDays: sys.ExpiryDays, FirstReminderDays: sys.FirstReminderDays,
				ReminderEveryDays: sys.ReminderEveryDays}, after, limit)
			if err != nil || len(page) >= limit {
				return page[:min(len(page), limit)], err
			}
			out = page
		}
		after = nil
	}
	from := ""
	if after != nil {
		from = after.TenantID
	}
	for {
		batch, err := policies(from, reminderPolicyBatch)
		if err != nil {
			return nil, err
		}
		for _, p := range batch {
			var start *PasswordReminder
			if after != nil && p.TenantID == after.TenantID {
				start = after
			}
			page, err := read(p, start, limit-len(out))
			if err != nil {
				return nil, err
			}
			for _, r := range page {
				r.TenantPolicy = true
			}
			if out = append(out, page...); len(out) >= limit {
				return out[:limit], nil
			}
		}
		if len(batch) < reminderPolicyBatch {
			return out, nil
		}
		from = batch[len(batch)-1].TenantID + "\x00" // the next id after it
	}
}
