package password

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orgauth/orgauth"
	"github.com/orgauth/orgauth/password/internal/argon2"
	"golang.org/x/crypto/bcrypt"
)

// fast are cheap argon2id parameters for tests.
var fast = Config{Memory: 1024, Time: 1, Threads: 1}

// bcryptFast is a bcrypt Config for tests; newHasher lowers its cost below what
// New accepts, to keep the tests quick under the race detector.
var bcryptFast = Config{Algorithm: Bcrypt, BcryptCost: 10}

func newHasher(t testing.TB, cfg Config) *Hasher {
	t.Helper()
	cheap := cfg == bcryptFast
	if cheap {
		cfg = fast
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	if cheap {
		h.cfg.Algorithm, h.cfg.BcryptCost = Bcrypt, 4
		if h.dummy, err = h.hash(nil, "dummy"); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func bcryptHashOf(t testing.TB, password string, cost int) string {
	t.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, cfg := range []Config{fast, bcryptFast} {
		h := newHasher(t, cfg)
		enc, err := h.Hash(ctx, "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := h.Verify(ctx, enc, "correct horse battery staple"); !ok || err != nil {
			t.Errorf("%s: Verify(right password) = %v, %v; want true, nil", cfg.Algorithm, ok, err)
		}
		if ok, err := h.Verify(ctx, enc, "correct horse battery stapler"); ok || err != nil {
			t.Errorf("%s: Verify(wrong password) = %v, %v; want false, nil", cfg.Algorithm, ok, err)
		}
		if ok, err := h.Verify(ctx, enc, ""); ok || err != nil {
			t.Errorf("%s: Verify(empty password) = %v, %v; want false, nil", cfg.Algorithm, ok, err)
		}
		enc2, err := h.Hash(ctx, "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		if enc == enc2 {
			t.Errorf("%s: two hashes of one password are equal; salt missing", cfg.Algorithm)
		}
	}
}

func TestHashFormat(t *testing.T) {
	t.Parallel()
	h := newHasher(t, Config{})
	enc, err := h.hash(nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(enc) {
		t.Errorf("hash %q does not match %v", enc, re)
	}
	// A hash of the reference implementation (argon2 CLI:
	// echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -l 32 -e).
	const ref = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	if ok, err := h.Verify(context.Background(), ref, "password"); !ok || err != nil {
		t.Errorf("Verify(reference hash) = %v, %v; want true, nil", ok, err)
	}
}

func TestBcryptImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHasher(t, fast) // configured for argon2id
	enc := bcryptHashOf(t, "imported secret", 4)
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		e := prefix + enc[4:]
		if ok, err := h.Verify(ctx, e, "imported secret"); !ok || err != nil {
			t.Errorf("Verify(%s..., right) = %v, %v; want true, nil", prefix, ok, err)
		}
		if ok, err := h.Verify(ctx, e, "imported secreT"); ok || err != nil {
			t.Errorf("Verify(%s..., wrong) = %v, %v; want false, nil", prefix, ok, err)
		}
		if !h.NeedsRehash(e) {
			t.Errorf("NeedsRehash(%s...) = false under argon2id", prefix)
		}
	}
	if _, err := h.Verify(ctx, "$2x$"+enc[4:], "imported secret"); err == nil {
		t.Error("Verify($2x$...) succeeded; want an error")
	}
}

func TestLongPasswords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, cfg := range []Config{fast, bcryptFast} {
		h := newHasher(t, cfg)
		n := 128
		if cfg.Algorithm == Bcrypt {
			n = 72
		}
		pw := strings.Repeat("a", n-1) + "b"
		enc, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatalf("%s: Hash(%d bytes): %v", cfg.Algorithm, n, err)
		}
		if ok, _ := h.Verify(ctx, enc, pw); !ok {
			t.Errorf("%s: Verify(%d bytes) = false", cfg.Algorithm, n)
		}
		if ok, _ := h.Verify(ctx, enc, pw[:n-1]+"c"); ok {
			t.Errorf("%s: Verify(%d bytes, last byte differs) = true", cfg.Algorithm, n)
		}
		if ok, _ := h.Verify(ctx, enc, pw+"x"); ok {
			t.Errorf("%s: Verify(%d bytes plus one) = true", cfg.Algorithm, n)
		}
	}

	h := newHasher(t, fast)
	if _, err := h.Hash(ctx, strings.Repeat("x", MaxLength)); err != nil {
		t.Errorf("Hash(%d bytes): %v", MaxLength, err)
	}
	if _, err := h.Hash(ctx, strings.Repeat("x", MaxLength+1)); orgauth.ErrorCode(err) != orgauth.EINVALID {
		t.Errorf("Hash(%d bytes) error = %v; want %s", MaxLength+1, err, orgauth.EINVALID)
	}
	if err := h.VerifyDummy(ctx, strings.Repeat("x", MaxLength+1)); err != nil {
		t.Errorf("VerifyDummy(%d bytes) = %v", MaxLength+1, err)
	}
}

