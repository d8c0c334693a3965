package output

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mqttx/mqttx/internal/bench"
)

// BenchPrinter renders mqttx bench's progress and summary. With text, a terminal on
// stderr gets a live line, redrawn each second, and stdout the summary table at the
// end; with JSON, stdout gets one {"type":"progress"} object per second and a final
// {"type":"summary"}, as JSON Lines.
type BenchPrinter struct {
	s      *Streams
	format Format

	mu   sync.Mutex
	live bool // a live line is on stderr
	spin int
}

// spinner is the live line's first character, one frame per redraw.
var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// liveWidth caps the live line so that it never wraps on a terminal of 80 columns or
// more: a wrapped line could not be redrawn in place.
const liveWidth = 79

// NewBenchPrinter returns the printer for format (text or json).
func NewBenchPrinter(s *Streams, format Format) *BenchPrinter {
	return &BenchPrinter{s: s, format: format}
}

type benchProgressJSON struct {
	Type string `json:"type"`
	bench.Progress
}

type benchSummaryJSON struct {
	Type string `json:"type"`
	*bench.Summary
}

// Progress reports the run's state; it is called once per second.
func (p *BenchPrinter) Progress(pr bench.Progress) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.format == FormatJSON {
		return benchJSONLine(p.s.Out, benchProgressJSON{Type: "progress", Progress: pr})
	}
	if !p.s.IsStderrTTY() {
		return nil
	}
	line := spinner[p.spin%len(spinner)] + " " + BenchProgressLine(pr)
	p.spin++
	if r := []rune(line); len(r) > liveWidth {
		line = string(r[:liveWidth])
	}
	// Back to the start of the line, clear it, draw.
	p.live = true
	_, err := io.WriteString(p.s.ErrOut, "\r\x1b[K"+line)
	return err
}

// BenchProgressLine is the live line's text: elapsed, connected, rates, latency, errors.
func BenchProgressLine(pr bench.Progress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%5s  connected %s", (time.Duration(pr.Elapsed) * time.Second).Round(time.Second), benchCount(pr.Connected))
	if pr.Failed > 0 {
		fmt.Fprintf(&b, " (%s failed)", benchCount(pr.Failed))
	}
	if pr.Published > 0 || pr.PublishRate > 0 {
		fmt.Fprintf(&b, "  sent %s/s", benchCount(int64(pr.PublishRate+0.5)))
	}
	if pr.Received > 0 || pr.ReceiveRate > 0 {
		fmt.Fprintf(&b, "  received %s/s", benchCount(int64(pr.ReceiveRate+0.5)))
	}
	if pr.P50 > 0 {
		fmt.Fprintf(&b, "  p50 %s p99 %s", benchMs(pr.P50), benchMs(pr.P99))
	}
	fmt.Fprintf(&b, "  errors %s", benchCount(pr.Errors))
	return b.String()
}

// Summary prints the run's summary, clearing the live line first.
func (p *BenchPrinter) Summary(s *bench.Summary) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		_, _ = io.WriteString(p.s.ErrOut, "\r\x1b[K")
		p.live = false
	}
	if p.format == FormatJSON {
		return benchJSONLine(p.s.Out, benchSummaryJSON{Type: "summary", Summary: s})
	}
	_, err := io.WriteString(p.s.Out, BenchSummaryText(s))
	return err
}

func benchJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// BenchSummaryText is the summary as a table.
func BenchSummaryText(s *bench.Summary) string {
	var b strings.Builder
	pm := &s.Parameters
	who := benchPlural(int64(pm.Count), "connection")
	switch {
	case pm.Command == "pub" && pm.Subscribers > 0:
		who = benchPlural(int64(pm.Count), "publisher") + " and " + benchPlural(int64(pm.Subscribers), "subscriber")
	case pm.Command == "pub":
		who = benchPlural(int64(pm.Count), "publisher")
	case pm.Command == "sub":
		who = benchPlural(int64(pm.Count), "subscriber")
	}
	fmt.Fprintf(&b, "bench %s: %s to %s (MQTT %s", pm.Command, who, pm.Broker, pm.Version)
	if pm.Command != "conn" {
		fmt.Fprintf(&b, ", QoS %d", pm.QoS)
	}
	if pm.Command == "pub" && pm.Size > 0 {
		fmt.Fprintf(&b, ", %d-byte payloads", pm.Size)
	}
	fmt.Fprintf(&b, ") in %s", (time.Duration(s.Elapsed * float64(time.Second))).Round(time.Millisecond))
	if s.Runs > 1 {
		fmt.Fprintf(&b, ", %d runs merged", s.Runs)
	}
	b.WriteString("\n\n")

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-14s\tcount\trate/s\t\n", "")
	c := &s.Connections
	fmt.Fprintf(tw, "connected     \t%s\t%s\t\n", benchCount(c.Connected), benchRate(c.Rate))
	if c.Failed > 0 {
		fmt.Fprintf(tw, "connect failed\t%s\t\t\n", benchCount(c.Failed))
	}
	if pm.Command == "pub" {
		fmt.Fprintf(tw, "published     \t%s\t%s\t\n", benchCount(s.Published), benchRate(s.PublishRate))
		if pm.QoS > 0 {
			fmt.Fprintf(tw, "acknowledged  \t%s\t\t\n", benchCount(s.Acked))
		}
	}
	if pm.Command == "sub" || pm.Subscribers > 0 {
		fmt.Fprintf(tw, "received      \t%s\t%s\t\n", benchCount(s.Received), benchRate(s.ReceiveRate))
		fmt.Fprintf(tw, "lost          \t%s\t\t\n", benchCount(s.Lost))
		fmt.Fprintf(tw, "duplicates    \t%s\t\t\n", benchCount(s.Duplicates))
		fmt.Fprintf(tw, "out of order  \t%s\t\t\n", benchCount(s.OutOfOrder))
	}
	_ = tw.Flush()

	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := false
	for _, l := range []struct {
		name string
		l    *bench.LatencySummary
	}{{"latency", s.Latency}, {"connect", c.Latency}} {
		if l.l == nil {
			continue
		}
		if !header {
			fmt.Fprintf(tw, "\n%-14s\tp50\tp90\tp99\tp99.9\tmax\t\n", "(ms)")
			header = true
		}
		fmt.Fprintf(tw, "%-14s\t%s\t%s\t%s\t%s\t%s\t\n", l.name, benchMs(l.l.P50), benchMs(l.l.P90), benchMs(l.l.P99), benchMs(l.l.P999), benchMs(l.l.Max))
	}
	_ = tw.Flush()

	if len(s.Errors) > 0 {
		b.WriteString("\nerrors\n")
		keys := make([]string, 0, len(s.Errors))
		for k := range s.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, k := range keys {
			fmt.Fprintf(tw, "  %s\t%s\n", benchCount(s.Errors[k]), k)
		}
		_ = tw.Flush()
	}
	if s.CPU > 0 {
		fmt.Fprintf(&b, "\nbench CPU %.2fs", s.CPU)
		if s.CPUPerMsg > 0 {
			fmt.Fprintf(&b, ", %.2f us per message", s.CPUPerMsg)
		}
		b.WriteString("\n")
	}
	// Empty cells leave trailing blanks.
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// benchCount formats n with thousands separators.
func benchCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func benchRate(r float64) string {
	if r == 0 {
		return ""
	}
	return benchCount(int64(r + 0.5))
}

func benchPlural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return benchCount(n) + " " + word + "s"
}

// benchMs formats microseconds as milliseconds.
func benchMs(us int64) string {
	return strconv.FormatFloat(float64(us)/1000, 'f', 3, 64)
}
