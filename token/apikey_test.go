package token

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/orgauth/orgauth"
)

func TestAPIKey(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		secret, hash := NewAPIKey()
		if !strings.HasPrefix(secret, "oak_") || len(secret) != 47 {
			t.Fatalf("NewAPIKey = %q", secret)
		}
		raw, err := base64.RawURLEncoding.DecodeString(secret[4:])
		if err != nil || len(raw) != 32 {
			t.Fatalf("key body %q: %d bytes, %v", secret[4:], len(raw), err)
		}
		if seen[secret] {
			t.Fatal("key repeated")
		}
		seen[secret] = true
		if sum := sha256.Sum256([]byte(secret)); !bytes.Equal(hash, sum[:]) {
			t.Fatal("hash is not the SHA-256 of the key")
		}
		got, err := HashAPIKey(secret)
		if err != nil || !bytes.Equal(got, hash) {
			t.Fatalf("HashAPIKey(%q) = %x, %v; want %x", secret, got, err, hash)
		}
	}
}

func TestHashAPIKeyRejects(t *testing.T) {
	secret, _ := NewAPIKey()
	body := secret[4:]
	for name, s := range map[string]string{
		"empty":           "",
		"prefix only":     "oak_",
		"no prefix":       body,
		"other prefix":    "sk_" + body + "x",
		"upper prefix":    "OAK_" + body,
		"truncated":       secret[:len(secret)-1],
		"extra":           secret + "A",
		"padded":          secret + "=",
		"standard b64":    "oak_" + strings.Repeat("+", len(body)),
		"bad characters":  "oak_" + strings.Repeat("!", len(body)),
		"whitespace":      secret[:len(secret)-1] + " ",
		"oversized":       "oak_" + strings.Repeat("A", 300),
		"1 MB":            strings.Repeat("A", 1<<20),
		"Bearer":          "Bearer " + secret,
		"non-canonical":   secret[:len(secret)-1] + "_",
		"access token":    "eyJhbGciOiJFZERTQSJ9.e30.AA",
		"activation link": "AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
	} {
		h, err := HashAPIKey(s)
		if err == nil || h != nil {
			t.Errorf("%s: HashAPIKey(%q) = %x, %v; want an error", name, s, h, err)
			continue
		}
		if orgauth.ErrorCode(err) != orgauth.EUNAUTHORIZED {
			t.Errorf("%s: error = %v; want %s", name, err, orgauth.EUNAUTHORIZED)
		}
	}
}

func FuzzHashAPIKey(f *testing.F) {
	secret, _ := NewAPIKey()
	f.Add(secret)
	f.Add("oak_")
	f.Add("")
	f.Add("oak_" + strings.Repeat("A", 43))
	f.Fuzz(func(t *testing.T, s string) {
		h, err := HashAPIKey(s)
		if err != nil {
			if orgauth.ErrorCode(err) != orgauth.EUNAUTHORIZED || h != nil {
				t.Fatalf("HashAPIKey(%q) = %x, %v", s, h, err)
			}
			return
		}
		raw, derr := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, "oak_"))
		if !strings.HasPrefix(s, "oak_") || derr != nil || len(raw) != 32 || base64.RawURLEncoding.EncodeToString(raw) != s[4:] {
			t.Fatalf("HashAPIKey accepted %q", s)
		}
		if sum := sha256.Sum256([]byte(s)); !bytes.Equal(h, sum[:]) {
			t.Fatalf("HashAPIKey(%q) = %x; want its SHA-256", s, h)
		}
	})
}