func TestBcryptNoTruncation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHasher(t, bcryptFast)
	pw := strings.Repeat("p", 72)
	if _, err := h.Hash(ctx, pw+"q"); orgauth.ErrorCode(err) != orgauth.EINVALID {
		t.Errorf("bcrypt Hash(73 bytes) error = %v; want %s", err, orgauth.EINVALID)
	}
	enc := bcryptHashOf(t, pw, 4)
	if ok, _ := h.Verify(ctx, enc, pw); !ok {
		t.Error("Verify(72 bytes) = false")
	}
	// bcrypt itself ignores byte 73 and on; Verify must not.
	if bcrypt.CompareHashAndPassword([]byte(enc), []byte(pw+"q")) != nil {
		t.Fatal("x/crypto/bcrypt no longer truncates; revisit this test")
	}
	if ok, err := h.Verify(ctx, enc, pw+"q"); ok || err != nil {
		t.Errorf("Verify(72 matching bytes + 1) = %v, %v; want false, nil", ok, err)
	}
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHasher(t, fast)
	good, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	goodBcrypt := bcryptHashOf(t, "pw", 4)
	f := strings.Split(good, "$")
	for _, enc := range []string{
		"",
		"pw",
		"$",
		"$argon2id$",
		"$argon2id$v=19$m=1024,t=1,p=1$",
		"$argon2i$v=19$m=1024,t=1,p=1$" + f[4] + "$" + f[5],
		"$argon2d$v=19$m=1024,t=1,p=1$" + f[4] + "$" + f[5],
		"$argon2id$v=16$m=1024,t=1,p=1$" + f[4] + "$" + f[5],
		"$argon2id$v=19$m=1024,t=1$" + f[4] + "$" + f[5],
		"$argon2id$v=19$t=1,m=1024,p=1$" + f[4] + "$" + f[5],
		"$argon2id$v=19$m=1024,t=1,p=1,x=1$" + f[4] + "$" + f[5],
		"$argon2id$v=19$m=-1,t=1,p=1$" + f[4] + "$" + f[5],
		"$argon2id$v=19$m=+1024,t=1,p=1$" + f[4] + "$" + f[5],
		"$argon2id$v=19$m=1024,t=0,p=1$" + f[4] + "$" + f[5],
		"$argon2id$v=19$m=1024,t=1,p=0$" + f[4] + "$" + f[5],
		"$argon2id$v=19$m=4,t=1,p=1$" + f[4] + "$" + f[5],
		"$argon2id$v=19$m=1024,t=1,p=1$" + f[4] + "=$" + f[5],
		"$argon2id$v=19$m=1024,t=1,p=1$" + f[4] + "$" + f[5] + "=",
		"$argon2id$v=19$m=1024,t=1,p=1$!!!$" + f[5],
		"$argon2id$v=19$m=1024,t=1,p=1$YQ$" + f[5], // 1-byte salt
		"$argon2id$v=19$m=1024,t=1,p=1$" + f[4] + "$YQ",
		"$argon2id$v=19$m=1024,t=1,p=1$" + f[4] + "$" + f[5] + "$",
		good + strings.Repeat("A", 300),
		"$2a$",
		"$2a$10$",
		goodBcrypt[:59],
		goodBcrypt + "x",
		"$2a$1x" + goodBcrypt[6:],
		"$2a$10!" + goodBcrypt[7:],
		strings.Repeat("\x00", 60),
	} {
		ok, err := h.Verify(ctx, enc, "pw")
		if ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want false and an error", enc, ok, err)
		}
		if !h.NeedsRehash(enc) {
			t.Errorf("NeedsRehash(%q) = false", enc)
		}
	}
}

