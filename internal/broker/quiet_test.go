package broker_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

// The tests here cover connections at the edges of how a new or quiet
// connection is served (on Linux by the event loop, which hands a connection
// over to a goroutine once it has something to do): a CONNECT that comes in
// pieces, with packets behind it, or larger than one read; quiet connections
// that time out, are taken over, or get more than their socket takes.

func TestConnectInPieces(t *testing.T) {
	addr := start(t)
	for _, v := range []packet.Version{packet.V31, packet.V311, packet.V5} {
		c := dial(t, addr, v)
		b, err := (&packet.Connect{ClientID: "pieces-" + v.String(), CleanStart: true, KeepAlive: 30}).AppendTo(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b {
			c.sendRaw(b[i : i+1])
			time.Sleep(2 * time.Millisecond)
		}
		if ack := expect[*packet.Connack](c); ack.ReasonCode != 0 {
			t.Fatalf("%v: CONNACK %v", v, ack.ReasonCode)
		}
		c.send(&packet.Pingreq{})
		expect[*packet.Pingresp](c)
	}
}

func TestConnectWithPacketsBehindIt(t *testing.T) {
	addr := start(t)
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		c := dial(t, addr, v)
		topic := "behind/" + v.String()
		var b []byte
		for _, p := range []packet.Packet{
			&packet.Connect{ClientID: "behind-" + v.String(), CleanStart: true, KeepAlive: 30},
			&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{sub(topic, 1)}},
			&packet.Publish{Topic: []byte(topic), Payload: []byte("to myself"), QoS: 1, PacketID: 2},
		} {
			var err error
			if b, err = p.AppendTo(b, v); err != nil {
				t.Fatal(err)
			}
		}
		c.sendRaw(b) // one write: the broker gets all three in one read
		expect[*packet.Connack](c)
		if sa := expect[*packet.Suback](c); sa.PacketID != 1 {
			t.Fatalf("%v: SUBACK id %d", v, sa.PacketID)
		}
		var got *packet.Publish
		for got == nil {
			switch p := c.read().(type) {
			case *packet.Publish:
				got = p
			case *packet.Ack:
				if p.PacketType != packet.PUBACK || p.PacketID != 2 {
					t.Fatalf("%v: got %v id %d", v, p.PacketType, p.PacketID)
				}
			default:
				t.Fatalf("%v: got %v", v, p.Type())
			}
		}
		if string(got.Topic) != topic || string(got.Payload) != "to myself" {
			t.Fatalf("%v: got %q %q", v, got.Topic, got.Payload)
		}
	}
}

// A CONNECT larger than a read buffer: a 60 KB will, sent in full when the
// client goes away without DISCONNECT.
func TestLargeConnect(t *testing.T) {
	addr := start(t)
	s, _ := conn(t, addr, packet.V311, "will-watcher", true)
	s.subscribe(1, sub("large/will", 0))
	payload := bytes.Repeat([]byte("0123456789"), 6_000)
	c := dial(t, addr, packet.V5)
	c.connect(&packet.Connect{ClientID: "large", CleanStart: true, KeepAlive: 30,
		WillFlag: true, WillTopic: "large/will", WillPayload: payload})
	c.nc.Close()
	if got := s.expectPublish(); !bytes.Equal(got.Payload, payload) {
		t.Fatalf("will payload of %d bytes, want the %d sent", len(got.Payload), len(payload))
	}
}

func TestNoConnectInTime(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.ConnectTimeout = 300 * time.Millisecond })
	for _, sent := range [][]byte{nil, {0x10, 0x20, 0x00}} { // nothing; a third of a CONNECT
		begin := time.Now() // before dialling: the broker's clock starts at accept
		c := dial(t, addr, packet.V311)
		if sent != nil {
			c.sendRaw(sent)
		}
		if rc := c.expectClosed(); rc != -1 {
			t.Fatalf("sent %x: DISCONNECT %#x before CONNECT", sent, rc)
		}
		if el := time.Since(begin); el < 250*time.Millisecond {
			t.Fatalf("sent %x: closed after %v, before the connect timeout", sent, el)
		}
	}
}

