package mail_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"html"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/internal/smtptest"
	oamail "github.com/orgauth/orgauth/mail"
)

const (
	user     = "orgauth@example.test"
	password = "pa:ss/w@rd=s3cret%"
)

// link is long enough to be folded by quoted-printable and full of = and ?.
var link = "https://auth.example.com/activate?token=" + strings.Repeat("Zm9vYmFyYmF6PT0=", 8) + "&org=acme&next=%2Fapps%3Fx%3D1"

func newSender(t *testing.T, c oamail.SMTPConfig) *oamail.SMTP {
	t.Helper()
	s, err := oamail.NewSMTP(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// invitation is a message like the ones orgauth composes, built here so that
// these tests do not depend on the templates.
func invitation(t *testing.T) *orgauth.Mail {
	t.Helper()
	return &orgauth.Mail{
		To:      "bob@example.com",
		Subject: "You are invited to Ächme GmbH",
		Text:    "Hello Bob,\n\nYou have been invited to Ächme GmbH. Set your password:\n\n" + link + "\n\nThe link works once.\n",
		HTML:    "<!doctype html>\n<p>Hello Bob,</p>\n<p><a href=\"" + html.EscapeString(link) + "\">Set your password</a></p>\n",
	}
}

func TestSMTPDelivers(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts smtptest.Options
	}{
		{"plain", smtptest.Options{TLS: "none"}},
		{"plain with auth on loopback", smtptest.Options{TLS: "none", Username: user, Password: password}},
		{"starttls", smtptest.Options{TLS: "starttls"}},
		{"starttls with auth", smtptest.Options{TLS: "starttls", Username: user, Password: password}},
		{"implicit with auth", smtptest.Options{TLS: "implicit", Username: user, Password: password}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.Start(t, tc.opts)
			if err := newSender(t, srv.Config()).Send(context.Background(), invitation(t)); err != nil {
				t.Fatal(err)
			}
			m := srv.Wait(t, 1, 5*time.Second)[0]
			if m.From != "orgauth@example.test" || len(m.To) != 1 || m.To[0] != "bob@example.com" {
				t.Errorf("envelope from %q to %q", m.From, m.To)
			}
			if m.Subject != "You are invited to Ächme GmbH" {
				t.Errorf("subject = %q", m.Subject)
			}
			if got := smtptest.Link(t, m, "https://auth.example.com/activate"); got != link {
				t.Errorf("text link\n got %s\nwant %s", got, link)
			}
			if !strings.Contains(m.HTML, `href="`+html.EscapeString(link)+`"`) {
				t.Errorf("HTML lacks the link:\n%s", m.HTML)
			}
			if !strings.Contains(m.Text, "Hello Bob,") || !strings.Contains(m.HTML, "<p>Hello Bob,</p>") {
				t.Errorf("bodies:\n%s\n%s", m.Text, m.HTML)
			}
			checkRaw(t, m.Raw)
		})
	}
}

// checkRaw checks the headers and the MIME structure of a received message.
func checkRaw(t *testing.T, raw []byte) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	if h.Get("From") != "<orgauth@example.test>" || h.Get("To") != "<bob@example.com>" {
		t.Errorf("From %q, To %q", h.Get("From"), h.Get("To"))
	}
	if id := h.Get("Message-Id"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.test>") {
		t.Errorf("Message-ID = %q", id)
	}
	if d, err := h.Date(); err != nil || time.Since(d) > time.Minute {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if ua := h.Get("User-Agent") + h.Get("X-Mailer"); ua != "" {
		t.Errorf("User-Agent/X-Mailer = %q", ua)
	}
	typ, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || typ != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		typ, params, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types = append(types, typ+";"+strings.ToLower(params["charset"]))
	}
	if strings.Join(types, " ") != "text/plain;utf-8 text/html;utf-8" {
		t.Errorf("parts = %v", types)
	}
	for line := range strings.SplitSeq(string(raw), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line longer than 78: %q", line)
		}
	}
}

