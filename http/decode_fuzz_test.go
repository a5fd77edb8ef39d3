package http

// Fuzz targets of the decoders of untrusted input in this package (security
// item 37): the strict JSON decoder with every request body type, and the
// credentials of a request through the whole handler. Run one with, say,
//
//	go test -run='^$' -fuzz=FuzzDecodeJSON -fuzztime=30s ./http/

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/bootstrap"
	"github.com/orgauth/orgauth/password"
	"github.com/orgauth/orgauth/sqlite"
	"github.com/orgauth/orgauth/token"
)

// bodyTypes makes a fresh value of every request body type decode is used with.
var bodyTypes = []func() any{
	func() any { return new(v1AuthLogin) },
	func() any { return new(v1AuthTokenRevoke) },
	func() any { return new(v1AuthTokenSettings) },
	func() any { return new(v1LoginBannerSettings) },
	func() any { return new(v1TenantEntity) },
	func() any { return new(v1UserEntity) },
	func() any { return new(v1UserUpdateEntity) },
	func() any { return new([]v1HttpPatch) },
	func() any { return new(v1UsersSummarySpec) },
	func() any { return new(v1UserStatusLoginMode) },
	func() any { return new(passwordChange) },
	func() any { return new(passwordActivate) },
	func() any { return new(v1ApiKeyEntity) },
	func() any { return new(v1ApiKeyUpdate) },
	func() any { return new(v1ApiKeyActiveState) },
}