// A client silent after CONNACK is closed after 1.5 times its keep alive
// [MQTT-3.1.2-24], and its will is sent.
func TestQuietClientKeepAliveTimeout(t *testing.T) {
	addr := start(t)
	w, _ := conn(t, addr, packet.V311, "ka-watcher", true)
	w.subscribe(1, sub("ka/will", 0))
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		c := dial(t, addr, v)
		c.connect(&packet.Connect{ClientID: "quiet-" + v.String(), CleanStart: true, KeepAlive: 1,
			WillFlag: true, WillTopic: "ka/will", WillPayload: []byte(v.String())})
		begin := time.Now()
		rc := c.expectClosed()
		if el := time.Since(begin); el < 1400*time.Millisecond {
			t.Fatalf("%v: closed after %v, before 1.5 x keep alive", v, el)
		}
		if v == packet.V5 && rc != int(packet.KeepAliveTimeout) {
			t.Fatalf("%v: DISCONNECT %#x, want 0x8D", v, rc)
		}
		if got := w.expectPublish(); string(got.Payload) != v.String() {
			t.Fatalf("will %q, want %q", got.Payload, v.String())
		}
	}
}

// A quiet connection (nothing sent since CONNECT) is taken over like any.
func TestTakeoverOfQuietConnection_MQTT_3_1_4_3(t *testing.T) {
	addr := start(t)
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		id := "quiet-takeover-" + v.String()
		old, _ := conn(t, addr, v, id, false)
		nw, ack := conn(t, addr, v, id, false)
		if !ack.SessionPresent {
			t.Fatalf("%v: session present = false", v)
		}
		rc := old.expectClosed()
		if v == packet.V5 && rc != int(packet.SessionTakenOver) {
			t.Fatalf("%v: old connection DISCONNECT %#x, want 0x8E", v, rc)
		}
		nw.send(&packet.Pingreq{})
		expect[*packet.Pingresp](nw)
	}
}

// A resumed session's backlog is more than the socket buffer takes while
// the client reads nothing: the rest waits, and all of it arrives in order
// once the client reads.
func TestBacklogToQuietClient(t *testing.T) {
	const n = 3000
	addr := brokertest.Start(t, func(o *broker.Options) { o.MaxOfflineQueue = n })
	s, _ := conn(t, addr, packet.V311, "backlog", false)
	s.subscribe(1, sub("backlog/+", 1))
	s.disconnect()
	p, _ := conn(t, addr, packet.V311, "backlog-pub", true)
	body := bytes.Repeat([]byte{'x'}, 4000) // 12 MB in all: more than loopback socket buffers hold
	for i := range n {
		p.send(&packet.Publish{Topic: []byte("backlog/t"), Payload: fmt.Appendf(nil, "%05d%s", i, body), QoS: 1, PacketID: uint16(i%60000 + 1)})
		p.expectAck(packet.PUBACK, uint16(i%60000+1))
	}
	s, ack := conn(t, addr, packet.V311, "backlog", false)
	if !ack.SessionPresent {
		t.Fatal("session present = false")
	}
	time.Sleep(300 * time.Millisecond) // the broker fills the socket and waits
	for i := range n {
		m := s.expectPublish()
		if want := fmt.Sprintf("%05d", i); string(m.Payload[:5]) != want {
			t.Fatalf("message %d is %q, want %s", i, m.Payload[:5], want)
		}
		s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
	}
}

// Messages published to a client that has been quiet since CONNECT.
func TestDeliveryToQuietClient(t *testing.T) {
	addr := start(t)
	s, _ := conn(t, addr, packet.V5, "quiet-sub", false)
	s.subscribe(1, sub("quiet/#", 1))
	s.disconnect()
	time.Sleep(50 * time.Millisecond) // a resume, not a takeover
	s, _ = conn(t, addr, packet.V5, "quiet-sub", false)
	p, _ := conn(t, addr, packet.V311, "quiet-pub", true)
	for i, qos := range []byte{0, 1, 0, 1} {
		p.publish("quiet/t", fmt.Sprint(i), qos, false, uint16(i+1))
		m := s.expectPublish()
		if string(m.Payload) != fmt.Sprint(i) || m.QoS != qos {
			t.Fatalf("got %q QoS %d, want %d QoS %d", m.Payload, m.QoS, i, qos)
		}
		time.Sleep(2 * time.Millisecond) // each its own write, as light traffic goes
	}
}

