package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orgauth/orgauth/internal/apitest"
)

var generatedPasswordRE = regexp.MustCompile(`(?m)^\s*password:\s+(\S+)\s*$`)

// TestOperatorFlow is what an operator and the first customers do with a fresh
// deployment: first start, a tenant, its admin, a user with an API key, password
// change, refresh and revocation; then a graceful stop with a request in flight,
// and a restart on the same data directory.
func TestOperatorFlow(t *testing.T) {
	dataDir := t.TempDir()
	env := testEnv(dataDir)
	srv := startServe(t, env)

	// First start: the admin password is generated and shown once.
	m := generatedPasswordRE.FindStringSubmatch(srv.stdout.String())
	if m == nil {
		t.Fatalf("no generated password on stdout:\n%s", srv.stdout)
	}
	adminPW := m[1]
	if !strings.Contains(srv.stdout.String(), "ops@example.com") {
		t.Errorf("stdout does not name the admin email:\n%s", srv.stdout)
	}
	// With an ephemeral port the public URL (and so every mailed link) must name
	// the port actually listened on.
	if srv.publicURL != srv.base {
		t.Errorf("public URL %q, want %q (the address listened on)", srv.publicURL, srv.base)
	}
	keyPath := filepath.Join(dataDir, "master.key")
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatalf("master key not generated: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("master.key mode %v, want 0600", fi.Mode().Perm())
	}
	masterKey, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}

	srv.do("GET", "/healthz", nil).must(t, 200)
	srv.do("GET", "/readyz", nil).must(t, 200)
	srv.do("GET", "/.well-known/jwks.json", nil).must(t, 200)
	srv.do("GET", "/v1/users/info", nil).must(t, 401)

	// Secrets that must never reach the log.
	secrets := map[string]string{"admin password": adminPW}

	// The operator signs in and creates a tenant.
	srv.do("POST", "/v1/auth/authenticate?setCookie=false",
		map[string]string{"emailId": "ops@example.com", "password": "Wr0ng-password!", "org": "system"}).must(t, 401)
	admin := srv.login("system", "ops@example.com", adminPW)
	secrets["admin token"] = admin
	var tenant struct{ UID string }
	srv.do("POST", "/v1/tenants", map[string]any{
		"metadata": map[string]any{"name": "acme"},
		"spec":     map[string]any{"orgName": "acme", "emailId": "ada@acme.example.com", "firstName": "Ada", "lastName": "Admin"},
	}, "Authorization", admin).must(t, 201).json(t, &tenant)
	if tenant.UID == "" {
		t.Fatal("tenant create gave no uid")
	}

	// The tenant admin follows the link of the invitation mail.
	link, act := lastActivation(t, dataDir, "ada@acme.example.com")
	secrets["tenant admin activation token"] = act
	if !strings.HasPrefix(link, srv.publicURL+"/activate?token=") {
		t.Errorf("activation link %q does not start with the public URL %q", link, srv.publicURL)
	}
	page := srv.do("GET", "/activate?token="+url.QueryEscape(act), nil).must(t, 200)
	if ct := page.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("activation page Content-Type %q", ct)
	}
	const tenantPW = "Ten4nt-Adm1n!"
	secrets["tenant admin password"] = tenantPW
	srv.do("PATCH", "/v1/auth/password/"+url.PathEscape(act)+"/activate", map[string]string{"password": tenantPW}).must(t, 204)
	if r := srv.do("PATCH", "/v1/auth/password/"+url.PathEscape(act)+"/activate", map[string]string{"password": tenantPW}); r.status < 400 || r.status >= 500 {
		t.Errorf("second use of an activation token: status %d, want 4xx", r.status)
	}
	tenantTok := srv.login("acme", "ada@acme.example.com", tenantPW)
	secrets["tenant admin token"] = tenantTok
	var adaInfo struct{ UserUID, TenantUID, OrgName string }
	srv.do("GET", "/v1/users/info", nil, "Authorization", tenantTok).must(t, 200).json(t, &adaInfo)
	if adaInfo.TenantUID != tenant.UID || adaInfo.OrgName != "acme" {
		t.Errorf("tenant admin info = %+v, tenant %s", adaInfo, tenant.UID)
	}

	// The tenant admin creates a user, who activates and signs in.
	var user struct{ UID string }
	srv.do("POST", "/v1/users", map[string]any{
		"spec": map[string]any{"emailId": "bob@acme.example.com", "firstName": "Bob", "lastName": "User", "roles": []string{}},
	}, "Authorization", tenantTok).must(t, 201).json(t, &user)
	_, bobAct := lastActivation(t, dataDir, "bob@acme.example.com")
	secrets["user activation token"] = bobAct
	const bobPW, bobNewPW = "B0b-first-pw!", "B0b-second-pw?"
	secrets["user password"], secrets["user new password"] = bobPW, bobNewPW
	srv.do("PATCH", "/v1/auth/password/"+url.PathEscape(bobAct)+"/activate", map[string]string{"password": bobPW}).must(t, 204)
	bobTok := srv.login("acme", "bob@acme.example.com", bobPW)
	secrets["user token"] = bobTok
	var info struct{ UserUID, TenantUID, OrgName string }
	srv.do("GET", "/v1/users/info", nil, "Authorization", bobTok).must(t, 200).json(t, &info)
	if info.UserUID != user.UID || info.TenantUID != tenant.UID || info.OrgName != "acme" {
		t.Errorf("user info = %+v, want user %s tenant %s org acme", info, user.UID, tenant.UID)
	}

	// An API key acts as the user.
	var key struct{ APIKey, UID string }
	srv.do("POST", "/v1/apiKeys", map[string]any{"metadata": map[string]any{"name": "k"}, "spec": map[string]any{}},
		"Authorization", bobTok).must(t, 201).json(t, &key)
	if key.APIKey == "" {
		t.Fatal("API key create gave no key")
	}
	secrets["API key"] = key.APIKey
	var keyInfo struct{ UserUID string }
	srv.do("GET", "/v1/users/info", nil, "ApiKey", key.APIKey).must(t, 200).json(t, &keyInfo)
	if keyInfo.UserUID != user.UID {
		t.Errorf("info by API key: user %q, want %q", keyInfo.UserUID, user.UID)
	}

	// Password change: the old password stops working, the new one works.
	srv.do("PATCH", "/v1/users/"+user.UID+"/password/change",
		map[string]string{"currentPassword": bobPW, "newPassword": bobNewPW}, "Authorization", bobTok).must(t, 204)
	srv.do("POST", "/v1/auth/authenticate?setCookie=false",
		map[string]string{"emailId": "bob@acme.example.com", "password": bobPW, "org": "acme"}).must(t, 401)
	secrets["user token after change"] = srv.login("acme", "bob@acme.example.com", bobNewPW)

	// Refresh, revoke, and be refused afterwards.
	var fresh struct{ Authorization string }
	srv.do("GET", "/v1/auth/refresh/"+bobTok+"?setCookie=false", nil).must(t, 200).json(t, &fresh)
	if fresh.Authorization == "" || fresh.Authorization == bobTok {
		t.Fatalf("refresh gave %q", fresh.Authorization)
	}
	secrets["refreshed token"] = fresh.Authorization
	srv.do("GET", "/v1/users/info", nil, "Authorization", fresh.Authorization).must(t, 200)
	srv.do("POST", "/v1/users/auth/tokens/revoke", map[string]any{"tokens": []string{fresh.Authorization}},
		"Authorization", fresh.Authorization).must(t, 204)
	srv.do("GET", "/v1/users/info", nil, "Authorization", fresh.Authorization).must(t, 401)
	srv.do("GET", "/v1/users/info", nil, "Authorization", bobTok).must(t, 401) // same session
	srv.do("GET", "/v1/auth/refresh/"+fresh.Authorization, nil).must(t, 401)
	srv.do("GET", "/v1/auth/refresh/"+bobTok, nil).must(t, 401)

	// Graceful stop with a sign-in in flight: it completes, new connections are
	// refused, and run returns nil.
	inflight := inflightSignIn(t, srv, "acme", "ada@acme.example.com", tenantPW)
	secrets["in-flight token"] = inflight
	stderr1 := srv.stderr.String()

	// Restart on the same data directory and the same address (the issuer is the
	// public URL).
	env2 := testEnv(dataDir)
	env2["ORGAUTH_LISTEN"] = srv.addr
	srv2 := startServe(t, env2)
	if generatedPasswordRE.MatchString(srv2.stdout.String()) || strings.Contains(srv2.stdout.String(), adminPW) {
		t.Errorf("second start printed a password:\n%s", srv2.stdout)
	}
	if again, err := os.ReadFile(keyPath); err != nil || !bytes.Equal(again, masterKey) {
		t.Errorf("master key changed across restarts (err %v)", err)
	}
	srv2.do("GET", "/v1/users/info", nil, "Authorization", tenantTok).must(t, 200) // signing key persisted
	srv2.do("GET", "/v1/users/info", nil, "Authorization", inflight).must(t, 200)
	srv2.do("GET", "/v1/users/info", nil, "ApiKey", key.APIKey).must(t, 200)
	srv2.do("GET", "/v1/users/info", nil, "Authorization", fresh.Authorization).must(t, 401) // revocation persisted
	secrets["tenant admin token after restart"] = srv2.login("acme", "ada@acme.example.com", tenantPW)
	secrets["user token after restart"] = srv2.login("acme", "bob@acme.example.com", bobNewPW)
	secrets["admin token after restart"] = srv2.login("system", "ops@example.com", adminPW)
	srv2.do("GET", "/v1/tenants/"+tenant.UID, nil, "Authorization", tenantTok).must(t, 200)
	if err := srv2.stop(); err != nil {
		t.Fatalf("second run returned %v", err)
	}

	// The logs: JSON, one object a line, with no secret in them.
	for name, out := range map[string]string{"first run": stderr1, "second run": srv2.stderr.String()} {
		checkLogs(t, name, out, secrets)
	}
	for _, want := range []string{"/v1/auth/refresh/REDACTED", "/v1/auth/password/REDACTED/activate", "token=REDACTED"} {
		if !strings.Contains(stderr1, want) {
			t.Errorf("the log does not show %q", want)
		}
	}
}

