package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fatih/color"

	"github.com/mqttx/mqttx/internal/mqttc"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func ptr[T any](v T) *T { return &v }

var clock = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

func fixedNow() time.Time { return clock }

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestColorDecisions(t *testing.T) {
	tests := []struct {
		name             string
		outTTY, errTTY   bool
		env              func(string) string
		mode             string
		wantOut, wantErr bool
	}{
		{"both terminals", true, true, env(), "auto", true, true},
		{"stdout piped", false, true, env(), "auto", false, true},
		{"stderr piped", true, false, env(), "", true, false},
		{"not a tty", false, false, env(), "auto", false, false},
		{"NO_COLOR", true, true, env("NO_COLOR", "1"), "auto", false, false},
		{"NO_COLOR empty is unset", true, true, env("NO_COLOR", ""), "auto", true, true},
		{"TERM dumb", true, true, env("TERM", "dumb"), "auto", false, false},
		{"always beats not a tty", false, false, env(), "always", true, true},
		{"always beats NO_COLOR", false, true, env("NO_COLOR", "1"), "always", true, true},
		{"never beats tty", true, true, env(), "never", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStreams(nil, &bytes.Buffer{}, &bytes.Buffer{}, tt.outTTY, tt.errTTY, tt.env)
			if err := s.SetColor(tt.mode); err != nil {
				t.Fatal(err)
			}
			if s.ColorOut() != tt.wantOut || s.ColorErr() != tt.wantErr {
				t.Errorf("colour out=%v err=%v, want %v %v", s.ColorOut(), s.ColorErr(), tt.wantOut, tt.wantErr)
			}
			if s.IsStdoutTTY() != tt.outTTY || s.IsStderrTTY() != tt.errTTY {
				t.Errorf("tty flags changed")
			}
		})
	}
}

func TestSetColorModeSwitch(t *testing.T) {
	s := newStreams(nil, nil, nil, true, true, env())
	_ = s.SetColor("never")
	_ = s.SetColor("auto")
	if !s.ColorOut() || !s.ColorErr() {
		t.Fatal("auto after never did not restore terminal colour")
	}
	s, _, _, _ = Test()
	s.SetTTY(true, false)
	if !s.ColorOut() || s.ColorErr() || !s.IsStdoutTTY() {
		t.Fatalf("SetTTY: out=%v err=%v", s.ColorOut(), s.ColorErr())
	}
}

