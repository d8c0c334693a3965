package output

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/mqttx/mqttx/internal/mqttc"
)

func benchMessages(b *testing.B, f Format, m mqttc.Message) {
	s := &Streams{Out: io.Discard, ErrOut: io.Discard}
	p := NewPrinter(s, f, PrinterOptions{Now: fixedNow})
	b.ReportAllocs()
	b.SetBytes(int64(len(m.Payload)))
	for b.Loop() {
		if err := p.Message(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMessage(b *testing.B) {
	small := mqttc.Message{Topic: "sensor/1/temperature", Payload: []byte(`{"msg":"17.2"}`), ReceivedAt: clock}
	props := messages()[4]
	for _, f := range []Format{FormatText, FormatJSON, FormatRaw} {
		b.Run(string(f)+"/small", func(b *testing.B) { benchMessages(b, f, small) })
		b.Run(string(f)+"/properties", func(b *testing.B) { benchMessages(b, f, props) })
	}
}

// FuzzMessageJSON checks that any message prints as one JSON line whose payload decodes
// back to the original bytes.
func FuzzMessageJSON(f *testing.F) {
	f.Add("a/b", []byte("hello"), byte(1), true, []byte("corr"))
	f.Add("\u2028/\"x\"", []byte{0xff, 0xfe, '\n'}, byte(2), false, []byte{0x80})
	f.Add("", []byte(nil), byte(0), false, []byte(nil))
	f.Fuzz(func(t *testing.T, topic string, payload []byte, qos byte, retain bool, corr []byte) {
		s, _, out, _ := Test()
		p := NewPrinter(s, FormatJSON, PrinterOptions{Now: fixedNow})
		m := mqttc.Message{Topic: topic, Payload: payload, QoS: qos, Retain: retain}
		if corr != nil {
			m.Properties = &mqttc.PublishProperties{CorrelationData: corr}
		}
		if err := p.Message(m); err != nil {
			t.Fatal(err)
		}
		line := out.String()
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
			t.Fatalf("not one line: %q", line)
		}
		var got struct {
			Type            string `json:"type"`
			Payload         string `json:"payload"`
			PayloadEncoding string `json:"payload_encoding"`
			QoS             byte   `json:"qos"`
			Retain          bool   `json:"retain"`
			Properties      *struct {
				CorrelationData         string `json:"correlation_data"`
				CorrelationDataEncoding string `json:"correlation_data_encoding"`
			} `json:"properties"`
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("invalid JSON %q: %v", line, err)
		}
		decode := func(s, enc string) []byte {
			if enc == "base64" {
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					t.Fatalf("bad base64 %q", s)
				}
				return b
			}
			return []byte(s)
		}
		if got.Type != "message" || got.QoS != qos || got.Retain != retain || string(decode(got.Payload, got.PayloadEncoding)) != string(payload) {
			t.Fatalf("round trip lost data: %q", line)
		}
		if len(corr) > 0 && (got.Properties == nil || string(decode(got.Properties.CorrelationData, got.Properties.CorrelationDataEncoding)) != string(corr)) {
			t.Fatalf("correlation data lost: %q", line)
		}
	})
}
