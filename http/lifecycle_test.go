package http_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/internal/apitest"
	"github.com/orgauth/orgauth/password"
)

// Tests of the account lifecycle by mail (http/lifecycle.go): password resets,
// the forgotten-organizations mail, admin-triggered resets, the password policy,
// the blocklist, long passwords and expiry (security.md items 10 to 14,
// behavior.md "Account lifecycle"). These run on the default environment, whose
// outbox is delivered to env.Mail whenever the test reads it; the tests over a
// real SMTP server are in lifecycle_smtp_test.go.

// --- helpers ---------------------------------------------------------------------

// lcResetRequest asks for the reset mail of email, in org when org is not "".
// lcResetRequest asks for a reset mail, a minute after the previous request:
// anonymous requests mail an account at most once a minute.
func lcResetRequest(env *apitest.Env, org, email string, headers ...string) *apitest.Response {
	env.T.Helper()
	env.Clock.Advance(time.Minute)
	path := "/v1/auth/user/password/reset"
	if org != "" {
		path += "?org=" + url.QueryEscape(org)
	}
	return env.Do("POST", path, map[string]string{"emailId": email}, headers...)
}

// lcForgot asks for the mail listing the organizations of email.
func lcForgot(env *apitest.Env, email string) *apitest.Response {
	env.T.Helper()
	return env.Do("GET", "/v1/auth/user/org/forgot?emailId="+url.QueryEscape(email), nil)
}

// lcReset sets pw with the reset token tok.
func lcReset(env *apitest.Env, tok, pw string) *apitest.Response {
	env.T.Helper()
	return env.Do("PATCH", "/v1/auth/password/"+url.PathEscape(tok)+"/reset", map[string]string{"password": pw})
}

// lcActivate sets the first password pw with the activation token tok.
func lcActivate(env *apitest.Env, tok, pw string) *apitest.Response {
	env.T.Helper()
	return env.Do("PATCH", "/v1/auth/password/"+url.PathEscape(tok)+"/activate", map[string]string{"password": pw})
}

// lcSignIn tries to sign in and returns the whole answer.
func lcSignIn(env *apitest.Env, org, email, pw string) *apitest.Response {
	env.T.Helper()
	return env.Do("POST", "/v1/auth/authenticate?setCookie=false", map[string]string{"emailId": email, "password": pw, "org": org})
}

// lcChange changes the caller's own password by uid.
func lcChange(env *apitest.Env, uid, tok, current, next string) *apitest.Response {
	env.T.Helper()
	return env.Do("PATCH", "/v1/users/"+uid+"/password/change",
		map[string]string{"currentPassword": current, "newPassword": next}, "Authorization", tok)
}

// lcChangeByEmail changes a password with email and current password as credentials.
func lcChangeByEmail(env *apitest.Env, org, email, current, next string) *apitest.Response {
	env.T.Helper()
	return env.Do("PATCH", "/v1/users/password/change?org="+url.QueryEscape(org),
		map[string]string{"emailId": email, "currentPassword": current, "newPassword": next})
}

// lcErr returns code and message of an error answer, failing unless it has the
// Palette error shape.
func lcErr(t testing.TB, r *apitest.Response) (code, message string) {
	t.Helper()
	var e struct{ Code, Message, Ref string }
	r.JSON(t, &e)
	if e.Code == "" || e.Message == "" || e.Ref == "" {
		t.Fatalf("not the error shape: %s", r.Body)
	}
	return e.Code, e.Message
}

// lcWantError fails unless r has the status and code, and a message containing
// every one of parts.
func lcWantError(t testing.TB, r *apitest.Response, status int, code string, parts ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	c, msg := lcErr(t, r)
	if c != code {
		t.Errorf("code %q, want %q (%s)", c, code, msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("message %q does not say %q", msg, p)
		}
	}
}

// lcCreateUser creates a user in the tenant (invited, not activated) and returns its uid.
func lcCreateUser(t testing.TB, env *apitest.Env, adminTok, email string, roles ...string) string {
	t.Helper()
	if roles == nil {
		roles = []string{}
	}
	var id struct{ UID string }
	env.Do("POST", "/v1/users", map[string]any{
		"spec": map[string]any{"emailId": email, "firstName": "Test", "lastName": "User", "roles": roles},
	}, "Authorization", adminTok).Must(t, 201).JSON(t, &id)
	if id.UID == "" {
		t.Fatal("no uid")
	}
	return id.UID
}

// lcDisable disables the user.
func lcDisable(t testing.TB, env *apitest.Env, adminTok, uid string) {
	t.Helper()
	env.Do("PATCH", "/v1/users/"+uid, []map[string]any{{"op": "replace", "path": "/status/isActive", "value": false}},
		"Authorization", adminTok).Must(t, 204)
}

// lcOutbox counts the outbox once the mail requests in it have been expanded
// (and, with the default Mailbox, everything due delivered).
func lcOutbox(t testing.TB, env *apitest.Env) orgauth.OutboxCounts {
	t.Helper()
	env.Mail.Messages("") // delivers the outbox first
	return lcOutboxNow(t, env)
}

