package http

import (
	"time"

	"github.com/orgauth/orgauth"
)

// v1PasswordPolicy is v1TenantPasswordPolicyEntity and v1SystemPasswordPolicySpec
// (which adds reminderFrequency). Absent fields of a request keep their value.
type v1PasswordPolicy struct {
	CreationTimestamp         *time.Time `json:"creationTimestamp,omitempty"`
	UpdateTimestamp           *time.Time `json:"updateTimestamp,omitempty"`
	ExpiryDurationInDays      *int       `json:"expiryDurationInDays,omitempty"`
	FirstReminderInDays       *int       `json:"firstReminderInDays,omitempty"`
	IsRegex                   *bool      `json:"isRegex,omitempty"`
	MaxLength                 *int       `json:"maxLength,omitempty"`
	MinLength                 *int       `json:"minLength,omitempty"`
	MinNumOfBlockLetters      *int       `json:"minNumOfBlockLetters,omitempty"`
	MinNumOfDigits            *int       `json:"minNumOfDigits,omitempty"`
	MinNumOfSmallLetters      *int       `json:"minNumOfSmallLetters,omitempty"`
	MinNumOfSpecialCharacters *int       `json:"minNumOfSpecialCharacters,omitempty"`
	Regex                     *string    `json:"regex,omitempty"`
	ReminderFrequency         *int       `json:"reminderFrequency,omitempty"`
}

// toV1PasswordPolicy renders p; system adds reminderFrequency, which only the
// system policy's shape has.
func toV1PasswordPolicy(p *orgauth.PasswordPolicy, system bool) v1PasswordPolicy {
	out := v1PasswordPolicy{
		CreationTimestamp: v1Time(p.CreatedAt), UpdateTimestamp: v1Time(p.UpdatedAt),
		ExpiryDurationInDays: &p.ExpiryDays, FirstReminderInDays: &p.FirstReminderDays,
		IsRegex: &p.IsRegex, MaxLength: &p.MaxLength, MinLength: &p.MinLength,
		MinNumOfBlockLetters: &p.MinUpper, MinNumOfDigits: &p.MinDigits,
		MinNumOfSmallLetters: &p.MinLower, MinNumOfSpecialCharacters: &p.MinSpecial,
		Regex: &p.Regex,
	}
	if system {
		out.ReminderFrequency = &p.ReminderEveryDays
	}
	return out
}

// applyTo sets the fields of p that v gives.
func (v *v1PasswordPolicy) applyTo(p *orgauth.PasswordPolicy) {
	for _, f := range []struct {
		from *int
		to   *int
	}{
		{v.ExpiryDurationInDays, &p.ExpiryDays}, {v.FirstReminderInDays, &p.FirstReminderDays},
		{v.MaxLength, &p.MaxLength}, {v.MinLength, &p.MinLength},
		{v.MinNumOfBlockLetters, &p.MinUpper}, {v.MinNumOfDigits, &p.MinDigits},
		{v.MinNumOfSmallLetters, &p.MinLower}, {v.MinNumOfSpecialCharacters, &p.MinSpecial},
		{v.ReminderFrequency, &p.ReminderEveryDays},
	} {
		if f.from != nil {
			*f.to = *f.from
		}
	}
	if v.IsRegex != nil {
		p.IsRegex = *v.IsRegex
	}
	if v.Regex != nil {
		p.Regex = *v.Regex
	}
}

// v1PasswordsBlockList is V1PasswordsBlockList.
type v1PasswordsBlockList struct {
	Spec *struct {
		Passwords []string `json:"passwords"`
	} `json:"spec"`
}

// emailBody is the body of the password reset requests: {"emailId": ...}.
type emailBody struct {
	EmailID string `json:"emailId"`
}
