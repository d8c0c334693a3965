package mqttc

import (
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
