// Package password hashes and verifies user passwords with argon2id (or bcrypt)
// and bounds the number of hashes computed at once, so a flood of sign-in
// attempts cannot take all CPU and memory of the server.
//
// Hashes are stored as PHC strings for argon2id
// ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>") and in the modular crypt
// format for bcrypt ("$2b$12$..."). Verify accepts both whatever algorithm is
// configured, so users imported with bcrypt hashes can sign in; NeedsRehash
// tells when a hash should be replaced after a successful sign-in.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/password/internal/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Algorithms.
const (
	Argon2id = "argon2id"
	Bcrypt   = "bcrypt"
)

// Default parameters: the OWASP recommendation for argon2id (19 MiB, 2 passes,
// 1 lane) and bcrypt cost 12.
const (
	DefaultMemory     = 19 * 1024
	DefaultTime       = 2
	DefaultThreads    = 1
	DefaultBcryptCost = 12
	DefaultMaxWait    = 2 * time.Second
)

// MaxLength is the longest password, in bytes, that Hash accepts. Longer
// passwords are rejected rather than truncated.
const MaxLength = 1024

// bcryptMaxLength is the longest password bcrypt uses; it ignores the rest.
const bcryptMaxLength = 72

// bcryptLength is the length of an encoded bcrypt hash.
const bcryptLength = 60

// Bounds on argon2id parameters, both configured and read from stored hashes.
// A stored hash with parameters beyond them is refused rather than computed:
// one such hash could otherwise pin a CPU and gigabytes of memory on every
// sign-in attempt.
const (
	maxMemory  = 256 * 1024    // KiB
	maxTime    = 16            // passes
	maxWork    = 4 * maxMemory // memory x passes, KiB
	maxThreads = 16
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
	saltLen    = 16
	keyLen     = 32
	maxEncoded = 256 // longest encoded hash Verify parses
)

// Bounds on the bcrypt cost, configured and stored. Lower stored costs are
// accepted (and NeedsRehash reports them); higher ones are refused.
const (
	minBcryptCost       = 10
	maxBcryptCost       = 14
	maxStoredBcryptCost = 15
)

// ErrBusy is returned when no hashing slot frees up within Config.MaxWait, or
// the context ends first.
var ErrBusy = &orgauth.Error{Code: orgauth.ETOOMANY, Message: "too many sign-in attempts in progress, retry shortly"}

// Config configures a Hasher. The zero value is valid and means argon2id with
// the OWASP parameters.
type Config struct {
	Algorithm   string        // Argon2id (default) or Bcrypt, for new hashes
	Memory      uint32        // argon2id memory in KiB, default DefaultMemory
	Time        uint32        // argon2id passes, default DefaultTime
	Threads     uint8         // argon2id lanes, default DefaultThreads
	BcryptCost  int           // 10..14, default DefaultBcryptCost
	MaxInFlight int           // hashes computed at once, default runtime.NumCPU()
	MaxWait     time.Duration // how long a call waits for a slot, default DefaultMaxWait
}