// lcOutboxNow counts the outbox as it stands.
func lcOutboxNow(t testing.TB, env *apitest.Env) orgauth.OutboxCounts {
	t.Helper()
	c, err := env.Store.CountOutbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lcAdvance moves the clock by d and rotates the signing keys, as the server's
// hourly rotation would have done meanwhile.
func lcAdvance(t testing.TB, env *apitest.Env, d time.Duration) {
	t.Helper()
	env.Clock.Advance(d)
	if err := env.Issuer.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// lcTotal is how many messages the outbox ever held.
func lcTotal(c orgauth.OutboxCounts) int { return c.Queued + c.Sent + c.Failed }

// lcLastMail returns the newest mail to addr, failing if there is none.
func lcLastMail(t testing.TB, env *apitest.Env, addr string) *orgauth.Mail {
	t.Helper()
	msgs := env.Mail.Messages(addr)
	if len(msgs) == 0 {
		t.Fatalf("no mail to %s", addr)
	}
	return msgs[len(msgs)-1]
}

// lcMailToken returns the token of the link with prefix in m's text.
func lcMailToken(t testing.TB, m *orgauth.Mail, prefix string) string {
	t.Helper()
	i := strings.Index(m.Text, prefix)
	if i < 0 {
		t.Fatalf("no link %q in the mail %q:\n%s", prefix, m.Subject, m.Text)
	}
	raw := m.Text[i+len(prefix):]
	if j := strings.IndexAny(raw, " \t\r\n\"'<>"); j >= 0 {
		raw = raw[:j]
	}
	tok, err := url.QueryUnescape(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const (
	lcResetPrefix    = "http://orgauth.test/reset?token="
	lcActivatePrefix = "http://orgauth.test/activate?token="
)

// lcPolicy is the tenant and system password policy as the API shows it.
type lcPolicy struct {
	ExpiryDurationInDays      int
	FirstReminderInDays       int
	IsRegex                   bool
	MaxLength                 int
	MinLength                 int
	MinNumOfBlockLetters      int
	MinNumOfDigits            int
	MinNumOfSmallLetters      int
	MinNumOfSpecialCharacters int
	Regex                     string
	ReminderFrequency         *int
}

func lcGetPolicy(t testing.TB, env *apitest.Env, tenantUID, tok string) lcPolicy {
	t.Helper()
	var p lcPolicy
	env.Do("GET", "/v1/tenants/"+tenantUID+"/password/policy", nil, "Authorization", tok).Must(t, 200).JSON(t, &p)
	return p
}

func lcSetPolicy(env *apitest.Env, tenantUID, tok string, body map[string]any) *apitest.Response {
	env.T.Helper()
	return env.Do("POST", "/v1/tenants/"+tenantUID+"/password/policy", body, "Authorization", tok)
}

// --- 13. reset tokens ----------------------------------------------------------------

func TestLifecycle_ResetTokenRules(t *testing.T) { lcResetTokenRules(t, apitest.New(t)) }

func lcResetTokenRules(t *testing.T, env *apitest.Env) {
	ten := env.NewTenant("acme")
	const pw = "B0b-password!"
	// newUser makes an activated user; the admin signs in again first, since the
	// clock moves between subtests (apitest fails the parent test otherwise).
	newUser := func(t *testing.T, email string) {
		t.Helper()
		tok := env.Login("acme", ten.AdminEmail, ten.AdminPassword)
		lcCreateUser(t, env, tok, email)
		lcActivate(env, env.Mail.LastToken(t, email), pw).Must(t, 204)
	}

	t.Run("single use", func(t *testing.T) {
		email := "once@acme.example.com"
		newUser(t, email)
		lcResetRequest(env, "acme", email).Must(t, 204)
		tok := lcMailToken(t, lcLastMail(t, env, email), lcResetPrefix)
		lcReset(env, tok, "N3w-password!").Must(t, 204)
		lcWantError(t, lcReset(env, tok, "Oth3r-password!"), 404, orgauth.ENOTFOUND)
		lcSignIn(env, "acme", email, "Oth3r-password!").Must(t, 401)
		env.Login("acme", email, "N3w-password!")
	})

	t.Run("expiry after an hour", func(t *testing.T) {
		email := "late@acme.example.com"
		newUser(t, email)
		lcResetRequest(env, "acme", email).Must(t, 204)
		tok := lcMailToken(t, lcLastMail(t, env, email), lcResetPrefix)
		env.Clock.Advance(time.Hour + time.Second)
		lcWantError(t, lcReset(env, tok, "N3w-password!"), 404, orgauth.ENOTFOUND)
		env.Login("acme", email, pw)
		lcSignIn(env, "acme", email, "N3w-password!").Must(t, 401)

		// Just inside the hour the link works.
		lcResetRequest(env, "acme", email).Must(t, 204)
		tok = lcMailToken(t, lcLastMail(t, env, email), lcResetPrefix)
		env.Clock.Advance(time.Hour - time.Minute)
		lcReset(env, tok, "N3w-password!").Must(t, 204)
		env.Login("acme", email, "N3w-password!")
	})

	t.Run("superseded by a newer request", func(t *testing.T) {
		email := "twice@acme.example.com"
		newUser(t, email)
		lcResetRequest(env, "acme", email).Must(t, 204)
		first := lcMailToken(t, lcLastMail(t, env, email), lcResetPrefix)
		lcResetRequest(env, "acme", email).Must(t, 204)
		second := lcMailToken(t, lcLastMail(t, env, email), lcResetPrefix)
		if first == second {
			t.Fatal("two requests mailed the same token")
		}
		lcWantError(t, lcReset(env, first, "F1rst-password!"), 404, orgauth.ENOTFOUND)
		lcReset(env, second, "S3cond-password!").Must(t, 204)
		env.Login("acme", email, "S3cond-password!")
		lcSignIn(env, "acme", email, "F1rst-password!").Must(t, 401)
	})

	t.Run("activation and reset tokens are not interchangeable", func(t *testing.T) {
		email := "purpose@acme.example.com"
		lcCreateUser(t, env, env.Login("acme", ten.AdminEmail, ten.AdminPassword), email)
		act := lcMailToken(t, lcLastMail(t, env, email), lcActivatePrefix)
		lcWantError(t, lcReset(env, act, "Us3r-password!"), 404, orgauth.ENOTFOUND)
		lcActivate(env, act, "Us3r-password!").Must(t, 204) // not spent by the refused use

		lcResetRequest(env, "acme", email).Must(t, 204)
		rst := lcMailToken(t, lcLastMail(t, env, email), lcResetPrefix)
		lcWantError(t, lcActivate(env, rst, "Oth3r-password!"), 404, orgauth.ENOTFOUND)
		lcReset(env, rst, "N3w-password!").Must(t, 204) // not spent either
		env.Login("acme", email, "N3w-password!")
	})

	t.Run("links from the public URL, never the Host header", func(t *testing.T) {
		email := "host@acme.example.com"
		newUser(t, email)
		lcResetRequest(env, "acme", email, "Host", "evil.example", "X-Forwarded-Host", "evil.example",
			"X-Forwarded-Proto", "https", "Forwarded", "host=evil.example;proto=https").Must(t, 204)
		m := lcLastMail(t, env, email)
		if !strings.Contains(m.Text, lcResetPrefix) || !strings.Contains(m.HTML, lcResetPrefix) {
			t.Errorf("the mail has no link from the public URL:\n%s", m.Text)
		}
		if strings.Contains(m.Text, "evil") || strings.Contains(m.HTML, "evil") {
			t.Errorf("the mail names the request's host:\n%s", m.Text)
		}
		lcReset(env, lcMailToken(t, m, lcResetPrefix), "N3w-password!").Must(t, 204)
	})

	t.Run("a password change spends the links mailed before", func(t *testing.T) {
		email := "spent@acme.example.com"
		newUser(t, email)
		lcResetRequest(env, "acme", email).Must(t, 204)
		link := lcMailToken(t, lcLastMail(t, env, email), lcResetPrefix)
		lcChangeByEmail(env, "acme", email, pw, "Chang3d-password!").Must(t, 204)
		lcWantError(t, lcReset(env, link, "Attack3r-password!"), 404, orgauth.ENOTFOUND)
		env.Login("acme", email, "Chang3d-password!")
	})

	t.Run("single use under concurrent redemption", func(t *testing.T) {
		email := "race@acme.example.com"
		newUser(t, email)
		lcResetRequest(env, "acme", email).Must(t, 204)
		tok := lcMailToken(t, lcLastMail(t, env, email), lcResetPrefix)
		const n = 10
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = lcReset(env, tok, fmt.Sprintf("Racer-%02d-pw!", i)).Status
			}()
		}
		wg.Wait()
		winner := -1
		for i, st := range statuses {
			switch {
			case st == 204 && winner < 0:
				winner = i
			case st == 204:
				t.Errorf("redemptions %d and %d both succeeded", winner, i)
			case st != 404:
				t.Errorf("redemption %d: status %d, want 204 or 404", i, st)
			}
		}
		if winner < 0 {
			t.Fatal("no redemption succeeded")
		}
		env.Login("acme", email, fmt.Sprintf("Racer-%02d-pw!", winner))
	})

	t.Run("disabled accounts", func(t *testing.T) {
		email := "off@acme.example.com"
		newUser(t, email)
		var info struct{ UserUID string }
		tok := env.Login("acme", email, pw)
		env.Do("GET", "/v1/users/info", nil, "Authorization", tok).Must(t, 200).JSON(t, &info)
		lcResetRequest(env, "acme", email).Must(t, 204)
		link := lcMailToken(t, lcLastMail(t, env, email), lcResetPrefix)
		admin := env.Login("acme", ten.AdminEmail, ten.AdminPassword)
		lcDisable(t, env, admin, info.UserUID)
		// A link mailed before the account was disabled no longer works.
		lcWantError(t, lcReset(env, link, "N3w-password!"), 404, orgauth.ENOTFOUND)
		// A disabled account gets no mail, with the same answer.
		n := len(env.Mail.Messages(email))
		lcResetRequest(env, "acme", email).Must(t, 204)
		lcResetRequest(env, "", email).Must(t, 204)
		lcForgot(env, email).Must(t, 204)
		if got := len(env.Mail.Messages(email)); got != n {
			t.Errorf("%d mails to a disabled account", got-n)
		}
		// An administrator is told to enable it first.
		lcWantError(t, env.Do("PATCH", "/v1/users/"+info.UserUID+"/password/reset", nil, "Authorization", admin),
			400, orgauth.EINVALID, "disabled")
	})

	t.Run("128-bit random tokens", func(t *testing.T) {
		email := "bits@acme.example.com"
		newUser(t, email)
		seen := map[string]bool{}
		shape := regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)
		for range 3 {
			lcResetRequest(env, "acme", email).Must(t, 204)
			tok := lcMailToken(t, lcLastMail(t, env, email), lcResetPrefix)
			if !shape.MatchString(tok) {
				t.Fatalf("token %q: not id.mac in base64url", tok)
			}
			id, _, _ := strings.Cut(tok, ".")
			raw, err := base64.RawURLEncoding.DecodeString(id)
			if err != nil || len(raw)*8 < 128 {
				t.Fatalf("token id %q: %d bits (%v), want at least 128", id, len(raw)*8, err)
			}
			if seen[tok] || seen[id] {
				t.Fatalf("token %q mailed twice", tok)
			}
			seen[tok], seen[id] = true, true
		}
	})
}

// --- 14. mail endpoints answer alike for any address -------------------------------

// lcHeaderNames is the sorted set of the answer's header names.
func lcHeaderNames(r *apitest.Response) []string {
	var names []string
	for k := range r.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func TestLifecycle_ResetMailsAnAccountOnceAMinute(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	email := "flood@acme.example.com"
	env.NewUser(ten, email, "Fl00d-password!")
	for range 5 {
		env.Do("POST", "/v1/auth/user/password/reset?org=acme", map[string]string{"emailId": email}).Must(t, 204)
	}
	if n := len(env.Mail.Messages(email)); n != 2 { // the invitation and one reset
		t.Fatalf("%d mails after 5 requests within a minute, want the invitation and 1 reset", n)
	}
	env.Clock.Advance(time.Minute)
	env.Do("POST", "/v1/auth/user/password/reset?org=acme", map[string]string{"emailId": email}).Must(t, 204)
	if n := len(env.Mail.Messages(email)); n != 3 {
		t.Fatalf("%d mails a minute later, want 3", n)
	}
}

func TestLifecycle_OrgsMailOnceAMinute(t *testing.T) {
	env := apitest.New(t)
	ten := env.NewTenant("acme")
	email := "flood@acme.example.com"
	env.NewUser(ten, email, "Fl00d-password!")
	// The limit is per address, whatever the client: five requests within a
	// minute (from one client here, within its rate limit) mail one list.
	for range 5 {
		lcForgot(env, email).Must(t, 204)
	}
	if n := len(env.Mail.Messages(email)); n != 2 { // the invitation and one list
		t.Fatalf("%d mails after 5 requests within a minute, want the invitation and 1 list", n)
	}
	env.Clock.Advance(time.Minute)
	lcForgot(env, strings.ToUpper(email)).Must(t, 204)
	if n := len(env.Mail.Messages(email)); n != 3 {
		t.Fatalf("%d mails a minute later, want 3", n)
	}
}

func TestLifecycle_UnknownAddressesAnswerAlike(t *testing.T) {
	lcUnknownAddressesAnswerAlike(t, apitest.New(t))
}

func lcUnknownAddressesAnswerAlike(t *testing.T, env *apitest.Env) {
	ten := env.NewTenant("acme")
	known := "bob@acme.example.com"
	env.NewUser(ten, known, "B0b-password!")
	offUID, _ := env.NewUser(ten, "off@acme.example.com", "Off-passw0rd!")
	lcDisable(t, env, ten.AdminToken, offUID)

	compare := func(t *testing.T, what string, send func(email string) *apitest.Response) {
		before := lcOutbox(t, env)
		k := send(known).Must(t, 204)
		afterKnown := lcOutbox(t, env)
		if lcTotal(afterKnown) != lcTotal(before)+1 {
			t.Errorf("%s for a known address: outbox %+v -> %+v, want one more message", what, before, afterKnown)
		}
		for _, unknown := range []string{"nobody@acme.example.com", "NoBody@Nowhere.Example", "off@acme.example.com"} {
			// The request itself does the same for any address: it queues one
			// request that the outbox worker expands later.
			queued := lcOutboxNow(t, env)
			u := send(unknown)
			if now := lcOutboxNow(t, env); now.Queued != queued.Queued+1 {
				t.Errorf("%s %s: queued %d -> %d, want one request queued as for a known address", what, unknown, queued.Queued, now.Queued)
			}
			if u.Status != k.Status {
				t.Errorf("%s %s: status %d, known address %d", what, unknown, u.Status, k.Status)
			}
			if len(u.Body) != 0 || len(k.Body) != 0 {
				t.Errorf("%s: bodies %q (unknown) and %q (known), want none", what, u.Body, k.Body)
			}
			if kn, un := lcHeaderNames(k), lcHeaderNames(u); !slices.Equal(kn, un) {
				t.Errorf("%s: header names %v (unknown), %v (known)", what, un, kn)
			}
			if u.Header.Get("AuditUid") == "" || k.Header.Get("AuditUid") == "" {
				t.Errorf("%s: AuditUid %q (unknown), %q (known)", what, u.Header.Get("AuditUid"), k.Header.Get("AuditUid"))
			}
		}
		if after := lcOutbox(t, env); lcTotal(after) != lcTotal(afterKnown) {
			t.Errorf("%s for unknown addresses queued mail: outbox %+v -> %+v", what, afterKnown, after)
		}
	}
	t.Run("reset", func(t *testing.T) {
		compare(t, "reset", func(email string) *apitest.Response { return lcResetRequest(env, "acme", email) })
	})
	t.Run("reset without org", func(t *testing.T) {
		compare(t, "reset", func(email string) *apitest.Response { return lcResetRequest(env, "", email) })
	})
	t.Run("forgot orgs", func(t *testing.T) {
		compare(t, "forgot", func(email string) *apitest.Response { return lcForgot(env, email) })
	})
	t.Run("unknown org", func(t *testing.T) {
		before := lcOutbox(t, env)
		lcResetRequest(env, "no-such-org", known).Must(t, 204)
		if after := lcOutbox(t, env); lcTotal(after) != lcTotal(before) {
			t.Errorf("a reset in an unknown org queued mail: %+v -> %+v", before, after)
		}
	})
	t.Run("malformed address", func(t *testing.T) {
		for _, bad := range []string{"", "not-an-email", "a@", "@b.example", "bob@acme.example.com\r\nBcc: x@y.example"} {
			r := env.Do("POST", "/v1/auth/user/password/reset?org=acme", map[string]string{"emailId": bad})
			lcWantError(t, r, 400, orgauth.EINVALID)
			r = lcForgot(env, bad)
			lcWantError(t, r, 400, orgauth.EINVALID)
		}
		lcWantError(t, env.Do("POST", "/v1/auth/user/password/reset", `{"emailId":`), 400, orgauth.EINVALID)
	})
}

func TestLifecycle_ResetWithoutOrgMailsEveryAccount(t *testing.T) {
	lcResetWithoutOrgMailsEveryAccount(t, apitest.New(t))
}

func lcResetWithoutOrgMailsEveryAccount(t *testing.T, env *apitest.Env) {
	acme := env.NewTenant("acme")
	globex := env.NewTenant("globex")
	env.NewTenant("initech") // no account there
	email := "pat@example.org"
	env.NewUser(acme, email, "Pat-acme-1!")
	env.NewUser(globex, email, "Pat-globex-1!")
	before := len(env.Mail.Messages(email))
	lcResetRequest(env, "globex", email).Must(t, 204)
	if msgs := env.Mail.Messages(email)[before:]; len(msgs) != 1 || !strings.Contains(msgs[0].Subject, "globex") {
		t.Fatalf("a reset naming globex mailed %d messages, want the one for globex", len(msgs))
	}
	before++

	r := lcResetRequest(env, "", email).Must(t, 204)
	if r.Header.Get("AuditUid") == "" {
		t.Error("no AuditUid")
	}
	msgs := env.Mail.Messages(email)[before:]
	if len(msgs) != 2 {
		t.Fatalf("%d mails, want one per account (2)", len(msgs))
	}
	orgs := map[string]string{} // org -> token
	for _, m := range msgs {
		tok := lcMailToken(t, m, lcResetPrefix)
		switch {
		case strings.Contains(m.Subject, "acme") && strings.Contains(m.Text, "organization acme"):
			orgs["acme"] = tok
		case strings.Contains(m.Subject, "globex") && strings.Contains(m.Text, "organization globex"):
			orgs["globex"] = tok
		default:
			t.Errorf("mail names neither org: %q\n%s", m.Subject, m.Text)
		}
	}
	if len(orgs) != 2 {
		t.Fatalf("mails for %v, want acme and globex", orgs)
	}
	// Each link resets the account of its own org only.
	lcReset(env, orgs["acme"], "New-acme-2!").Must(t, 204)
	env.Login("acme", email, "New-acme-2!")
	env.Login("globex", email, "Pat-globex-1!")
	lcReset(env, orgs["globex"], "New-globex-2!").Must(t, 204)
	env.Login("globex", email, "New-globex-2!")
	env.Login("acme", email, "New-acme-2!")
}

func TestLifecycle_ForgotOrgsListsEveryAccount(t *testing.T) {
	lcForgotOrgsListsEveryAccount(t, apitest.New(t))
}

func lcForgotOrgsListsEveryAccount(t *testing.T, env *apitest.Env) {
	acme := env.NewTenant("acme")
	globex := env.NewTenant("globex")
	initech := env.NewTenant("initech")
	email := "pat@example.org"
	env.NewUser(acme, email, "Pat-acme-1!")
	env.NewUser(globex, email, "Pat-globex-1!")
	uid, _ := env.NewUser(initech, email, "Pat-initech-1!")
	lcDisable(t, env, initech.AdminToken, uid)
	before := len(env.Mail.Messages(email))

	lcForgot(env, strings.ToUpper(email)).Must(t, 204)
	msgs := env.Mail.Messages(email)[before:]
	if len(msgs) != 1 {
		t.Fatalf("%d mails, want one listing every org", len(msgs))
	}
	m := msgs[0]
	for _, org := range []string{"acme", "globex"} {
		link := "http://orgauth.test/login?org=" + org
		if !strings.Contains(m.Text, org+": "+link) || !strings.Contains(m.HTML, link) {
			t.Errorf("the mail does not list %s with %s:\n%s", org, link, m.Text)
		}
	}
	if strings.Contains(m.Text, "initech") || strings.Contains(m.HTML, "initech") {
		t.Errorf("the mail lists the disabled account's org:\n%s", m.Text)
	}
	if strings.Contains(m.Text, "token=") {
		t.Errorf("the orgs mail carries a token:\n%s", m.Text)
	}
}

// --- admin-triggered resets ------------------------------------------------------

func TestLifecycle_AdminTriggeredReset(t *testing.T) { lcAdminTriggeredReset(t, apitest.New(t)) }

func lcAdminTriggeredReset(t *testing.T, env *apitest.Env) {
	acme := env.NewTenant("acme")
	globex := env.NewTenant("globex")
	bob := "bob@acme.example.com"
	bobUID, _ := env.NewUser(acme, bob, "B0b-password!")
	_, viewerTok := env.NewUser(acme, "viewer@acme.example.com", "V1ewer-password!", orgauth.RoleTenantViewer)
	eve := "eve@globex.example.com"
	eveUID, _ := env.NewUser(globex, eve, "Ev3-password!")
	admin := func() string { return env.Login("acme", acme.AdminEmail, acme.AdminPassword) }

	t.Run("by uid: a reset mail", func(t *testing.T) {
		n := len(env.Mail.Messages(bob))
		r := env.Do("PATCH", "/v1/users/"+bobUID+"/password/reset", nil, "Authorization", admin()).Must(t, 204)
		if r.Header.Get("AuditUid") == "" {
			t.Error("no AuditUid")
		}
		msgs := env.Mail.Messages(bob)
		if len(msgs) != n+1 {
			t.Fatalf("%d new mails to bob, want 1", len(msgs)-n)
		}
		if !strings.Contains(msgs[n].Subject, "Reset your password for acme") {
			t.Errorf("subject %q", msgs[n].Subject)
		}
		lcReset(env, lcMailToken(t, msgs[n], lcResetPrefix), "Adm1n-chosen-not!").Must(t, 204)
		env.Login("acme", bob, "Adm1n-chosen-not!")
	})

	t.Run("by email: a reset mail", func(t *testing.T) {
		n := len(env.Mail.Messages(bob))
		env.Do("PATCH", "/v1/users/password/reset", map[string]string{"emailId": strings.ToUpper(bob)},
			"Authorization", admin()).Must(t, 204)
		msgs := env.Mail.Messages(bob)
		if len(msgs) != n+1 {
			t.Fatalf("%d new mails to bob, want 1", len(msgs)-n)
		}
		lcReset(env, lcMailToken(t, msgs[n], lcResetPrefix), "By-email-2!").Must(t, 204)
		env.Login("acme", bob, "By-email-2!")
	})

	for _, how := range []string{"uid", "email"} {
		t.Run("never activated, by "+how+": a fresh invitation", func(t *testing.T) {
			email := "pending-" + how + "@acme.example.com"
			uid := lcCreateUser(t, env, admin(), email)
			old := lcMailToken(t, lcLastMail(t, env, email), lcActivatePrefix)
			if how == "uid" {
				env.Do("PATCH", "/v1/users/"+uid+"/password/reset", nil, "Authorization", admin()).Must(t, 204)
			} else {
				env.Do("PATCH", "/v1/users/password/reset", map[string]string{"emailId": email}, "Authorization", admin()).Must(t, 204)
			}
			m := lcLastMail(t, env, email)
			if strings.Contains(m.Text, lcResetPrefix) {
				t.Errorf("a user who never activated got a reset link:\n%s", m.Text)
			}
			fresh := lcMailToken(t, m, lcActivatePrefix)
			if fresh == old {
				t.Fatal("the new invitation carries the old token")
			}
			lcWantError(t, lcActivate(env, old, "Us3r-password!"), 404, orgauth.ENOTFOUND)
			lcActivate(env, fresh, "Us3r-password!").Must(t, 204)
			env.Login("acme", email, "Us3r-password!")
		})
	}

	t.Run("a user of another tenant: 404", func(t *testing.T) {
		n := len(env.Mail.Messages(eve))
		lcWantError(t, env.Do("PATCH", "/v1/users/"+eveUID+"/password/reset", nil, "Authorization", admin()), 404, orgauth.ENOTFOUND)
		lcWantError(t, env.Do("PATCH", "/v1/users/password/reset", map[string]string{"emailId": eve}, "Authorization", admin()), 404, orgauth.ENOTFOUND)
		if got := len(env.Mail.Messages(eve)); got != n {
			t.Errorf("%d mails to a user of another tenant", got-n)
		}
	})

	t.Run("a tenant viewer: 403", func(t *testing.T) {
		n := len(env.Mail.Messages(bob))
		lcWantError(t, env.Do("PATCH", "/v1/users/"+bobUID+"/password/reset", nil, "Authorization", viewerTok), 403, orgauth.EFORBIDDEN)
		lcWantError(t, env.Do("PATCH", "/v1/users/password/reset", map[string]string{"emailId": bob}, "Authorization", viewerTok), 403, orgauth.EFORBIDDEN)
		if got := len(env.Mail.Messages(bob)); got != n {
			t.Errorf("%d mails after refused requests", got-n)
		}
	})

	t.Run("unknown uid or email: 404", func(t *testing.T) {
		lcWantError(t, env.Do("PATCH", "/v1/users/"+orgauth.NewID()+"/password/reset", nil, "Authorization", admin()), 404, orgauth.ENOTFOUND)
		lcWantError(t, env.Do("PATCH", "/v1/users/password/reset", map[string]string{"emailId": "nobody@acme.example.com"}, "Authorization", admin()), 404, orgauth.ENOTFOUND)
	})
}

// --- 12. password policy ------------------------------------------------------------

func TestLifecycle_PasswordPolicy(t *testing.T) { lcPasswordPolicy(t, apitest.New(t)) }

func lcPasswordPolicy(t *testing.T, env *apitest.Env) {
	acme := env.NewTenant("acme")
	globex := env.NewTenant("globex")
	bob := "bob@acme.example.com"
	bobUID, bobTok := env.NewUser(acme, bob, "B0b-password!")

	got := lcGetPolicy(t, env, acme.UID, acme.AdminToken)
	want := lcPolicy{
		ExpiryDurationInDays: 365, FirstReminderInDays: 7, MinLength: 6, MaxLength: 128,
		MinNumOfBlockLetters: 1, MinNumOfSmallLetters: 1, MinNumOfDigits: 1, MinNumOfSpecialCharacters: 1,
	}
	if got != want {
		t.Fatalf("default policy %+v, want %+v", got, want)
	}

	r := lcSetPolicy(env, acme.UID, acme.AdminToken, map[string]any{"minLength": 12, "minNumOfDigits": 2}).Must(t, 204)
	if r.Header.Get("AuditUid") == "" {
		t.Error("no AuditUid")
	}
	want.MinLength, want.MinNumOfDigits = 12, 2
	if got := lcGetPolicy(t, env, acme.UID, acme.AdminToken); got != want {
		t.Fatalf("policy after the update %+v, want %+v", got, want)
	}
	if got := lcGetPolicy(t, env, globex.UID, globex.AdminToken); got.MinLength != 6 {
		t.Errorf("another tenant's policy changed: %+v", got)
	}

	const short = "Ab1!xyz" // 7 characters, one digit
	const good = "Long-enough-12!"
	broken := []string{"at least 12 characters", "at least 2 digits"}

	t.Run("at activation", func(t *testing.T) {
		email := "new@acme.example.com"
		lcCreateUser(t, env, env.Login("acme", acme.AdminEmail, acme.AdminPassword), email)
		tok := env.Mail.LastToken(t, email)
		lcWantError(t, lcActivate(env, tok, short), 400, orgauth.EINVALID, broken...)
		lcActivate(env, tok, good).Must(t, 204)
		env.Login("acme", email, good)
	})
	t.Run("at reset", func(t *testing.T) {
		lcResetRequest(env, "acme", bob).Must(t, 204)
		tok := lcMailToken(t, lcLastMail(t, env, bob), lcResetPrefix)
		lcWantError(t, lcReset(env, tok, short), 400, orgauth.EINVALID, broken...)
		lcReset(env, tok, good).Must(t, 204)
		bobTok = env.Login("acme", bob, good)
	})
	t.Run("at change", func(t *testing.T) {
		lcWantError(t, lcChange(env, bobUID, bobTok, good, short), 400, orgauth.EINVALID, broken...)
		lcChange(env, bobUID, bobTok, good, good+"2").Must(t, 204)
		env.Login("acme", bob, good+"2")
	})
	t.Run("at change by email", func(t *testing.T) {
		lcWantError(t, lcChangeByEmail(env, "acme", bob, good+"2", short), 400, orgauth.EINVALID, broken...)
		lcChangeByEmail(env, "acme", bob, good+"2", good+"3").Must(t, 204)
		bobTok = env.Login("acme", bob, good+"3")
	})

	t.Run("invalid policies are refused and nothing is stored", func(t *testing.T) {
		before := lcGetPolicy(t, env, acme.UID, acme.AdminToken)
		for _, tc := range []struct {
			name string
			body map[string]any
			says []string
		}{
			{"minLength 0", map[string]any{"minLength": 0}, []string{"minLength"}},
			{"maxLength below minLength", map[string]any{"minLength": 20, "maxLength": 10}, []string{"maxLength"}},
			{"bad regex", map[string]any{"isRegex": true, "regex": "("}, []string{"regex"}},
			{"regex mode without regex", map[string]any{"isRegex": true, "regex": ""}, []string{"regex"}},
			{"first reminder at expiry", map[string]any{"expiryDurationInDays": 10, "firstReminderInDays": 10}, []string{"firstReminderInDays"}},
			{"first reminder after expiry", map[string]any{"expiryDurationInDays": 10, "firstReminderInDays": 30}, []string{"firstReminderInDays"}},
			{"several at once", map[string]any{"minLength": 0, "expiryDurationInDays": 5, "firstReminderInDays": 5},
				[]string{"minLength", "firstReminderInDays"}},
			{"negative class minimum", map[string]any{"minNumOfDigits": -1}, []string{"minNumOfDigits"}},
			{"reminderFrequency is the system's", map[string]any{"reminderFrequency": 1}, []string{"reminderFrequency"}},
		} {
			r := lcSetPolicy(env, acme.UID, acme.AdminToken, tc.body)
			if r.Status != 400 {
				t.Errorf("%s: status %d, want 400: %s", tc.name, r.Status, r.Body)
				continue
			}
			code, msg := lcErr(t, r)
			if code != orgauth.EINVALID {
				t.Errorf("%s: code %q", tc.name, code)
			}
			for _, s := range tc.says {
				if !strings.Contains(msg, s) {
					t.Errorf("%s: message %q does not name %s", tc.name, msg, s)
				}
			}
		}
		if after := lcGetPolicy(t, env, acme.UID, acme.AdminToken); after != before {
			t.Errorf("a refused update changed the policy: %+v -> %+v", before, after)
		}
	})

	t.Run("another tenant's policy is out of reach", func(t *testing.T) {
		// A tenant path naming another tenant is answered as if it did not exist.
		lcWantError(t, env.Do("GET", "/v1/tenants/"+globex.UID+"/password/policy", nil, "Authorization", acme.AdminToken),
			404, orgauth.ENOTFOUND)
		lcWantError(t, lcSetPolicy(env, globex.UID, acme.AdminToken, map[string]any{"minLength": 30}), 404, orgauth.ENOTFOUND)
		if got := lcGetPolicy(t, env, globex.UID, globex.AdminToken); got.MinLength != 6 {
			t.Errorf("globex policy changed by acme's admin: %+v", got)
		}
		_, viewer := env.NewUser(acme, "viewer@acme.example.com", "V1ewer-password-12!", orgauth.RoleTenantViewer)
		env.Do("GET", "/v1/tenants/"+acme.UID+"/password/policy", nil, "Authorization", viewer).Must(t, 200)
		lcWantError(t, lcSetPolicy(env, acme.UID, viewer, map[string]any{"minLength": 6}), 403, orgauth.EFORBIDDEN)
	})

	t.Run("regex mode", func(t *testing.T) {
		lcSetPolicy(env, acme.UID, acme.AdminToken, map[string]any{"isRegex": true, "regex": "^[a-z]+-[0-9]{4}$"}).Must(t, 204)
		p := lcGetPolicy(t, env, acme.UID, acme.AdminToken)
		if !p.IsRegex || p.Regex != "^[a-z]+-[0-9]{4}$" {
			t.Fatalf("policy %+v", p)
		}
		// The class rules no longer apply: the pattern alone decides.
		for _, bad := range []string{"Long-enough-1234", "abc-123", "abc-12345", "abc1234", good + "9"} {
			lcWantError(t, lcChange(env, bobUID, bobTok, good+"3", bad), 400, orgauth.EINVALID, "pattern")
		}
		lcChange(env, bobUID, bobTok, good+"3", "quokka-2718").Must(t, 204)
		env.Login("acme", bob, "quokka-2718")
		lcResetRequest(env, "acme", bob).Must(t, 204)
		tok := lcMailToken(t, lcLastMail(t, env, bob), lcResetPrefix)
		lcWantError(t, lcReset(env, tok, "Quokka-2718!"), 400, orgauth.EINVALID, "pattern")
		lcReset(env, tok, "wombat-3141").Must(t, 204)
		env.Login("acme", bob, "wombat-3141")
	})
}

func TestLifecycle_SystemDefaultPolicy(t *testing.T) { lcSystemDefaultPolicy(t, apitest.New(t)) }

func lcSystemDefaultPolicy(t *testing.T, env *apitest.Env) {
	acme := env.NewTenant("acme")
	globex := env.NewTenant("globex")
	root := env.Admin()
	bobUID, bobTok := env.NewUser(acme, "bob@acme.example.com", "B0b-password!")

	var sys lcPolicy
	env.Do("GET", "/v1/system/password/policy/default", nil, "Authorization", root).Must(t, 200).JSON(t, &sys)
	if sys.MinLength != 6 || sys.MaxLength != 128 || sys.ExpiryDurationInDays != 365 || sys.FirstReminderInDays != 7 || sys.ReminderFrequency == nil {
		t.Fatalf("system default %+v", sys)
	}

	// globex has a policy of its own, which replaces the default whole.
	lcSetPolicy(env, globex.UID, globex.AdminToken, map[string]any{"minLength": 8}).Must(t, 204)

	// Tenant admins cannot touch the system default.
	lcWantError(t, env.Do("PUT", "/v1/system/password/policy/default", map[string]any{"minLength": 1}, "Authorization", acme.AdminToken),
		403, orgauth.EFORBIDDEN)
	lcWantError(t, env.Do("GET", "/v1/system/password/policy/default", nil, "Authorization", acme.AdminToken), 403, orgauth.EFORBIDDEN)

	// Invalid: refused, nothing stored.
	lcWantError(t, env.Do("PUT", "/v1/system/password/policy/default", map[string]any{"minLength": 0}, "Authorization", root),
		400, orgauth.EINVALID, "minLength")
	env.Do("PUT", "/v1/system/password/policy/default", map[string]any{"minLength": 10, "reminderFrequency": 2},
		"Authorization", root).Must(t, 204)
	env.Do("GET", "/v1/system/password/policy/default", nil, "Authorization", root).Must(t, 200).JSON(t, &sys)
	if sys.MinLength != 10 || sys.ReminderFrequency == nil || *sys.ReminderFrequency != 2 || sys.MinNumOfDigits != 1 {
		t.Fatalf("system default after the update %+v", sys)
	}

	// acme has no policy of its own: it follows the new default at once.
	if p := lcGetPolicy(t, env, acme.UID, acme.AdminToken); p.MinLength != 10 {
		t.Errorf("acme's policy %+v, want the new default (minLength 10)", p)
	}
	lcWantError(t, lcChange(env, bobUID, bobTok, "B0b-password!", "Abcd-1234"), 400, orgauth.EINVALID, "at least 10 characters")
	lcChange(env, bobUID, bobTok, "B0b-password!", "Abcde-12345").Must(t, 204)
	// globex keeps its own.
	if p := lcGetPolicy(t, env, globex.UID, globex.AdminToken); p.MinLength != 8 {
		t.Errorf("globex's own policy %+v, want minLength 8", p)
	}
}

// --- 12. blocklist --------------------------------------------------------------------

func TestLifecycle_Blocklist(t *testing.T) { lcBlocklist(t, apitest.New(t)) }

func lcBlocklist(t *testing.T, env *apitest.Env) {
	ten := env.NewTenant("acme")
	root := env.Admin()
	bob := "bob@acme.example.com"
	bobUID, bobTok := env.NewUser(ten, bob, "B0b-password!")
	current := "B0b-password!"
	const blocked = "Acme-2026!"
	// Another spelling of the blocked password that satisfies the default policy
	// on its own (an all-capitals "ACME-2026!" has no lower-case letter and would
	// be refused by the policy, proving nothing about the blocklist).
	const otherCase = "aCME-2026!"
	if err := orgauth.DefaultPasswordPolicy.Check(otherCase); err != nil {
		t.Fatalf("test password breaks the default policy: %v", err)
	}

	lcWantError(t, env.Do("PATCH", "/v1/system/passwords/blocklist", map[string]any{"spec": map[string]any{"passwords": []string{blocked}}},
		"Authorization", ten.AdminToken), 403, orgauth.EFORBIDDEN)
	r := env.Do("PATCH", "/v1/system/passwords/blocklist", map[string]any{"spec": map[string]any{"passwords": []string{blocked}}},
		"Authorization", root).Must(t, 204)
	if r.Header.Get("AuditUid") == "" {
		t.Error("no AuditUid")
	}
	for _, bad := range []map[string]any{{}, {"spec": map[string]any{}}, {"spec": map[string]any{"passwords": []string{}}}, {"spec": map[string]any{"passwords": []string{""}}}} {
		lcWantError(t, env.Do("PATCH", "/v1/system/passwords/blocklist", bad, "Authorization", root), 400, orgauth.EINVALID)
	}

	const refusal = "too common or blocked"
	for i, pw := range []string{blocked, otherCase} {
		t.Run("refused at change "+pw, func(t *testing.T) {
			lcWantError(t, lcChange(env, bobUID, bobTok, current, pw), 400, orgauth.EINVALID, refusal)
			lcWantError(t, lcChangeByEmail(env, "acme", bob, current, pw), 400, orgauth.EINVALID, refusal)
		})
		t.Run("refused at reset "+pw, func(t *testing.T) {
			lcResetRequest(env, "acme", bob).Must(t, 204)
			tok := lcMailToken(t, lcLastMail(t, env, bob), lcResetPrefix)
			lcWantError(t, lcReset(env, tok, pw), 400, orgauth.EINVALID, refusal)
		})
		t.Run("refused at activation "+pw, func(t *testing.T) {
			email := fmt.Sprintf("new-%d@acme.example.com", i)
			lcCreateUser(t, env, env.Login("acme", ten.AdminEmail, ten.AdminPassword), email)
			lcWantError(t, lcActivate(env, env.Mail.LastToken(t, email), pw), 400, orgauth.EINVALID, refusal)
		})
	}
	env.Login("acme", bob, current) // nothing changed

	t.Run("no endpoint reads it back", func(t *testing.T) {
		lcWantError(t, env.Do("GET", "/v1/system/passwords/blocklist", nil, "Authorization", root), 405, orgauth.EMETHOD)
	})

	t.Run("removed: accepted again", func(t *testing.T) {
		// Removal is case-insensitive as well.
		env.Do("DELETE", "/v1/system/passwords/blocklist", map[string]any{"spec": map[string]any{"passwords": []string{"ACME-2026!"}}},
			"Authorization", root).Must(t, 204)
		lcChange(env, bobUID, bobTok, current, otherCase).Must(t, 204)
		current = otherCase
		env.Login("acme", bob, current)
	})

	t.Run("built-in common passwords", func(t *testing.T) {
		var common string
		for _, pw := range []string{"P@ssw0rd", "Password1!", "Passw0rd!", "P@ssword1", "Welcome1!"} {
			if password.Common(pw) && orgauth.DefaultPasswordPolicy.Check(pw) == nil {
				common = pw
				break
			}
		}
		if common == "" {
			t.Fatal("no candidate is both in the built-in list and policy-conforming")
		}
		t.Logf("built-in common password used: %q", common)
		lcWantError(t, lcChange(env, bobUID, bobTok, current, common), 400, orgauth.EINVALID, refusal)
		lcResetRequest(env, "acme", bob).Must(t, 204)
		lcWantError(t, lcReset(env, lcMailToken(t, lcLastMail(t, env, bob), lcResetPrefix), common), 400, orgauth.EINVALID, refusal)
		email := "common@acme.example.com"
		lcCreateUser(t, env, env.Login("acme", ten.AdminEmail, ten.AdminPassword), email)
		lcWantError(t, lcActivate(env, env.Mail.LastToken(t, email), common), 400, orgauth.EINVALID, refusal)
	})
}

// --- 12. long passwords work in full ---------------------------------------------------

func TestLifecycle_LongPasswordsInFull(t *testing.T) { lcLongPasswordsInFull(t, apitest.New(t)) }

func lcLongPasswordsInFull(t *testing.T, env *apitest.Env) {
	ten := env.NewTenant("acme")
	long := func(tag string) string {
		pw := "Aa1!" + tag + strings.Repeat("x", 128-4-len(tag)-1) + "Z"
		if len(pw) != 128 {
			t.Fatalf("password of %d bytes", len(pw))
		}
		return pw
	}
	// checkInFull signs in with pw and fails with every shortened or changed
	// version of its end: the whole password counts, not a prefix.
	checkInFull := func(t *testing.T, email, pw string) string {
		t.Helper()
		tok := env.Login("acme", email, pw)
		for _, wrong := range []string{pw[:127], pw[:127] + "Y", pw[:72], pw[:64]} {
			lcWantError(t, lcSignIn(env, "acme", email, wrong), 401, orgauth.ECREDENTIALS)
			env.Login("acme", email, pw) // no lockout builds up
		}
		return tok
	}

	email := "long@acme.example.com"
	lcCreateUser(t, env, ten.AdminToken, email)
	tooLong := long("act") + "x"
	lcWantError(t, lcActivate(env, env.Mail.LastToken(t, email), tooLong), 400, orgauth.EINVALID, "at most 128 characters")

	pw := long("act")
	lcActivate(env, env.Mail.LastToken(t, email), pw).Must(t, 204)
	tok := checkInFull(t, email, pw)
	var info struct{ UserUID string }
	env.Do("GET", "/v1/users/info", nil, "Authorization", tok).Must(t, 200).JSON(t, &info)

	next := long("chg")
	lcChange(env, info.UserUID, tok, pw, next).Must(t, 204)
	checkInFull(t, email, next)

	lcResetRequest(env, "acme", email).Must(t, 204)
	last := long("rst")
	lcReset(env, lcMailToken(t, lcLastMail(t, env, email), lcResetPrefix), last).Must(t, 204)
	tok = checkInFull(t, email, last)
	lcSignIn(env, "acme", email, next).Must(t, 401)

	// 128 characters of which most take two bytes: 251 bytes, all of them count.
	wide := "Aa1!" + strings.Repeat("é", 123) + "Z"
	if len(wide) != 251 {
		t.Fatalf("wide password of %d bytes", len(wide))
	}
	lcChange(env, info.UserUID, tok, last, wide).Must(t, 204)
	env.Login("acme", email, wide)
	for _, wrong := range []string{wide[:len(wide)-1], strings.TrimSuffix(wide, "éZ") + "eZ", wide[:128]} {
		lcWantError(t, lcSignIn(env, "acme", email, wrong), 401, orgauth.ECREDENTIALS)
		env.Login("acme", email, wide)
	}
}

// --- expiry and reminders ----------------------------------------------------------------

func TestLifecycle_PasswordExpiry(t *testing.T) { lcPasswordExpiry(t, apitest.New(t)) }

func lcPasswordExpiry(t *testing.T, env *apitest.Env) {
	ten := env.NewTenant("acme")
	email := "bob@acme.example.com"
	const pw = "B0b-password!"
	env.NewUser(ten, email, pw)

	lcAdvance(t, env, 364*24*time.Hour)
	env.Login("acme", email, pw) // not yet

	lcAdvance(t, env, 2*24*time.Hour) // 366 days after it was set
	lcWantError(t, lcSignIn(env, "acme", email, pw), 403, orgauth.EEXPIRED)
	// A wrong password says nothing about expiry: the same answer as an unknown user.
	wrong := lcSignIn(env, "acme", email, "Wr0ng-password!")
	unknown := lcSignIn(env, "acme", "nobody@acme.example.com", "Wr0ng-password!")
	lcWantError(t, wrong, 401, orgauth.ECREDENTIALS)
	wc, wm := lcErr(t, wrong)
	uc, um := lcErr(t, unknown)
	if unknown.Status != wrong.Status || wc != uc || wm != um {
		t.Errorf("wrong password on an expired account: %d %s %q; unknown user: %d %s %q", wrong.Status, wc, wm, unknown.Status, uc, um)
	}

	// Changing it with the old one as credential works, and so does sign-in then.
	lcWantError(t, lcChangeByEmail(env, "acme", email, "Wr0ng-password!", "N3w-password!"), 401, orgauth.ECREDENTIALS)
	lcChangeByEmail(env, "acme", email, pw, "N3w-password!").Must(t, 204)
	env.Login("acme", email, "N3w-password!")
	lcSignIn(env, "acme", email, pw).Must(t, 401)

	// A reset renews an expired password too.
	lcAdvance(t, env, 366*24*time.Hour)
	lcWantError(t, lcSignIn(env, "acme", email, "N3w-password!"), 403, orgauth.EEXPIRED)
	lcResetRequest(env, "acme", email).Must(t, 204)
	lcReset(env, lcMailToken(t, lcLastMail(t, env, email), lcResetPrefix), "R3set-password!").Must(t, 204)
	env.Login("acme", email, "R3set-password!")
}

func TestLifecycle_PasswordReminders(t *testing.T) { lcPasswordReminders(t, apitest.New(t)) }

func lcPasswordReminders(t *testing.T, env *apitest.Env) {
	ten := env.NewTenant("acme")
	email := "bob@acme.example.com"
	env.NewUser(ten, email, "B0b-password!")
	ctx := context.Background()
	lcSetPolicy(env, ten.UID, ten.AdminToken, map[string]any{"expiryDurationInDays": 10, "firstReminderInDays": 3}).Must(t, 204)

	reminders := func() []*orgauth.Mail {
		var out []*orgauth.Mail
		for _, m := range env.Mail.Messages(email) {
			if strings.Contains(m.Subject, "expires on") {
				out = append(out, m)
			}
		}
		return out
	}

	lcAdvance(t, env, 6*24*time.Hour) // expiry in 4 days: not yet in the window
	if n, err := env.Server.SendPasswordReminders(ctx); err != nil || n != 0 {
		t.Fatalf("reminders at day 6: %d, %v; want 0", n, err)
	}
	lcAdvance(t, env, 2*24*time.Hour) // day 8: expiry in 2 days
	n, err := env.Server.SendPasswordReminders(ctx)
	if err != nil || n < 1 {
		t.Fatalf("reminders at day 8: %d, %v; want at least 1", n, err)
	}
	got := reminders()
	if len(got) != 1 {
		t.Fatalf("%d reminder mails to bob, want 1", len(got))
	}
	m := got[0]
	if !strings.Contains(m.Subject, "acme") || !strings.Contains(m.Text, "http://orgauth.test/login?org=acme") {
		t.Errorf("reminder %q:\n%s", m.Subject, m.Text)
	}
	if strings.Contains(m.Text, "token=") {
		t.Errorf("the reminder carries a token:\n%s", m.Text)
	}
	// The expiry date it names is day 10 after the password was set.
	if exp := env.Clock.Now().Add(2 * 24 * time.Hour).UTC().Format("2 January 2006"); !strings.Contains(m.Subject, exp) {
		t.Errorf("reminder %q does not name the expiry date %s", m.Subject, exp)
	}

	if n, err := env.Server.SendPasswordReminders(ctx); err != nil || n != 0 {
		t.Errorf("second run queued %d (%v), want 0", n, err)
	}
	env.Clock.Advance(time.Hour)
	if n, err := env.Server.SendPasswordReminders(ctx); err != nil || n != 0 {
		t.Errorf("third run queued %d (%v), want 0", n, err)
	}
	if got := reminders(); len(got) != 1 {
		t.Errorf("%d reminder mails to bob after the later runs, want still 1", len(got))
	}

	// A new password is reminded of in its own window.
	lcChangeByEmail(env, "acme", email, "B0b-password!", "N3w-password!").Must(t, 204)
	lcAdvance(t, env, 6*24*time.Hour)
	if n, err := env.Server.SendPasswordReminders(ctx); err != nil || n != 0 {
		t.Errorf("6 days after the change: %d reminders (%v), want 0", n, err)
	}
	lcAdvance(t, env, 2*24*time.Hour)
	if _, err := env.Server.SendPasswordReminders(ctx); err != nil {
		t.Fatal(err)
	}
	if got := reminders(); len(got) != 2 {
		t.Errorf("%d reminder mails to bob after the new password's window opened, want 2", len(got))
	}
}

func TestLifecycle_NoRemindersForDisabledAccounts(t *testing.T) {
	lcNoRemindersForDisabledAccounts(t, apitest.New(t))
}

func lcNoRemindersForDisabledAccounts(t *testing.T, env *apitest.Env) {
	ten := env.NewTenant("acme")
	email := "off@acme.example.com"
	uid, _ := env.NewUser(ten, email, "Off-passw0rd!")
	lcDisable(t, env, ten.AdminToken, uid)
	pending := "pending@acme.example.com"
	lcCreateUser(t, env, ten.AdminToken, pending)
	lcSetPolicy(env, ten.UID, ten.AdminToken, map[string]any{"expiryDurationInDays": 10, "firstReminderInDays": 3}).Must(t, 204)
	lcAdvance(t, env, 8*24*time.Hour)
	if _, err := env.Server.SendPasswordReminders(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{email, pending} {
		for _, m := range env.Mail.Messages(addr) {
			if strings.Contains(m.Subject, "expires on") {
				t.Errorf("a reminder went to %s: %q", addr, m.Subject)
			}
		}
	}
	if len(env.Mail.Messages(ten.AdminEmail)) < 2 {
		t.Errorf("the active admin got no reminder")
	}
}

func TestLifecycle_RepeatedReminders(t *testing.T) { lcRepeatedReminders(t, apitest.New(t)) }

func lcRepeatedReminders(t *testing.T, env *apitest.Env) {
	ten := env.NewTenant("acme")
	email := "bob@acme.example.com"
	env.NewUser(ten, email, "B0b-password!")
	ctx := context.Background()
	env.Do("PUT", "/v1/system/password/policy/default",
		map[string]any{"expiryDurationInDays": 10, "firstReminderInDays": 3, "reminderFrequency": 1},
		"Authorization", env.Admin()).Must(t, 204)
	count := func() int {
		n := 0
		for _, m := range env.Mail.Messages(email) {
			if strings.Contains(m.Subject, "expires on") {
				n++
			}
		}
		return n
	}
	run := func(day string, want int) {
		t.Helper()
		for range 2 { // twice at the same moment: the second finds nothing due
			if _, err := env.Server.SendPasswordReminders(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := count(); got != want {
			t.Errorf("%s: %d reminders to bob, want %d", day, got, want)
		}
	}
	lcAdvance(t, env, 6*24*time.Hour)
	run("day 6", 0)
	lcAdvance(t, env, 24*time.Hour)
	run("day 7", 1)
	lcAdvance(t, env, 12*time.Hour)
	run("day 7.5", 1)
	lcAdvance(t, env, 12*time.Hour)
	run("day 8", 2)
	lcAdvance(t, env, 24*time.Hour)
	run("day 9", 3)
	lcAdvance(t, env, 24*time.Hour)
	run("day 10 (expired)", 3)
	lcAdvance(t, env, 24*time.Hour)
	run("day 11", 3)
}

// TestLifecyclePostgres runs the lifecycle tests on PostgreSQL too, whose store
// has SQL of its own (tokens, outbox counts, policies, blocklist, reminders).
func TestLifecyclePostgres(t *testing.T) {
	apitest.PostgresURL(t) // skips the whole test without PostgreSQL
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, env *apitest.Env)
	}{
		{"ResetTokenRules", lcResetTokenRules},
		{"UnknownAddressesAnswerAlike", lcUnknownAddressesAnswerAlike},
		{"ResetWithoutOrgMailsEveryAccount", lcResetWithoutOrgMailsEveryAccount},
		{"ForgotOrgsListsEveryAccount", lcForgotOrgsListsEveryAccount},
		{"AdminTriggeredReset", lcAdminTriggeredReset},
		{"PasswordPolicy", lcPasswordPolicy},
		{"SystemDefaultPolicy", lcSystemDefaultPolicy},
		{"Blocklist", lcBlocklist},
		{"LongPasswordsInFull", lcLongPasswordsInFull},
		{"PasswordExpiry", lcPasswordExpiry},
		{"PasswordReminders", lcPasswordReminders},
		{"NoRemindersForDisabledAccounts", lcNoRemindersForDisabledAccounts},
		{"RepeatedReminders", lcRepeatedReminders},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, apitest.New(t, apitest.Options{DatabaseURL: apitest.PostgresURL(t)}))
		})
	}
}

