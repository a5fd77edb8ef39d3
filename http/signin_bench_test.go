package http_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/orgauth/orgauth/internal/apitest"
)

// BenchmarkSignIn measures what a password sign-in costs around the hash:
// POST /v1/auth/authenticate over loopback HTTP against SQLite, with argon2id
// at its cheapest (64 KiB, one pass), so the figure is the request, its one
// write transaction, the token and the log line. The "hash" sub-benchmark is
// the verification alone, to subtract.
func BenchmarkSignIn(b *testing.B) {
	env := apitest.New(b)
	ten := env.NewTenant("bench")
	const email, pw = "user@bench.example.com", "Us3r-Passw0rd!"
	env.NewUser(ten, email, pw)
	body := []byte(`{"org":"bench","emailId":"` + email + `","password":"` + pw + `"}`)
	b.Run("request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := env.Client.Post(env.URL+"/v1/auth/authenticate?setCookie=false", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	u, err := env.Store.InTenant(ten.UID).UserByEmail(context.Background(), email)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("hash", func(b *testing.B) {
		for b.Loop() {
			if ok, err := env.Hasher.Verify(context.Background(), u.PasswordHash, pw); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
