package orgauth

import (
	"context"
	"time"
)

// Mail is one message to one person.
type Mail struct {
	To      string
	Subject string
	Text    string // plain-text body
	HTML    string // HTML body
}

// Sender delivers mail. Implementations: mail.SMTP, and mail.Dir, which writes
// .eml files for development.
type Sender interface {
	Send(ctx context.Context, m *Mail) error
}

// OutboxMail is a message in the outbox: queued in the same transaction as the
// change it tells of (a token it carries, say), delivered later by a worker that
// retries until the message is sent or expires. The message itself is sealed
// with the master key, since the links it carries are credentials.
type OutboxMail struct {
	ID        string
	Kind      string // the template, e.g. "reset"; for the log and the counts
	TenantID  string // the tenant it concerns; "" for mail about several
	Sealed    []byte // the Mail, sealed; emptied once sent or given up
	CreatedAt time.Time
	NextAt    time.Time // not tried before then
	ExpiresAt time.Time // given up when not sent by then (its link is dead)
	Attempts  int       // tries so far, the current one included once claimed
	LastError string
	SentAt    time.Time // zero until sent
	FailedAt  time.Time // zero unless given up
	// Recipient is a keyed MAC of the address (token.MailRecipientMAC), so
	// that mail recently queued to an address can be found without the store
	// holding the address in the clear. Set only for mail limited per address
	// (the organizations list); empty otherwise.
	Recipient []byte
}

// OutboxCounts counts the outbox: messages waiting, sent and given up, and the
// tries beyond the first of every message.
type OutboxCounts struct {
	Queued, Sent, Failed, Retries int
}