func TestAbsurdParams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHasher(t, fast)
	const salt, key = "c29tZXNhbHRzb21lc2FsdA", "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	for _, params := range []string{
		"m=4194304,t=1,p=1",    // 4 GiB
		"m=4294967295,t=1,p=1", // max uint32
		"m=4294967296,t=1,p=1", // overflows uint32
		"m=19456,t=1000,p=1",   // 1000 passes
		"m=19456,t=4294967295,p=1",
		"m=262144,t=16,p=1", // within each bound, too much work
		"m=65536,t=1,p=255", // 255 lanes
		"m=65536,t=1,p=256",
	} {
		enc := "$argon2id$v=19$" + params + "$" + salt + "$" + key
		start := time.Now()
		ok, err := h.Verify(ctx, enc, "password")
		if ok || err == nil {
			t.Errorf("Verify(%s) = %v, %v; want false and an error", params, ok, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Verify(%s) took %v; it must refuse without computing", params, d)
		}
	}
	// bcrypt cost 31 would take days.
	b := bcryptHashOf(t, "pw", 4)
	for _, cost := range []string{"16", "31", "99"} {
		enc := b[:4] + cost + b[6:]
		if ok, err := h.Verify(ctx, enc, "pw"); ok || err == nil {
			t.Errorf("Verify(bcrypt cost %s) = %v, %v; want false and an error", cost, ok, err)
		}
	}
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	h := newHasher(t, Config{})
	want := Config{Algorithm: Argon2id, Memory: 19 * 1024, Time: 2, Threads: 1, BcryptCost: 12,
		MaxInFlight: h.cfg.MaxInFlight, MaxWait: 2 * time.Second}
	if h.Config() != want || want.MaxInFlight < 1 {
		t.Errorf("defaults = %+v; want %+v", h.Config(), want)
	}
	for _, cfg := range []Config{
		{Algorithm: "scrypt"},
		{Algorithm: "Argon2id"},
		{Memory: 4},
		{Memory: 1 << 30},
		{Time: 17},
		{Memory: 256 * 1024, Time: 8},
		{Threads: 200},
		{Algorithm: Bcrypt, BcryptCost: 4},
		{Algorithm: Bcrypt, BcryptCost: 9},
		{Algorithm: Bcrypt, BcryptCost: 15},
		{BcryptCost: 31},
		{MaxInFlight: -1},
		{MaxWait: -time.Second},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded; want an error", cfg)
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHasher(t, fast)
	enc, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if h.NeedsRehash(enc) {
		t.Errorf("NeedsRehash(own hash) = true")
	}
	for _, cfg := range []Config{
		{Memory: 2048, Time: 1, Threads: 1},
		{Memory: 1024, Time: 2, Threads: 1},
		{Memory: 1024, Time: 1, Threads: 2},
		bcryptFast,
	} {
		if !newHasher(t, cfg).NeedsRehash(enc) {
			t.Errorf("NeedsRehash under %+v = false", cfg)
		}
	}
	// The real thing, not bcryptFast.
	hb := newHasher(t, Config{Algorithm: Bcrypt, BcryptCost: 10, MaxInFlight: 1})
	if hb.NeedsRehash(bcryptHashOf(t, "pw", 10)) {
		t.Error("NeedsRehash(bcrypt cost 10) under bcrypt 10 = true")
	}
	if !hb.NeedsRehash(bcryptHashOf(t, "pw", 4)) {
		t.Error("NeedsRehash(bcrypt cost 4) under bcrypt 10 = false")
	}
	// A weak imported hash still verifies, then needs a rehash.
	weak := bcryptHashOf(t, "pw", 4)
	if ok, err := hb.Verify(ctx, weak, "pw"); !ok || err != nil {
		t.Errorf("Verify(bcrypt cost 4) = %v, %v", ok, err)
	}
}

func TestVerifyDummy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, cfg := range []Config{fast, bcryptFast, {Algorithm: Bcrypt, BcryptCost: 10, MaxInFlight: 1}} {
		h := newHasher(t, cfg)
		if err := h.VerifyDummy(ctx, "anything"); err != nil {
			t.Errorf("%s: VerifyDummy = %v", cfg.Algorithm, err)
		}
		if h.NeedsRehash(h.dummy) {
			t.Errorf("%s: the dummy hash is not of the configured parameters", cfg.Algorithm)
		}
	}
}

