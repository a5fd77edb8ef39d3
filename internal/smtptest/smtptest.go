// Package smtptest runs a real SMTP server in the test process, to deliver
// orgauth's mail to and read it back.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/orgauth/orgauth/mail"
)

// Options configure a Server.
type Options struct {
	TLS      string // "none" (the default), "starttls" or "implicit"
	Username string // when set, AUTH PLAIN with Username and Password is required before MAIL
	Password string
}

// Message is one message the Server received.
type Message struct {
	From    string   // the envelope sender
	To      []string // the envelope recipients
	Raw     []byte   // the message as received
	Subject string   // decoded
	Text    string   // the first text/plain part, decoded
	HTML    string   // the first text/html part, decoded
}

// Server is an SMTP server listening on 127.0.0.1.
type Server struct {
	t    testing.TB
	opts Options
	tls  *tls.Config // nil for "none"
	pool *x509.CertPool
	port int

	mu      sync.Mutex
	srv     *smtp.Server  // nil while stopped
	l       net.Listener  // srv's
	served  chan struct{} // closed when srv's Serve returns
	ended   bool          // after the test's cleanup: no more logging
	reject  int
	msgs    []Message
	arrived chan struct{} // closed and replaced on every message
}

// Start starts a Server with options o; it stops when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	switch o.TLS {
	case "":
		o.TLS = "none"
	case "none", "starttls", "implicit":
	default:
		t.Fatalf("smtptest: TLS %q, want none, starttls or implicit", o.TLS)
	}
	s := &Server{t: t, opts: o, arrived: make(chan struct{})}
	if o.TLS != "none" {
		cert, pool, err := selfSigned()
		if err != nil {
			t.Fatalf("smtptest: %v", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.pool = pool
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	s.serve(l)
	t.Cleanup(func() {
		s.Stop()
		s.mu.Lock()
		s.ended = true
		s.mu.Unlock()
	})
	return s
}

// selfSigned makes a certificate for 127.0.0.1, ::1 and localhost, and a pool
// that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

// serve runs a new smtp.Server on l; a closed smtp.Server cannot serve again.
func (s *Server) serve(l net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{s: s}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.ErrorLog = logger{s}
	switch s.opts.TLS {
	case "none":
		srv.AllowInsecureAuth = true
	case "starttls":
		srv.TLSConfig = s.tls
	case "implicit":
		l = tls.NewListener(l, s.tls)
	}
	served := make(chan struct{})
	s.mu.Lock()
	s.srv, s.l, s.served = srv, l, served
	s.mu.Unlock()
	go func() {
		defer close(served)
		srv.Serve(l)
	}()
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host(), strconv.Itoa(s.port)) }

// Host is "127.0.0.1".
func (s *Server) Host() string { return "127.0.0.1" }

// Port is the server's port; it stays the same across Stop and Restart.
func (s *Server) Port() int { return s.port }

// CertPool trusts the server's certificate; nil for TLS "none".
func (s *Server) CertPool() *x509.CertPool { return s.pool }

// URL describes the server for mail.ParseSMTPURL, with its credentials and
// from=orgauth@example.test. With TLS the client needs CertPool too: see Config.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr()}
	q := url.Values{"from": {"orgauth@example.test"}}
	switch s.opts.TLS {
	case "none":
		q.Set("tls", "none")
	case "implicit":
		u.Scheme = "smtps"
	}
	if s.opts.Username != "" {
		u.User = url.UserPassword(s.opts.Username, s.opts.Password)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Config is the client configuration for the server: URL parsed, with
// CertPool as the roots and a 5s timeout.
func (s *Server) Config() mail.SMTPConfig {
	c, err := mail.ParseSMTPURL(s.URL())
	if err != nil {
		panic("smtptest: " + err.Error())
	}
	c.RootCAs = s.pool
	c.Timeout = 5 * time.Second
	return c
}

// Stop closes the listener and all connections: connections are refused until
// Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, l, served := s.srv, s.l, s.served
	s.srv, s.l = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	// go-smtp closes only the listeners its Serve has registered, which a
	// goroutine just started may not have done yet.
	l.Close()
	srv.Close()
	<-served
}

// Restart listens again on the same port, after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := net.Listen("tcp", s.Addr())
		if err == nil {
			s.serve(l)
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("smtptest: restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Reject makes every following RCPT fail with code (e.g. 451 or 550); 0
// accepts again.
func (s *Server) Reject(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = code
}

// Messages returns the messages received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Count is the number of messages received so far.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Wait returns the received messages once there are at least n; it fails the
// test if they do not arrive within timeout. Call it from the test's goroutine.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		msgs, arrived := append([]Message(nil), s.msgs...), s.arrived
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs
		}
		select {
		case <-arrived:
		case <-timer.C:
			t.Fatalf("smtptest: %d messages after %v, want %d", len(msgs), timeout, n)
			return nil
		}
	}
}

// Link returns the first URL in m's text part that starts with prefix; it
// fails the test if there is none.
func Link(t testing.TB, m Message, prefix string) string {
	t.Helper()
	i := strings.Index(m.Text, prefix)
	if i < 0 {
		t.Fatalf("smtptest: no link %q in the text:\n%s", prefix, m.Text)
	}
	link := m.Text[i:]
	if j := strings.IndexAny(link, " \t\r\n\"'<>"); j >= 0 {
		link = link[:j]
	}
	return strings.TrimRight(link, ".,;:!")
}

// add records a message.
func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// logger passes go-smtp's errors to the test log while the test runs.
type logger struct{ s *Server }

func (l logger) Printf(format string, v ...any) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if !l.s.ended {
		l.s.t.Logf("smtptest: "+format, v...)
	}
}

func (l logger) Println(v ...any) { l.Printf("%s", fmt.Sprintln(v...)) }

// session is one SMTP connection.
type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

func (c *session) AuthMechanisms() []string {
	if c.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (c *session) Auth(mech string) (sasl.Server, error) {
	if c.s.opts.Username == "" || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if (identity != "" && identity != username) || username != c.s.opts.Username || password != c.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		c.authed = true
		return nil
	}), nil
}

func (c *session) Mail(from string, _ *smtp.MailOptions) error {
	if c.s.opts.Username != "" && !c.authed {
		return smtp.ErrAuthRequired
	}
	c.from = from
	return nil
}

func (c *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	c.s.mu.Lock()
	code := c.s.reject
	c.s.mu.Unlock()
	if code != 0 {
		// Quoting the recipient, as real servers do ("550 5.1.1 <x@y>: ...").
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: "<" + to + ">: rejected by smtptest"}
	}
	c.to = append(c.to, to)
	return nil
}

func (c *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: c.from, To: append([]string(nil), c.to...), Raw: raw}
	if err := parse(&m); err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "smtptest: " + err.Error()}
	}
	c.s.add(m)
	return nil
}

func (c *session) Reset() { c.from, c.to = "", nil }

func (c *session) Logout() error { return nil }

// parse fills m's Subject, Text and HTML from m.Raw.
func parse(m *Message) error {
	msg, err := netmail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return err
	}
	m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return err
	}
	return walk(m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
}

// walk decodes one MIME entity into m, descending into multiparts.
func walk(m *Message, contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	typ, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return err
	}
	if strings.HasPrefix(typ, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walk(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // skips line breaks
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	switch {
	case typ == "text/plain" && m.Text == "":
		m.Text = string(b)
	case typ == "text/html" && m.HTML == "":
		m.HTML = string(b)
	}
	return nil
}
