package simulate

import (
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/brianvoe/gofakeit/v7"

	"github.com/mqttx/mqttx/scenarios"
)

// render loads data with or without the fast path and returns what two devices
// generate over n messages, or the first error's text.
func render(t testing.TB, data string, fast bool, n int) (string, *Scenario) {
	t.Helper()
	noFast = !fast
	defer func() { noFast = false }()
	sc, err := Load("f.yaml", []byte(data))
	if err != nil {
		return "load: " + err.Error(), nil
	}
	var b strings.Builder
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for dev := 1; dev <= 2; dev++ {
		d, err := sc.NewDevice(DeviceConfig{Index: dev, ClientID: "c", Seed: uint64(dev) * 11})
		if err != nil {
			return b.String() + "device: " + err.Error(), sc
		}
		for i := 0; i < n; i++ {
			m, err := d.Next(at.Add(time.Duration(i) * 7 * time.Minute))
			if err != nil {
				return b.String() + "next: " + err.Error(), sc
			}
			b.WriteString(m.Topic + "\t")
			b.Write(m.Payload)
			b.WriteByte('\n')
		}
	}
	return b.String(), sc
}

// TestFastPathMatchesTemplate checks that the compiled templates print exactly what
// text/template prints, for every built-in and for templates using each construct, and
// that the built-ins do compile.
func TestFastPathMatchesTemplate(t *testing.T) {
	cases := map[string]string{"custom": custom}
	names, _ := fs.Glob(scenarios.FS, "*.yaml")
	for _, n := range names {
		data, _ := fs.ReadFile(scenarios.FS, n)
		cases[n] = string(data)
	}
	const head = "name: x\nformat: text\ndevice:\n  id: '{{ digits 4 }}'\n  n: '{{ randInt 1 9 }}'\nvalues:\n  v: {walk: {min: -5, max: 5, step: 1}}\n  e: {enum: {a: 1, b: 1}}\n  p: {event: {p: 0.5}}\n"
	constructs := []string{
		`{{ .id }} {{ .n }} {{ .v }} {{ .e }} {{ .p }} {{ .seq }} {{ .device }} {{ .client_id }} {{ .scenario }}`,
		`{{ if .p }}yes{{ else if eq .e "a" }}a{{ else }}no{{ end }}`,
		`{{ if and .p (eq .e "b") }}both{{ end }}{{ or .p .e }}{{ not .p }}{{ and .p 3 }}`,
		`{{ gt (num .v) 0.5 }} {{ lt (num .v) 1.0 }} {{ le 1 2 }} {{ ge "a" "b" }} {{ ne .e "a" }} {{ eq .e "x" "a" "b" }}`,
		`{{ add .v 1 }} {{ sub .v 1.5 }} {{ mul .v .n }} {{ div .v 0 }} {{ div 1 3 }} {{ round (mul .v 3.3) 3 }}`,
		`{{ randFloat 1 2 }} {{ round (randFloat -1 1) 4 }} {{ randInt -3 3 }} {{ chance 0.5 }} {{ chance .v }}`,
		`{{ pick "a" 1 2.5 .v .p }} {{ pick .e }} {{ json (pick "x\"y" 3) }}`,
		`{{ json .e }} {{ json .v }} {{ json .p }} {{ json 3 }} {{ json 2.5 }} {{ json .time }} {{ json .device }}`,
		`{{ rfc3339 .time }} {{ unix .time }} {{ unixMilli .time }} {{ .time }}`,
		`{{ upper .e }} {{ lower "ABC" }} {{ numerify "##-##" }} {{ lexify "??" }} {{ letters 3 }} {{ hex 5 }}`,
		`{{ name }}|{{ firstName }}|{{ lastName }}|{{ email }}|{{ phone }}|{{ username }}|{{ company }}|{{ uuid }}`,
		`{{ street }}|{{ city }}|{{ state }}|{{ country }}|{{ countryCode }}|{{ zip }}|{{ latitude }}|{{ longitude }}`,
		`{{ ipv4 }}|{{ mac }}|{{ carMaker }}|{{ carModel }}|{{ productName }}|{{ color }}|{{ word }}`,
		`{{ .v | num }} {{ "s" | upper }} {{ 5 }} {{ 2.50 }} {{ true }} {{/* comment */}}{{- " trimmed " -}} x`,
		`{{ 1e3 }} {{ 0x10 }} {{ printf "%05.1f" (num .v) }} {{ $x := .v }}{{ $x }} {{ with .e }}{{ . }}{{ end }}`,
		`{{ round .v 12 }}`,
		`{{ randInt 5 1 }}`,
		`{{ .time.Year }}`,
	}
	// The first ones stay in the compiled subset; the last ones need text/template.
	const compiled = 14
	for i, c := range constructs {
		name := "construct" + string(rune('a'+i))
		if i < compiled {
			name = "fast-" + name
		}
		cases[name] = head + "payload: '" + strings.ReplaceAll(c, "'", "''") + "'\n"
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			slow, _ := render(t, data, false, 60)
			fast, sc := render(t, data, true, 60)
			if slow != fast {
				t.Fatalf("fast path differs from text/template:\nslow %q\nfast %q", first(slow), first(fast))
			}
			if (strings.HasSuffix(name, ".yaml") || strings.HasPrefix(name, "fast-")) && (sc == nil || sc.fastPayload == nil) {
				t.Errorf("%s does not take the fast path", name)
			}
		})
	}
}

func first(s string) string {
	if len(s) > 300 {
		return s[:300]
	}
	return s
}

// BenchmarkGenerateTemplate is BenchmarkGenerate with the fast path off: every message
// through text/template, the reference the fast path is measured against.
func BenchmarkGenerateTemplate(b *testing.B) {
	names, _ := fs.Glob(scenarios.FS, "*.yaml")
	for _, n := range names {
		b.Run(strings.TrimSuffix(n, ".yaml"), func(b *testing.B) {
			data, _ := fs.ReadFile(scenarios.FS, n)
			noFast = true
			sc, err := Load(n, data)
			noFast = false
			if err != nil {
				b.Fatal(err)
			}
			d, err := sc.NewDevice(DeviceConfig{Index: 1, ClientID: "mqttx_bench_1", Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.Next(at.Add(time.Duration(i) * time.Second)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func fixedTime(i int) time.Time {
	return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
}

// BenchmarkGofakeitTemplate renders the sensor payload with gofakeit's own Template(),
// which parses the template on every call: the peer the generators are compared with.
func BenchmarkGofakeitTemplate(b *testing.B) {
	f := gofakeit.New(1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := f.Template(`{"msg":"{{ Float64Range 15 25 }}"}`, &gofakeit.TemplateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