// lcWithin polls check until it holds or d passes.
func lcWithin(t *testing.T, d time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLifecycleInstances_PolicyChangeSeenEverywhere: two instances on one
// PostgreSQL database cache the policy in force; a change at one is enforced at
// the other within a second (http/invalidate.go).
func TestLifecycleInstances_PolicyChangeSeenEverywhere(t *testing.T) {
	dbURL := apitest.PostgresURL(t)
	clock := apitest.NewClock()
	a := apitest.New(t, apitest.Options{DatabaseURL: dbURL, Clock: clock})
	b := apitest.New(t, apitest.Options{DatabaseURL: dbURL, Clock: clock})
	acme := a.NewTenant("acme")
	globex := a.NewTenant("globex")
	bob := "bob@acme.example.com"
	const pw = "B0b-password!"
	bobUID, _ := a.NewUser(acme, bob, pw)
	eve := "eve@globex.example.com"
	eveUID, _ := a.NewUser(globex, eve, "Ev3-password!")
	// B reads (and caches) the policies in force.
	bobTok := b.Login("acme", bob, pw)
	eveTok := b.Login("globex", eve, "Ev3-password!")
	if p := lcGetPolicy(t, b, acme.UID, acme.AdminToken); p.MinLength != 6 {
		t.Fatalf("policy at B %+v", p)
	}

	lcSetPolicy(a, acme.UID, acme.AdminToken, map[string]any{"minLength": 12}).Must(t, 204)
	lcWithin(t, time.Second, "tenant policy set at A enforced at B", func() bool {
		return lcGetPolicy(t, b, acme.UID, acme.AdminToken).MinLength == 12
	})
	lcWantError(t, lcChange(b, bobUID, bobTok, pw, "Abcdefg-1"), 400, orgauth.EINVALID, "at least 12 characters")

	a.Do("PUT", "/v1/system/password/policy/default", map[string]any{"minLength": 10}, "Authorization", a.Admin()).Must(t, 204)
	lcWithin(t, time.Second, "system default set at A followed at B", func() bool {
		return lcGetPolicy(t, b, globex.UID, globex.AdminToken).MinLength == 10
	})
	lcWantError(t, lcChange(b, eveUID, eveTok, "Ev3-password!", "Abcdefg-1"), 400, orgauth.EINVALID, "at least 10 characters")
	if p := lcGetPolicy(t, b, acme.UID, acme.AdminToken); p.MinLength != 12 {
		t.Errorf("acme's own policy at B %+v, want minLength 12", p)
	}

	// Expiry is read from the cached policy at sign-in.
	lcSetPolicy(a, acme.UID, acme.AdminToken, map[string]any{"expiryDurationInDays": 2, "firstReminderInDays": 1}).Must(t, 204)
	lcWithin(t, time.Second, "expiry set at A seen at B", func() bool {
		return lcGetPolicy(t, b, acme.UID, acme.AdminToken).ExpiryDurationInDays == 2
	})
	clock.Advance(3 * 24 * time.Hour)
	for _, env := range []*apitest.Env{a, b} {
		if err := env.Issuer.Rotate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	lcWantError(t, lcSignIn(b, "acme", bob, pw), 403, orgauth.EEXPIRED)
	lcWantError(t, lcSignIn(a, "acme", bob, pw), 403, orgauth.EEXPIRED)
}
