package bench

import (
	"encoding/binary"
	"time"
)

// StampSize is the size of the stamp at the start of a load payload: a 4-byte magic
// "mqxb", the send time (nanoseconds: Unix time from the CLI's publishers, a Clock's
// for tools/harness), the publisher's index and the message's sequence number, big
// endian.
const StampSize = 24

const stampMagic = 0x6d717862 // "mqxb"

// Clock is a monotonic nanosecond clock shared by publishers and subscribers of one
// process.
type Clock struct{ epoch time.Time }

// NewClock returns a Clock whose epoch is now.
func NewClock() Clock { return Clock{epoch: time.Now()} }

// Now returns the nanoseconds since the clock's epoch.
func (c Clock) Now() int64 { return int64(time.Since(c.epoch)) }

// PutStamp writes the stamp into the first StampSize bytes of p.
func PutStamp(p []byte, sent int64, pub uint32, seq uint64) {
	_ = p[StampSize-1]
	binary.BigEndian.PutUint32(p[0:4], stampMagic)
	binary.BigEndian.PutUint64(p[4:12], uint64(sent))
	binary.BigEndian.PutUint32(p[12:16], pub)
	binary.BigEndian.PutUint64(p[16:24], seq)
}

// ReadStamp reads the stamp PutStamp wrote; ok is false when p carries none.
func ReadStamp(p []byte) (sent int64, pub uint32, seq uint64, ok bool) {
	if len(p) < StampSize || binary.BigEndian.Uint32(p[0:4]) != stampMagic {
		return 0, 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(p[4:12])), binary.BigEndian.Uint32(p[12:16]), binary.BigEndian.Uint64(p[16:24]), true
}
