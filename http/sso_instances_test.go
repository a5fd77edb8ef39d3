package http_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	orgauthhttp "github.com/orgauth/orgauth/http"
	"github.com/orgauth/orgauth/internal/apitest"
)

// Two instances on one PostgreSQL: a configuration change at one is seen by the
// other within a second, and a sign-in started at one finishes at the other.
func TestInstances_SocialLogins(t *testing.T) {
	url := apitest.PostgresURL(t)
	gh := newFakeGitHub(t)
	op := newTestOP(t)
	clock := apitest.NewClock()
	cfg := func(c *orgauthhttp.Config) { c.GitHubURL, c.GitHubAPIURL = gh.srv.URL, gh.srv.URL+"/api" }
	a := &ssoEnv{Env: apitest.New(t, apitest.Options{DatabaseURL: url, Clock: clock, Config: cfg}), gh: gh, op: op}
	b := &ssoEnv{Env: apitest.New(t, apitest.Options{DatabaseURL: url, Clock: clock, Config: cfg}), gh: gh, op: op}
	a.admin = a.Admin()
	ten := a.NewTenant("acme")

	if len(b.logins(t, "acme")) != 0 || len(b.logins(t, "")) != 0 { // B caches the empty state
		t.Fatal("logins before any configuration")
	}
	a.put(t, a.config(true, false)).Must(t, 204)
	within(t, time.Second, "system config at A seen at B", func() bool {
		return slices.Equal(names(b.logins(t, "")), []string{"github"})
	})
	a.allow(t, ten, true, "github")
	within(t, time.Second, "tenant choice at A seen at B", func() bool {
		return slices.Equal(names(b.logins(t, "acme")), []string{"github"})
	})

	gh.signInAs(&ghUser{ID: 9, Login: "ada", Emails: []ghEmail{{Email: ten.AdminEmail, Primary: true, Verified: true}}})
	br := newBrowser(t, a.Env)
	cb := br.toProvider(br.start(item(t, a.logins(t, "acme"), "github").RedirectURI))
	br.env = b.Env // the callback reaches the other instance
	br.get(strings.Replace(cb, a.URL, b.URL, 1)).Must(t, 200)
}
