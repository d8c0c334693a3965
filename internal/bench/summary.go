package bench

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Parameters are a run's settings as given on the command line; a Summary carries them
// so that a run can be read, compared and repeated later.
type Parameters struct {
	Command  string `json:"command"` // conn, pub or sub
	Broker   string `json:"broker"`  // host:port
	Protocol string `json:"protocol,omitempty"`
	Version  string `json:"mqtt_version"`

	Count           int           `json:"count"`
	StartIndex      int           `json:"start_index"`
	ClientID        string        `json:"client_id"` // template; the connection's index is appended unless it has %i
	ConnectInterval time.Duration `json:"connect_interval_ns,omitempty"`
	ConnectRate     float64       `json:"connect_rate,omitempty"`
	IfAddrs         []string      `json:"ifaddr,omitempty"`
	Duration        time.Duration `json:"duration_ns,omitempty"`

	Topic       string        `json:"topic,omitempty"`  // pub
	Topics      []string      `json:"topics,omitempty"` // sub filters
	Share       string        `json:"share,omitempty"`
	Interval    time.Duration `json:"interval_ns,omitempty"`
	Rate        float64       `json:"rate,omitempty"`
	Limit       int64         `json:"limit,omitempty"`
	Size        int           `json:"size,omitempty"`
	PayloadFrom string        `json:"payload_from,omitempty"` // "-m" or the -f file
	QoS         int           `json:"qos"`
	Retain      bool          `json:"retain,omitempty"`
	Inflight    int           `json:"inflight,omitempty"`
	Subscribers int           `json:"subscribers,omitempty"` // pub --sub
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

// ConnStats are a run's connection figures.
type ConnStats struct {
	Attempted int64           `json:"attempted"`
	Connected int64           `json:"connected"`
	Failed    int64           `json:"failed"`
	Rate      float64         `json:"rate_per_s"` // connections completed per second of the connect phase
	Latency   *LatencySummary `json:"latency,omitempty"`
}

// Histograms are a run's HDR histograms (microseconds), V2-compressed and base64
// encoded, so that MergeSummaries gets exact percentiles over several runs.
type Histograms struct {
	Latency string `json:"latency,omitempty"`
	Connect string `json:"connect,omitempty"`
}

// Summary is the outcome of a run.
type Summary struct {
	Parameters  Parameters `json:"parameters"`
	StartedAt   time.Time  `json:"started_at"`
	Elapsed     float64    `json:"elapsed_s"`
	Runs        int        `json:"runs"` // 1, or the number of summaries merged
	Connections ConnStats  `json:"connections"`

	Published   int64   `json:"published"`
	Acked       int64   `json:"acked"` // QoS 1 and 2 flows completed
	Received    int64   `json:"received"`
	Stamped     int64   `json:"stamped"` // received messages carrying a bench pub stamp
	PublishRate float64 `json:"publish_rate"`
	ReceiveRate float64 `json:"receive_rate"`
	Lost        int64   `json:"lost"`
	Duplicates  int64   `json:"duplicates"`
	OutOfOrder  int64   `json:"out_of_order"`

	Latency *LatencySummary  `json:"latency,omitempty"`
	Errors  map[string]int64 `json:"errors,omitempty"` // by reason
	// CPU is this process's CPU time (user+system) over the run, in seconds; CPUPerMsg
	// is that per message published or received, in microseconds.
	CPU       float64    `json:"cpu_s"`
	CPUPerMsg float64    `json:"cpu_per_msg_us,omitempty"`
	Hist      Histograms `json:"histograms"`
}

// Progress is a run's state, reported once per interval.
type Progress struct {
	Elapsed     float64 `json:"elapsed_s"`
	Connected   int64   `json:"connected"`
	Failed      int64   `json:"connect_failed"`
	Published   int64   `json:"published"`
	Received    int64   `json:"received"`
	PublishRate float64 `json:"publish_rate"` // over the last interval
	ReceiveRate float64 `json:"receive_rate"`
	P50         int64   `json:"latency_p50_us"` // over the last interval; 0 when none
	P99         int64   `json:"latency_p99_us"`
	Errors      int64   `json:"errors"`
}

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

// Summarize merges the histograms and returns their distribution, or nil when nothing
// was recorded.
func Summarize(hs ...*hdrhistogram.Histogram) *LatencySummary {
	all := NewHistogram()
	for _, h := range hs {
		if h != nil {
			all.Merge(h)
		}
	}
	return summarize(all)
}

func summarize(h *hdrhistogram.Histogram) *LatencySummary {
	if h.TotalCount() == 0 {
		return nil
	}
	return &LatencySummary{
		Count: h.TotalCount(),
		Mean:  h.Mean(),
		Min:   h.Min(),
		P50:   h.ValueAtQuantile(50),
		P90:   h.ValueAtQuantile(90),
		P99:   h.ValueAtQuantile(99),
		P999:  h.ValueAtQuantile(99.9),
		Max:   h.Max(),
	}
}

func encodeHist(h *hdrhistogram.Histogram) string {
	if h.TotalCount() == 0 {
		return ""
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
}

func decodeHist(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return NewHistogram(), nil
	}
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		return nil, err
	}
	return hdrhistogram.Decode([]byte(s))
}