// inflightSignIn starts a sign-in whose body arrives in two halves, stops srv
// between them, and checks that the sign-in still succeeds, that the stopped
// server takes no new connection, and that run returns nil.
func inflightSignIn(t *testing.T, srv *instance, org, email, pw string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"emailId": email, "password": pw, "org": org})
	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /v1/auth/authenticate?setCookie=false HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", srv.addr, len(body))
	if _, err := conn.Write(body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the server reads the headers and starts the handler

	start := time.Now()
	srv.stopped = true
	srv.cancel()
	srv.hc.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", srv.addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the stopping server still accepts connections after 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-srv.done:
		t.Fatalf("run returned (%v) while a request was in flight", err)
	default:
	}

	if _, err := conn.Write(body[half:]); err != nil {
		t.Fatalf("finishing the in-flight request: %v", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	checkAnswer(t, "POST", "/v1/auth/authenticate", res.StatusCode, res.Header, b)
	if res.StatusCode != 200 {
		t.Fatalf("in-flight sign-in: status %d: %s", res.StatusCode, b)
	}
	var tok struct{ Authorization string }
	if err := json.Unmarshal(b, &tok); err != nil || tok.Authorization == "" {
		t.Fatalf("in-flight sign-in body %s: %v", b, err)
	}

	select {
	case err := <-srv.done:
		if err != nil {
			t.Fatalf("run returned %v after a graceful stop", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s after the last request finished")
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("graceful stop took %v", d)
	}
	return tok.Authorization
}

// checkLogs checks that every line of out is a JSON object and that no secret
// (nor the signature part of a JWT, nor a URL-escaped form) appears in it.
func checkLogs(t *testing.T, name, out string, secrets map[string]string) {
	t.Helper()
	if strings.TrimSpace(out) == "" {
		t.Errorf("%s: nothing logged", name)
	}
	requests := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("%s: log line is not JSON: %q", name, line)
			continue
		}
		if rec["msg"] == "request" {
			requests++
		}
	}
	if requests == 0 {
		t.Errorf("%s: no access log lines", name)
	}
	for what, s := range secrets {
		forms := []string{s, url.QueryEscape(s), url.PathEscape(s)}
		// A JWT (its signature alone, 86 characters for Ed25519); a password that
		// happens to hold two dots is not one.
		if parts := strings.Split(s, "."); len(parts) == 3 && len(parts[2]) >= 40 {
			forms = append(forms, parts[2])
		}
		for _, f := range forms {
			if f != "" && strings.Contains(out, f) {
				t.Errorf("%s: the log contains the %s", name, what)
				break
			}
		}
	}
}

// TestLimits checks the limits that protect the service: the request body size,
// the per-address rate limit on /v1/auth/*, and the header read timeout.
func TestLimits(t *testing.T) {
	env := testEnv(t.TempDir())
	env["ORGAUTH_ADMIN_PASSWORD"] = "L1mits-admin!"
	delete(env, "ORGAUTH_AUTH_RATE") // the default: 10/s, burst 5
	srv := startServe(t, env)

	t.Run("body size", func(t *testing.T) {
		big := bytes.Repeat([]byte(" "), 2<<20)
		copy(big, `{"emailId":"x@example.com","org":"system","password":"`)
		big[len(big)-2], big[len(big)-1] = '"', '}'
		req, _ := http.NewRequest("PATCH", srv.base+"/v1/users/password/change", bytes.NewReader(big))
		req.Header.Set("Content-Type", "application/json")
		res, err := srv.hc.Do(req)
		if err != nil {
			t.Fatalf("2 MB body: %v", err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		checkAnswer(t, req.Method, req.URL.Path, res.StatusCode, res.Header, b)
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("2 MB body: status %d, want 413: %.300s", res.StatusCode, b)
		}
		if !strings.Contains(string(b), `"RequestTooLarge"`) {
			t.Errorf("2 MB body: %s", b)
		}
	})

	t.Run("rate limit", func(t *testing.T) {
		got429 := false
		for i := 0; i < 30 && !got429; i++ {
			r := srv.do("GET", "/v1/auth/org?orgName=system", nil)
			switch r.status {
			case 200:
			case 429:
				got429 = true
				if r.header.Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
			default:
				t.Fatalf("status %d: %s", r.status, r.body)
			}
		}
		if !got429 {
			t.Error("30 quick requests to /v1/auth/org were never limited")
		}
	})

	t.Run("slow headers", func(t *testing.T) {
		if testing.Short() {
			t.Skip("takes ReadHeaderTimeout (5s)")
		}
		conn, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		closed := make(chan time.Duration, 1)
		go func() {
			io.Copy(io.Discard, conn) // returns when the server hangs up
			closed <- time.Since(start)
		}()
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n", srv.addr)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case d := <-closed:
				if d < 4*time.Second || d > 8*time.Second {
					t.Errorf("a client trickling headers was cut off after %v, want about 5s", d)
				}
				return
			case <-tick.C:
				if time.Since(start) > 12*time.Second {
					t.Fatal("a client trickling headers kept its connection for 12s")
				}
				conn.Write([]byte("X-Slow: a\r\n")) // fails once the server hung up; that is fine
			}
		}
	})

	// The server still answers after all that.
	srv.do("GET", "/healthz", nil).must(t, 200)
}

