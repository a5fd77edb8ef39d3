package mail_test

import (
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
	oamail "github.com/orgauth/orgauth/mail"
)

func TestInvitationWrittenAsEml(t *testing.T) {
	m, err := oamail.Compose(oamail.KindInvitation, "bob@example.com", oamail.Account{
		Name: "Bob <script>", Org: "acme", Link: "https://auth.example.com/activate?token=a.b", Expires: "7 days",
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "You are invited to acme" {
		t.Errorf("subject = %q", m.Subject)
	}
	if strings.Contains(m.HTML, "<script>") {
		t.Errorf("HTML part does not escape the name: %s", m.HTML)
	}
	dir := t.TempDir()
	d := &oamail.Dir{Path: dir, From: "orgauth <no-reply@example.com>"}
	if err := d.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("files = %v", files)
	}
	fi, _ := os.Stat(files[0])
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	f, _ := os.Open(files[0])
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("To") != "bob@example.com" {
		t.Errorf("To = %q", msg.Header.Get("To"))
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p)
		types = append(types, p.Header.Get("Content-Type"))
		if !strings.Contains(string(body), "https://auth.example.com/activate?token=a.b") {
			t.Errorf("%s part lacks the link: %s", p.Header.Get("Content-Type"), body)
		}
	}
	if len(types) != 2 || !strings.HasPrefix(types[0], "text/plain") || !strings.HasPrefix(types[1], "text/html") {
		t.Errorf("parts = %v", types)
	}
}

func TestFormatRefusesHeaderInjection(t *testing.T) {
	_, err := oamail.Format("a@example.com", &orgauth.Mail{To: "bob@example.com\r\nBcc: eve@example.com", Subject: "x"}, time.Time{})
	if err == nil {
		t.Fatal("a line break in To was accepted")
	}
}