// withDefaults returns cfg with zero fields set to their defaults, or an error
// naming the first invalid field.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Algorithm == "" {
		cfg.Algorithm = Argon2id
	}
	if cfg.Memory == 0 {
		cfg.Memory = DefaultMemory
	}
	if cfg.Time == 0 {
		cfg.Time = DefaultTime
	}
	if cfg.Threads == 0 {
		cfg.Threads = DefaultThreads
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = DefaultBcryptCost
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = runtime.NumCPU()
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	switch {
	case cfg.Algorithm != Argon2id && cfg.Algorithm != Bcrypt:
		return cfg, fmt.Errorf("password: unknown algorithm %q (want %q or %q)", cfg.Algorithm, Argon2id, Bcrypt)
	case cfg.Threads > maxThreads:
		return cfg, fmt.Errorf("password: argon2id threads %d out of range 1..%d", cfg.Threads, maxThreads)
	case cfg.Memory < 8*uint32(cfg.Threads) || cfg.Memory > maxMemory:
		return cfg, fmt.Errorf("password: argon2id memory %d KiB out of range %d..%d", cfg.Memory, 8*uint32(cfg.Threads), maxMemory)
	case cfg.Time > maxTime:
		return cfg, fmt.Errorf("password: argon2id time %d out of range 1..%d", cfg.Time, maxTime)
	case uint64(cfg.Memory)*uint64(cfg.Time) > maxWork:
		return cfg, fmt.Errorf("password: argon2id memory x time %d exceeds %d", uint64(cfg.Memory)*uint64(cfg.Time), maxWork)
	case cfg.BcryptCost < minBcryptCost || cfg.BcryptCost > maxBcryptCost:
		return cfg, fmt.Errorf("password: bcrypt cost %d out of range %d..%d", cfg.BcryptCost, minBcryptCost, maxBcryptCost)
	case cfg.MaxInFlight < 0:
		return cfg, fmt.Errorf("password: negative MaxInFlight %d", cfg.MaxInFlight)
	case cfg.MaxWait < 0:
		return cfg, fmt.Errorf("password: negative MaxWait %v", cfg.MaxWait)
	}
	return cfg, nil
}

// Hasher hashes and verifies passwords. It is safe for concurrent use.
type Hasher struct {
	cfg Config
	// slots holds the argon2id work memory of each hash not in flight: a call
	// takes one to compute and gives it back, so at most MaxInFlight hashes
	// run at once and they reuse their memory instead of allocating it anew.
	slots chan *argon2.Memory
	dummy string        // hash of a random password, for VerifyDummy
	done  atomic.Uint64 // hashes finished so far

	// inSlot, when set by tests, runs while a call holds its slot.
	inSlot func()
}

// New returns a Hasher for cfg, with zero fields set to their defaults. It
// computes one hash to have something to verify against in VerifyDummy.
func New(cfg Config) (*Hasher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Hasher{cfg: cfg, slots: make(chan *argon2.Memory, cfg.MaxInFlight)}
	for range cfg.MaxInFlight {
		h.slots <- new(argon2.Memory)
	}
	h.dummy, err = h.hash(nil, rand.Text())
	if err != nil {
		return nil, err
	}
	return h, nil
}

// Config returns the configuration of h, with defaults filled in.
func (h *Hasher) Config() Config { return h.cfg }

// acquire takes a slot, waiting at most MaxWait. It returns ErrBusy when none
// frees up in time or ctx ends first.
func (h *Hasher) acquire(ctx context.Context) (*argon2.Memory, error) {
	if ctx.Err() != nil {
		return nil, ErrBusy
	}
	select {
	case m := <-h.slots:
		return m, nil
	default:
	}
	t := time.NewTimer(h.cfg.MaxWait)
	defer t.Stop()
	select {
	case m := <-h.slots:
		return m, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ErrBusy
	}
}

func (h *Hasher) release(m *argon2.Memory) {
	h.slots <- m
	h.done.Add(1)
}

// Activity reports the hashes in flight and the number finished so far: a
// caller that sees none in flight and the same count twice knows the hasher
// was idle in between.
func (h *Hasher) Activity() (inFlight int, done uint64) {
	return cap(h.slots) - len(h.slots), h.done.Load()
}

// ReleaseMemory gives back the work memory the hashes keep between calls
// (Memory KiB for each of up to MaxInFlight), for when sign-ins stop; the next
// hashes allocate it again. Slots in flight keep theirs.
func (h *Hasher) ReleaseMemory() {
	var taken []*argon2.Memory
	defer func() {
		for _, m := range taken {
			h.slots <- m
		}
	}()
	for range cap(h.slots) {
		select {
		case m := <-h.slots:
			m.Release()
			taken = append(taken, m)
		default:
			return // the rest are in flight and keep theirs
		}
	}
}

// run calls fn holding a slot, with its work memory.
func (h *Hasher) run(ctx context.Context, fn func(*argon2.Memory)) error {
	m, err := h.acquire(ctx)
	if err != nil {
		return err
	}
	defer h.release(m)
	if h.inSlot != nil {
		h.inSlot()
	}
	fn(m)
	return nil
}

