package broker_test

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

// TestSlowSubscriberBounded checks that a subscriber that stops reading
// never slows the publisher or another subscriber, and that what the broker
// holds for it stays bounded: at most half the outbound queue unacknowledged
// (the rest waits in the session's bounded queue, newest dropped first), so
// when it reads again it gets far fewer messages than were published, in
// publish order, and is still connected.
func TestSlowSubscriberBounded(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) {
		o.MaxOutboundQueue = 50
		o.MaxOfflineQueue = 100
	})
	slow, _ := conn(t, addr, packet.V311, "slow", true)
	slow.subscribe(1, sub("flood", 1))
	fast, _ := conn(t, addr, packet.V311, "fast", true)
	fast.subscribe(1, sub("flood", 0))
	p, _ := conn(t, addr, packet.V311, "p", true)
	payload := strings.Repeat("x", 16<<10)
	const n = 2000
	done := make(chan int)
	recv := make(chan struct{}, n)
	go func() {
		got := 0
		for got < n {
			pk, err := fast.readErr(10 * time.Second)
			if err != nil {
				break
			}
			if _, ok := pk.(*packet.Publish); ok {
				got++
				recv <- struct{}{}
			}
		}
		close(recv)
		done <- got
	}()
	for i := 0; i < n; i++ {
		// publish waits for each PUBACK: the publisher is never held up.
		p.publish("flood", strconv.Itoa(i)+" "+payload, 1, false, uint16(i%60000+1))
		if i >= 10 {
			// Keep within 10 messages of the fast subscriber, whose
			// queue (50) must not overflow however the test's
			// goroutines are scheduled.
			<-recv
		}
	}
	if got := <-done; got != n {
		t.Fatalf("fast subscriber got %d of %d messages", got, n)
	}
	got, last := 0, -1
	for {
		pk, err := slow.readErr(500 * time.Millisecond)
		if err != nil {
			break
		}
		m, ok := pk.(*packet.Publish)
		if !ok {
			t.Fatalf("slow subscriber got %v", pk.Type())
		}
		i, _ := strconv.Atoi(strings.Fields(string(m.Payload))[0])
		if i <= last {
			t.Fatalf("slow subscriber got message %d after %d", i, last)
		}
		last = i
		got++
		slow.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
	}
	if got == 0 || got >= n/2 {
		t.Fatalf("slow subscriber got %d of %d messages; want some, and the rest dropped", got, n)
	}
	slow.send(&packet.Pingreq{})
	expect[*packet.Pingresp](slow)
}

// TestClientNotReadingItsAcksDisconnected checks the last resort of the
// outbound queue: a client that keeps publishing QoS 1 but never reads fills
// its queue with PUBACKs (which are never dropped), once the socket is full
// and a writer is stuck on its deliveries, and is then disconnected; other
// clients keep being served.
func TestClientNotReadingItsAcksDisconnected(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.MaxOutboundQueue = 50 })
	c, _ := conn(t, addr, packet.V311, "deaf", true)
	c.subscribe(1, sub("echo", 0))
	payload := []byte(strings.Repeat("x", 16<<10))
	var err error
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; err == nil && time.Now().Before(deadline); i++ {
		b, _ := (&packet.Publish{Topic: []byte("echo"), Payload: payload, QoS: 1, PacketID: uint16(i%60000 + 1)}).AppendTo(nil, packet.V311)
		c.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, err = c.nc.Write(b)
	}
	if err == nil {
		t.Fatal("the broker kept accepting the publishes of a client that never reads")
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the broker stopped reading but kept the connection: %v", err)
	}
	other, _ := conn(t, addr, packet.V311, "other", true)
	other.publish("echo", "still served", 1, false, 1)
}