func TestSetColorInvalid(t *testing.T) {
	s, _, _, _ := Test()
	for in, want := range map[string]string{
		"yes": "invalid --color yes: must be auto, always or never",
		" ":   `invalid --color " ": must be auto, always or never`,
	} {
		if err := s.SetColor(in); err == nil || err.Error() != want {
			t.Errorf("SetColor(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	s, _, _, _ := Test()
	tty, _, _, _ := Test()
	tty.SetTTY(true, true)
	for _, tt := range []struct {
		in   string
		s    *Streams
		want Format
		err  string
	}{
		{"", s, FormatJSON, ""},
		{"auto", s, FormatJSON, ""},
		{"", tty, FormatText, ""},
		{"auto", tty, FormatText, ""},
		{"text", s, FormatText, ""},
		{"json", tty, FormatJSON, ""},
		{"raw", tty, FormatRaw, ""},
		{"yaml", s, "", "invalid --output yaml: must be auto, text, json or raw"},
	} {
		got, err := ParseFormat(tt.in, tt.s)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseFormat(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseFormat(%q, tty=%v) = %q, %v; want %q", tt.in, tt.s.IsStdoutTTY(), got, err, tt.want)
		}
	}
}

// messages covers plain, retained/dup, binary, empty and MQTT 5 property-laden messages.
func messages() []mqttc.Message {
	one := byte(1)
	return []mqttc.Message{
		{Topic: "sensor/1/temperature", Payload: []byte(`{"msg":"17.2"}`), QoS: 0, Retain: true, ReceivedAt: clock.Add(time.Second)},
		{Topic: "a/b", Payload: []byte("hello <world> & \"friends\""), QoS: 1, Dup: true}, // ReceivedAt from Now
		{Topic: "bin", Payload: []byte{0xff, 0x00, 0xfe, 'x'}, QoS: 2, ReceivedAt: clock},
		{Topic: "empty", Payload: nil, ReceivedAt: clock},
		{Topic: "props", Payload: []byte("21.5"), QoS: 1, ReceivedAt: clock, Properties: &mqttc.PublishProperties{
			PayloadFormat: &one, MessageExpiry: ptr(uint32(60)), TopicAlias: ptr(uint16(3)), ResponseTopic: "reply/to",
			CorrelationData: []byte("req-42"), ContentType: "text/plain", SubscriptionIDs: []int{7, 9},
			UserProperties: []mqttc.UserProperty{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}, {Key: "b", Value: "3"}},
		}},
		{Topic: "binary/correlation", Payload: []byte("x"), ReceivedAt: clock, Properties: &mqttc.PublishProperties{
			CorrelationData: []byte{0x80, 0x81},
		}},
		{Topic: "empty/properties", Payload: []byte("y"), ReceivedAt: clock, Properties: &mqttc.PublishProperties{}},
	}
}

// script drives a printer through a typical session.
func script(t *testing.T, p Printer) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(p.Status(Event{Type: "connecting", Fields: map[string]any{"broker": "mqtt://localhost:1883"}}))
	must(p.Status(Event{Type: "connected", Time: clock.Add(-time.Second), Fields: map[string]any{"client_id": "mqttx_0000abcd", "session_present": false}}))
	must(p.Status(Event{Type: "subscribed", Fields: map[string]any{"topic": "sensor/+/temperature", "qos": 1}}))
	for _, m := range messages() {
		must(p.Message(m))
	}
	must(p.Status(Event{Type: "reconnecting", Text: "Reconnecting in 1s...", Fields: map[string]any{"error": errors.New("connection reset")}}))
	must(p.Status(Event{Type: "client_connected", Fields: map[string]any{"id": "c1"}}))
	must(p.Result(Event{Type: "connected", Fields: map[string]any{
		"connack":         &mqttc.ConnAck{ClientID: "mqttx_0000abcd", Properties: &mqttc.ConnAckProperties{ReceiveMaximum: ptr(uint16(10))}},
		"session_present": true, "duration": 1500 * time.Millisecond, "raw": []byte{0xff},
	}}))
	must(p.Result(Event{Type: "published", Fields: map[string]any{"topic": "a/b", "qos": 1, "type": "ignored"}}))
	must(p.Error(errors.New("connect 127.0.0.1:1883: connection refused\nsecond line")))
	must(p.Status(Event{Type: "disconnected"}))
}

func TestGolden(t *testing.T) {
	for _, tt := range []struct {
		name    string
		format  Format
		verbose bool
		color   bool
	}{
		{"text", FormatText, false, false},
		{"text_verbose", FormatText, true, false},
		{"text_color", FormatText, false, true},
		{"text_verbose_color", FormatText, true, true},
		{"json", FormatJSON, false, false},
		{"json_verbose", FormatJSON, true, true}, // verbose and colour change nothing in JSON
		{"raw", FormatRaw, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _, out, errOut := Test()
			if tt.color {
				s.SetTTY(true, true)
			}
			p := NewPrinter(s, tt.format, PrinterOptions{Verbose: tt.verbose, Now: fixedNow})
			script(t, p)
			got := "-- stdout --\n" + out.String() + "-- stderr --\n" + errOut.String()
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (go test -update to accept):\n%s", path, got)
			}
			hasANSI := strings.Contains(got, "\x1b[")
			if wantANSI := tt.color && tt.format == FormatText; hasANSI != wantANSI {
				t.Errorf("ANSI escapes present=%v, want %v", hasANSI, !hasANSI)
			}
			if tt.format == FormatJSON {
				checkJSONLines(t, out.String())
				checkJSONLines(t, errOut.String())
			}
		})
	}
}

func checkJSONLines(t *testing.T, s string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		if typ, ok := m["type"].(string); !ok || typ == "" {
			t.Fatalf("no type in %q", line)
		}
	}
}

func TestJSONMessageSchema(t *testing.T) {
	s, _, out, _ := Test()
	p := NewPrinter(s, FormatJSON, PrinterOptions{Now: fixedNow})
	for _, m := range messages() {
		if err := p.Message(m); err != nil {
			t.Fatal(err)
		}
	}
	type props struct {
		CorrelationData         string               `json:"correlation_data"`
		CorrelationDataEncoding string               `json:"correlation_data_encoding"`
		UserProperties          []mqttc.UserProperty `json:"user_properties"`
	}
	type msg struct {
		Type, ReceivedAt, Topic, Payload, PayloadEncoding string
		QoS                                               byte
		Retain                                            bool
		Dup                                               *bool
		Properties                                        *props
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var got []msg
	for _, l := range lines {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &raw); err != nil {
			t.Fatal(err)
		}
		var m msg
		m.Type = unq(raw["type"])
		m.ReceivedAt = unq(raw["received_at"])
		m.Payload = unq(raw["payload"])
		m.PayloadEncoding = unq(raw["payload_encoding"])
		if d, ok := raw["dup"]; ok {
			m.Dup = new(bool)
			_ = json.Unmarshal(d, m.Dup)
		}
		if pr, ok := raw["properties"]; ok {
			m.Properties = &props{}
			_ = json.Unmarshal(pr, m.Properties)
		}
		got = append(got, m)
	}
	if len(got) != len(messages()) {
		t.Fatalf("%d lines for %d messages", len(got), len(messages()))
	}
	if got[0].ReceivedAt != "2026-01-02T03:04:06.123456789Z" || got[1].ReceivedAt != "2026-01-02T03:04:05.123456789Z" {
		t.Errorf("received_at %q %q", got[0].ReceivedAt, got[1].ReceivedAt)
	}
	if got[0].Dup != nil || got[1].Dup == nil || !*got[1].Dup {
		t.Errorf("dup only when true: %v %v", got[0].Dup, got[1].Dup)
	}
	if got[2].Payload != "/wD+eA==" || got[2].PayloadEncoding != "base64" || got[0].PayloadEncoding != "utf8" {
		t.Errorf("binary payload %q %q", got[2].Payload, got[2].PayloadEncoding)
	}
	if got[3].Payload != "" || got[3].PayloadEncoding != "utf8" {
		t.Errorf("empty payload %+v", got[3])
	}
	pr := got[4].Properties
	if pr == nil || pr.CorrelationData != "req-42" || pr.CorrelationDataEncoding != "" ||
		len(pr.UserProperties) != 3 || pr.UserProperties[0] != (mqttc.UserProperty{Key: "b", Value: "2"}) || pr.UserProperties[2].Value != "3" {
		t.Errorf("properties %+v", pr)
	}
	if pr := got[5].Properties; pr == nil || pr.CorrelationData != "gIE=" || pr.CorrelationDataEncoding != "base64" {
		t.Errorf("binary correlation data %+v", pr)
	}
	if got[6].Properties != nil || got[0].Properties != nil {
		t.Errorf("properties present without any set")
	}
}

