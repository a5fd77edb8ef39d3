package token

import (
	"bytes"
	"crypto/sha256"
	"regexp"
	"strings"
	"testing"

	"github.com/orgauth/orgauth"
)

var safeID = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

func TestUserTokenRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for _, purpose := range []string{orgauth.PurposeActivation, orgauth.PurposeReset} {
		for range 100 {
			id, secret, hash := NewUserToken(testMasterKey, purpose)
			if !safeID.MatchString(id) {
				t.Fatalf("id %q is not 22 characters of [A-Za-z0-9_-]", id)
			}
			if seen[id] {
				t.Fatalf("id %q repeated", id)
			}
			seen[id] = true
			if sum := sha256.Sum256([]byte(secret)); !bytes.Equal(hash, sum[:]) {
				t.Fatalf("hash is not the SHA-256 of the secret")
			}
			if !strings.HasPrefix(secret, id+".") {
				t.Fatalf("secret %q does not start with the id %q", secret, id)
			}
			if got := UserTokenSecret(testMasterKey, purpose, id); got != secret {
				t.Fatalf("UserTokenSecret = %q; want %q", got, secret)
			}
			gotID, gotHash, err := ParseUserToken(testMasterKey, purpose, secret)
			if err != nil || gotID != id || !bytes.Equal(gotHash, hash) {
				t.Fatalf("ParseUserToken(%q) = %q, %x, %v; want %q, %x", secret, gotID, gotHash, err, id, hash)
			}
		}
	}
}

func TestUserTokenRejects(t *testing.T) {
	// A secret with a character that standard base64 spells differently, so the
	// "standard base64" case below differs from the valid token.
	id, secret, _ := NewUserToken(testMasterKey, orgauth.PurposeActivation)
	for !strings.ContainsAny(secret, "-_") {
		id, secret, _ = NewUserToken(testMasterKey, orgauth.PurposeActivation)
	}
	mac := secret[len(id)+1:]
	flip := func(s string, n int) string {
		b := []byte(s)
		if b[n] == 'A' {
			b[n] = 'B'
		} else {
			b[n] = 'A'
		}
		return string(b)
	}
	// Same id, MAC of the other purpose: a valid reset token.
	reset := UserTokenSecret(testMasterKey, orgauth.PurposeReset, id)
	cases := map[string]struct{ purpose, secret string }{
		"activation as reset":      {orgauth.PurposeReset, secret},
		"reset as activation":      {orgauth.PurposeActivation, reset},
		"activation as empty":      {"", secret},
		"activation as Activation": {"Activation", secret},
		"MAC changed":              {orgauth.PurposeActivation, flip(secret, len(secret)-5)},
		"id changed":               {orgauth.PurposeActivation, flip(secret, 3)},
		"MAC of another id":        {orgauth.PurposeActivation, flip(id, 3) + "." + mac},
		"truncated":                {orgauth.PurposeActivation, secret[:len(secret)-1]},
		"id only":                  {orgauth.PurposeActivation, id},
		"no dot":                   {orgauth.PurposeActivation, id + mac},
		"extra":                    {orgauth.PurposeActivation, secret + "A"},
		"empty":                    {orgauth.PurposeActivation, ""},
		"garbage":                  {orgauth.PurposeActivation, "garbage"},
		"garbage of the length":    {orgauth.PurposeActivation, strings.Repeat("!", len(secret))},
		"two dots":                 {orgauth.PurposeActivation, id + "." + mac[:10] + "." + mac[11:]},
		"dot moved":                {orgauth.PurposeActivation, id[:21] + "." + id[21:] + mac[:22]},
		"padded":                   {orgauth.PurposeActivation, id + "." + mac[:20] + "=="},
		"standard base64":          {orgauth.PurposeActivation, strings.NewReplacer("-", "+", "_", "/").Replace(secret)},
		"non-canonical id":         {orgauth.PurposeActivation, nonCanonical(id) + "." + mac},
		"long":                     {orgauth.PurposeActivation, strings.Repeat(secret, 1000)},
	}
	for name, c := range cases {
		if c.secret == secret && c.purpose == orgauth.PurposeActivation {
			t.Fatalf("%s: test case is the valid token", name)
		}
		gotID, hash, err := ParseUserToken(testMasterKey, c.purpose, c.secret)
		if err == nil || gotID != "" || hash != nil {
			t.Errorf("%s: ParseUserToken = %q, %x, %v; want an error", name, gotID, hash, err)
			continue
		}
		if orgauth.ErrorCode(err) != orgauth.ENOTFOUND || orgauth.ErrorMessage(err) != "the link is invalid or has expired" {
			t.Errorf("%s: error = %v", name, err)
		}
	}
	// Another master key.
	if _, _, err := ParseUserToken(bytes.Repeat([]byte{8}, MasterKeySize), orgauth.PurposeActivation, secret); orgauth.ErrorCode(err) != orgauth.ENOTFOUND {
		t.Errorf("ParseUserToken with another master key: %v; want ENOTFOUND", err)
	}
	// A bad master key is a server error, not the client's.
	if _, _, err := ParseUserToken(testMasterKey[:16], orgauth.PurposeActivation, secret); err == nil || orgauth.ErrorCode(err) != orgauth.EINTERNAL {
		t.Errorf("ParseUserToken with a short master key: %v; want an internal error", err)
	}
}