// Many clients connecting at once, half of them for the same few client
// ids (takeovers while connecting), going away in every way: the broker
// stays consistent, and serves a fresh client afterwards. goleak (TestMain)
// and the race detector check what this cannot see.
func TestConnectChurn(t *testing.T) {
	addr := start(t)
	const workers, rounds = 8, 40
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			errs <- func() error {
				for i := range rounds {
					id := fmt.Sprintf("churn-%d-%d", w, i)
					if i%2 == 0 {
						id = fmt.Sprintf("churn-shared-%d", i%3)
					}
					v := []packet.Version{packet.V311, packet.V5}[i%2]
					nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
					if err != nil {
						return err
					}
					var b []byte
					b, _ = (&packet.Connect{ClientID: id, CleanStart: i%3 == 0, KeepAlive: 30,
						WillFlag: true, WillTopic: "churn/will", WillPayload: []byte(id)}).AppendTo(b, v)
					switch i % 4 {
					case 1: // a subscription behind CONNECT
						b, _ = (&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{sub("churn/#", 1)}}).AppendTo(b, v)
					case 2: // a message behind CONNECT
						b, _ = (&packet.Publish{Topic: []byte("churn/x"), Payload: []byte(id), QoS: 1, PacketID: 2}).AppendTo(b, v)
					case 3: // a clean goodbye
						b, _ = (&packet.Disconnect{}).AppendTo(b, v)
					}
					nc.SetDeadline(time.Now().Add(5 * time.Second))
					if _, err := nc.Write(b); err != nil {
						return err
					}
					if i%5 != 4 { // else: gone before CONNACK
						p, _, err := packet.ReadPacket(bufio.NewReader(nc), v, 0, nil)
						if err != nil {
							// A takeover by another worker may close it first.
							if !errors.Is(err, io.EOF) && !isReset(err) {
								return fmt.Errorf("%s: %w", id, err)
							}
						} else if p.Type() != packet.CONNACK {
							return fmt.Errorf("%s: first packet %v", id, p.Type())
						}
					}
					nc.Close()
				}
				return nil
			}()
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s, _ := conn(t, addr, packet.V5, "after-churn", true)
	s.subscribe(1, sub("after/churn", 1))
	p, _ := conn(t, addr, packet.V311, "after-churn-pub", true)
	p.publish("after/churn", "still here", 1, false, 1)
	if got := s.expectPublish(); string(got.Payload) != "still here" {
		t.Fatalf("got %q", got.Payload)
	}
}

// A listener closed by its owner ends Serve; the connections it accepted go
// on being served, including one that has not sent CONNECT yet.
func TestListenerClosedConnectionsGoOn(t *testing.T) {
	s := broker.New(broker.Options{NoEventLoop: os.Getenv("MQTTX_TEST_NO_EVENT_LOOP") == "1"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	addr := ln.Addr().String()
	quiet, _ := conn(t, addr, packet.V311, "before-close", true)
	early := dial(t, addr, packet.V5)
	time.Sleep(50 * time.Millisecond) // both accepted
	ln.Close()
	select {
	case err := <-served:
		if err == nil || errors.Is(err, broker.ErrServerClosed) {
			t.Fatalf("Serve returned %v, want the listener's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still running 5s after its listener closed")
	}
	if ack := early.connect(&packet.Connect{ClientID: "connect-after-close", CleanStart: true}); ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %v", ack.ReasonCode)
	}
	early.subscribe(1, sub("after/close", 0))
	quiet.publish("after/close", "still served", 0, false, 0)
	if got := early.expectPublish(); string(got.Payload) != "still served" {
		t.Fatalf("got %q", got.Payload)
	}
}

// TestKeepAliveExactly_MQTT_3_1_2_24 checks the keep alive bound is one and a
// half times the keep alive, not more: a client with keep alive 1 that
// sends a PINGREQ after 1.1 s and then nothing is closed (and its will sent)
// 1.5 s after that PINGREQ, before a marker published 2 s after it.
func TestKeepAliveExactly_MQTT_3_1_2_24(t *testing.T) {
	addr := start(t)
	w, _ := conn(t, addr, packet.V311, "exact-watcher", true)
	w.subscribe(1, sub("exact/#", 0))
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		c := dial(t, addr, v)
		c.connect(&packet.Connect{ClientID: "exact-" + v.String(), CleanStart: true, KeepAlive: 1,
			WillFlag: true, WillTopic: "exact/will", WillPayload: []byte(v.String())})
		time.Sleep(1100 * time.Millisecond) // the client's own pace
		c.send(&packet.Pingreq{})
		expect[*packet.Pingresp](c)
		ping := time.Now()
		p, _ := conn(t, addr, packet.V311, "exact-marker", true)
		time.Sleep(time.Until(ping.Add(2 * time.Second)))
		p.publish("exact/marker", "", 0, false, 0)
		if got := w.expectPublish(); string(got.Topic) != "exact/will" {
			t.Fatalf("%v: got %s first: the keep alive timeout came 2 s or more after the last packet", v, got.Topic)
		}
		if got := w.expectPublish(); string(got.Topic) != "exact/marker" {
			t.Fatalf("%v: got %s, want the marker", v, got.Topic)
		}
		c.expectClosed()
	}
}
