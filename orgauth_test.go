package orgauth_test

import (
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
)

// TestNewID checks the ObjectID layout: 24 lower-case hex characters, the first
// 8 the Unix second of creation, the rest random.
func TestNewID(t *testing.T) {
	before := time.Now().Unix()
	seen := make(map[string]bool)
	for range 10_000 {
		id := orgauth.NewID()
		if len(id) != 24 {
			t.Fatalf("NewID() = %q: %d characters, want 24", id, len(id))
		}
		if _, err := hex.DecodeString(id); err != nil || id != strings.ToLower(id) {
			t.Fatalf("NewID() = %q: not lower-case hex", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
		secs, _ := strconv.ParseInt(id[:8], 16, 64)
		if secs < before || secs > time.Now().Unix() {
			t.Fatalf("NewID() = %q: time %d outside [%d, now]", id, secs, before)
		}
	}
}