func TestSMTPConcurrentSends(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: "starttls", Username: user, Password: password})
	s := newSender(t, srv.Config())
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() { errs <- s.Send(context.Background(), invitation(t)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(srv.Wait(t, 5, 5*time.Second)); n != 5 {
		t.Errorf("%d messages", n)
	}
}

func TestSMTPWrongPassword(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: "starttls", Username: user, Password: "right-one"})
	c := srv.Config()
	c.Password = "wr0ng-Secret"
	err := newSender(t, c).Send(context.Background(), invitation(t))
	if err == nil {
		t.Fatal("sent with a wrong password")
	}
	if strings.Contains(err.Error(), c.Password) {
		t.Errorf("the error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), "535") {
		t.Errorf("error = %v, want the 535 reply", err)
	}
	if oamail.IsPermanent(err) {
		t.Errorf("an authentication failure is permanent for the message: %v", err)
	}
	if srv.Count() != 0 {
		t.Errorf("%d messages delivered", srv.Count())
	}
}

func TestSMTPAuthRequired(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: "starttls", Username: user, Password: password})
	c := srv.Config()
	c.Username, c.Password = "", ""
	if err := newSender(t, c).Send(context.Background(), invitation(t)); err == nil {
		t.Fatal("sent without AUTH")
	}
	if srv.Count() != 0 {
		t.Errorf("%d messages delivered", srv.Count())
	}
}

func TestSMTPTLSIsVerified(t *testing.T) {
	t.Run("starttls required", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{TLS: "none"})
		c := srv.Config()
		c.TLS = "starttls"
		err := newSender(t, c).Send(context.Background(), invitation(t))
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Errorf("error = %v, want STARTTLS refused", err)
		}
	})
	for _, mode := range []string{"starttls", "implicit"} {
		t.Run(mode+" unknown certificate", func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{TLS: mode, Username: user, Password: password})
			c := srv.Config()
			c.RootCAs = nil // the system roots do not know the test certificate
			err := newSender(t, c).Send(context.Background(), invitation(t))
			if err == nil || !strings.Contains(err.Error(), "certificate") {
				t.Errorf("error = %v, want a certificate error", err)
			}
			if srv.Count() != 0 {
				t.Errorf("%d messages delivered", srv.Count())
			}
		})
	}
}

func TestSMTPRefusesHeaderInjection(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSender(t, srv.Config())
	for _, m := range []*orgauth.Mail{
		{To: "bob@example.com\r\nBcc: eve@example.com", Subject: "x", Text: "x"},
		{To: "bob@example.com\nBcc: eve@example.com", Subject: "x", Text: "x"},
		{To: "bob@example.com", Subject: "x\r\nBcc: eve@example.com", Text: "x"},
		{To: "bob@example.com", Subject: "x\nBcc: eve@example.com", Text: "x"},
		{To: "not an address", Subject: "x", Text: "x"},
		{To: "bob@example.com, eve@example.com", Subject: "x", Text: "x"},
	} {
		err := s.Send(context.Background(), m)
		if err == nil {
			t.Errorf("sent %+v", m)
			continue
		}
		if !oamail.IsPermanent(err) {
			t.Errorf("%+v: error %v not permanent", m, err)
		}
	}
	if err := s.Send(context.Background(), nil); err == nil {
		t.Error("sent a nil message")
	}
	if srv.Count() != 0 {
		t.Errorf("%d messages delivered", srv.Count())
	}
}

func TestSMTPServerDown(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: "starttls"})
	s := newSender(t, srv.Config())
	srv.Stop()
	start := time.Now()
	err := s.Send(context.Background(), invitation(t))
	if err == nil {
		t.Fatal("sent to a stopped server")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v to fail", d)
	}
	if oamail.IsPermanent(err) {
		t.Errorf("connection refused is permanent: %v", err)
	}
	srv.Restart()
	if err := s.Send(context.Background(), invitation(t)); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
	srv.Wait(t, 1, 5*time.Second)
}

