package password

import (
	"strings"
	"sync"

	"github.com/trustelem/zxcvbn/frequency"
)

// commonPasswords is the set of the most common passwords, lower-cased: the
// 30,000 of zxcvbn's list (drawn from leaked password dumps), most common first.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	list := frequency.FrequencyLists["passwords"]
	set := make(map[string]struct{}, len(list))
	for _, pw := range list {
		set[strings.ToLower(pw)] = struct{}{}
	}
	return set
})

// CommonCount is how many common passwords Common knows.
func CommonCount() int { return len(commonPasswords()) }

// Common reports whether pw, in any case, is one of the most common passwords
// (security item 12: the built-in blocklist, on by default).
func Common(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(pw)]
	return ok
}
