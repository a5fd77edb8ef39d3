// Package mail composes orgauth's messages from embedded templates, keeps them in
// the outbox until they are sent, and delivers them: over SMTP, or in
// development by writing each one as an .eml file.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/orgauth/orgauth"
)

//go:embed templates
var templates embed.FS

var (
	textTemplates = texttemplate.Must(texttemplate.ParseFS(templates, "templates/*.txt", "templates/*.subject"))
	htmlTemplates = htmltemplate.Must(htmltemplate.ParseFS(templates, "templates/*.html"))
)

// Kinds of mail: each names its templates (templates/<kind>.subject, .txt, .html).
const (
	KindInvitation = "invitation" // data: Account
	KindReset      = "reset"      // data: Account
	KindReminder   = "reminder"   // data: Account; Expires is a date, Link the login page
	KindOrgs       = "orgs"       // data: Orgs
)

// Account is the data of a mail about one account.
type Account struct {
	Name    string // the person
	Org     string // the organization's name
	Link    string // the activation, reset or login link
	Expires string // when or how long the link (or password) lasts, e.g. "7 days"
}

// Orgs is the data of the mail that lists the organizations of an address.
type Orgs struct {
	Orgs []Org
}

// Org is one organization in an Orgs mail.
type Org struct {
	Name     string
	LoginURL string
}

// Compose renders the mail of the given kind to addr.
func Compose(kind, addr string, data any) (*orgauth.Mail, error) {
	var subj, text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&subj, kind+".subject", data); err != nil {
		return nil, fmt.Errorf("mail %s subject: %w", kind, err)
	}
	if err := textTemplates.ExecuteTemplate(&text, kind+".txt", data); err != nil {
		return nil, fmt.Errorf("mail %s text: %w", kind, err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, kind+".html", data); err != nil {
		return nil, fmt.Errorf("mail %s html: %w", kind, err)
	}
	return &orgauth.Mail{
		To: addr, Subject: strings.TrimSpace(subj.String()), Text: text.String(), HTML: html.String(),
	}, nil
}

// Dir is the development Sender: it writes each message as an .eml file into a
// directory, and logs where.
type Dir struct {
	Path string
	From string
	Log  *slog.Logger
}

// Send writes m as <Path>/<time>-<random>.eml (RFC 5322, multipart/alternative).
func (d *Dir) Send(ctx context.Context, m *orgauth.Mail) error {
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return err
	}
	raw, err := Format(d.From, m, time.Now())
	if err != nil {
		return err
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	name := filepath.Join(d.Path, time.Now().UTC().Format("20060102T150405.000")+"-"+hex.EncodeToString(rnd[:])+".eml")
	if err := os.WriteFile(name, raw, 0o600); err != nil {
		return err
	}
	if d.Log != nil {
		d.Log.InfoContext(ctx, "mail written", "file", name, "subject", m.Subject)
	}
	return nil
}

// Format renders m as an RFC 5322 message with a text and an HTML part.
func Format(from string, m *orgauth.Mail, now time.Time) ([]byte, error) {
	if strings.ContainsAny(m.To, "\r\n") || strings.ContainsAny(m.Subject, "\r\n") || strings.ContainsAny(from, "\r\n") {
		return nil, fmt.Errorf("mail: header with a line break")
	}
	var rnd [12]byte
	rand.Read(rnd[:])
	boundary := "orgauth-" + hex.EncodeToString(rnd[:])
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\n",
		from, m.To, mime.QEncoding.Encode("utf-8", m.Subject), now.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=%q\r\n\r\n", boundary)
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, part.typ)
		qp := quotedprintable.NewWriter(&b)
		qp.Write([]byte(part.body))
		qp.Close()
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.Bytes(), nil
}
