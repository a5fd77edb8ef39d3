package mail

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestScrubDropsAddresses(t *testing.T) {
	for _, tc := range []struct{ in, to, want string }{
		{"550 5.1.1 <pat@example.org>: Recipient address rejected", "", "550 5.1.1 <[address]>: Recipient address rejected"},
		{"mailbox Pat.Smith+tag@Sub.Example.ORG is full", "", "mailbox [address] is full"},
		{"451 4.7.1 (a@b.c, d@e.f) try later", "", "451 4.7.1 ([address], [address]) try later"},
		{"550 <pat@[192.0.2.1]>: no such user", "", "550 <[address]>: no such user"},
		{"550 <o'brien@example.com>: no such user", "", "550 <[address]>: no such user"},
		{"550 user PAT@EXAMPLE.ORG unknown", "pat@example.org", "550 user [address] unknown"},
		{"dial tcp 10.0.0.1:25: connection refused", "", "dial tcp 10.0.0.1:25: connection refused"},
		{"550 bad \x00byte \xe4 here", "", "550 bad byte \uFFFD here"},
	} {
		if got := scrub(tc.in, tc.to); got != tc.want {
			t.Errorf("scrub(%q, %q) = %q, want %q", tc.in, tc.to, got, tc.want)
		}
	}
	long := scrub(strings.Repeat("é", 400), "")
	if len(long) > maxErrText+len("…") || !utf8.ValidString(long) {
		t.Errorf("scrub of a long message: %d bytes, valid UTF-8 %v", len(long), utf8.ValidString(long))
	}
}
