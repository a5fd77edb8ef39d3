package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/orgauth/orgauth"
)

// SMTPConfig describes an SMTP submission server.
type SMTPConfig struct {
	Host     string
	Port     int // 0: 587 for "starttls", 465 for "implicit", 25 for "none"
	Username string
	Password string
	// TLS is "starttls" (the default: STARTTLS is required), "implicit"
	// (TLS from the first byte, "smtps") or "none" (plain text; only with
	// no credentials or a loopback host).
	TLS     string
	From    string         // the From header, e.g. "orgauth <no-reply@example.com>"
	RootCAs *x509.CertPool // nil: the system roots
	Timeout time.Duration  // for a whole Send; 0: 15s
}

// ParseSMTPURL parses a server description of the form
//
//	smtp://[user:password@]host[:port][?tls=none][&from=address][&ca=/path/ca.pem]
//	smtps://[user:password@]host[:port][?from=address][&ca=/path/ca.pem]
//
// smtp:// requires STARTTLS (default port 587) unless tls=none is given (plain
// text, default port 25, credentials only for a loopback host); smtps:// is
// implicit TLS (default port 465). User and password are percent-decoded; ca
// names a PEM file of roots trusted in addition to the system's. Error
// messages never contain the password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	var c SMTPConfig
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if !strings.Contains(raw, "@") && errors.As(err, &ue) {
			return c, fmt.Errorf("mail: invalid SMTP URL: %v", ue.Err)
		}
		// The parser's message may quote a piece of the user information.
		return c, errors.New("mail: invalid SMTP URL (malformed host or port, or user or password not percent-encoded)")
	}
	pass, _ := u.User.Password()
	fail := func(format string, args ...any) (SMTPConfig, error) {
		msg := fmt.Sprintf(format, args...)
		if pass != "" {
			msg = strings.ReplaceAll(msg, pass, "xxxxx")
		}
		return SMTPConfig{}, errors.New("mail: SMTP URL: " + msg)
	}
	switch u.Scheme {
	case "smtp":
		c.TLS = "starttls"
	case "smtps":
		c.TLS = "implicit"
	default:
		return fail("unknown scheme %q, want smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return fail("missing host")
	}
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return fail("unexpected path or fragment")
	}
	c.Host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fail("invalid port %q", p)
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username, c.Password = u.User.Username(), pass
		if c.Username == "" {
			return fail("password without a user")
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fail("invalid query")
	}
	for k, v := range q {
		if len(v) != 1 {
			return fail("query parameter %q given %d times", k, len(v))
		}
		switch k {
		case "tls":
			if v[0] != "none" {
				return fail("tls=%q, want tls=none or no tls parameter", v[0])
			}
			if c.TLS != "starttls" {
				return fail("tls=none with smtps://")
			}
			c.TLS = "none"
		case "from":
			if _, err := netmail.ParseAddress(v[0]); err != nil || strings.ContainsAny(v[0], "\r\n") {
				return fail("from=%q is not an address", v[0])
			}
			c.From = v[0]
		case "ca":
			pem, err := os.ReadFile(v[0])
			if err != nil {
				return fail("ca: %v", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return fail("ca: no PEM certificate in %s", v[0])
			}
			c.RootCAs = pool
		default:
			return fail("unknown query parameter %q (known: tls, from, ca)", k)
		}
	}
	if c.TLS == "none" && q.Has("ca") {
		return fail("ca given with tls=none")
	}
	if err := c.check(); err != nil {
		return fail("%v", err)
	}
	return c, nil
}

// check refuses what no connection could make safe.
func (c SMTPConfig) check() error {
	if c.TLS == "none" && c.Username != "" && !isLoopback(c.Host) {
		return fmt.Errorf("credentials with tls=none only for a loopback host, not %q", c.Host)
	}
	return nil
}

