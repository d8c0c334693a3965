package output

import (
	"strings"
	"testing"

	"github.com/mqttx/mqttx/internal/bench"
)

func TestBenchSummaryText(t *testing.T) {
	s := &bench.Summary{
		Parameters:  bench.Parameters{Command: "pub", Broker: "127.0.0.1:1883", Version: "5", Count: 10, Subscribers: 1, QoS: 1, Size: 256},
		Elapsed:     2,
		Runs:        1,
		Connections: bench.ConnStats{Connected: 11, Rate: 500, Latency: &bench.LatencySummary{P50: 250, P90: 400, P99: 900, P999: 1000, Max: 1200}},
		Published:   123456, Acked: 123456, Received: 123400, PublishRate: 61728, ReceiveRate: 61700, Lost: 56,
		Latency: &bench.LatencySummary{P50: 1500, P90: 2500, P99: 9000, P999: 12000, Max: 15000},
		Errors:  map[string]int64{"timeout": 2},
		CPU:     0.5, CPUPerMsg: 2.02,
	}
	got := BenchSummaryText(s)
	for _, want := range []string{
		"bench pub: 10 publishers and 1 subscriber to 127.0.0.1:1883 (MQTT 5, QoS 1, 256-byte payloads) in 2s\n",
		"published",
		"123,456",
		"61,728",
		"lost",
		"1.500  2.500  9.000  12.000  15.000\n",
		"  2  timeout\n",
		"bench CPU 0.50s, 2.02 us per message\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

func TestBenchPrinterJSON(t *testing.T) {
	s, _, out, errOut := Test()
	p := NewBenchPrinter(s, FormatJSON)
	if err := p.Progress(bench.Progress{Elapsed: 1, Connected: 3}); err != nil {
		t.Fatal(err)
	}
	if err := p.Summary(&bench.Summary{Parameters: bench.Parameters{Command: "conn"}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"type":"progress","elapsed_s":1,"connected":3,`) || !strings.HasPrefix(lines[1], `{"type":"summary","parameters":{"command":"conn"`) {
		t.Errorf("JSON lines:\n%s", out)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr %q, want nothing", errOut)
	}
}

func TestBenchProgressOnlyOnTerminal(t *testing.T) {
	s, _, out, errOut := Test()
	p := NewBenchPrinter(s, FormatText)
	_ = p.Progress(bench.Progress{Elapsed: 1, Connected: 3})
	if out.Len()+errOut.Len() != 0 {
		t.Errorf("progress written without a terminal: %q %q", out, errOut)
	}
	s.SetTTY(false, true)
	_ = p.Progress(bench.Progress{Elapsed: 2, Connected: 3, PublishRate: 1234, P50: 1500, P99: 3000})
	if !strings.Contains(errOut.String(), "connected 3  sent 1,234/s  p50 1.500 p99 3.000  errors 0") || out.Len() != 0 {
		t.Errorf("live line %q, stdout %q", errOut, out)
	}
	// Redrawn in place, never longer than a terminal line, and cleared by the summary.
	errOut.Reset()
	_ = p.Progress(bench.Progress{Elapsed: 3, Connected: 123456789, Failed: 123456789, PublishRate: 1e9, ReceiveRate: 1e9, P50: 1500, P99: 3000, Errors: 123456789})
	line, ok := strings.CutPrefix(errOut.String(), "\r\x1b[K")
	if !ok || strings.ContainsAny(line, "\r\n") || len([]rune(line)) > 79 || !strings.HasPrefix(line, "⠙ ") {
		t.Errorf("second live line %q: want it redrawn in place, 79 runes at most", errOut)
	}
	errOut.Reset()
	_ = p.Summary(&bench.Summary{})
	if !strings.HasPrefix(errOut.String(), "\r\x1b[K") {
		t.Errorf("summary does not clear the live line: stderr %q", errOut)
	}
}
