package broker_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// TestPahoClients drives the broker with the two client libraries the
// command line uses: paho.golang (MQTT 5) publishes, paho.mqtt.golang
// (MQTT 3.1.1) subscribes, and the other way round.
func TestPahoClients(t *testing.T) {
	addr := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	got3 := make(chan string, 4)
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("paho3").
		SetProtocolVersion(4).SetAutoReconnect(false).SetCleanSession(true)
	c3 := mqtt.NewClient(opts)
	if tok := c3.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("paho.mqtt.golang connect: %v", tok.Error())
	}
	defer c3.Disconnect(100)
	if tok := c3.Subscribe("paho/+", 1, func(_ mqtt.Client, m mqtt.Message) { got3 <- m.Topic() + "=" + string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("paho.mqtt.golang subscribe: %v", tok.Error())
	}

	got5 := make(chan string, 4)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c5 := paho.NewClient(paho.ClientConfig{
		Conn: nc,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
			got5 <- r.Packet.Topic + "=" + string(r.Packet.Payload)
			return true, nil
		}},
	})
	ca, err := c5.Connect(ctx, &paho.Connect{ClientID: "paho5", CleanStart: true, KeepAlive: 30})
	if err != nil || ca.ReasonCode != 0 {
		t.Fatalf("paho.golang connect: %v %v", err, ca)
	}
	defer c5.Disconnect(&paho.Disconnect{})
	if _, err := c5.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "back/#", QoS: 2}}}); err != nil {
		t.Fatalf("paho.golang subscribe: %v", err)
	}

	if _, err := c5.Publish(ctx, &paho.Publish{Topic: "paho/a", QoS: 1, Payload: []byte("from v5")}); err != nil {
		t.Fatalf("paho.golang publish: %v", err)
	}
	if tok := c3.Publish("back/b", 2, false, "from v3"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("paho.mqtt.golang publish: %v", tok.Error())
	}
	for _, tc := range []struct {
		ch   chan string
		want string
	}{{got3, "paho/a=from v5"}, {got5, "back/b=from v3"}} {
		select {
		case m := <-tc.ch:
			if m != tc.want {
				t.Fatalf("got %q, want %q", m, tc.want)
			}
		case <-ctx.Done():
			t.Fatalf("no message %q", tc.want)
		}
	}
}
