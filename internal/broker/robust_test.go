package broker_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

// Robustness: attacks a hostile or careless client might make, each bounded
// in count and time. The broker must stay up, and a well-behaved QoS 1
// client beside the attack must lose nothing (guard). Set MQTTX_SOAK=1 for
// the larger counts (a few minutes in all):
//
//	MQTTX_SOAK=1 go test -run TestRobust ./internal/broker/

// soak returns big when MQTTX_SOAK=1, else small.
func soak(small, big int) int {
	if os.Getenv("MQTTX_SOAK") == "1" {
		return big
	}
	return small
}

// guard is a QoS 1 publisher and subscriber pair that checks, at the end,
// that every message it published arrived once, in order.
type guard struct {
	t    *testing.T
	pub  *rawClient
	sub  *rawClient
	sent int
}

func newGuard(t *testing.T, addr string) *guard {
	s, _ := conn(t, addr, packet.V5, "guard-sub", true)
	s.subscribe(1, sub("guard/t", 1))
	p, _ := conn(t, addr, packet.V311, "guard-pub", true)
	return &guard{t: t, pub: p, sub: s}
}

// publish sends one message and waits for its PUBACK.
func (g *guard) publish() {
	g.t.Helper()
	g.pub.publish("guard/t", strconv.Itoa(g.sent), 1, false, uint16(g.sent%60000+1))
	g.sent++
}

// check reads what the subscriber got.
func (g *guard) check() {
	g.t.Helper()
	for i := 0; i < g.sent; i++ {
		m := g.sub.expectPublish()
		if string(m.Payload) != strconv.Itoa(i) {
			g.t.Fatalf("guard: got message %q, want %d: a well-behaved client lost messages beside the attack", m.Payload, i)
		}
		g.sub.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
	}
}

// TestRobustMalformedAndEarlyPackets sends malformed, truncated and
// out-of-order packets, before and after CONNECT: each connection is closed
// (MQTT 5 with a reason where the protocol has one), the broker goes on.
func TestRobustMalformedAndEarlyPackets(t *testing.T) {
	addr := start(t)
	g := newGuard(t, addr)
	connect, _ := (&packet.Connect{ClientID: "bad", CleanStart: true, KeepAlive: 60}).AppendTo(nil, packet.V311)
	cases := []struct {
		name    string
		b       []byte
		connect bool // send CONNECT first
	}{
		{"publish before connect", []byte{0x30, 5, 0, 1, 't', 'h', 'i'}, false},
		{"pingreq before connect", []byte{0xC0, 0}, false},
		{"subscribe before connect", []byte{0x82, 6, 0, 1, 0, 1, '#', 0}, false},
		{"reserved type 0 first", []byte{0x00, 0}, false},
		{"connack from client", []byte{0x20, 2, 0, 0}, false},
		{"five-byte remaining length", []byte{0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F}, false},
		{"truncated connect then close", connect[:len(connect)-3], false},
		{"connect with bad protocol name", []byte{0x10, 10, 0, 4, 'M', 'Q', 'X', 'X', 4, 2, 0, 60}, false},
		{"second connect", connect, true},
		{"publish qos 3", []byte{0x36, 5, 0, 1, 't', 0, 1}, true},
		{"publish topic past body", []byte{0x30, 4, 0, 9, 't', 'x'}, true},
		{"publish with wildcard topic", []byte{0x30, 5, 0, 1, '#', 'x', 'y'}, true},
		{"publish empty topic no alias", []byte{0x30, 3, 0, 0, 'x'}, true},
		{"subscribe bad flags", []byte{0x80, 6, 0, 1, 0, 1, '#', 0}, true},
		{"subscribe no filters", []byte{0x82, 2, 0, 1}, true},
		{"subscribe bad qos", []byte{0x82, 6, 0, 1, 0, 1, '#', 3}, true},
		{"unsubscribe no filters", []byte{0xA2, 2, 0, 1}, true},
		{"pubrel bad flags", []byte{0x60, 2, 0, 1}, true},
		{"puback short", []byte{0x40, 1, 0}, true},
		{"pingreq with body", []byte{0xC0, 1, 0}, true},
		{"reserved type 15", []byte{0xF0, 0}, true},
		{"suback from client", []byte{0x90, 3, 0, 1, 0}, true},
		{"invalid utf-8 topic", []byte{0x30, 5, 0, 2, 0xC3, 0x28, 'x'}, true},
		{"nul in topic", []byte{0x30, 5, 0, 2, 'a', 0, 'x'}, true},
		{"truncated then close", []byte{0x30, 100, 0, 1, 't'}, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr, packet.V311)
			if tc.connect {
				c.connect(&packet.Connect{ClientID: "bad-" + strconv.Itoa(i), CleanStart: true, KeepAlive: 60})
			}
			c.sendRaw(tc.b)
			if tc.name == "truncated then close" || tc.name == "truncated connect then close" {
				c.nc.(*net.TCPConn).CloseWrite()
			}
			// A refused CONNECT may be answered before the close.
			if !tc.connect {
				if p, err := c.readErr(5 * time.Second); err == nil {
					if a, ok := p.(*packet.Connack); !ok || a.ReasonCode == 0 {
						t.Fatalf("got %v %+v, want a refusal or the close", p.Type(), p)
					}
				}
			}
			c.expectClosed()
			g.publish()
		})
	}
	g.check()
}

