package bench

import (
	"encoding/binary"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range: 1 microsecond to 60 seconds at 3 significant digits.
const (
	histMin    = 1
	histMax    = int64(60 * time.Second / time.Microsecond)
	histDigits = 3
)

// NewHistogram returns a latency histogram recording microseconds. Histograms are not
// safe for concurrent use: give each worker its own and Merge them.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMin, histMax, histDigits)
}

// LatencySummary is a latency distribution in microseconds.
type LatencySummary struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean_us"`
	Min   int64   `json:"min_us"`
	P50   int64   `json:"p50_us"`
	P90   int64   `json:"p90_us"`
	P99   int64   `json:"p99_us"`
	P999  int64   `json:"p999_us"`
	Max   int64   `json:"max_us"`
}

// Summarize merges the histograms and returns their distribution, or nil when nothing
// was recorded.
func Summarize(hs ...*hdrhistogram.Histogram) *LatencySummary {
	all := NewHistogram()
	for _, h := range hs {
		if h != nil {
			all.Merge(h)
		}
	}
	if all.TotalCount() == 0 {
		return nil
	}
	return &LatencySummary{
		Count: all.TotalCount(),
		Mean:  all.Mean(),
		Min:   all.Min(),
		P50:   all.ValueAtQuantile(50),
		P90:   all.ValueAtQuantile(90),
		P99:   all.ValueAtQuantile(99),
		P999:  all.ValueAtQuantile(99.9),
		Max:   all.Max(),
	}
}

// StampSize is the size of the stamp at the start of a load payload: the send time
// (nanoseconds since the run's Clock epoch), the publisher's index and the message's
// sequence number, big endian.
const StampSize = 20

// Clock is a monotonic nanosecond clock shared by publishers and subscribers of one
// process.
type Clock struct{ epoch time.Time }

// NewClock returns a Clock whose epoch is now.
func NewClock() Clock { return Clock{epoch: time.Now()} }

// Now returns the nanoseconds since the clock's epoch.
func (c Clock) Now() int64 { return int64(time.Since(c.epoch)) }

// PutStamp writes the stamp into the first StampSize bytes of p.
func PutStamp(p []byte, sent int64, pub uint32, seq uint64) {
	binary.BigEndian.PutUint64(p[0:8], uint64(sent))
	binary.BigEndian.PutUint32(p[8:12], pub)
	binary.BigEndian.PutUint64(p[12:20], seq)
}

// ReadStamp reads the stamp PutStamp wrote; ok is false when p is too short.
func ReadStamp(p []byte) (sent int64, pub uint32, seq uint64, ok bool) {
	if len(p) < StampSize {
		return 0, 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(p[0:8])), binary.BigEndian.Uint32(p[8:12]), binary.BigEndian.Uint64(p[12:20]), true
}

// RecordLatency records a latency in nanoseconds into h as microseconds, clamped to the
// histogram's range.
func RecordLatency(h *hdrhistogram.Histogram, ns int64) {
	us := ns / int64(time.Microsecond)
	if us < histMin {
		us = histMin
	}
	if us > histMax {
		us = histMax
	}
	_ = h.RecordValue(us)
}
