package main

import (
	"strings"
	"testing"

	"github.com/orgauth/orgauth/internal/apitest"
)

// TestServeOnPostgres runs migrate and two instances of serve on one PostgreSQL
// database: they migrate once, share the first administrator and accept each
// other's tokens.
func TestServeOnPostgres(t *testing.T) {
	url := apitest.PostgresURL(t)
	env := testEnv(t.TempDir())
	env["ORGAUTH_DATABASE_URL"] = url
	env["ORGAUTH_ADMIN_PASSWORD"] = "Pg-adm1n-secret!"
	env["ORGAUTH_MASTER_KEY"] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	// Instances behind one load balancer share the public URL: it is the issuer
	// and audience of their tokens.
	env["ORGAUTH_PUBLIC_URL"] = "http://localhost:8080"
	err, out, _ := runOnce(t, env, "migrate")
	if err != nil || !strings.Contains(out, "schema at version") {
		t.Fatalf("migrate: %v %q", err, out)
	}
	a := startServe(t, env)
	b := startServe(t, env)
	tok := a.login("system", "ops@example.com", "Pg-adm1n-secret!")
	if r := b.do("GET", "/v1/users/info", nil, "Authorization", tok); r.status != 200 {
		t.Fatalf("token of instance A at instance B: %d %s", r.status, r.body)
	}
	if r := b.do("GET", "/readyz", nil); r.status != 200 {
		t.Fatalf("readyz: %d", r.status)
	}
}
