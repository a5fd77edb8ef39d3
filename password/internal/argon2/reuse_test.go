package argon2

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"testing"

	upstream "golang.org/x/crypto/argon2"
)

// TestMatchesUpstream derives keys for random inputs and parameters on one
// Memory, which grows, shrinks and keeps the previous call's blocks, and checks
// each against golang.org/x/crypto/argon2 on fresh memory, with and without
// the SSE4 code.
func TestMatchesUpstream(t *testing.T) {
	defer func(sse4 bool) { useSSE4 = sse4 }(useSSE4)
	rng := rand.New(rand.NewPCG(1, 2))
	mem := new(Memory)
	mem.get(8*4 + 2048) // the most any case below needs, so none remaps
	for _, sse4 := range []bool{useSSE4, false} {
		useSSE4 = sse4
		for i := range 200 {
			password := make([]byte, rng.IntN(80))
			salt := make([]byte, 8+rng.IntN(24))
			for _, b := range [][]byte{password, salt} {
				for j := range b {
					b[j] = byte(rng.Uint32())
				}
			}
			time := 1 + rng.Uint32N(3)
			threads := uint8(1 + rng.IntN(4))
			memory := 8*uint32(threads) + rng.Uint32N(2048)
			keyLen := 4 + rng.Uint32N(96)
			poison(mem)
			want := upstream.IDKey(password, salt, time, memory, threads, keyLen)
			if got := IDKey(mem, password, salt, time, memory, threads, keyLen); !bytes.Equal(got, want) {
				t.Fatalf("case %d (sse4 %t, t=%d m=%d p=%d len=%d): reused memory gives %x, upstream %x",
					i, sse4, time, memory, threads, keyLen, got, want)
			}
		}
	}
}

// poison fills all of m with a pattern, so the next derivation runs on memory
// as dirty as can be rather than on the zeroes of a fresh mapping.
func poison(m *Memory) {
	for i := range m.blocks {
		for j := range m.blocks[i] {
			m.blocks[i][j] = ^uint64(0) - uint64(j)
		}
	}
}

// TestUnreachableMemoryDuringDerivation derives keys in Memories that nothing
// references after the call starts, while the collector runs: the cleanup that
// unmaps a dropped Memory must not run before the derivation is done.
func TestUnreachableMemoryDuringDerivation(t *testing.T) {
	password, salt := []byte("password"), []byte("somesalt")
	want := upstream.IDKey(password, salt, 3, 8192, 1, 32)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	defer func() { close(stop); <-done }()
	for i := range 40 {
		if got := IDKey(new(Memory), password, salt, 3, 8192, 1, 32); !bytes.Equal(got, want) {
			t.Fatalf("derivation %d: got %x, want %x", i, got, want)
		}
	}
}

// TestMemoryReuse checks that a Memory keeps its buffer for calls that fit
// and that Release drops it.
func TestMemoryReuse(t *testing.T) {
	var mem Memory
	IDKey(&mem, []byte("pw"), []byte("saltsalt"), 1, 1024, 1, 32)
	if got := mem.Size(); got != 1024<<10 {
		t.Fatalf("Size after a 1024 KiB derivation = %d, want %d", got, 1024<<10)
	}
	first := &mem.blocks[0]
	IDKey(&mem, []byte("pw"), []byte("saltsalt"), 1, 512, 1, 32)
	if &mem.blocks[0] != first || mem.Size() != 1024<<10 {
		t.Fatal("a smaller derivation did not reuse the buffer")
	}
	mem.Release()
	if mem.Size() != 0 {
		t.Fatalf("Size after Release = %d, want 0", mem.Size())
	}
}

// FuzzMatchesUpstream compares the reused-memory derivation with upstream's.
func FuzzMatchesUpstream(f *testing.F) {
	f.Add([]byte("password"), []byte("somesalt"), uint8(2), uint16(64), uint8(1))
	mem := new(Memory)
	mem.get(8*4 + 512) // the most a case needs, so every case runs poisoned
	f.Fuzz(func(t *testing.T, password, salt []byte, time uint8, memory uint16, threads uint8) {
		tm, p := 1+uint32(time%3), 1+threads%4
		m := 8*uint32(p) + uint32(memory%512)
		poison(mem)
		want := upstream.IDKey(password, salt, tm, m, p, 32)
		if got := IDKey(mem, password, salt, tm, m, p, 32); !bytes.Equal(got, want) {
			t.Fatalf("t=%d m=%d p=%d: got %x, upstream %x", tm, m, p, got, want)
		}
	})
}

// BenchmarkIDKey compares upstream (which allocates per call) with reused
// memory, at orgauth's default parameters (19 MiB, 2 passes, 1 lane).
func BenchmarkIDKey(b *testing.B) {
	password, salt := []byte("correct horse battery staple"), []byte("0123456789abcdef")
	b.Run("upstream", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			upstream.IDKey(password, salt, 2, 19456, 1, 32)
		}
	})
	b.Run("reused", func(b *testing.B) {
		b.ReportAllocs()
		mem := new(Memory)
		for b.Loop() {
			IDKey(mem, password, salt, 2, 19456, 1, 32)
		}
	})
}