// TestSpecChecker makes sure the spec loads and rejects a wrong answer, so that
// a broken harness cannot make every check above pass vacuously.
func TestSpecChecker(t *testing.T) {
	if err := apitest.CheckResponse("GET", "/v1/users/info", 200, []byte(`{"userUid": 5}`)); err == nil {
		t.Error("CheckResponse accepted a userUid that is a number")
	}
	if err := apitest.CheckResponse("GET", "/v1/users/info", 401, []byte(`unauthorized`)); err == nil {
		t.Error("CheckResponse accepted an error answer that is not the Palette error shape")
	}
}

// TestOneInstancePerSQLiteDatabase starts serve twice on one data directory, also
// through a symbolic link: the second refuses to start, saying why, and once the
// first has stopped a new one starts. One instance writes an SQLite database,
// which its caches rely on.
func TestOneInstancePerSQLiteDatabase(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(dir)
	env["ORGAUTH_ADMIN_PASSWORD"] = "Adm1n-secret-pass!"
	first := startServe(t, env)
	err, _, _ := runOnce(t, env, "serve")
	if err == nil || !strings.Contains(err.Error(), "another orgauth is serving the SQLite database") {
		t.Fatalf("second serve on the same SQLite database: %v", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	linked := testEnv(link)
	linked["ORGAUTH_ADMIN_PASSWORD"] = env["ORGAUTH_ADMIN_PASSWORD"]
	err, _, _ = runOnce(t, linked, "serve")
	if err == nil || !strings.Contains(err.Error(), "another orgauth is serving the SQLite database") {
		t.Fatalf("second serve through a symbolic link: %v", err)
	}
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	again := startServe(t, env)
	again.login("system", "ops@example.com", "Adm1n-secret-pass!")
}
