package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mqttx/mqttx/internal/simulate"
)

// SimulatePrinter renders `mqttx simulate`: dry-run messages as JSON Lines on stdout,
// live progress on stderr (a line rewritten in place on a terminal, JSON Lines with
// -o json), connection events and the summary.
type SimulatePrinter struct {
	s      *Streams
	format Format
	p      Printer
	now    func() time.Time

	mu       sync.Mutex
	buf      bytes.Buffer
	liveLine bool // a progress line is on screen
}

// NewSimulatePrinter returns the printer for format, writing through p for status,
// results and errors.
func NewSimulatePrinter(s *Streams, format Format, p Printer, now func() time.Time) *SimulatePrinter {
	if now == nil {
		now = time.Now
	}
	return &SimulatePrinter{s: s, format: format, p: p, now: now}
}

type simMessage struct {
	Type            string `json:"type"`
	Time            string `json:"time"`
	Device          int    `json:"device"`
	ClientID        string `json:"client_id"`
	Topic           string `json:"topic"`
	QoS             byte   `json:"qos"`
	Retain          bool   `json:"retain"`
	Payload         string `json:"payload"`
	PayloadEncoding string `json:"payload_encoding"`
}

// DryRunMessage prints one generated message as a JSON Lines object on stdout:
// {"type":"message","time":..,"device":..,"client_id":..,"topic":..,"qos":..,
// "retain":..,"payload":..,"payload_encoding":"utf8"|"base64"}.
func (sp *SimulatePrinter) DryRunMessage(m simulate.Message, qos byte, retain bool) error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	pl, enc := string(m.Payload), "utf8"
	if !utf8.Valid(m.Payload) {
		pl, enc = encodeBytes(m.Payload)
	}
	sp.buf.Reset()
	e := json.NewEncoder(&sp.buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(simMessage{"message", m.Time.UTC().Format(time.RFC3339Nano), m.Device, m.ClientID, m.Topic, qos, retain, pl, enc}); err != nil {
		return err
	}
	_, err := sp.s.Out.Write(sp.buf.Bytes())
	return err
}

// Live reports whether progress is drawn in place: text output with stderr on a
// terminal.
func (sp *SimulatePrinter) Live() bool {
	return sp.format != FormatJSON && sp.s.IsStderrTTY()
}

// Progress shows a snapshot: in place on a terminal, a {"type":"progress"} line with -o
// json, nothing otherwise.
func (sp *SimulatePrinter) Progress(scenario string, p simulate.Progress) error {
	if sp.format == FormatJSON {
		return sp.p.Status(Event{Type: "progress", Fields: progressFields(scenario, p)})
	}
	if !sp.Live() {
		return nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	line := fmt.Sprintf("%s: %d/%d connected · %d sent · %.0f msg/s", scenario, p.Connected, p.Devices, p.Published, p.Rate)
	if p.Failed > 0 {
		line += fmt.Sprintf(" · %d failed", p.Failed)
	}
	if p.Reconnects > 0 {
		line += fmt.Sprintf(" · %d reconnects", p.Reconnects)
	}
	line += " · " + p.Elapsed.Truncate(time.Second).String()
	_, err := fmt.Fprintf(sp.s.ErrOut, "\r\x1b[K%s", line)
	sp.liveLine = true
	return err
}

// clearLine removes the progress line before other output on stderr.
func (sp *SimulatePrinter) clearLine() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.liveLine {
		fmt.Fprint(sp.s.ErrOut, "\r\x1b[K")
		sp.liveLine = false
	}
}

// Status prints a status event on stderr (clearing the progress line first).
func (sp *SimulatePrinter) Status(e Event) error {
	sp.clearLine()
	return sp.p.Status(e)
}

