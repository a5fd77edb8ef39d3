package orgauth

import "context"

// Mail is one message to one person.
type Mail struct {
	To      string
	Subject string
	Text    string // plain-text body
	HTML    string // HTML body
}

// Sender delivers mail. Implementations: mail.Dir (writes .eml files for
// development); SMTP delivery comes with the account lifecycle.
type Sender interface {
	Send(ctx context.Context, m *Mail) error
}
