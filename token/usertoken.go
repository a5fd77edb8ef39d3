package token

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"

	"github.com/orgauth/orgauth"
)

// A user token (activation or reset) is
//
//	base64url(id) "." base64url(HMAC-SHA256(k, purpose 0x00 base64url(id))[:16])
//
// where id is 16 random bytes and k is derived from the master key. The id
// (its base64url form) is the key of the stored orgauth.UserToken; the store
// keeps only the SHA-256 of the whole token. The MAC covers the purpose, so an
// activation token never parses as a reset token, and lets an admin with the
// master key rebuild an activation link from the stored id.
const (
	userTokenIDBytes  = 16
	userTokenMACBytes = 16
)

var (
	userTokenIDLen  = b64.EncodedLen(userTokenIDBytes)
	userTokenMACLen = b64.EncodedLen(userTokenMACBytes)
	userTokenLen    = userTokenIDLen + 1 + userTokenMACLen
)

// b64 is the encoding of the random parts of tokens and keys: unpadded
// base64url, canonical only, so each value has one spelling.
var b64 = base64.RawURLEncoding.Strict()

// NewUserToken returns a fresh single-use token for purpose (say,
// orgauth.PurposeActivation): the id to store it under, the secret to mail to
// the user and the hash of the secret to store. The id is 22 characters of
// [A-Za-z0-9_-]. It panics if masterKey is not MasterKeySize bytes.
func NewUserToken(masterKey []byte, purpose string) (id, secret string, hash []byte) {
	var raw [userTokenIDBytes]byte
	rand.Read(raw[:])
	id = b64.EncodeToString(raw[:])
	secret = UserTokenSecret(masterKey, purpose, id)
	return id, secret, HashUserToken(secret)
}

// UserTokenSecret returns the secret of the token with the given purpose and
// id, the same NewUserToken returned. It lets an admin see an activation link
// again although only its hash is stored. It panics if masterKey is not
// MasterKeySize bytes.
func UserTokenSecret(masterKey []byte, purpose, id string) string {
	mac, err := userTokenMAC(masterKey, purpose, id)
	if err != nil {
		panic(err)
	}
	return id + "." + b64.EncodeToString(mac)
}

// HashUserToken returns the SHA-256 of a user token secret, what the store keeps.
func HashUserToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// ParseUserToken checks that secret is a well-formed token for purpose, made
// with masterKey, and returns its id and hash for the store lookup. It does
// not know whether the token was used, superseded or expired: the store does.
// Any failure is ENOTFOUND "the link is invalid or has expired".
func ParseUserToken(masterKey []byte, purpose, secret string) (id string, hash []byte, err error) {
	if err := checkMasterKey(masterKey); err != nil {
		return "", nil, err
	}
	invalid := orgauth.Errorf(orgauth.ENOTFOUND, "the link is invalid or has expired")
	if len(secret) != userTokenLen {
		return "", nil, invalid
	}
	id, macText, ok := strings.Cut(secret, ".")
	if !ok || len(id) != userTokenIDLen {
		return "", nil, invalid
	}
	if raw, err := b64.DecodeString(id); err != nil || len(raw) != userTokenIDBytes {
		return "", nil, invalid
	}
	got, err := b64.DecodeString(macText)
	if err != nil || len(got) != userTokenMACBytes {
		return "", nil, invalid
	}
	want, err := userTokenMAC(masterKey, purpose, id)
	if err != nil {
		return "", nil, err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return "", nil, invalid
	}
	return id, HashUserToken(secret), nil
}

// userTokenMAC returns the truncated MAC of purpose and id.
func userTokenMAC(masterKey []byte, purpose, id string) ([]byte, error) {
	if err := checkMasterKey(masterKey); err != nil {
		return nil, err
	}
	// A key of its own, so the master key is used directly by AES-GCM only.
	k, err := hkdf.Key(sha256.New, masterKey, nil, "orgauth user token mac v1", sha256.Size)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(id))
	return m.Sum(nil)[:userTokenMACBytes], nil
}

// MailRecipientMAC returns the key under which the outbox records whom a mail
// went to: an HMAC-SHA256, with a key derived from the master key, of the
// normalized address. It panics if masterKey is not MasterKeySize bytes.
func MailRecipientMAC(masterKey []byte, addr string) []byte {
	return derivedMAC(masterKey, "orgauth mail recipient v1", orgauth.NormalizeEmail(addr))
}

// BlockedPasswordHash returns the key under which the blocklist stores pw: an
// HMAC-SHA256 with a key derived from the master key, of pw lower-cased, so
// that the stored list can be neither read nor tested offline without the
// master key, and a blocked password matches in any case. It panics if
// masterKey is not MasterKeySize bytes.
func BlockedPasswordHash(masterKey []byte, pw string) []byte {
	return derivedMAC(masterKey, "orgauth password blocklist v1", strings.ToLower(pw))
}

// derivedMAC is the HMAC-SHA256 of data under a key derived from masterKey for
// info. It panics if masterKey is not MasterKeySize bytes.
func derivedMAC(masterKey []byte, info, data string) []byte {
	if err := checkMasterKey(masterKey); err != nil {
		panic(err)
	}
	k, err := hkdf.Key(sha256.New, masterKey, nil, info, sha256.Size)
	if err != nil {
		panic(err)
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(data))
	return m.Sum(nil)
}
