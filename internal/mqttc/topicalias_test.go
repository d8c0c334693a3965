package mqttc

import (
	"fmt"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/mosquittotest"
)

// TestTopicAliasAboveMaximum checks that Publish refuses a topic alias above the
// CONNACK's Topic Alias Maximum (absent meaning 0) without sending it, so the
// connection stays up, and that an alias within the maximum still works.
func TestTopicAliasAboveMaximum(t *testing.T) {
	brokers := []struct {
		name  string
		max   uint16
		start func(testing.TB) string
	}{
		{"mosquitto", 10, func(t testing.TB) string { return mosquittotest.StartBroker(t).Addr }},
		{"mqttx", 10, func(t testing.TB) string {
			return brokertest.Start(t, func(o *broker.Options) { o.TopicAliasMaximum = 10 })
		}},
		{"mqttx-none", 0, func(t testing.TB) string { return brokertest.Start(t) }},
	}
	for _, b := range brokers {
		t.Run(b.name, func(t *testing.T) {
			addr := b.start(t)
			in := newInbox()
			so := baseOptions(t, addr, V5)
			so.OnMessage = in.handler
			sub, _ := connect(t, so)
			topic := "alias/" + b.name
			if _, err := sub.Subscribe(ctxT(t), []Subscription{{Topic: topic, QoS: 1}}, SubscribeOptions{}); err != nil {
				t.Fatal(err)
			}

			o := baseOptions(t, addr, V5)
			lost := make(chan error, 1)
			o.OnConnectionLost = func(err error) { lost <- err }
			c, ack := connect(t, o)
			got := uint16(0)
			if p := ack.Properties; p != nil && p.TopicAliasMaximum != nil {
				got = *p.TopicAliasMaximum
			}
			if got != b.max {
				t.Fatalf("CONNACK topic alias maximum %d, want %d", got, b.max)
			}
			over := b.max + 1
			err := c.Publish(ctxT(t), Message{Topic: topic, QoS: 1, Payload: []byte("over"), Properties: &PublishProperties{TopicAlias: &over}})
			want := fmt.Sprintf("topic alias %d exceeds the broker's topic alias maximum %d", over, b.max)
			if err == nil || err.Error() != want {
				t.Fatalf("Publish with alias %d: err = %v, want %q", over, err, want)
			}

			// Nothing was sent: the connection is up and a valid publish goes through.
			m := Message{Topic: topic, QoS: 1, Payload: []byte("ok")}
			if b.max > 0 {
				m.Properties = &PublishProperties{TopicAlias: &b.max}
			}
			if err := c.Publish(ctxT(t), m); err != nil {
				t.Fatalf("publish after the refused alias: %v", err)
			}
			if r := in.next(t, 5*time.Second); string(r.Payload) != "ok" {
				t.Fatalf("received %q, want ok", r.Payload)
			}
			select {
			case err := <-lost:
				t.Fatalf("connection lost: %v", err)
			default:
			}
		})
	}
}