// TestBusy holds the only slot and checks that every kind of call gives up
// with ErrBusy, after MaxWait or when its context ends.
func TestBusy(t *testing.T) {
	t.Parallel()
	h := newHasher(t, Config{Memory: 64, Time: 1, MaxInFlight: 1, MaxWait: 20 * time.Millisecond})
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	h.inSlot = func() {
		close(entered)
		<-release
	}
	done := make(chan error)
	go func() {
		_, err := h.Hash(context.Background(), "first")
		done <- err
	}()
	<-entered
	h.inSlot = nil // only the holder blocks; no other call gets a slot until release

	ctx := context.Background()
	if _, err := h.Hash(ctx, "second"); err != ErrBusy {
		t.Errorf("Hash while busy = %v; want ErrBusy", err)
	}
	if _, err := h.Verify(ctx, enc, "pw"); err != ErrBusy {
		t.Errorf("Verify while busy = %v; want ErrBusy", err)
	}
	if err := h.VerifyDummy(ctx, "pw"); err != ErrBusy {
		t.Errorf("VerifyDummy while busy = %v; want ErrBusy", err)
	}
	if orgauth.ErrorCode(ErrBusy) != orgauth.ETOOMANY {
		t.Errorf("ErrBusy code = %s", orgauth.ErrorCode(ErrBusy))
	}

	// A context that ends before MaxWait also gives up.
	h.cfg.MaxWait = time.Hour
	cctx, cancel := context.WithCancel(ctx)
	go cancel()
	if _, err := h.Verify(cctx, enc, "pw"); err != ErrBusy {
		t.Errorf("Verify with canceled context = %v; want ErrBusy", err)
	}

	close(release)
	if err := <-done; err != nil {
		t.Fatalf("holder: %v", err)
	}
	if ok, err := h.Verify(ctx, enc, "pw"); !ok || err != nil {
		t.Errorf("Verify after release = %v, %v", ok, err)
	}
}

// TestMaxInFlight runs many calls at once and checks that no more than
// MaxInFlight of them ever hash together, and that they all finish.
func TestMaxInFlight(t *testing.T) {
	t.Parallel()
	const limit, calls = 3, 24
	h := newHasher(t, Config{Memory: 64, Time: 1, MaxInFlight: limit, MaxWait: time.Minute})
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	var cur, peak atomic.Int32
	h.inSlot = func() {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond) // let others pile up
		cur.Add(-1)
	}
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Go(func() {
			var err error
			switch i % 3 {
			case 0:
				_, err = h.Hash(context.Background(), "x")
			case 1:
				var ok bool
				if ok, err = h.Verify(context.Background(), enc, "pw"); err == nil && !ok {
					err = errors.New("Verify = false")
				}
			case 2:
				err = h.VerifyDummy(context.Background(), "x")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if p := peak.Load(); p > limit || p < 1 {
		t.Errorf("peak in flight = %d; want 1..%d", p, limit)
	}
	if n, _ := h.Activity(); n != 0 {
		t.Errorf("%d slots still held", n)
	}
}

func FuzzVerify(f *testing.F) {
	h := newHasher(f, Config{Memory: 64, Time: 1, MaxWait: time.Minute})
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc, "pw")
	f.Add(bcryptHashOf(f, "pw", 4), "pw")
	f.Add("$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "password")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$2y$04$", "")
	f.Fuzz(func(t *testing.T, encoded, password string) {
		v, err := parse(encoded)
		h.NeedsRehash(encoded)
		if err != nil {
			if v != nil {
				t.Fatal("parse returned a verifier and an error")
			}
			if ok, err := h.Verify(context.Background(), encoded, password); ok || err == nil {
				t.Fatalf("Verify(%q) = %v, %v after parse failed", encoded, ok, err)
			}
			return
		}
		// Compute only cheap hashes; the bounds are tested elsewhere.
		switch v := v.(type) {
		case *argon2Params:
			if uint64(v.memory)*uint64(v.time) <= 1024 {
				h.Verify(context.Background(), encoded, password)
			}
		case bcryptHash:
			if c, _ := bcrypt.Cost([]byte(v)); c <= 5 {
				h.Verify(context.Background(), encoded, password)
			}
		}
	})
}

func BenchmarkHashArgon2id(b *testing.B) {
	h := newHasher(b, Config{})
	m := new(argon2.Memory)
	for b.Loop() {
		h.hash(m, "correct horse battery staple")
	}
}

// BenchmarkVerifyArgon2id measures the raw verification rate with the default
// parameters, without the concurrency bound, in reused work memory as Verify
// does.
func BenchmarkVerifyArgon2id(b *testing.B) {
	h := newHasher(b, Config{})
	v, err := parse(h.dummy)
	if err != nil {
		b.Fatal(err)
	}
	m := new(argon2.Memory)
	for b.Loop() {
		v.verify(m, "correct horse battery staple")
	}
}

func BenchmarkVerifyBcrypt10(b *testing.B) {
	v, err := parse(bcryptHashOf(b, "correct horse battery staple", 10))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		v.verify(nil, "correct horse battery staple")
	}
}

