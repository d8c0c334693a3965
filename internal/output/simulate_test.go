package output

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/simulate"
)

func TestSimulateDryRunMessage(t *testing.T) {
	s, _, out, _ := Test()
	sp := NewSimulatePrinter(s, FormatText, NewPrinter(s, FormatText, PrinterOptions{Now: fixedNow}), fixedNow)
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := sp.DryRunMessage(simulate.Message{Device: 2, ClientID: "c_2", Topic: "a/<b>", Payload: []byte(`{"t":1}`), Time: at}, 1, true); err != nil {
		t.Fatal(err)
	}
	if err := sp.DryRunMessage(simulate.Message{Device: 3, ClientID: "c_3", Topic: "bin", Payload: []byte{0xff, 0}, Time: at}, 0, false); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"message","time":"2026-06-01T12:00:00Z","device":2,"client_id":"c_2","topic":"a/<b>","qos":1,"retain":true,"payload":"{\"t\":1}","payload_encoding":"utf8"}
{"type":"message","time":"2026-06-01T12:00:00Z","device":3,"client_id":"c_3","topic":"bin","qos":0,"retain":false,"payload":"/wA=","payload_encoding":"base64"}
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func summary() *simulate.Summary {
	s := &simulate.Summary{Scenario: "tesla", Seed: 7, QoS: 1, Interval: time.Second, MsgsPerSec: 99.96, CPU: 500 * time.Millisecond}
	s.Devices, s.Published, s.Acked, s.Bytes, s.Elapsed = 10, 100, 100, 5000, 10*time.Second
	return s
}

func TestSimulateSummary(t *testing.T) {
	s, _, out, _ := Test()
	sp := NewSimulatePrinter(s, FormatJSON, NewPrinter(s, FormatJSON, PrinterOptions{Now: fixedNow}), fixedNow)
	if err := sp.Summary(summary()); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for k, v := range map[string]any{"type": "summary", "scenario": "tesla", "published": 100.0, "acked": 100.0, "seed": 7.0, "cpu_pct": 5.0, "avg_msgs_per_sec": 100.0} {
		if m[k] != v {
			t.Errorf("%s = %v, want %v in %s", k, m[k], v, out)
		}
	}
	if _, ok := m["failed"]; ok {
		t.Errorf("zero failed is printed: %s", out)
	}

	s, _, out, _ = Test()
	sp = NewSimulatePrinter(s, FormatText, NewPrinter(s, FormatText, PrinterOptions{Now: fixedNow}), fixedNow)
	if err := sp.Summary(summary()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "Simulated tesla: 10 devices sent 100 messages in 10s\n") || !strings.Contains(out.String(), "  acked: 100\n") {
		t.Errorf("text summary:\n%s", out)
	}
}

func TestSimulateProgress(t *testing.T) {
	p := simulate.Progress{Devices: 10, Connected: 9, Published: 50, Rate: 10, Reconnects: 1, Elapsed: 5 * time.Second}
	// Not a terminal, text: nothing.
	s, _, out, errOut := Test()
	sp := NewSimulatePrinter(s, FormatText, NewPrinter(s, FormatText, PrinterOptions{Now: fixedNow}), fixedNow)
	if err := sp.Progress("tesla", p); err != nil || errOut.Len()+out.Len() != 0 {
		t.Errorf("progress off a terminal: %v %q %q", err, out, errOut)
	}
	// A terminal: one line redrawn in place, cleared before the next status.
	s.SetTTY(true, true)
	sp = NewSimulatePrinter(s, FormatText, NewPrinter(s, FormatText, PrinterOptions{Now: fixedNow}), fixedNow)
	_ = sp.Progress("tesla", p)
	if got := errOut.String(); got != "\r\x1b[Ktesla: 9/10 connected · 50 sent · 10 msg/s · 1 reconnects · 5s" {
		t.Errorf("progress line %q", got)
	}
	_ = sp.Event(simulate.Event{Type: "connection_lost", Device: 3, ClientID: "c_3", Err: errors.New("EOF")})
	if !strings.Contains(errOut.String(), "5s\r\x1b[K") || !strings.HasSuffix(errOut.String(), "Device 3 (c_3) lost its connection (EOF), reconnecting...\n") {
		t.Errorf("event after progress %q", errOut.String())
	}
	// JSON: a progress event on stderr.
	s, _, out, errOut = Test()
	sp = NewSimulatePrinter(s, FormatJSON, NewPrinter(s, FormatJSON, PrinterOptions{Now: fixedNow}), fixedNow)
	_ = sp.Progress("tesla", p)
	if out.Len() != 0 || !strings.Contains(errOut.String(), `"type":"progress"`) || !strings.Contains(errOut.String(), `"connected":9`) {
		t.Errorf("json progress: stdout %q stderr %q", out, errOut)
	}
}
