package token

import (
	"crypto/rand"
	"crypto/sha256"
	"strings"

	"github.com/orgauth/orgauth"
)

// APIKeyPrefix starts every API key, so a leaked key is easy to recognize
// (by secret scanners, for one).
const APIKeyPrefix = "oak_"

const (
	apiKeyBytes     = 32
	maxAPIKeyLength = 256
)

// apiKeyLen is the length of a well-formed API key.
var apiKeyLen = len(APIKeyPrefix) + b64.EncodedLen(apiKeyBytes)

// NewAPIKey returns a fresh API key: APIKeyPrefix followed by 256 random bits
// in base64url, and its hash, what the store keeps. The secret is shown to the
// user once.
func NewAPIKey() (secret string, hash []byte) {
	var raw [apiKeyBytes]byte
	rand.Read(raw[:])
	secret = APIKeyPrefix + b64.EncodeToString(raw[:])
	h := sha256.Sum256([]byte(secret))
	return secret, h[:]
}

// HashAPIKey returns the hash of an API key presented by a client, to look it
// up in the store. Anything that is not shaped like a key NewAPIKey makes
// (wrong prefix, length or alphabet, or longer than 256 bytes) is an
// EUNAUTHORIZED error.
func HashAPIKey(secret string) ([]byte, error) {
	invalid := orgauth.Errorf(orgauth.EUNAUTHORIZED, "invalid API key")
	if len(secret) > maxAPIKeyLength || len(secret) != apiKeyLen {
		return nil, invalid
	}
	body, ok := strings.CutPrefix(secret, APIKeyPrefix)
	if !ok {
		return nil, invalid
	}
	if raw, err := b64.DecodeString(body); err != nil || len(raw) != apiKeyBytes {
		return nil, invalid
	}
	h := sha256.Sum256([]byte(secret))
	return h[:], nil
}
