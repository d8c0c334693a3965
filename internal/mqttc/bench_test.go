package mqttc

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/mosquittotest"
)

// BenchmarkRoundTrip measures publish-to-delivery through mosquitto: one publisher, one
// subscriber, one message in flight at a time.
func BenchmarkRoundTrip(b *testing.B) {
	addr := mosquittotest.Start(b)
	payload := make([]byte, 64)
	for _, v := range []Version{V5, V311} {
		for _, qos := range []byte{0, 1} {
			b.Run(v.String()+"/qos"+string('0'+qos), func(b *testing.B) {
				got := make(chan struct{}, 1)
				so := baseOptions(b, addr, v)
				so.OnMessage = func(Message) bool { got <- struct{}{}; return true }
				sub, _ := connect(b, so)
				topic := "bench/" + so.ClientID
				if _, err := sub.Subscribe(ctxT(b), []Subscription{{Topic: topic, QoS: qos}}, SubscribeOptions{}); err != nil {
					b.Fatal(err)
				}
				pub, _ := connect(b, baseOptions(b, addr, v))
				ctx := ctxT(b)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if err := pub.Publish(ctx, Message{Topic: topic, QoS: qos, Payload: payload}); err != nil {
						b.Fatal(err)
					}
					select {
					case <-got:
					case <-time.After(5 * time.Second):
						b.Fatal("message not delivered")
					}
				}
			})
		}
	}
}

// BenchmarkFirstPublishLatency measures the first QoS 1/2 publish on a fresh connection
// to mosquitto (the 40 ms MQTT 5 stall came from a PINGREQ sent at connect time), with
// p50, p99 and the count over 10 ms as metrics:
//
//	go test ./internal/mqttc -run XXX -bench FirstPublishLatency -benchtime 200x
func BenchmarkFirstPublishLatency(b *testing.B) {
	addr := mosquittotest.Start(b)
	for _, v := range []Version{V5, V311} {
		for _, q := range []byte{1, 2} {
			b.Run(fmt.Sprintf("v%s/qos%d", v, q), func(b *testing.B) {
				var ds []time.Duration
				for i := 0; b.Loop(); i++ {
					c, _ := connect(b, baseOptions(b, addr, v))
					start := time.Now()
					if err := c.Publish(context.Background(), Message{Topic: "lat", Payload: []byte("x"), QoS: q}); err != nil {
						b.Fatal(err)
					}
					ds = append(ds, time.Since(start))
					_ = c.Disconnect(context.Background())
				}
				slices.Sort(ds)
				over := 0
				for _, d := range ds {
					if d > 10*time.Millisecond {
						over++
					}
				}
				b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds()), "p99-µs")
				b.ReportMetric(float64(over), "over-10ms")
			})
		}
	}
}