func unq(r json.RawMessage) string {
	var s string
	_ = json.Unmarshal(r, &s)
	return s
}

// TestColorIgnoresGlobal checks that printers follow Streams, not color.NoColor.
func TestColorIgnoresGlobal(t *testing.T) {
	old := color.NoColor
	t.Cleanup(func() { color.NoColor = old })
	for _, global := range []bool{true, false} {
		color.NoColor = global
		s, _, out, errOut := Test()
		s.SetTTY(true, false) // colour on stdout only
		p := NewPrinter(s, FormatText, PrinterOptions{Now: fixedNow})
		_ = p.Message(mqttc.Message{Topic: "t", Payload: []byte("p")})
		_ = p.Error(errors.New("boom"))
		if !strings.Contains(out.String(), "\x1b[") {
			t.Errorf("NoColor=%v: stdout not coloured: %q", global, out)
		}
		if strings.Contains(errOut.String(), "\x1b[") || errOut.String() != "Error: boom\n" {
			t.Errorf("NoColor=%v: stderr %q", global, errOut)
		}
	}
}

type countingWriter struct {
	writes int
	buf    bytes.Buffer
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.buf.Write(p)
}

// TestOneWritePerRecord checks that a message (topic line, properties, payload) reaches
// the writer in one Write, so records from concurrent writers to one pipe never
// interleave.
func TestOneWritePerRecord(t *testing.T) {
	for _, f := range []Format{FormatText, FormatJSON, FormatRaw} {
		w := &countingWriter{}
		s := &Streams{Out: w, ErrOut: w}
		p := NewPrinter(s, f, PrinterOptions{Verbose: true, Now: fixedNow})
		msgs := messages()
		for _, m := range msgs {
			_ = p.Message(m)
		}
		_ = p.Status(Event{Type: "connected"})
		_ = p.Result(Event{Type: "published", Fields: map[string]any{"a": 1, "b": 2}})
		_ = p.Error(errors.New("x"))
		if w.writes != len(msgs)+3 {
			t.Errorf("%s: %d writes for %d records", f, w.writes, len(msgs)+3)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteErrorsReturned(t *testing.T) {
	s := &Streams{Out: failingWriter{}, ErrOut: failingWriter{}}
	p := NewPrinter(s, FormatJSON, PrinterOptions{})
	if err := p.Message(mqttc.Message{Topic: "t"}); err == nil {
		t.Error("Message hid the write error")
	}
	if err := p.Status(Event{Type: "connected"}); err == nil {
		t.Error("Status hid the write error")
	}
	if err := p.Error(nil); err != nil {
		t.Error("Error(nil) should print nothing")
	}
}

func TestConcurrentUse(t *testing.T) {
	s, _, out, _ := Test()
	p := NewPrinter(s, FormatJSON, PrinterOptions{Now: fixedNow})
	done := make(chan struct{})
	const n = 200
	for g := 0; g < 2; g++ {
		go func() {
			for i := 0; i < n; i++ {
				_ = p.Message(mqttc.Message{Topic: "t", Payload: []byte("p")})
				_ = p.Status(Event{Type: "connected"})
			}
			done <- struct{}{}
		}()
	}
	<-done
	<-done
	if got := strings.Count(out.String(), "\n"); got != 2*n {
		t.Fatalf("%d lines, want %d", got, 2*n)
	}
	checkJSONLines(t, out.String())
}

func TestSystem(t *testing.T) {
	s := System()
	if s.In != os.Stdin || s.Out != os.Stdout || s.ErrOut != os.Stderr {
		t.Fatal("System does not use the process streams")
	}
	if os.Getenv("NO_COLOR") != "" && (s.ColorOut() || s.ColorErr()) {
		t.Fatal("colour despite NO_COLOR")
	}
}
