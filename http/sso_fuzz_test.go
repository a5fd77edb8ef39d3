package http

// Fuzz targets of the social logins' decoders of untrusted input (security item
// 37): the request bodies of the configuration endpoints through the strict
// decoder and their checks, and the landing path of a sign-in. Run one with
//
//	go test -run='^$' -fuzz=FuzzRedirectPath -fuzztime=30s ./http/

import (
	"net/url"
	"strings"
	"testing"
)

func FuzzSSOBodies(f *testing.F) {
	for _, seed := range []string{
		`{"authSpec":{"github":{"clientId":"a","clientSecretKey":"b","isEnabled":true,"logoUrl":""},"oidcAuthSpecs":{"google":{"issuerUrl":"https://accounts.google.com","clientId":"c","clientSecret":"*****","isEnabled":true,"scopes":["openid","email"],"requiredClaims":{"Email":"mail"}}}}}`,
		`{"authSpec":{"oidcAuthSpecs":{"x":null}}}`, `{"authSpec":null}`, `{"entityId":"e"}`,
		`{"isEnabled":true,"ssoLogins":["github","github"]}`, `{"ssoLogins":null}`,
		`{"issuerUrl":"http://127.0.0.1:1/","clientId":"c","callbackUrl":"x"}`, `{"scopes":["\u0000"]}`,
	} {
		f.Add([]byte(seed))
	}
	s := &Server{cfg: Config{PublicURL: "https://auth.example.com"}, masterKey: make([]byte, 32)}
	f.Fuzz(func(t *testing.T, data []byte) {
		var cfg v1SystemSsoSpec
		if decodeJSON(data, &cfg) == nil && cfg.AuthSpec != nil {
			if gh := cfg.AuthSpec.Github; gh != nil {
				s.githubApp(gh, nil)
			}
			for name, o := range cfg.AuthSpec.OidcAuthSpecs {
				if validAppName(name) == nil && o != nil {
					if a, err := s.oidcApp(name, o, nil); err == nil && a.Enabled && !strings.HasPrefix(a.IssuerURL, "https://") && !strings.HasPrefix(a.IssuerURL, "http://") {
						t.Fatalf("issuer %q accepted", a.IssuerURL)
					}
				}
			}
		}
		var oc v1SystemOidcClientSpec
		if decodeJSON(data, &oc) == nil {
			s.checkOIDCSpec("", "", &oc)
		}
		var ts v1TenantSsoAuthProvidersEntity
		decodeJSON(data, &ts)
	})
}

// FuzzRedirectPath checks that every landing path accepted stays on orgauth's
// origin, however a browser resolves it.
func FuzzRedirectPath(f *testing.F) {
	for _, seed := range []string{"/", "/home", "//evil", "/\\evil", "/%2F%2Fevil", "/%252F/evil", "https://evil", "/a/../..//evil", "/?next=//evil", "/#//evil", "/\t/evil"} {
		f.Add(seed)
	}
	base, _ := url.Parse("https://auth.example.com/")
	f.Fuzz(func(t *testing.T, p string) {
		got, err := safeRedirectPath(p)
		if err != nil {
			return
		}
		// A browser treats backslashes as slashes and drops tabs and newlines.
		browser := strings.NewReplacer("\\", "/", "\t", "", "\n", "", "\r", "").Replace(got)
		u, err := base.Parse(browser)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", p, err)
		}
		if u.Host != base.Host || u.Scheme != base.Scheme {
			t.Fatalf("accepted %q, which leads to %s", p, u)
		}
	})
}
