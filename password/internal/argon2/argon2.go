// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package argon2 is golang.org/x/crypto/argon2 (v0.59.0) changed so that the
// caller can hand in the work memory: a server that verifies passwords all
// day reuses a few buffers instead of allocating megabytes per call for the
// garbage collector to reclaim (golang/go#36634). Only Argon2id is exported.
//
// The changes from upstream are in argon2.go and memory_*.go; the other files
// are upstream's, except for dropping the loong64 assembly (that platform now
// takes the generic code) and upstream's long benchmarks:
//   - IDKey takes a *Memory; nil allocates on the heap as upstream does. On
//     Linux a Memory is mapped outside the heap (memory_mmap.go).
//   - A single lane is computed in the calling goroutine.
//   - The first pass writes each block instead of XORing it into memory that
//     upstream gets zeroed from make. The two are the same function on zeroed
//     memory (RFC 9106 section 3.2: the first pass "is not XORed"), and only
//     the first can run on reused memory.
//
// The tests check the RFC 9106 (section 5) and reference-implementation
// vectors, on fresh and on reused memory, and compare results with upstream's
// on random inputs, parameters and reused memory (also as a fuzz target).
//
// For a detailed specification of Argon2 see [RFC 9106].
//
// [RFC 9106]: https://www.rfc-editor.org/rfc/rfc9106.html
package argon2

import (
	"encoding/binary"
	"runtime"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// The Argon2 version implemented by this package.
const Version = 0x13

const (
	argon2d = iota
	argon2i
	argon2id
)

// Memory is the work memory of one derivation at a time. Kept between calls,
// it spares allocating (and collecting) memory KiB per call. On Linux it is
// mapped outside the Go heap (except under the race detector, which cannot see
// such memory), so it neither counts towards the collector's pacing (a heap
// goal twice the live heap would count it twice) nor lingers in the process
// after Release, and it is left out of core dumps. The zero value is ready to
// use; a Memory must not be used by two calls at once, nor copied.
type Memory struct {
	blocks  []block
	unmap   func() // gives a mapping back to the system; nil for heap memory
	cleanup runtime.Cleanup
}

// Release gives the memory back, to the system when it was mapped.
func (m *Memory) Release() {
	if m.unmap != nil {
		m.cleanup.Stop()
		m.unmap()
	}
	m.blocks, m.unmap = nil, nil
}

// Size reports the bytes m holds.
func (m *Memory) Size() int { return len(m.blocks) * blockLength * 8 }

// get returns n blocks of m, growing it when it holds fewer; a nil m allocates
// on the heap.
func (m *Memory) get(n uint32) []block {
	if m == nil {
		return make([]block, n)
	}
	if uint32(len(m.blocks)) < n {
		m.Release()
		m.blocks, m.unmap = allocBlocks(int(n))
		if m.unmap != nil {
			// A Memory dropped without Release still gives its mapping back.
			m.cleanup = runtime.AddCleanup(m, func(unmap func()) { unmap() }, m.unmap)
		}
	}
	return m.blocks[:n]
}

// IDKey derives a key from the password, salt, and cost parameters using
// Argon2id, returning a byte slice of length keyLen, in the work memory mem
// (nil: freshly allocated). The time parameter is the number of passes over
// the memory, memory its size in KiB and threads the number of lanes (more
// than one are computed by a goroutine each). time and threads must be at
// least 1.
func IDKey(mem *Memory, password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return deriveKey(mem, argon2id, password, salt, nil, nil, time, memory, threads, keyLen)
}

func deriveKey(mem *Memory, mode int, password, salt, secret, data []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 {
		panic("argon2: number of rounds too small")
	}
	if threads < 1 {
		panic("argon2: parallelism degree too low")
	}
	h0 := initHash(password, salt, secret, data, time, memory, uint32(threads), keyLen, mode)

	memory = memory / (syncPoints * uint32(threads)) * (syncPoints * uint32(threads))
	if memory < 2*syncPoints*uint32(threads) {
		memory = 2 * syncPoints * uint32(threads)
	}
	B := initBlocks(mem, &h0, memory, uint32(threads))
	processBlocks(B, time, memory, uint32(threads), mode)
	key := extractKey(B, memory, uint32(threads), keyLen)
	// B may point into a mapping that mem's cleanup unmaps once mem is
	// unreachable, and B alone does not keep mem reachable.
	runtime.KeepAlive(mem)
	return key
}

const (
	blockLength = 128
	syncPoints  = 4
)

type block [blockLength]uint64

func initHash(password, salt, key, data []byte, time, memory, threads, keyLen uint32, mode int) [blake2b.Size + 8]byte {
	var (
		h0     [blake2b.Size + 8]byte
		params [24]byte
		tmp    [4]byte
	)

	b2, _ := blake2b.New512(nil)
	binary.LittleEndian.PutUint32(params[0:4], threads)
	binary.LittleEndian.PutUint32(params[4:8], keyLen)
	binary.LittleEndian.PutUint32(params[8:12], memory)
	binary.LittleEndian.PutUint32(params[12:16], time)
	binary.LittleEndian.PutUint32(params[16:20], uint32(Version))
	binary.LittleEndian.PutUint32(params[20:24], uint32(mode))
	b2.Write(params[:])
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(password)))
	b2.Write(tmp[:])
	b2.Write(password)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(salt)))
	b2.Write(tmp[:])
	b2.Write(salt)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(key)))
	b2.Write(tmp[:])
	b2.Write(key)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(data)))
	b2.Write(tmp[:])
	b2.Write(data)
	b2.Sum(h0[:0])
	return h0
}