func TestSMTPRejections(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: "starttls", Username: user, Password: password})
	s := newSender(t, srv.Config())
	for _, tc := range []struct {
		code      int
		permanent bool
	}{{550, true}, {553, true}, {451, false}, {421, false}} {
		srv.Reject(tc.code)
		err := s.Send(context.Background(), invitation(t))
		if err == nil {
			t.Errorf("%d: sent", tc.code)
			continue
		}
		if got := oamail.IsPermanent(err); got != tc.permanent {
			t.Errorf("%d: IsPermanent = %v, want %v (%v)", tc.code, got, tc.permanent, err)
		}
		if !strings.Contains(err.Error(), "rejected by smtptest") {
			t.Errorf("%d: error %v lacks the server's reply", tc.code, err)
		}
	}
	srv.Reject(0)
	if err := s.Send(context.Background(), invitation(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Wait(t, 1, 5*time.Second)); n != 1 {
		t.Errorf("%d messages", n)
	}
}

// silent accepts connections and never answers: a hung server.
func silent(t *testing.T) oamail.SMTPConfig {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return oamail.SMTPConfig{
		Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, TLS: "none", From: "orgauth@example.test",
	}
}

func TestSMTPContext(t *testing.T) {
	t.Run("cancelled before", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := newSender(t, srv.Config()).Send(ctx, invitation(t))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
		if oamail.IsPermanent(err) {
			t.Errorf("cancellation is permanent: %v", err)
		}
		if srv.Count() != 0 {
			t.Errorf("%d messages delivered", srv.Count())
		}
	})
	t.Run("cancelled while the server hangs", func(t *testing.T) {
		c := silent(t)
		c.Timeout = time.Minute
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		err := newSender(t, c).Send(ctx, invitation(t))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("deadline while the server hangs", func(t *testing.T) {
		c := silent(t)
		c.Timeout = time.Minute
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := newSender(t, c).Send(ctx, invitation(t))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("Timeout while the server hangs", func(t *testing.T) {
		c := silent(t)
		c.Timeout = 200 * time.Millisecond
		start := time.Now()
		err := newSender(t, c).Send(context.Background(), invitation(t))
		if err == nil || oamail.IsPermanent(err) {
			t.Errorf("error = %v, want a temporary error", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
	})
}

func TestNewSMTPValidates(t *testing.T) {
	for _, c := range []oamail.SMTPConfig{
		{Port: 25, TLS: "none", From: "a@example.com"},
		{Host: "mail.example.com", From: "not an address"},
		{Host: "mail.example.com", From: "a@example.com\r\nBcc: eve@example.com"},
		{Host: "mail.example.com", From: "a@example.com", TLS: "ssl"},
		{Host: "mail.example.com", From: "a@example.com", Port: 70000},
		{Host: "mail.example.com", From: "a@example.com", Timeout: -time.Second},
		{Host: "mail.example.com", From: "a@example.com", TLS: "none", Username: "u", Password: password},
	} {
		s, err := oamail.NewSMTP(c)
		if err == nil {
			t.Errorf("NewSMTP(%v) = %v", c, s)
		} else if strings.Contains(err.Error(), password) {
			t.Errorf("error shows the password: %v", err)
		}
	}
	if _, err := oamail.NewSMTP(oamail.SMTPConfig{Host: "mail.example.com", From: "orgauth <no-reply@example.com>"}); err != nil {
		t.Error(err)
	}
}

func TestParseSMTPURL(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	caPEM := testCA(t)
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		raw  string
		want oamail.SMTPConfig
		str  string // String(), if not empty
	}{
		{"smtp://mail.example.com", oamail.SMTPConfig{Host: "mail.example.com", TLS: "starttls"},
			"smtp://mail.example.com:587"},
		{"smtp://mail.example.com:2525", oamail.SMTPConfig{Host: "mail.example.com", Port: 2525, TLS: "starttls"}, ""},
		{"SMTPS://mail.example.com/", oamail.SMTPConfig{Host: "mail.example.com", TLS: "implicit"},
			"smtps://mail.example.com:465"},
		{"smtp://u%40example.com:p%40ss%3Aw%2Frd@mail.example.com:587?from=orgauth+%3Cno-reply%40example.com%3E",
			oamail.SMTPConfig{Host: "mail.example.com", Port: 587, TLS: "starttls", Username: "u@example.com", Password: "p@ss:w/rd", From: "orgauth <no-reply@example.com>"},
			"smtp://u%40example.com:xxxxx@mail.example.com:587?from=orgauth+%3Cno-reply%40example.com%3E"},
		{"smtp://localhost:25?tls=none", oamail.SMTPConfig{Host: "localhost", Port: 25, TLS: "none"},
			"smtp://localhost:25?tls=none"},
		{"smtp://u:p@127.0.0.1?tls=none", oamail.SMTPConfig{Host: "127.0.0.1", TLS: "none", Username: "u", Password: "p"},
			"smtp://u:xxxxx@127.0.0.1:25?tls=none"},
		{"smtp://u:p@[::1]:2525?tls=none", oamail.SMTPConfig{Host: "::1", Port: 2525, TLS: "none", Username: "u", Password: "p"},
			"smtp://u:xxxxx@[::1]:2525?tls=none"},
		{"smtps://apikey@mail.example.com", oamail.SMTPConfig{Host: "mail.example.com", TLS: "implicit", Username: "apikey"},
			"smtps://apikey@mail.example.com:465"},
	} {
		got, err := oamail.ParseSMTPURL(tc.raw)
		if err != nil {
			t.Errorf("%s: %v", tc.raw, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %#v\nwant %#v", tc.raw, got, tc.want)
		}
		if tc.str != "" && got.String() != tc.str {
			t.Errorf("%s: String() = %s, want %s", tc.raw, got.String(), tc.str)
		}
	}

	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := oamail.ParseSMTPURL("smtps://mail.example.com?ca=" + ca)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caPEM)
	caCert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := caCert.Verify(x509.VerifyOptions{Roots: c.RootCAs}); err != nil {
		t.Errorf("ca= does not trust the CA: %v", err)
	}

	const pw = "Sup3rS3cret"
	for _, raw := range []string{
		"http://u:" + pw + "@mail.example.com",
		"smtp://u:" + pw + "@",
		"smtp://u:" + pw + "@:587",
		"smtp://u:" + pw + "@mail.example.com:0",
		"smtp://u:" + pw + "@mail.example.com:70000",
		"smtp://u:" + pw + "@mail.example.com:58x7",
		"smtp://u:" + pw + "@mail.example.com?tls=starttls",
		"smtp://u:" + pw + "@mail.example.com?tls=none",   // a password in clear to a remote host
		"smtps://u:" + pw + "@127.0.0.1?tls=none",         // tls=none only with smtp://
		"smtp://u:" + pw + "@mail.example.com?pass=" + pw, // unknown key
		"smtp://u:" + pw + "@mail.example.com?" + pw + "=1",
		"smtp://u:" + pw + "@mail.example.com?from=a@b.c&from=d@e.f",
		"smtp://u:" + pw + "@mail.example.com?ca=/nonexistent/" + pw,
		"smtp://u:" + pw + "@mail.example.com?ca=" + notPEM,
		"smtp://u:" + pw + "@mail.example.com?from=nobody",
		"smtp://u:" + pw + "@127.0.0.1?tls=none&ca=" + ca,
		"smtp://u:" + pw + "@mail.example.com/path",
		"smtp://u:" + pw + "@mail.example.com#frag",
		"smtp://:" + pw + "@mail.example.com",
		"smtp://u:" + pw + "%zz@mail.example.com",
		"smtp://u:" + pw + "/x@mail.example.com",
		"smtp://u:" + pw + " x@mail.example.com",
		"smtp:u:" + pw + "@mail.example.com",
		"mail.example.com",
		"",
	} {
		c, err := oamail.ParseSMTPURL(raw)
		if err == nil {
			t.Errorf("%s: accepted as %#v", raw, c)
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("%s: error shows the password: %v", raw, err)
		}
		if !strings.HasPrefix(err.Error(), "mail: ") {
			t.Errorf("%s: error %q", raw, err)
		}
	}
}

// testCA returns a self-signed certificate in PEM.
func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
