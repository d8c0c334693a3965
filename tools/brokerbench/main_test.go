package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/mosquittotest"
)

func TestListeningRE(t *testing.T) {
	for line, want := range map[string]string{
		"Listening on 127.0.0.1:41189":             "127.0.0.1:41189",
		"Listening on mqtt://127.0.0.1:1883 (tcp)": "127.0.0.1:1883",
		"time=... Listening on 127.0.0.1:5":        "127.0.0.1:5",
		"Listening on [::1]:1883":                  "",
	} {
		got := ""
		if m := listeningRE.FindStringSubmatch(line); m != nil {
			got = m[1]
		}
		if got != want {
			t.Errorf("%q: got %q, want %q", line, got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	if _, ok := median(nil, 0); ok {
		t.Error("median of nothing reported a value")
	}
	if v, _ := median([][]float64{{3}, {1}, {2}}, 0); v != 2 {
		t.Errorf("median of 3,1,2 = %v", v)
	}
	if v, _ := median([][]float64{{0, 4}, {0, 1}}, 1); v != 2.5 {
		t.Errorf("median of 4,1 = %v", v)
	}
}

// TestRunMosquittoOnly drives the whole comparison, tiny and bounded, against mosquitto
// alone, as when `mqttx serve` is missing.
func TestRunMosquittoOnly(t *testing.T) {
	bin := mosquittotest.Binary(t)
	c := config{
		mosquitto: bin, mqttx: filepath.Join(t.TempDir(), "no-such-mqttx"),
		qos0Msgs: 2000, qos1Msgs: 1000, latencyMsgs: 50, conns: 100, dialers: 2, rounds: 1,
		timeout: 30 * time.Second, nodelay: "latency", jsonOut: filepath.Join(t.TempDir(), "out.jsonl"),
	}
	if err := run(context.Background(), c); err != nil {
		t.Fatalf("run: %v", err)
	}
	data, err := os.ReadFile(c.jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	if n := countLines(data); n != 12 {
		t.Errorf("%d JSON summaries, want 12 (one per scenario):\n%s", n, data)
	}
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