// isLoopback reports whether host names this machine in the sense of the
// SMTP client, which sends a password in clear only there.
func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// String describes c as an SMTP URL with the password replaced by "xxxxx".
func (c SMTPConfig) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(c.Host, strconv.Itoa(c.port()))}
	q := url.Values{}
	switch c.TLS {
	case "implicit":
		u.Scheme = "smtps"
	case "", "starttls":
	default:
		q.Set("tls", c.TLS)
	}
	if c.Username != "" {
		u.User = url.User(c.Username)
		if c.Password != "" {
			u.User = url.UserPassword(c.Username, "xxxxx")
		}
	}
	if c.From != "" {
		q.Set("from", c.From)
	}
	if c.RootCAs != nil {
		q.Set("ca", "(custom)")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// port is c.Port or the default of c.TLS.
func (c SMTPConfig) port() int {
	switch {
	case c.Port != 0:
		return c.Port
	case c.TLS == "implicit":
		return 465
	case c.TLS == "none":
		return 25
	}
	return 587
}

// SMTP is the Sender that delivers through an SMTP server, one connection per
// message. It is safe for concurrent use.
type SMTP struct {
	c    SMTPConfig
	from *netmail.Address
}

// NewSMTP checks c and returns its Sender.
func NewSMTP(c SMTPConfig) (*SMTP, error) {
	if c.Host == "" {
		return nil, errors.New("mail: SMTP host not set")
	}
	switch c.TLS {
	case "":
		c.TLS = "starttls"
	case "starttls", "implicit", "none":
	default:
		return nil, fmt.Errorf("mail: SMTP TLS %q, want starttls, implicit or none", c.TLS)
	}
	if c.Port < 0 || c.Port > 65535 {
		return nil, fmt.Errorf("mail: SMTP port %d", c.Port)
	}
	c.Port = c.port()
	if c.Timeout < 0 {
		return nil, fmt.Errorf("mail: SMTP timeout %v", c.Timeout)
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("mail: SMTP: %w", err)
	}
	if strings.ContainsAny(c.From, "\r\n") {
		return nil, errors.New("mail: SMTP From with a line break")
	}
	from, err := netmail.ParseAddress(c.From)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP From %q: %w", c.From, err)
	}
	return &SMTP{c: c, from: from}, nil
}

// permanentError marks a failure that repeating the same Send cannot cure.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// IsPermanent reports whether err, returned by (*SMTP).Send, is permanent:
// the server answered the recipient or the message with a 5xx reply, or the
// message itself is invalid (a bad address, a line break in a header). It is
// false for 4xx replies, connection and TLS failures, timeouts, and 5xx replies
// to the greeting or to AUTH (a configuration problem, not one of this message).
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Send delivers m, within ctx and the configured Timeout.
func (s *SMTP) Send(ctx context.Context, m *orgauth.Mail) error {
	msg, err := s.message(m)
	if err != nil {
		return permanentError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.c.Timeout)
	defer cancel()
	tlsConfig := &tls.Config{ServerName: s.c.Host, RootCAs: s.c.RootCAs, MinVersion: tls.VersionTLS12}
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		// Closing the connection is what interrupts go-mail, which watches a
		// context only while dialing; it also ends the connection on every
		// path, since cancel runs when Send returns.
		context.AfterFunc(ctx, func() { conn.Close() })
		if s.c.TLS != "implicit" {
			return conn, nil
		}
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, err
		}
		return tc, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(s.c.Port),
		gomail.WithTimeout(s.c.Timeout),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(tlsConfig),
		gomail.WithoutNoop(),
	}
	switch s.c.TLS {
	case "starttls":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case "implicit":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.c.Username != "" {
		// go-mail's PLAIN and LOGIN refuse an unencrypted connection to
		// anything but localhost on their own, too.
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.c.Username), gomail.WithPassword(s.c.Password))
	}
	client, err := gomail.NewClient(s.c.Host, opts...)
	if err != nil {
		return s.redact(fmt.Errorf("mail: smtp: %w", err))
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err == nil || msg.IsDelivered() {
		// A failing RSET or QUIT after the server took the message is no
		// reason to send it again.
		return nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	err = fmt.Errorf("mail: smtp %s:%d: %w", s.c.Host, s.c.Port, err)
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() <= 599 &&
		(se.Reason == gomail.ErrSMTPRcptTo || se.Reason == gomail.ErrSMTPData || se.Reason == gomail.ErrSMTPDataClose) {
		err = permanentError{err}
	}
	return s.redact(err)
}

// message composes m for go-mail.
func (s *SMTP) message(m *orgauth.Mail) (*gomail.Msg, error) {
	if m == nil {
		return nil, errors.New("mail: nil message")
	}
	if strings.ContainsAny(m.To, "\r\n") || strings.ContainsAny(m.Subject, "\r\n") {
		return nil, errors.New("mail: header with a line break")
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("mail: recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(time.Now())
	var rnd [16]byte
	rand.Read(rnd[:])
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	msg.SetMessageIDWithValue(hex.EncodeToString(rnd[:]) + "@" + domain)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// redact replaces the password in err's message, should a server have echoed
// it; the result keeps only whether err is permanent.
func (s *SMTP) redact(err error) error {
	if s.c.Password == "" || !strings.Contains(err.Error(), s.c.Password) {
		return err
	}
	red := errors.New(strings.ReplaceAll(err.Error(), s.c.Password, "xxxxx"))
	if IsPermanent(err) {
		return permanentError{red}
	}
	return red
}