func initBlocks(mem *Memory, h0 *[blake2b.Size + 8]byte, memory, threads uint32) []block {
	var block0 [1024]byte
	B := mem.get(memory)
	for lane := uint32(0); lane < threads; lane++ {
		j := lane * (memory / threads)
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 0)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+0] {
			B[j+0][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 1)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+1] {
			B[j+1][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}
	}
	return B
}

func processBlocks(B []block, time, memory, threads uint32, mode int) {
	lanes := memory / threads
	segments := lanes / syncPoints

	processSegment := func(n, slice, lane uint32, wg *sync.WaitGroup) {
		var addresses, in, zero block
		if mode == argon2i || (mode == argon2id && n == 0 && slice < syncPoints/2) {
			in[0] = uint64(n)
			in[1] = uint64(lane)
			in[2] = uint64(slice)
			in[3] = uint64(memory)
			in[4] = uint64(time)
			in[5] = uint64(mode)
		}

		index := uint32(0)
		if n == 0 && slice == 0 {
			index = 2 // we have already generated the first two blocks
			if mode == argon2i || mode == argon2id {
				in[6]++
				processBlock(&addresses, &in, &zero)
				processBlock(&addresses, &addresses, &zero)
			}
		}

		offset := lane*lanes + slice*segments + index
		var random uint64
		for index < segments {
			prev := offset - 1
			if index == 0 && slice == 0 {
				prev += lanes // last block in lane
			}
			if mode == argon2i || (mode == argon2id && n == 0 && slice < syncPoints/2) {
				if index%blockLength == 0 {
					in[6]++
					processBlock(&addresses, &in, &zero)
					processBlock(&addresses, &addresses, &zero)
				}
				random = addresses[index%blockLength]
			} else {
				random = B[prev][0]
			}
			newOffset := indexAlpha(random, lanes, segments, threads, n, slice, lane, index)
			if n == 0 {
				// The first pass overwrites: the memory may hold an earlier call's blocks.
				processBlock(&B[offset], &B[prev], &B[newOffset])
			} else {
				processBlockXOR(&B[offset], &B[prev], &B[newOffset])
			}
			index, offset = index+1, offset+1
		}
		wg.Done()
	}

	for n := uint32(0); n < time; n++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			var wg sync.WaitGroup
			if threads == 1 {
				// One lane: compute it here rather than hand each segment to a
				// new goroutine, which the scheduler may move to another CPU.
				wg.Add(1)
				processSegment(n, slice, 0, &wg)
				continue
			}
			for lane := uint32(0); lane < threads; lane++ {
				wg.Add(1)
				go processSegment(n, slice, lane, &wg)
			}
			wg.Wait()
		}
	}

}

func extractKey(B []block, memory, threads, keyLen uint32) []byte {
	lanes := memory / threads
	for lane := uint32(0); lane < threads-1; lane++ {
		for i, v := range B[(lane*lanes)+lanes-1] {
			B[memory-1][i] ^= v
		}
	}

	var block [1024]byte
	for i, v := range B[memory-1] {
		binary.LittleEndian.PutUint64(block[i*8:], v)
	}
	key := make([]byte, keyLen)
	blake2bHash(key, block[:])
	return key
}

func indexAlpha(rand uint64, lanes, segments, threads, n, slice, lane, index uint32) uint32 {
	refLane := uint32(rand>>32) % threads
	if n == 0 && slice == 0 {
		refLane = lane
	}
	m, s := 3*segments, ((slice+1)%syncPoints)*segments
	if lane == refLane {
		m += index
	}
	if n == 0 {
		m, s = slice*segments, 0
		if slice == 0 || lane == refLane {
			m += index
		}
	}
	if index == 0 || lane == refLane {
		m--
	}
	return phi(rand, uint64(m), uint64(s), refLane, lanes)
}

func phi(rand, m, s uint64, lane, lanes uint32) uint32 {
	p := rand & 0xFFFFFFFF
	p = (p * p) >> 32
	p = (p * m) >> 32
	return lane*lanes + uint32((s+m-(p+1))%uint64(lanes))
}