// Hash returns the encoded hash of password with the configured algorithm and
// parameters. A password longer than MaxLength bytes, or longer than 72 bytes
// under bcrypt (which would silently ignore the rest), is an EINVALID error.
// When the server is saturated it returns ErrBusy.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.checkLength(password); err != nil {
		return "", err
	}
	var (
		encoded string
		err     error
	)
	if rerr := h.run(ctx, func(m *argon2.Memory) { encoded, err = h.hash(m, password) }); rerr != nil {
		return "", rerr
	}
	return encoded, err
}

func (h *Hasher) checkLength(password string) error {
	if len(password) > MaxLength {
		return orgauth.Errorf(orgauth.EINVALID, "the password must be at most %d bytes long", MaxLength)
	}
	if h.cfg.Algorithm == Bcrypt && len(password) > bcryptMaxLength {
		return orgauth.Errorf(orgauth.EINVALID, "the password must be at most %d bytes long", bcryptMaxLength)
	}
	return nil
}

// hash computes the hash in the work memory m (nil: allocated) without taking
// a slot.
func (h *Hasher) hash(m *argon2.Memory, password string) (string, error) {
	if h.cfg.Algorithm == Bcrypt {
		b, err := bcrypt.GenerateFromPassword([]byte(password), h.cfg.BcryptCost)
		return string(b), err
	}
	p := argon2Params{memory: h.cfg.Memory, time: h.cfg.Time, threads: h.cfg.Threads, salt: make([]byte, saltLen)}
	rand.Read(p.salt)
	p.key = argon2.IDKey(m, []byte(password), p.salt, p.time, p.memory, p.threads, keyLen)
	return p.String(), nil
}

// Verify reports whether password matches the encoded hash, which may be an
// argon2id PHC string or a bcrypt hash ($2a$, $2b$, $2y$) whatever the
// configured algorithm. A malformed hash, or one whose parameters are beyond
// sane bounds, is an error (never a panic). A password longer than MaxLength
// bytes does not match anything; under bcrypt, neither does one longer than 72
// bytes. When the server is saturated it returns ErrBusy.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	v, err := parse(encoded)
	if err != nil {
		return false, err
	}
	if len(password) > MaxLength {
		return false, nil
	}
	var ok bool
	if err := h.run(ctx, func(m *argon2.Memory) {
		// A stored hash costlier than configured (an import) gets memory of
		// its own, given back at once, rather than making the slot keep that much.
		if a, isArgon2 := v.(*argon2Params); isArgon2 && a.memory > h.cfg.Memory {
			m = new(argon2.Memory)
			defer m.Release()
		}
		ok = v.verify(m, password)
	}); err != nil {
		return false, err
	}
	return ok, nil
}

// VerifyDummy spends the same work as Verify against a hash made with the
// configured parameters, and matches nothing. Call it when there is no user
// (or no password hash) to verify against, so the answer takes the same time
// as for a real user. It returns ErrBusy like Verify.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, err := h.Verify(ctx, h.dummy, password)
	return err
}

// NeedsRehash reports whether encoded was made with another algorithm or other
// parameters than configured (or is malformed), so a fresh hash should replace
// it after the next successful Verify.
func (h *Hasher) NeedsRehash(encoded string) bool {
	v, err := parse(encoded)
	if err != nil {
		return true
	}
	switch v := v.(type) {
	case *argon2Params:
		return h.cfg.Algorithm != Argon2id || v.memory != h.cfg.Memory || v.time != h.cfg.Time ||
			v.threads != h.cfg.Threads || len(v.salt) != saltLen || len(v.key) != keyLen
	case bcryptHash:
		cost, err := bcrypt.Cost([]byte(v))
		return h.cfg.Algorithm != Bcrypt || err != nil || cost != h.cfg.BcryptCost
	}
	return true
}

// verifier is a parsed hash.
type verifier interface {
	// verify reports whether password matches, computing in the work memory
	// m (nil: allocated) if the algorithm needs any.
	verify(m *argon2.Memory, password string) bool
}

