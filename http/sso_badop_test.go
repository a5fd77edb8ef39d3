package http_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// badOP is a deliberately misbehaving OpenID provider: a discovery document that
// can lack the code flow or name another issuer.
type badOP struct {
	issuer      string
	noCodeFlow  bool
	otherIssuer bool
}

func newBadOP(t *testing.T) *badOP {
	o := &badOP{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		iss := o.issuer
		if o.otherIssuer {
			iss = "https://accounts.evil.example"
		}
		types := []string{"code", "id_token"}
		if o.noCodeFlow {
			types = []string{"id_token", "token id_token"}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss, "authorization_endpoint": o.issuer + "/authorize", "token_endpoint": o.issuer + "/token",
			"jwks_uri": o.issuer + "/keys", "response_types_supported": types,
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	}))
	t.Cleanup(srv.Close)
	o.issuer = srv.URL
	return o
}