// MergeSummaries combines the summaries of runs made side by side (split with -n over
// several machines or processes): counts, errors and rates add up, the elapsed time is
// the longest, and latency percentiles come from the merged histograms, exactly.
func MergeSummaries(sums []*Summary) (*Summary, error) {
	if len(sums) == 0 {
		return nil, errors.New("no summaries to merge")
	}
	out := &Summary{Parameters: sums[0].Parameters, StartedAt: sums[0].StartedAt, Errors: map[string]int64{}}
	out.Parameters.Count = 0
	lat, con := NewHistogram(), NewHistogram()
	for i, s := range sums {
		if s.Parameters.Command != out.Parameters.Command {
			return nil, fmt.Errorf("summary %d is of bench %s, the first of bench %s: merge runs of one command", i+1, s.Parameters.Command, out.Parameters.Command)
		}
		out.Parameters.Count += s.Parameters.Count
		out.Parameters.StartIndex = min(out.Parameters.StartIndex, s.Parameters.StartIndex)
		if s.StartedAt.Before(out.StartedAt) {
			out.StartedAt = s.StartedAt
		}
		out.Elapsed = max(out.Elapsed, s.Elapsed)
		out.Runs += max(s.Runs, 1)
		c := &out.Connections
		c.Attempted += s.Connections.Attempted
		c.Connected += s.Connections.Connected
		c.Failed += s.Connections.Failed
		c.Rate += s.Connections.Rate
		out.Published += s.Published
		out.Acked += s.Acked
		out.Received += s.Received
		out.Stamped += s.Stamped
		out.PublishRate += s.PublishRate
		out.ReceiveRate += s.ReceiveRate
		out.Lost += s.Lost
		out.Duplicates += s.Duplicates
		out.OutOfOrder += s.OutOfOrder
		out.CPU += s.CPU
		for k, v := range s.Errors {
			out.Errors[k] += v
		}
		for _, h := range []struct {
			enc string
			dst *hdrhistogram.Histogram
		}{{s.Hist.Latency, lat}, {s.Hist.Connect, con}} {
			d, err := decodeHist(h.enc)
			if err != nil {
				return nil, fmt.Errorf("summary %d: invalid histogram: %w", i+1, err)
			}
			h.dst.Merge(d)
		}
	}
	if len(out.Errors) == 0 {
		out.Errors = nil
	} else {
		out.Errors = maps.Clone(out.Errors)
	}
	out.Latency, out.Connections.Latency = summarize(lat), summarize(con)
	out.Hist = Histograms{Latency: encodeHist(lat), Connect: encodeHist(con)}
	if n := out.Published + out.Received; n > 0 {
		out.CPUPerMsg = out.CPU * 1e6 / float64(n)
	}
	return out, nil
}
