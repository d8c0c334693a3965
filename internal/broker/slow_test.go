package broker_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

// TestSlowSubscriberDisconnected checks that a subscriber that stops
// reading is disconnected once its outbound queue is full, while another
// subscriber keeps receiving every message.
func TestSlowSubscriberDisconnected(t *testing.T) {
	var slowGone atomic.Bool
	addr := brokertest.Start(t, func(o *broker.Options) {
		o.MaxOutboundQueue = 50
		o.OnEvent = func(e broker.Event) {
			if e.Kind == broker.EventDisconnected && e.ClientID == "slow" {
				slowGone.Store(true)
			}
		}
	})
	slow, _ := conn(t, addr, packet.V311, "slow", true)
	slow.subscribe(1, sub("flood", 1))
	fast, _ := conn(t, addr, packet.V311, "fast", true)
	fast.subscribe(1, sub("flood", 0))
	p, _ := conn(t, addr, packet.V311, "p", true)
	payload := strings.Repeat("x", 16<<10)
	const n = 2000
	done := make(chan int)
	go func() {
		got := 0
		for got < n {
			pk, err := fast.readErr(10 * time.Second)
			if err != nil {
				break
			}
			if _, ok := pk.(*packet.Publish); ok {
				got++
			}
		}
		done <- got
	}()
	for i := 0; i < n; i++ {
		p.publish("flood", payload, 1, false, uint16(i%60000+1))
	}
	if got := <-done; got != n {
		t.Fatalf("fast subscriber got %d of %d messages", got, n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slowGone.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !slowGone.Load() {
		t.Fatal("the subscriber that stopped reading was not disconnected")
	}
}
