package token

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	ad := []byte("row 1")
	for _, plain := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("secret"), 1000)} {
		sealed, err := Seal(testMasterKey, plain, ad)
		if err != nil {
			t.Fatal(err)
		}
		// (A short plaintext may appear in random bytes by chance; a long one may not.)
		if len(plain) >= 16 && bytes.Contains(sealed, plain) {
			t.Error("sealed data contains the plaintext")
		}
		got, err := Open(testMasterKey, sealed, ad)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("Open(Seal(%d bytes)) = %d bytes, %v", len(plain), len(got), err)
		}
		again, _ := Seal(testMasterKey, plain, ad)
		if bytes.Equal(sealed, again) {
			t.Error("two seals of the same plaintext are equal; nonce reused")
		}
	}
}

func TestOpenTampered(t *testing.T) {
	ad := []byte("row 1")
	plain := []byte("the private key")
	sealed, err := Seal(testMasterKey, plain, ad)
	if err != nil {
		t.Fatal(err)
	}
	for n := range sealed {
		for _, bit := range []byte{1, 0x80} {
			c := bytes.Clone(sealed)
			c[n] ^= bit
			if got, err := Open(testMasterKey, c, ad); err == nil {
				t.Fatalf("Open with byte %d flipped = %q", n, got)
			}
		}
	}
	for n := range sealed {
		if _, err := Open(testMasterKey, sealed[:n], ad); err == nil {
			t.Fatalf("Open of the first %d bytes succeeded", n)
		}
	}
	if _, err := Open(testMasterKey, append(bytes.Clone(sealed), 0), ad); err == nil {
		t.Error("Open with a byte appended succeeded")
	}
	if _, err := Open(testMasterKey, sealed, []byte("row 2")); err == nil {
		t.Error("Open with other additional data succeeded")
	}
	if _, err := Open(testMasterKey, sealed, nil); err == nil {
		t.Error("Open without additional data succeeded")
	}
	other := bytes.Repeat([]byte{8}, MasterKeySize)
	if _, err := Open(other, sealed, ad); err == nil {
		t.Error("Open with another key succeeded")
	}
}

func TestSealKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		key := make([]byte, n)
		if _, err := Seal(key, []byte("x"), nil); err == nil {
			t.Errorf("Seal with a %d-byte key succeeded", n)
		}
		if _, err := Open(key, make([]byte, 64), nil); err == nil {
			t.Errorf("Open with a %d-byte key succeeded", n)
		}
	}
}