func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"emailId":"a@b.c","password":"x","org":"acme"}`,
		`{"tokens":["a","b"]}`,
		`{"expiryTimeMinutes":60}`,
		`{"Message":"m","isEnabled":true,"title":"t"}`,
		`{"metadata":{"name":"acme","annotations":{"a":"b"}},"spec":{"orgName":"acme","emailId":"a@b.c","address":{"addressLine1":"x"},"roles":["tenant-admin"]}}`,
		`{"spec":{"emailId":"a@b.c","firstName":"A","roles":[],"teams":[]}}`,
		`{"spec":{"emailId":null,"firstName":"A","roles":null}}`,
		`[{"op":"replace","path":"/spec/firstName","value":"x"},{"op":"remove","path":"/metadata/labels"}]`,
		`[{"op":"add","path":"/spec/roles","value":[1,{"a":[null]}]}]`,
		`{"filter":{"emailId":{"contains":"a","ignoreCase":false}},"sort":[{"field":"name","order":"desc"}]}`,
		`{"loginMode":"dev"}`,
		`{"currentPassword":"a","newPassword":"b","emailId":"c"}`,
		`{"password":"x"}`,
		`{"metadata":{"name":"k"},"spec":{"expiry":"2026-01-02T03:04:05Z","userUid":"u"}}`,
		`{"spec":{"expiry":"not a time"}}`,
		`{"isActive":true}`,
		`{"a":1}{"b":2}`, `{} x`, `[`, `{"x":`, "\xef\xbb\xbf{}", `{"emailId":"\ud800"}`, `{"EMAILID":"x"}`,
		`{"expiryTimeMinutes":1e400}`, `{"expiryTimeMinutes":-0.0}`, strings.Repeat("[", 10000),
		`{"` + strings.Repeat("k", 500) + `":1}`, "", " ", "null",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, mk := range bodyTypes {
			v := mk()
			err := decodeJSON(data, v)
			if err == nil {
				// What was accepted re-encodes and decodes to the same value.
				b, merr := json.Marshal(v)
				if merr != nil {
					t.Fatalf("%T accepted %q but does not encode: %v", v, data, merr)
				}
				if err := decodeJSON(b, mk()); err != nil {
					t.Fatalf("%T accepted %q but not its own encoding %s: %v", v, data, b, err)
				}
				continue
			}
			var e *orgauth.Error
			if !errors.As(err, &e) || e.Code != orgauth.EINVALID {
				t.Fatalf("%T: error %v is not an EINVALID *orgauth.Error", v, err)
			}
			// Messages say what is wrong without echoing the input at length.
			if len(e.Message) > 200 {
				t.Fatalf("%T: message of %d bytes: %.300q", v, len(e.Message), e.Message)
			}
		}
	})
}

// fuzzServer is a whole server on a temporary SQLite file, with one tenant and
// one signed-in user. It returns the server and a valid access token.
func fuzzServer(tb testing.TB) (*Server, string) {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "orgauth.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	key := bytes.Repeat([]byte{7}, 32)
	issuer, err := token.NewIssuer(ctx, db, token.Config{Issuer: "http://orgauth.test", Audience: "http://orgauth.test", MasterKey: key, Now: clock})
	if err != nil {
		tb.Fatal(err)
	}
	hasher, err := password.New(password.Config{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := bootstrap.Run(ctx, db, hasher, "root@example.com", "Adm1n-Passw0rd!", now); err != nil {
		tb.Fatal(err)
	}
	s := NewServer(Config{PublicURL: "http://orgauth.test", Now: clock}, Deps{
		Store: db, Issuer: issuer, Hasher: hasher, MasterKey: key,
		Log: slog.New(slog.DiscardHandler),
	})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/v1/auth/authenticate?setCookie=false",
		strings.NewReader(`{"emailId":"root@example.com","password":"Adm1n-Passw0rd!","org":"system"}`))
	req.Header.Set("Content-Type", "application/json")
	s.ServeHTTP(rec, req)
	var tok v1UserToken
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &tok) != nil || tok.Authorization == "" {
		tb.Fatalf("sign-in: %d %s", rec.Code, rec.Body)
	}
	return s, tok.Authorization
}

// credentialSeeds are values near a valid token, none of them valid.
func credentialSeeds(valid string) []string {
	h, p, _ := strings.Cut(valid, ".")
	p, sig, _ := strings.Cut(p, ".")
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	in := h + "." + p
	forged := in + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(priv, []byte(in)))
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + p + "."
	return []string{
		"", " ", "Bearer", "Bearer ", "bearer x", "Basic cm9vdDpyb290", "null", "a.b.c", "..",
		forged, none, in, in + ".", valid + "x", valid[:len(valid)-1], "Bearer " + forged,
		h + "." + p + "." + sig + "." + sig, strings.ToUpper(valid), "oak_" + strings.Repeat("A", 43),
		strings.Repeat("A", 9000), "\x00", "Bearer\t" + forged, "=?utf-8?q?x?=",
	}
}

// FuzzAuthorizationHeader sends fuzzed credentials (header, Bearer header,
// cookie, ApiKey) to a protected read and a protected write: every answer is
// 401, never a success and never a server error.
func FuzzAuthorizationHeader(f *testing.F) {
	s, valid := fuzzServer(f)
	for _, seed := range credentialSeeds(valid) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, cred string) {
		if cred == valid || strings.TrimSpace(cred) == valid || strings.HasSuffix(strings.TrimSpace(cred), " "+valid) {
			t.Skip("the valid token itself")
		}
		for _, req := range []struct {
			method, path, body string
		}{
			{"GET", "/v1/users/info", ""},
			{"POST", "/v1/apiKeys", `{"metadata":{"name":"k"}}`},
		} {
			for _, how := range []string{"Authorization", "Bearer", "Cookie", "ApiKey"} {
				r := httptest.NewRequest(req.method, req.path, strings.NewReader(req.body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Sec-Fetch-Site", "same-origin")
				switch how {
				case "Bearer":
					r.Header.Set("Authorization", "Bearer "+cred)
				case "Cookie":
					r.Header.Set("Cookie", "Authorization="+cred)
				default:
					r.Header.Set(how, cred)
				}
				w := httptest.NewRecorder()
				s.ServeHTTP(w, r)
				if w.Code != http.StatusUnauthorized {
					t.Fatalf("%s %s with %s %.200q: %d %s", req.method, req.path, how, cred, w.Code, w.Body)
				}
				checkErrorBody(t, w)
			}
		}
	})
}

// FuzzRefreshToken sends fuzzed tokens in the path of the refresh operation:
// never a success, never a server error.
func FuzzRefreshToken(f *testing.F) {
	s, valid := fuzzServer(f)
	for _, seed := range credentialSeeds(valid) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if tok == valid {
			t.Skip("the valid token itself")
		}
		r := httptest.NewRequest("GET", "/", nil)
		r.URL = &url.URL{Path: "/v1/auth/refresh/" + tok, RawQuery: "setCookie=false"}
		r.RequestURI = r.URL.RequestURI()
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		// A path the mux cleans ("..", "//") is redirected (3xx) before any handler.
		if w.Code >= 500 || w.Code < 300 {
			t.Fatalf("refresh %.200q: %d %s", tok, w.Code, w.Body)
		}
		if w.Code >= 400 {
			checkErrorBody(t, w)
		}
	})
}

func checkErrorBody(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code == "" || e.Message == "" || e.Ref == "" {
		t.Fatalf("not the error shape: %s", w.Body)
	}
	if !utf8.ValidString(e.Message) {
		t.Fatalf("message is not UTF-8: %q", e.Message)
	}
}

// TestSec17_EveryRouteChecksCredentials walks the route table itself, so an
// operation added later is covered: without credentials every operation that
// is not public answers 401 in the error shape.
func TestSec17_EveryRouteChecksCredentials(t *testing.T) {
	s, _ := fuzzServer(t)
	n := 0
	for _, rt := range s.routes() {
		if rt.access.public {
			continue
		}
		method, path, _ := strings.Cut(rt.pattern, " ")
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, "{") {
				path = strings.Replace(path, seg, "x", 1)
			}
		}
		for _, creds := range [][2]string{{}, {"Authorization", "x"}, {"ApiKey", "x"}, {"Cookie", "Authorization=x"}} {
			r := httptest.NewRequest(method, path, strings.NewReader(`{}`))
			r.Header.Set("Content-Type", "application/json")
			if creds[0] != "" {
				r.Header.Set(creds[0], creds[1])
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized {
				t.Errorf("%s %s (%s): %d %s, want 401", method, path, creds[0], w.Code, w.Body)
			}
			checkErrorBody(t, w)
		}
		n++
	}
	if n < 25 {
		t.Fatalf("only %d protected routes", n)
	}
	t.Logf("%d protected routes checked", n)
}