// Event reports a device's connection loss or reconnect on stderr.
func (sp *SimulatePrinter) Event(e simulate.Event) error {
	ev := Event{Type: e.Type, Fields: map[string]any{"device": e.Device, "client_id": e.ClientID}}
	switch e.Type {
	case "connected":
		ev.Fields = map[string]any{"devices": e.Device}
		ev.Text = fmt.Sprintf("Connected %d devices", e.Device)
		if e.Device == 1 {
			ev.Text = "Connected 1 device"
		}
	case "connection_lost":
		ev.Text = fmt.Sprintf("Device %d (%s) lost its connection, reconnecting...", e.Device, e.ClientID)
		if e.Err != nil {
			ev.Fields["error"] = e.Err.Error()
			ev.Text = fmt.Sprintf("Device %d (%s) lost its connection (%v), reconnecting...", e.Device, e.ClientID, e.Err)
		}
	case "reconnected":
		ev.Text = fmt.Sprintf("Device %d (%s) reconnected", e.Device, e.ClientID)
	}
	return sp.Status(ev)
}

func progressFields(scenario string, p simulate.Progress) map[string]any {
	return map[string]any{
		"scenario":     scenario,
		"devices":      p.Devices,
		"connected":    p.Connected,
		"published":    p.Published,
		"acked":        p.Acked,
		"failed":       p.Failed,
		"skipped":      p.Skipped,
		"reconnects":   p.Reconnects,
		"bytes":        p.Bytes,
		"elapsed_ms":   p.Elapsed.Milliseconds(),
		"msgs_per_sec": round1(p.Rate),
	}
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// Summary prints the end of a run on stdout: "Simulated ..." and key: value lines in
// text, {"type":"summary",...} in JSON.
func (sp *SimulatePrinter) Summary(s *simulate.Summary) error {
	sp.clearLine()
	f := progressFields(s.Scenario, s.Progress)
	delete(f, "connected")
	delete(f, "msgs_per_sec")
	f["seed"] = s.Seed
	f["qos"] = s.QoS
	f["interval_ms"] = s.Interval.Milliseconds()
	f["avg_msgs_per_sec"] = round1(s.MsgsPerSec)
	if s.CPU > 0 {
		f["cpu_ms"] = s.CPU.Milliseconds()
		if s.Elapsed > 0 {
			f["cpu_pct"] = round1(100 * s.CPU.Seconds() / s.Elapsed.Seconds())
		}
	}
	for _, k := range []string{"acked", "failed", "skipped", "reconnects"} {
		if v, ok := f[k].(int64); ok && v == 0 && (k != "acked" || s.QoS == 0) {
			delete(f, k)
		}
	}
	text := fmt.Sprintf("Simulated %s: %d devices sent %d messages in %s", s.Scenario, s.Devices, s.Published, s.Elapsed.Truncate(time.Millisecond))
	return sp.p.Result(Event{Type: "summary", Text: text, Fields: f})
}

// ScenarioList prints `simulate ls`: a table in text, one {"type":"scenario"} line per
// scenario in JSON.
func (sp *SimulatePrinter) ScenarioList(list []simulate.Entry) error {
	if sp.format == FormatJSON {
		for _, e := range list {
			f := map[string]any{"name": e.Name, "description": e.Description, "source": e.Source}
			if e.Err != nil {
				f["error"] = e.Err.Error()
			}
			if err := sp.p.Result(Event{Type: "scenario", Fields: f}); err != nil {
				return err
			}
		}
		return nil
	}
	width := 4
	for _, e := range list {
		width = max(width, len(e.Name))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %-8s  %s\n", width, "NAME", "SOURCE", "DESCRIPTION")
	for _, e := range list {
		src := e.Source
		if src != "built-in" {
			src = "user"
		}
		desc := e.Description
		if e.Err != nil {
			desc = "invalid: " + e.Err.Error()
		}
		fmt.Fprintf(&b, "%-*s  %-8s  %s\n", width, e.Name, src, desc)
	}
	_, err := sp.s.Out.Write([]byte(b.String()))
	return err
}
