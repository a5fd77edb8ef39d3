// Package token mints and checks every credential orgauth hands out: signed
// access tokens (JWT, Ed25519), single-use activation and reset tokens, and
// API keys. It also seals secrets with the master key before they reach the
// store.
package token

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
)

// MasterKeySize is the length of the master key: an AES-256 key.
const MasterKeySize = 32

// Seal encrypts and authenticates plaintext with masterKey (AES-256-GCM, a
// random nonce prepended to the result). additionalData is authenticated but
// not encrypted: Open must be given the same bytes, which binds the sealed
// value to its context (say, the id of the row it is stored in).
func Seal(masterKey, plaintext, additionalData []byte) ([]byte, error) {
	aead, err := newAEAD(masterKey)
	if err != nil {
		return nil, err
	}
	return aead.Seal(nil, nil, plaintext, additionalData), nil
}

// Open decrypts what Seal returned. It fails if sealed, additionalData or the
// key differ in any bit from those given to Seal.
func Open(masterKey, sealed, additionalData []byte) ([]byte, error) {
	aead, err := newAEAD(masterKey)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.Overhead() {
		return nil, errors.New("token: sealed data too short")
	}
	plaintext, err := aead.Open(nil, nil, sealed, additionalData)
	if err != nil {
		return nil, errors.New("token: sealed data is corrupt or was sealed with another key")
	}
	return plaintext, nil
}

func newAEAD(masterKey []byte) (cipher.AEAD, error) {
	if err := checkMasterKey(masterKey); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

func checkMasterKey(masterKey []byte) error {
	if len(masterKey) != MasterKeySize {
		return fmt.Errorf("token: master key is %d bytes, want %d", len(masterKey), MasterKeySize)
	}
	return nil
}
