package http_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/internal/apitest"
	"github.com/orgauth/orgauth/internal/smtptest"
	"github.com/orgauth/orgauth/mail"
)

// Lifecycle tests whose mail goes over a real SMTP connection to the in-process
// server of internal/smtptest, delivered by the outbox worker running in the
// background as in production.

// lcSMTPSender returns the SMTP sender for srv.
func lcSMTPSender(t testing.TB, srv *smtptest.Server) *mail.SMTP {
	t.Helper()
	s, err := mail.NewSMTP(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lcSMTPTo returns the messages srv received for addr, oldest first.
func lcSMTPTo(srv *smtptest.Server, addr string) []smtptest.Message {
	var out []smtptest.Message
	for _, m := range srv.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(strings.Trim(to, "<>"), addr) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// lcAwaitSMTP waits until srv received n messages for addr and returns the nth.
func lcAwaitSMTP(t testing.TB, srv *smtptest.Server, addr string, n int) smtptest.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if msgs := lcSMTPTo(srv, addr); len(msgs) >= n {
			return msgs[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtp: %d messages for %s after 10s, want %d", len(lcSMTPTo(srv, addr)), addr, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lcSMTPToken returns the token of the link with prefix in m.
func lcSMTPToken(t testing.TB, m smtptest.Message, prefix string) string {
	t.Helper()
	link := smtptest.Link(t, m, prefix)
	tok, err := url.QueryUnescape(strings.TrimPrefix(link, prefix))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// lcSMTPTenant creates a tenant as the system administrator and activates its
// first administrator from the invitation that arrives over SMTP (apitest's
// NewTenant reads env.Mail, which a Sender of its own leaves empty).
func lcSMTPTenant(t testing.TB, env *apitest.Env, srv *smtptest.Server, org string) *apitest.Tenant {
	t.Helper()
	email := "admin@" + org + ".example.com"
	var uid struct{ UID string }
	env.Do("POST", "/v1/tenants", map[string]any{
		"metadata": map[string]any{"name": org},
		"spec":     map[string]any{"orgName": org, "emailId": email, "firstName": "Ada", "lastName": "Admin"},
	}, "Authorization", env.Admin()).Must(t, 201).JSON(t, &uid)
	msg := lcAwaitSMTP(t, srv, email, 1)
	if !strings.Contains(msg.Subject, org) {
		t.Errorf("invitation subject %q", msg.Subject)
	}
	pw := "Tenant-Adm1n!"
	lcActivate(env, lcSMTPToken(t, msg, lcActivatePrefix), pw).Must(t, 204)
	tok := env.Login(org, email, pw)
	var info struct{ UserUID string }
	env.Do("GET", "/v1/users/info", nil, "Authorization", tok).Must(t, 200).JSON(t, &info)
	return &apitest.Tenant{UID: uid.UID, Org: org, AdminEmail: email, AdminPassword: pw, AdminToken: tok, AdminUID: info.UserUID}
}

// lcSMTPUser creates a user in ten and activates it from the invitation that
// arrives over SMTP; it returns the uid.
func lcSMTPUser(t testing.TB, env *apitest.Env, srv *smtptest.Server, ten *apitest.Tenant, email, pw string) string {
	t.Helper()
	n := len(lcSMTPTo(srv, email))
	uid := lcCreateUser(t, env, ten.AdminToken, email)
	lcActivate(env, lcSMTPToken(t, lcAwaitSMTP(t, srv, email, n+1), lcActivatePrefix), pw).Must(t, 204)
	return uid
}

// lcAwaitOutbox waits until check holds for the outbox counts and returns them.
func lcAwaitOutbox(t testing.TB, env *apitest.Env, what string, check func(orgauth.OutboxCounts) bool) orgauth.OutboxCounts {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := lcOutbox(t, env)
		if check(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: outbox %+v after 10s", what, c)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLifecycleSMTP_Reset(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: "starttls"})
	env := apitest.New(t, apitest.Options{Sender: lcSMTPSender(t, srv)})
	ten := lcSMTPTenant(t, env, srv, "acme")
	email := "bob@acme.example.com"
	const old = "B0b-password!"
	lcSMTPUser(t, env, srv, ten, email, old)
	session := env.Login("acme", email, old)
	env.Do("GET", "/v1/users/info", nil, "Authorization", session).Must(t, 200)

	r := lcResetRequest(env, "acme", email).Must(t, 204)
	if r.Header.Get("AuditUid") == "" {
		t.Error("no AuditUid on the reset request")
	}
	if len(r.Body) != 0 {
		t.Errorf("body %q, want none", r.Body)
	}
	msg := lcAwaitSMTP(t, srv, email, 2) // the invitation, then the reset
	if msg.Subject != "Reset your password for acme" {
		t.Errorf("subject %q", msg.Subject)
	}
	if msg.From != "orgauth@example.test" {
		t.Errorf("envelope sender %q", msg.From)
	}
	if !strings.Contains(msg.HTML, lcResetPrefix) {
		t.Errorf("the HTML part has no reset link:\n%s", msg.HTML)
	}
	tok := lcSMTPToken(t, msg, lcResetPrefix)

	const next = "N3w-password!"
	lcReset(env, tok, next).Must(t, 204)
	env.Login("acme", email, next)
	lcWantError(t, lcSignIn(env, "acme", email, old), 401, orgauth.ECREDENTIALS)
	lcWantError(t, env.Do("GET", "/v1/users/info", nil, "Authorization", session), 401, orgauth.EUNAUTHORIZED)
	lcWantError(t, lcReset(env, tok, "Oth3r-password!"), 404, orgauth.ENOTFOUND)
	lcSignIn(env, "acme", email, "Oth3r-password!").Must(t, 401)

	// Nothing more went out than the invitation and the one reset.
	time.Sleep(200 * time.Millisecond)
	if got := len(lcSMTPTo(srv, email)); got != 2 {
		t.Errorf("%d messages for %s, want 2", got, email)
	}
}

func TestLifecycleSMTP_TwoInstancesDeliverOnce(t *testing.T) {
	dbURL := apitest.PostgresURL(t)
	srv := smtptest.Start(t, smtptest.Options{TLS: "starttls"})
	clock := apitest.NewClock()
	a := apitest.New(t, apitest.Options{DatabaseURL: dbURL, Clock: clock, Sender: lcSMTPSender(t, srv)})
	b := apitest.New(t, apitest.Options{DatabaseURL: dbURL, Clock: clock, Sender: lcSMTPSender(t, srv)})
	ten := lcSMTPTenant(t, a, srv, "acme")
	const n = 10
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("user%02d@acme.example.com", i)
		lcSMTPUser(t, a, srv, ten, emails[i], "Us3r-password!")
	}
	base := lcAwaitOutbox(t, a, "setup mail sent", func(c orgauth.OutboxCounts) bool { return c.Queued == 0 })
	seen := srv.Count()

	for i, email := range emails {
		env := a
		if i%2 == 1 {
			env = b
		}
		// Not lcResetRequest, which moves the shared clock a minute per request:
		// ten minutes would outrun the 2-minute lease of a message still being
		// sent, and the other instance would rightly take it over and send it again.
		env.Do("POST", "/v1/auth/user/password/reset?org=acme", map[string]string{"emailId": email}).Must(t, 204)
	}
	srv.Wait(t, seen+n, 15*time.Second)
	time.Sleep(500 * time.Millisecond) // ten polls of each instance: time for a duplicate to show
	msgs := srv.Messages()[seen:]
	if len(msgs) != n {
		t.Errorf("%d reset messages, want exactly %d", len(msgs), n)
	}
	per := map[string]int{}
	for _, m := range msgs {
		if !strings.HasPrefix(m.Subject, "Reset your password") {
			t.Errorf("unexpected message %q to %v", m.Subject, m.To)
		}
		for _, to := range m.To {
			per[strings.ToLower(to)]++
		}
	}
	for _, email := range emails {
		if per[email] != 1 {
			t.Errorf("%s received %d reset messages, want 1", email, per[email])
		}
	}
	c := lcAwaitOutbox(t, a, "resets sent", func(c orgauth.OutboxCounts) bool { return c.Queued == 0 && c.Sent >= base.Sent+n })
	if c.Sent-base.Sent != n || c.Queued != 0 || c.Failed != base.Failed {
		t.Errorf("outbox %+v (before the resets %+v), want %d more sent, none queued or failed", c, base, n)
	}
	t.Logf("two instances: %d resets queued, %d messages received, outbox sent %d (+%d), queued %d, retried %d",
		n, len(msgs), c.Sent, c.Sent-base.Sent, c.Queued, c.Retries)
}

// lcCountingSender passes every message to the real sender and counts the
// attempts and failures, so the test knows the outbox tried.
type lcCountingSender struct {
	orgauth.Sender
	tries, fails atomic.Int64
}

func (s *lcCountingSender) Send(ctx context.Context, m *orgauth.Mail) error {
	s.tries.Add(1)
	err := s.Sender.Send(ctx, m)
	if err != nil {
		s.fails.Add(1)
	}
	return err
}

func TestLifecycleSMTP_Outage(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: "starttls"})
	sender := &lcCountingSender{Sender: lcSMTPSender(t, srv)}
	env := apitest.New(t, apitest.Options{Sender: sender})
	ten := lcSMTPTenant(t, env, srv, "acme")
	const n = 5
	emails := make([]string, n)
	for i := range emails {
		emails[i] = fmt.Sprintf("user%d@acme.example.com", i)
		lcSMTPUser(t, env, srv, ten, emails[i], "Us3r-password!")
	}
	base := lcAwaitOutbox(t, env, "setup mail sent", func(c orgauth.OutboxCounts) bool { return c.Queued == 0 })
	seen := srv.Count()
	failsBefore := sender.fails.Load()

	srv.Stop()
	for _, email := range emails {
		start := time.Now()
		// Not lcResetRequest: the clock must stand still until the retry test.
		env.Do("POST", "/v1/auth/user/password/reset?org=acme", map[string]string{"emailId": email}).Must(t, 204)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("reset request for %s took %v while the mail server is down", email, d)
		}
	}
	// Every message is tried once and fails; then they wait for the retry delay
	// (about 30 s of the test clock, which stands still).
	deadline := time.Now().Add(10 * time.Second)
	for sender.fails.Load()-failsBefore < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d failed attempts after 10s, want %d", sender.fails.Load()-failsBefore, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // a few more polls: nothing is retried early
	during := lcOutbox(t, env)
	if during.Queued != n || during.Sent != base.Sent || during.Failed != base.Failed {
		t.Errorf("outbox during the outage %+v (before %+v), want %d queued, none sent or given up", during, base, n)
	}
	if got := sender.fails.Load() - failsBefore; got != n {
		t.Errorf("%d failed attempts before the retry delay passed, want %d", got, n)
	}
	if srv.Count() != seen {
		t.Fatalf("the stopped server received %d messages", srv.Count()-seen)
	}

	srv.Restart()
	env.Clock.Advance(2 * time.Minute)
	srv.Wait(t, seen+n, 15*time.Second)
	time.Sleep(300 * time.Millisecond) // time for a duplicate to show
	msgs := srv.Messages()[seen:]
	if len(msgs) != n {
		t.Errorf("%d messages after the outage, want exactly %d", len(msgs), n)
	}
	per := map[string]int{}
	for _, m := range msgs {
		for _, to := range m.To {
			per[strings.ToLower(to)]++
		}
	}
	for _, email := range emails {
		if per[email] != 1 {
			t.Errorf("%s received %d messages, want 1", email, per[email])
		}
		if m := lcSMTPTo(srv, email); len(m) > 0 {
			lcSMTPToken(t, m[len(m)-1], lcResetPrefix)
		}
	}
	after := lcAwaitOutbox(t, env, "outage mail sent", func(c orgauth.OutboxCounts) bool { return c.Queued == 0 })
	delivered, retried := after.Sent-base.Sent, after.Retries-base.Retries
	t.Logf("outage: delivered %d, queued %d, retried %d", delivered, during.Queued, retried)
	if delivered != n || after.Queued != 0 || after.Failed != base.Failed || retried < n {
		t.Errorf("outbox after the outage %+v (before %+v): want %d more sent, 0 queued, none failed, at least %d retries",
			after, base, n, n)
	}
	// The links still work: the outage cost time, not the reset.
	lcReset(env, lcSMTPToken(t, lcSMTPTo(srv, emails[0])[1], lcResetPrefix), "N3w-password!").Must(t, 204)
	env.Login("acme", emails[0], "N3w-password!")
}

// TestLifecycleSMTP_RefusedRecipientNotRecorded: a mail server that refuses a
// recipient quotes the address in its reply; the outbox gives the mail up and
// logs why without the address (kept otherwise only sealed or as a MAC).
func TestLifecycleSMTP_RefusedRecipientNotRecorded(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{TLS: "starttls"})
	env := apitest.New(t, apitest.Options{Sender: lcSMTPSender(t, srv)})
	ten := lcSMTPTenant(t, env, srv, "acme")
	email := "gone@acme.example.com"
	lcSMTPUser(t, env, srv, ten, email, "G0ne-password!")
	base := lcAwaitOutbox(t, env, "setup mail sent", func(c orgauth.OutboxCounts) bool { return c.Queued == 0 })

	srv.Reject(550)
	lcResetRequest(env, "acme", email).Must(t, 204)
	lcAwaitOutbox(t, env, "the reset given up", func(c orgauth.OutboxCounts) bool { return c.Failed == base.Failed+1 })
	logs := env.Logs.String()
	var refused string
	for line := range strings.Lines(logs) {
		if strings.Contains(line, "mail refused for good") {
			refused = line
		}
	}
	if !strings.Contains(refused, "rejected by smtptest") || !strings.Contains(refused, "[address]") {
		t.Fatalf("no log line of the refusal with the server's reply: %q", refused)
	}
	if strings.Contains(refused, email) {
		t.Errorf("the refusal is logged with the address: %q", refused)
	}
}
