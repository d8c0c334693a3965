package simulate_test

import (
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/simulate"
)

// BenchmarkGenerate measures one message of each built-in: values stepped, topic and
// payload rendered. ns/op and allocs/op are per message.
func BenchmarkGenerate(b *testing.B) {
	for _, name := range builtins {
		b.Run(name, func(b *testing.B) {
			sc := builtin(b, name)
			d, err := sc.NewDevice(simulate.DeviceConfig{Index: 1, ClientID: "mqttx_bench_1", Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
			var bytes int64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m, err := d.Next(at.Add(time.Duration(i) * time.Second))
				if err != nil {
					b.Fatal(err)
				}
				bytes += int64(len(m.Payload))
			}
			b.ReportMetric(float64(bytes)/float64(b.N), "payload-bytes/msg")
		})
	}
}
