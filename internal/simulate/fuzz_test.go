package simulate

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/scenarios"
)

// FuzzLoad feeds the loader arbitrary files. Properties: it never panics; every error
// is an *Error of one line that starts with the file name; a scenario that loads
// generates messages for two devices, with non-empty topics, whose errors are *Error
// too, the same seed gives the same bytes, and the compiled fast path prints exactly
// what text/template prints.
func FuzzLoad(f *testing.F) {
	names, _ := fs.Glob(scenarios.FS, "*.yaml")
	for _, n := range names {
		data, _ := fs.ReadFile(scenarios.FS, n)
		f.Add(string(data))
	}
	f.Add(custom)
	f.Add("name: x\npayload: hi\n")
	f.Add("name: x\nvalues:\n  s: {enum: {a: 1, b: 0}, stay: 0.5}\npayload: '{{.s}}'\n")
	f.Add("name: x\nvalues:\n  s: {counter: {start: [1, 2], step: 3}}\npayload: '{\"v\": {{.s}}}'\n")
	f.Add("name: x\ninterval: 1ms\ntopic: 'a/{{ .seq }}'\npayload: '{{ if gt (num .seq) 2.0 }}{{ randInt 5 1 }}{{ end }}'\n")
	f.Add("name: x\npayload: |\n  {{ .nope }}\n")
	f.Add("name: x\nvalues:\n  c: {cycle: {min: -1, max: 1, period: 1m, spread: 3, noise: 9}}\npayload: '{{.c}}'\n")
	f.Fuzz(func(t *testing.T, data string) {
		// Loops and recursion are legitimate in a user's templates but let the fuzzer
		// build unbounded work; the properties concern the loader.
		if len(data) > 4096 || strings.Contains(data, "range") || strings.Contains(data, "template") || strings.Contains(data, "block") {
			t.Skip()
		}
		sc, err := Load("f.yaml", []byte(data))
		if err != nil {
			checkErr(t, err)
			return
		}
		run := func() string {
			var b strings.Builder
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for n := 1; n <= 2; n++ {
				d, err := sc.NewDevice(DeviceConfig{Index: n, ClientID: "c", Seed: 42})
				if err != nil {
					checkErr(t, err)
					return b.String()
				}
				for i := 0; i < 4; i++ {
					m, err := d.Next(at.Add(time.Duration(i) * time.Second))
					if err != nil {
						checkErr(t, err)
						return b.String()
					}
					if m.Topic == "" {
						t.Fatalf("empty topic from a scenario that loaded")
					}
					b.WriteString(m.Topic)
					b.Write(m.Payload)
				}
			}
			return b.String()
		}
		if a, b := run(), run(); a != b {
			t.Fatalf("same seed, different data:\n%q\n%q", a, b)
		}
		slow, _ := render(t, data, false, 4)
		fast, _ := render(t, data, true, 4)
		if slow != fast {
			t.Fatalf("fast path differs from text/template:\nslow %q\nfast %q", slow, fast)
		}
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("error %T %v, want *Error", err, err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "f.yaml") || strings.Contains(msg, "\n") {
		t.Fatalf("error %q: want one line starting with the file", msg)
	}
}
