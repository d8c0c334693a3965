package bench

import (
	"encoding/binary"
	"fmt"
	"strings"
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

// Payload layout: the first payloadHeader bytes carry the send time (nanoseconds since
// the run's epoch), the publisher's index and the message's sequence number, big endian.
const payloadHeader = 20

// clock is a monotonic nanosecond clock shared by publishers and subscribers of one
// process.
type clock struct{ epoch time.Time }

func newClock() clock { return clock{epoch: time.Now()} }

func (c clock) now() int64 { return int64(time.Since(c.epoch)) }

func putHeader(p []byte, sent int64, pub uint32, seq uint64) {
	binary.BigEndian.PutUint64(p[0:8], uint64(sent))
	binary.BigEndian.PutUint32(p[8:12], pub)
	binary.BigEndian.PutUint64(p[12:20], seq)
}

func readHeader(p []byte) (sent int64, pub uint32, seq uint64, ok bool) {
	if len(p) < payloadHeader {
		return 0, 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(p[0:8])), binary.BigEndian.Uint32(p[8:12]), binary.BigEndian.Uint64(p[12:20]), true
}

// recordLatency records a latency in nanoseconds into h as microseconds, clamped to the
// histogram's range.
func recordLatency(h *hdrhistogram.Histogram, ns int64) {
	us := ns / int64(time.Microsecond)
	if us < histMin {
		us = histMin
	}
	if us > histMax {
		us = histMax
	}
	_ = h.RecordValue(us)
}

// Text returns a one-line human-readable account of the run.
func (s *Summary) Text() string {
	var parts []string
	if s.Delivered > 0 {
		parts = append(parts, fmt.Sprintf("delivered %d in %v (%.0f msg/s)", s.Delivered, s.Elapsed.Round(time.Millisecond), s.MsgsPerSec))
	}
	if s.BrokerCPU > 0 {
		parts = append(parts, fmt.Sprintf("broker CPU %v", s.BrokerCPU))
	}
	if s.CPUPerMsgUs > 0 {
		parts = append(parts, fmt.Sprintf("%.2f us/msg (load generator %.2f)", s.CPUPerMsgUs, s.ClientCPUPerMsgUs))
	}
	if s.OutOfOrder > 0 {
		parts = append(parts, fmt.Sprintf("%d out of order", s.OutOfOrder))
	}
	if s.Latency != nil {
		parts = append(parts, fmt.Sprintf("latency p50 %dus p99 %dus max %dus", s.Latency.P50, s.Latency.P99, s.Latency.Max))
	}
	if s.RSSAfter > 0 {
		parts = append(parts, fmt.Sprintf("RSS %.1f -> %.1f MiB, %.2f KiB/conn", float64(s.RSSBefore)/(1<<20), float64(s.RSSAfter)/(1<<20), s.BytesPerConn/1024))
	}
	if s.ConnsPerSec > 0 {
		parts = append(parts, fmt.Sprintf("%d conns in %v (%.0f/s", s.Connections, s.Elapsed.Round(time.Millisecond), s.ConnsPerSec))
		if s.CPUPerConnUs > 0 {
			parts[len(parts)-1] += fmt.Sprintf(", %.1f us CPU each", s.CPUPerConnUs)
		}
		parts[len(parts)-1] += fmt.Sprintf(", load generator %.1f)", s.ClientCPUPerConnUs)
	} else if s.Connections > 0 && s.RSSAfter == 0 {
		parts = append(parts, fmt.Sprintf("%d connections in %v", s.Connections, s.Elapsed.Round(time.Millisecond)))
	}
	return s.Scenario + ": " + strings.Join(parts, ", ")
}