// TestRobustNeverReadingSubscriberUnderFlood floods a subscriber that never
// reads with QoS 0 and QoS 1 messages: it is cut off or loses QoS 0
// messages, the others lose nothing.
func TestRobustNeverReadingSubscriberUnderFlood(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) {
		o.MaxOutboundBytes = 1 << 20
		o.SlowClientGrace = 200 * time.Millisecond
	})
	g := newGuard(t, addr)
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		deaf, _ := conn(t, addr, v, "deaf-"+v.String(), true)
		deaf.subscribe(1, sub("flood/#", 1))
	}
	p, _ := conn(t, addr, packet.V311, "flooder", true)
	payload := bytes.Repeat([]byte("x"), 16<<10)
	n := soak(600, 20000)
	for i := 0; i < n; i++ {
		qos := byte(i % 2)
		b, _ := (&packet.Publish{Topic: []byte("flood/" + strconv.Itoa(i%7)), Payload: payload, QoS: qos, PacketID: uint16(i%60000 + 1)}).AppendTo(nil, packet.V311)
		p.sendRaw(b)
		if qos == 1 {
			p.expectAck(packet.PUBACK, uint16(i%60000+1))
		}
		if i%50 == 0 {
			g.publish()
		}
	}
	g.check()
}

// TestRobustConnectChurn connects and disconnects in a loop, half of the
// time without DISCONNECT and with a will: afterwards the broker's heap and
// goroutines are back where they were.
func TestRobustConnectChurn(t *testing.T) {
	s, addr := brokertest.StartServer(t)
	_ = s
	g := newGuard(t, addr)
	settle := func() (uint64, int) {
		var h uint64
		var n int
		for range 5 { // goroutines of closed connections end shortly after
			runtime.GC()
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			h, n = m.HeapInuse, runtime.NumGoroutine()
			time.Sleep(20 * time.Millisecond)
		}
		return h, n
	}
	heapBefore, gBefore := settle()
	cycles := soak(5000, 50000)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < cycles; i += 4 {
				nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					errs <- err
					return
				}
				cp := &packet.Connect{ClientID: fmt.Sprint("churn-", i), CleanStart: true, KeepAlive: 30}
				if i%2 == 1 {
					cp.WillFlag, cp.WillTopic, cp.WillPayload = true, "churn/will", []byte("x")
				}
				b, _ := cp.AppendTo(nil, packet.V311)
				if i%2 == 0 {
					b, _ = (&packet.Disconnect{}).AppendTo(b, packet.V311)
				}
				nc.SetDeadline(time.Now().Add(5 * time.Second))
				nc.Write(b)
				var ack [4]byte
				if _, err := io.ReadFull(nc, ack[:]); err != nil {
					errs <- fmt.Errorf("connect %d: %v", i, err)
					nc.Close()
					return
				}
				nc.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	g.publish()
	g.check()
	// Wait for the broker to see every close.
	deadline := time.Now().Add(10 * time.Second)
	for {
		heapAfter, gAfter := settle()
		grew := int64(heapAfter) - int64(heapBefore)
		if grew < 4<<20 && gAfter <= gBefore+2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d connections: heap grew by %d KiB, goroutines %d -> %d", cycles, grew>>10, gBefore, gAfter)
		}
	}
}

// TestRobustSlowloris opens many connections that send one byte of CONNECT
// and stall: every one is closed at the connect timeout, and the broker
// serves others meanwhile.
func TestRobustSlowloris(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.ConnectTimeout = time.Second })
	g := newGuard(t, addr)
	n := soak(1000, 5000)
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, nc)
		nc.Write([]byte{0x10})
		if i%100 == 0 {
			g.publish()
		}
	}
	g.check()
	var b [1]byte
	for i, nc := range conns {
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := nc.Read(b[:]); err == nil || (!errors.Is(err, io.EOF) && !isReset(err)) {
			t.Fatalf("connection %d: %v, want closed at the connect timeout", i, err)
		}
	}
}