// nonCanonical returns id with its unused low bits set: it decodes (leniently)
// to the same bytes but is not the canonical spelling.
func nonCanonical(id string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, id[len(id)-1])
	return id[:len(id)-1] + string(alphabet[last|3])
}

func TestUserTokenPanicsOnBadKey(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewUserToken with a 16-byte master key did not panic")
		}
	}()
	NewUserToken(testMasterKey[:16], orgauth.PurposeActivation)
}

func FuzzParseUserToken(f *testing.F) {
	_, activation, _ := NewUserToken(testMasterKey, orgauth.PurposeActivation)
	_, reset, _ := NewUserToken(testMasterKey, orgauth.PurposeReset)
	f.Add(orgauth.PurposeActivation, activation)
	f.Add(orgauth.PurposeReset, reset)
	f.Add(orgauth.PurposeReset, activation)
	f.Add("", "")
	f.Add("x", "AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, purpose, secret string) {
		id, hash, err := ParseUserToken(testMasterKey, purpose, secret)
		if err != nil {
			if orgauth.ErrorCode(err) != orgauth.ENOTFOUND {
				t.Fatalf("ParseUserToken(%q, %q) error code %s", purpose, secret, orgauth.ErrorCode(err))
			}
			return
		}
		// Whatever parses is exactly what we would have minted.
		if want := UserTokenSecret(testMasterKey, purpose, id); want != secret {
			t.Fatalf("ParseUserToken(%q, %q) accepted; the token of id %q is %q", purpose, secret, id, want)
		}
		if sum := sha256.Sum256([]byte(secret)); !bytes.Equal(hash, sum[:]) || !safeID.MatchString(id) {
			t.Fatalf("ParseUserToken(%q, %q) = %q, %x", purpose, secret, id, hash)
		}
	})
}

func TestMailRecipientMAC(t *testing.T) {
	key, other := bytes.Repeat([]byte{1}, MasterKeySize), bytes.Repeat([]byte{2}, MasterKeySize)
	a := MailRecipientMAC(key, "Pat@Example.org")
	if !bytes.Equal(a, MailRecipientMAC(key, " pat@example.ORG ")) {
		t.Error("the MAC depends on case or surrounding spaces")
	}
	if bytes.Equal(a, MailRecipientMAC(key, "pat@example.com")) {
		t.Error("two addresses share a MAC")
	}
	if bytes.Equal(a, MailRecipientMAC(other, "pat@example.org")) {
		t.Error("the MAC does not depend on the master key")
	}
	if len(a) != sha256.Size || bytes.Contains(a, []byte("pat")) {
		t.Errorf("MAC %x", a)
	}
}
