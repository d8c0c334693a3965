package broker_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/packet"
)

// TestInlineDeliveryToSubscriberNotReading checks the publisher's own
// writes of messages (one non-blocking write straight into an idle
// subscriber's socket, the rest to its writer goroutine) on a subscriber
// that stops reading: once its socket is full, what did not fit (a packet
// partly written included) waits in its queue, and when it reads again it
// gets whole packets, in publish order, QoS 1 ones all of them.
func TestInlineDeliveryToSubscriberNotReading(t *testing.T) {
	addr := startSmallSendBuffers(t, func(o *broker.Options) {
		o.MaxOutboundQueue = 10_000
		o.MaxOutboundBytes = 64 << 20
		o.MaxInflight = 65535
	})
	s := dial(t, addr, packet.V311)
	s.nc.(interface{ SetReadBuffer(int) error }).SetReadBuffer(16384)
	s.connect(&packet.Connect{ClientID: "deaf-subscriber", CleanStart: true, KeepAlive: 60})
	s.subscribe(1, sub("inline", 1))
	p, _ := conn(t, addr, packet.V311, "publisher", true)
	const n = 400
	for i := 0; i < n; i++ {
		// Odd sizes, so the socket fills in the middle of a packet; a
		// PUBACK each, so each message is routed before the next is sent
		// and finds the subscriber's writer idle whenever it is.
		payload := strconv.Itoa(i) + " " + strings.Repeat("y", 1000+i*37%3000)
		p.publish("inline", payload, 1, false, uint16(i+1))
	}
	// Reading through a small window takes a delayed ACK per segment.
	s.nc.(interface{ SetReadBuffer(int) error }).SetReadBuffer(1 << 20)
	for i := 0; i < n; i++ {
		m := s.expectPublish()
		got, _ := strconv.Atoi(strings.Fields(string(m.Payload))[0])
		if got != i {
			t.Fatalf("subscriber got message %d, want %d", got, i)
		}
		if want := 1000 + i*37%3000 + len(strconv.Itoa(i)) + 1; len(m.Payload) != want {
			t.Fatalf("message %d: payload of %d bytes, want %d", i, len(m.Payload), want)
		}
		s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
	}
	s.send(&packet.Pingreq{})
	expect[*packet.Pingresp](s)
}

// smallSendBuffers sets a small send buffer on every connection it
// accepts, so the broker's writes find a socket that does not read full
// after a few KiB rather than after the megabytes the kernel's tuning
// would give it.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return nc, err
}

// startSmallSendBuffers serves a broker on 127.0.0.1 through
// smallSendBuffers (goroutine per connection: the event loop serves only a
// *net.TCPListener) until the test ends.
func startSmallSendBuffers(t *testing.T, opt func(*broker.Options)) string {
	t.Helper()
	var o broker.Options
	opt(&o)
	s := broker.New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(smallSendBuffers{ln}) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil && !errors.Is(err, broker.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}
