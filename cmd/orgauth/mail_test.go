package main

import (
	"encoding/json"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/orgauth/orgauth/internal/smtptest"
)

// TestMailSurvivesOutageAndRestart queues mail while the SMTP server is down,
// stops orgauth with the mail undelivered, brings the mail server back and
// restarts orgauth on the same data directory: every message arrives exactly
// once, and a mailed activation link works.
//
// The first instance tries each message at once (the request kicks the outbox)
// and fails, so the message is due again only after the outbox's first retry
// delay (RetryMin, 30 s less up to a tenth). The restarted instance delivers at
// its first poll after that: the test waits about half a minute.
func TestMailSurvivesOutageAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the outbox's 30 s retry delay")
	}
	const (
		smtpUser, smtpPass = "orgauth-mailer", "Smtp-s3cret-pw"
		adminEmail         = "ops@example.com"
		adminPW            = "Ma1l-outage-admin!"
		memberPW           = "Str0ng-Passw0rd!x"
	)
	// 1. The mail server is down.
	smtp := smtptest.Start(t, smtptest.Options{TLS: "none", Username: smtpUser, Password: smtpPass})
	smtp.Stop()

	// 2. orgauth, delivering over SMTP.
	dataDir := t.TempDir()
	env := testEnv(dataDir)
	env["ORGAUTH_SMTP_URL"] = smtp.URL()
	env["ORGAUTH_ADMIN_PASSWORD"] = adminPW
	srv := startServe(t, env)
	publicURL := srv.publicURL

	// 3. Three tenants (an invitation each) and a password reset of the admin.
	admin := srv.login("system", adminEmail, adminPW)
	orgs := []string{"north", "south", "east"}
	invited := map[string]string{} // tenant admin address -> org
	for _, org := range orgs {
		email := "admin@" + org + ".example.com"
		invited[email] = org
		start := time.Now()
		srv.do("POST", "/v1/tenants", map[string]any{
			"metadata": map[string]any{"name": org},
			"spec":     map[string]any{"orgName": org, "emailId": email, "firstName": "Ada", "lastName": strings.ToUpper(org[:1]) + org[1:]},
		}, "Authorization", admin).must(t, 201)
		if d := time.Since(start); d >= 2*time.Second {
			t.Errorf("creating tenant %s with the mail server down took %v, want < 2s", org, d)
		}
	}
	start := time.Now()
	srv.do("POST", "/v1/auth/user/password/reset?org=system", map[string]string{"emailId": adminEmail}).must(t, 204)
	if d := time.Since(start); d >= 2*time.Second {
		t.Errorf("password reset request with the mail server down took %v, want < 2s", d)
	}

	// Wait until the outbox has tried all four and scheduled their retry: a
	// message whose attempt a shutdown interrupts stays leased for 2 minutes.
	var earliestRetry time.Time
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ids := retriedMail(t, srv.stderr.String())
		if len(ids) == 4 {
			for _, next := range ids {
				if earliestRetry.IsZero() || next.Before(earliestRetry) {
					earliestRetry = next
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox scheduled %d retries within 10s, want 4\nstderr: %s", len(ids), srv.stderr)
		}
	}

	// 4. A graceful stop with the mail still undelivered.
	if err := srv.stop(); err != nil {
		t.Fatalf("first run returned %v", err)
	}
	stopped := time.Now()
	if files, _ := filepath.Glob(filepath.Join(dataDir, "mail", "*.eml")); len(files) > 0 {
		t.Errorf("with ORGAUTH_SMTP_URL set, mail was written to files: %v", files)
	}
	if n := smtp.Count(); n != 0 {
		t.Fatalf("the stopped SMTP server received %d messages", n)
	}

	// 5. The mail server comes back; orgauth restarts on the same data directory
	// and address (the links in the queued mail name the first public URL).
	smtp.Restart()
	env2 := testEnv(dataDir)
	env2["ORGAUTH_SMTP_URL"] = smtp.URL()
	env2["ORGAUTH_ADMIN_PASSWORD"] = adminPW
	env2["ORGAUTH_LISTEN"] = srv.addr
	srv2 := startServe(t, env2)
	restarted := time.Now()
	if srv2.publicURL != publicURL {
		t.Fatalf("public URL %q after the restart, want %q", srv2.publicURL, publicURL)
	}

	// 6. Every message arrives, once.
	msgs := smtp.Wait(t, 4, 40*time.Second)
	delivered := time.Now()
	t.Logf("delivered %v after the restart, %v after the first stop, %v after the earliest retry time the first run logged",
		delivered.Sub(restarted).Round(time.Millisecond), delivered.Sub(stopped).Round(time.Millisecond),
		delivered.Sub(earliestRetry).Round(time.Millisecond))
	time.Sleep(time.Second)
	if msgs = smtp.Messages(); len(msgs) != 4 {
		t.Fatalf("the SMTP server received %d messages, want exactly 4 (3 invitations, 1 reset)", len(msgs))
	}
	links := map[string]string{} // invited address -> activation link
	resets := 0
	for i, m := range msgs {
		if m.From != "orgauth@example.test" {
			t.Errorf("message %d: envelope sender %q, want orgauth@example.test", i, m.From)
		}
		if len(m.To) != 1 {
			t.Fatalf("message %d: envelope recipients %v, want one", i, m.To)
		}
		hdr, err := netmail.ReadMessage(strings.NewReader(string(m.Raw)))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		to, err := netmail.ParseAddress(hdr.Header.Get("To"))
		if err != nil {
			t.Fatalf("message %d: To %q: %v", i, hdr.Header.Get("To"), err)
		}
		if !strings.EqualFold(to.Address, m.To[0]) {
			t.Errorf("message %d: To header %q, envelope recipient %q", i, to.Address, m.To[0])
		}
		addr := strings.ToLower(m.To[0])
		switch {
		case addr == adminEmail:
			resets++
			link := smtptest.Link(t, m, publicURL+"/reset?token=")
			if u, err := url.Parse(link); err != nil || u.Query().Get("token") == "" {
				t.Errorf("reset mail: link %q without a token (%v)", link, err)
			}
			if strings.Contains(m.Text, "/activate?token=") {
				t.Errorf("reset mail holds an activation link:\n%s", m.Text)
			}
		case invited[addr] != "":
			if links[addr] != "" {
				t.Errorf("two invitations to %s", addr)
			}
			links[addr] = smtptest.Link(t, m, publicURL+"/activate?token=")
			if !strings.Contains(m.Subject, invited[addr]) {
				t.Errorf("invitation to %s: subject %q does not name the organization %s", addr, m.Subject, invited[addr])
			}
		default:
			t.Errorf("message %d to an unexpected address %q: %q", i, addr, m.Subject)
		}
	}
	if resets != 1 || len(links) != 3 {
		t.Fatalf("got %d reset mails and invitations to %v; want 1 reset and invitations to the 3 tenant admins", resets, links)
	}

	// 7. A link mailed after the restart works.
	email := "admin@" + orgs[1] + ".example.com"
	u, err := url.Parse(links[email])
	if err != nil {
		t.Fatal(err)
	}
	act := u.Query().Get("token")
	if act == "" {
		t.Fatalf("activation link %q has no token", links[email])
	}
	srv2.do("PATCH", "/v1/auth/password/"+url.PathEscape(act)+"/activate", map[string]string{"password": memberPW}).must(t, 204)
	tok := srv2.login(orgs[1], email, memberPW)
	var info struct{ OrgName string }
	srv2.do("GET", "/v1/users/info", nil, "Authorization", tok).must(t, 200).json(t, &info)
	if info.OrgName != orgs[1] {
		t.Errorf("signed in to org %q, want %q", info.OrgName, orgs[1])
	}
	if n := smtp.Count(); n != 4 {
		t.Errorf("the SMTP server received %d messages by the end, want 4", n)
	}
	if err := srv2.stop(); err != nil {
		t.Fatalf("second run returned %v", err)
	}

	// Neither run logged the SMTP password; no mail went to files.
	for name, out := range map[string]string{"first run": srv.stderr.String(), "second run": srv2.stderr.String()} {
		if strings.Contains(out, smtpPass) || strings.Contains(out, url.QueryEscape(smtpPass)) {
			t.Errorf("%s: the log contains the SMTP password", name)
		}
	}
	if _, err := os.Stat(filepath.Join(dataDir, "mail")); err == nil {
		files, _ := filepath.Glob(filepath.Join(dataDir, "mail", "*"))
		if len(files) > 0 {
			t.Errorf("mail written to files with ORGAUTH_SMTP_URL set: %v", files)
		}
	}
	if sent := sentMail(t, srv2.stderr.String()); len(sent) != 4 {
		t.Errorf("the second run logged %d distinct mails sent, want 4: %v", len(sent), sent)
	}
}

// logRecords decodes the JSON log lines of out with the given message.
func logRecords(t *testing.T, out, msg string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			recs = append(recs, rec)
		}
	}
	return recs
}

// retriedMail returns, by outbox id, when each mail that failed is due again,
// as the outbox logged it.
func retriedMail(t *testing.T, out string) map[string]time.Time {
	t.Helper()
	ids := map[string]time.Time{}
	for _, rec := range logRecords(t, out, "mail not sent; will retry") {
		id, _ := rec["mail"].(string)
		s, _ := rec["next"].(string)
		next, err := time.Parse(time.RFC3339Nano, s)
		if id == "" || err != nil {
			t.Fatalf("retry log line without mail id or next time: %v", rec)
		}
		ids[id] = next
	}
	return ids
}

// sentMail returns the outbox ids of the mails logged as sent, sorted.
func sentMail(t *testing.T, out string) []string {
	t.Helper()
	seen := map[string]bool{}
	var ids []string
	for _, rec := range logRecords(t, out, "mail sent") {
		id, _ := rec["mail"].(string)
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}