// parse parses an encoded hash and checks its parameters are within bounds.
func parse(encoded string) (verifier, error) {
	if len(encoded) > maxEncoded {
		return nil, errors.New("password: encoded hash too long")
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		p, err := parseArgon2id(encoded)
		if err != nil {
			return nil, err
		}
		return p, nil
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		if !wellFormedBcrypt(encoded) {
			return nil, errors.New("password: malformed bcrypt hash")
		}
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil {
			return nil, fmt.Errorf("password: malformed bcrypt hash: %w", err)
		}
		if cost > maxStoredBcryptCost {
			return nil, fmt.Errorf("password: bcrypt cost %d exceeds %d", cost, maxStoredBcryptCost)
		}
		return bcryptHash(encoded), nil
	}
	return nil, errors.New("password: unknown hash format")
}

// wellFormedBcrypt reports whether s is "$2?$" (already checked), two cost
// digits, "$" and 53 characters of the bcrypt alphabet. x/crypto/bcrypt alone
// lets some malformed hashes through.
func wellFormedBcrypt(s string) bool {
	if len(s) != bcryptLength || s[6] != '$' || !isDigit(s[4]) || !isDigit(s[5]) {
		return false
	}
	for i := 7; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && c != '.' && c != '/' {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// bcryptHash is a bcrypt hash in modular crypt format.
type bcryptHash string

func (b bcryptHash) verify(_ *argon2.Memory, password string) bool {
	if len(password) > bcryptMaxLength {
		// bcrypt would ignore the bytes past 72 and could match a different
		// password. Spend the same work anyway, then refuse.
		bcrypt.CompareHashAndPassword([]byte(b), []byte(password[:bcryptMaxLength]))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(b), []byte(password)) == nil
}

// argon2Params is a parsed argon2id hash.
type argon2Params struct {
	memory    uint32
	time      uint32
	threads   uint8
	salt, key []byte
}

var b64 = base64.RawStdEncoding.Strict()

// String returns the PHC string of p.
func (p *argon2Params) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		b64.EncodeToString(p.salt), b64.EncodeToString(p.key))
}

func (p *argon2Params) verify(m *argon2.Memory, password string) bool {
	key := argon2.IDKey(m, []byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1
}

// parseArgon2id parses "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>".
func parseArgon2id(encoded string) (*argon2Params, error) {
	bad := func(what string) error { return fmt.Errorf("password: malformed argon2id hash: %s", what) }
	f := strings.Split(encoded, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return nil, bad("wrong number of fields")
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, bad("unsupported version")
	}
	var p argon2Params
	params := strings.Split(f[3], ",")
	if len(params) != 3 {
		return nil, bad("want m, t and p parameters")
	}
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return nil, bad("want m, t and p parameters")
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, bad("bad parameter " + name)
		}
		switch name {
		case "m":
			p.memory = uint32(n)
		case "t":
			p.time = uint32(n)
		case "p":
			if n > maxThreads {
				return nil, fmt.Errorf("password: argon2id parallelism %d exceeds %d", n, maxThreads)
			}
			p.threads = uint8(n)
		}
	}
	switch {
	case p.threads < 1:
		return nil, bad("parallelism must be at least 1")
	case p.time < 1 || p.time > maxTime:
		return nil, fmt.Errorf("password: argon2id time %d out of range 1..%d", p.time, maxTime)
	case p.memory < 8*uint32(p.threads) || p.memory > maxMemory:
		return nil, fmt.Errorf("password: argon2id memory %d KiB out of range %d..%d", p.memory, 8*uint32(p.threads), maxMemory)
	case uint64(p.memory)*uint64(p.time) > maxWork:
		return nil, fmt.Errorf("password: argon2id memory x time exceeds %d", maxWork)
	}
	var err error
	if p.salt, err = b64.DecodeString(f[4]); err != nil || len(p.salt) < minSaltLen || len(p.salt) > maxSaltLen {
		return nil, bad("bad salt")
	}
	if p.key, err = b64.DecodeString(f[5]); err != nil || len(p.key) < minKeyLen || len(p.key) > maxKeyLen {
		return nil, bad("bad key")
	}
	return &p, nil
}
