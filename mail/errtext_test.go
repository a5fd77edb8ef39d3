package mail

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestErrTextDropsAddresses(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"550 5.1.1 <pat@example.org>: Recipient address rejected", "550 5.1.1 <[address]>: Recipient address rejected"},
		{"mailbox Pat.Smith+tag@Sub.Example.ORG is full", "mailbox [address] is full"},
		{"451 4.7.1 (a@b.c, d@e.f) try later", "451 4.7.1 ([address], [address]) try later"},
		{"dial tcp 10.0.0.1:25: connection refused", "dial tcp 10.0.0.1:25: connection refused"},
	} {
		if got := errText(errors.New(tc.in)); got != tc.want {
			t.Errorf("errText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := errText(errors.New(strings.Repeat("é", 400)))
	if len(long) > maxErrText+len("…") || !utf8.ValidString(long) {
		t.Errorf("errText of a long message: %d bytes, valid UTF-8 %v", len(long), utf8.ValidString(long))
	}
}
