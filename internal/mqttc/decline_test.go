package mqttc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDecline checks that a message OnMessage declines, and every message after it, is
// neither handed over nor acknowledged: a persistent session delivers exactly those
// again on the next connection, in order.
func TestDecline(t *testing.T) {
	for _, b := range watchedBrokers {
		t.Run(b.name, func(t *testing.T) {
			addr, gone := b.start(t)
			for _, v := range versions {
				for _, qos := range []byte{1, 2} {
					t.Run(fmt.Sprintf("%s/qos%d", v, qos), func(t *testing.T) {
						topic := fmt.Sprintf("decline/%s/%s/%d", b.name, strings.ReplaceAll(v.String(), ".", "_"), qos)
						declineOnce(t, addr, gone, v, qos, topic)
					})
				}
			}
		})
	}
}

// decliner accepts the first n messages and declines the next one; it records every
// message it is handed.
type decliner struct {
	n        int
	mu       sync.Mutex
	got      []string
	declined chan struct{}
}

func (d *decliner) handler(m Message) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.got = append(d.got, string(m.Payload))
	if len(d.got) <= d.n {
		return true
	}
	if len(d.got) == d.n+1 {
		close(d.declined)
	}
	return false
}

func declineOnce(t *testing.T, addr string, gone waitGone, v Version, qos byte, topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	pub, _ := connect(t, baseOptions(t, addr, v))
	so := baseOptions(t, addr, v)
	so.CleanStart = false
	if v == V5 {
		exp := uint32(60)
		so.SessionExpiry = &exp
	}
	so.OnMessage = func(Message) bool { return true }
	first, _ := connect(t, so)
	if _, err := first.Subscribe(ctx, []Subscription{{Topic: topic, QoS: qos}}, SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := first.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := gone(ctx, so.ClientID); err != nil {
		t.Fatal(err)
	}
	all := []string{"m1", "m2", "m3", "m4", "m5"}
	for _, p := range all {
		if err := pub.Publish(ctx, Message{Topic: topic, QoS: qos, Payload: []byte(p)}); err != nil {
			t.Fatal(err)
		}
	}

	// Accept m1 and m2, decline m3: m4 and m5, queued right behind it, must not be
	// handed over after the refusal.
	d := &decliner{n: 2, declined: make(chan struct{})}
	so.OnMessage = d.handler
	c, err := New(so)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := c.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v != V31 && !ack.SessionPresent { // MQTT 3.1 has no session present flag
		t.Fatal("session not resumed")
	}
	select {
	case <-d.declined:
	case <-ctx.Done():
		c.Disconnect(context.Background())
		t.Fatalf("m3 was never handed over: got %q", d.got)
	}
	// Give m4 and m5 the time to arrive; they must be neither handed over nor acked.
	time.Sleep(100 * time.Millisecond)
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	got := strings.Join(d.got, " ")
	d.mu.Unlock()
	if got != "m1 m2 m3" {
		t.Errorf("handed over %q, want m1 m2 m3 (nothing after the declined m3)", got)
	}
	if err := gone(ctx, so.ClientID); err != nil {
		t.Fatal(err)
	}

	// The next connection gets exactly the declined message and the ones after it.
	in := newInbox()
	so.OnMessage = in.handler
	resumed, _ := connect(t, so)
	var again []string
	for len(again) < 3 {
		select {
		case m := <-in:
			again = append(again, string(m.Payload))
		case <-ctx.Done():
			t.Fatalf("resumed session delivered %q, then nothing", again)
		}
	}
	in.none(t, 100*time.Millisecond)
	if strings.Join(again, " ") != "m3 m4 m5" {
		t.Errorf("resumed session delivered %q, want m3 m4 m5", again)
	}
	if err := resumed.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}