// BenchmarkVerifyArgon2idParallel measures Verify through the concurrency
// bound (MaxInFlight = NumCPU) with GOMAXPROCS callers at once.
func BenchmarkVerifyArgon2idParallel(b *testing.B) {
	h := newHasher(b, Config{MaxWait: time.Hour})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := h.VerifyDummy(context.Background(), "correct horse battery staple"); err != nil {
				b.Error(err)
			}
		}
	})
}

func TestActivity(t *testing.T) {
	h, err := New(Config{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	inFlight, before := h.Activity()
	if inFlight != 0 {
		t.Fatalf("%d in flight at rest", inFlight)
	}
	if _, err := h.Hash(t.Context(), "some password"); err != nil {
		t.Fatal(err)
	}
	inFlight, after := h.Activity()
	if inFlight != 0 || after != before+1 {
		t.Fatalf("after one hash: %d in flight, %d done (was %d)", inFlight, after, before)
	}
}

func TestCommonPasswords(t *testing.T) {
	if n := CommonCount(); n < 10_000 {
		t.Fatalf("the built-in list has %d passwords, want at least 10,000", n)
	}
	for _, pw := range []string{"123456", "password", "Password", "QWERTY", "letmein", "trustno1"} {
		if !Common(pw) {
			t.Errorf("%q is not taken for common", pw)
		}
	}
	for _, pw := range []string{"", "Tr0ub4dor&3-correct-horse", "zq8#Lk2!vP"} {
		if Common(pw) {
			t.Errorf("%q is taken for common", pw)
		}
	}
}

// heldMemory is the work memory the idle slots of h keep, in bytes.
func heldMemory(t *testing.T, h *Hasher) int {
	t.Helper()
	n := 0
	for range cap(h.slots) {
		m := <-h.slots
		n += m.Size()
		defer func() { h.slots <- m }()
	}
	return n
}

// TestVerifyReusesMemory checks that verifications reuse the slots' work
// memory instead of allocating it each time, that a stored hash with a larger
// memory cost does not make a slot keep that much, and that ReleaseMemory
// gives the memory back.
func TestVerifyReusesMemory(t *testing.T) {
	h := newHasher(t, Config{Memory: 4096, Time: 1, Threads: 1, MaxInFlight: 1})
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := heldMemory(t, h), 4096<<10; got != want {
		t.Fatalf("slot keeps %d bytes after a hash, want %d", got, want)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if ok, err := h.Verify(context.Background(), enc, "pw"); err != nil || !ok {
			t.Fatalf("Verify = %t, %v", ok, err)
		}
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 4096<<10 {
		t.Errorf("10 verifications allocated %d bytes, more than one work memory (%d)", got, 4096<<10)
	}

	bigger := newHasher(t, Config{Memory: 8192, Time: 1, Threads: 1})
	encBig, err := bigger.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify(context.Background(), encBig, "pw"); err != nil || !ok {
		t.Fatalf("Verify of an 8 MiB hash = %t, %v", ok, err)
	}
	if got, want := heldMemory(t, h), 4096<<10; got != want {
		t.Errorf("slot keeps %d bytes after verifying a larger hash, want %d", got, want)
	}

	h.ReleaseMemory()
	if got := heldMemory(t, h); got != 0 {
		t.Errorf("slot keeps %d bytes after ReleaseMemory", got)
	}
	if ok, err := h.Verify(context.Background(), enc, "pw"); err != nil || !ok {
		t.Fatalf("Verify after ReleaseMemory = %t, %v", ok, err)
	}
}
