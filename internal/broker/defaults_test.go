package broker_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

// TestDefaultMaxPacketSize checks the default limit of 1 MiB on packets from
// clients, told in CONNACK [MQTT-3.2.2-15] and enforced with 0x95.
func TestDefaultMaxPacketSize(t *testing.T) {
	addr := start(t)
	c := dial(t, addr, packet.V5)
	ack := c.connect(&packet.Connect{ClientID: "big", CleanStart: true})
	if ack.Properties.MaximumPacketSize != 1<<20 {
		t.Fatalf("CONNACK Maximum Packet Size %d, want 1 MiB", ack.Properties.MaximumPacketSize)
	}
	c.send(&packet.Publish{Topic: []byte("t"), Payload: bytes.Repeat([]byte("x"), 1<<20)})
	if rc := c.expectClosed(); rc != int(packet.PacketTooLarge) {
		t.Fatalf("DISCONNECT %#x, want 0x95", rc)
	}
}

// deepTopic returns a topic of n levels.
func deepTopic(n int) string { return strings.Repeat("a/", n-1) + "a" }

// TestTopicLevelsLimited refuses subscriptions and publishes deeper than the
// default 128 levels: each level costs the broker a node of its topic tree.
func TestTopicLevelsLimited(t *testing.T) {
	addr := start(t)
	s, _ := conn(t, addr, packet.V5, "deep", true)
	s.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{sub(deepTopic(128), 0), sub(deepTopic(129), 0), sub(deepTopic(10000), 0)}})
	sa := expect[*packet.Suback](s)
	want := []packet.ReasonCode{0, packet.TopicFilterInvalid, packet.TopicFilterInvalid}
	for i, rc := range sa.ReasonCodes {
		if rc != want[i] {
			t.Fatalf("SUBACK %v, want %v", sa.ReasonCodes, want)
		}
	}
	p, _ := conn(t, addr, packet.V5, "deep-pub", true)
	p.send(&packet.Publish{Topic: []byte(deepTopic(129)), Payload: []byte("x"), QoS: 1, PacketID: 1})
	if a := p.expectAck(packet.PUBACK, 1); a.ReasonCode != packet.TopicNameInvalid {
		t.Fatalf("PUBACK %v for a 129-level topic, want 0x90", a.ReasonCode)
	}
	p.publish(deepTopic(128), "ok", 1, false, 2)
	if m := s.expectPublish(); string(m.Topic) != deepTopic(128) {
		t.Fatalf("got %.20q", m.Topic)
	}
}

// TestSubscriptionsPerClientLimited refuses a client's subscriptions beyond
// the default 1,000 with 0x97 Quota exceeded (0x80 for MQTT 3.1.1); those
// it has stay.
func TestSubscriptionsPerClientLimited(t *testing.T) {
	addr := start(t)
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		c, _ := conn(t, addr, v, "many-"+v.String(), true)
		var subs []packet.Subscription
		for i := 0; i < 1001; i++ {
			subs = append(subs, sub("s/"+strconv.Itoa(i), 0))
		}
		c.send(&packet.Subscribe{PacketID: 1, Subscriptions: subs})
		sa := expect[*packet.Suback](c)
		if sa.ReasonCodes[999] != 0 || sa.ReasonCodes[1000] < 0x80 {
			t.Fatalf("%v: SUBACK codes 999 and 1000: %v %v, want granted and refused", v, sa.ReasonCodes[999], sa.ReasonCodes[1000])
		}
		if v == packet.V5 && sa.ReasonCodes[1000] != packet.QuotaExceeded {
			t.Fatalf("v5 SUBACK %v, want 0x97", sa.ReasonCodes[1000])
		}
		// Subscribing again to a filter it has is no new subscription.
		if rc := c.subscribe(2, sub("s/5", 1)).ReasonCodes[0]; rc != 1 {
			t.Fatalf("%v: resubscribing got %v, want QoS 1", v, rc)
		}
	}
}

// TestConnectBytesBounded declares a 20 MiB CONNECT with the packet size
// limit lifted: more than all unauthenticated connections may have in
// flight together (16 MiB by default), so it is refused at once instead of
// waiting, with its buffer, for the bytes to come.
func TestConnectBytesBounded(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) {
		o.MaxPacketSize = packet.MaxPacketSize
		o.ConnectTimeout = time.Minute
	})
	c := dial(t, addr, packet.V311)
	b := append([]byte{byte(packet.CONNECT) << 4}, packet.AppendVarInt(nil, 20<<20)...)
	c.sendRaw(append(b, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60))
	if rc := c.expectClosed(); rc != -1 {
		t.Fatalf("DISCONNECT %#x before CONNECT", rc)
	}
	// A CONNECT within the limit still connects.
	conn(t, addr, packet.V5, "after", true)
}

// TestConnectTimeoutFromAccept trickles a CONNECT: its first byte comes
// after 60% of the connect timeout, the rest after the timeout. The
// deadline counts from accept, not from the first byte, so no CONNACK.
func TestConnectTimeoutFromAccept(t *testing.T) {
	const timeout = time.Second
	addr := brokertest.Start(t, func(o *broker.Options) { o.ConnectTimeout = timeout })
	begin := time.Now()
	c := dial(t, addr, packet.V311)
	b, _ := (&packet.Connect{ClientID: "trickle", CleanStart: true}).AppendTo(nil, packet.V311)
	time.Sleep(time.Until(begin.Add(timeout * 6 / 10)))
	c.sendRaw(b[:1])
	time.Sleep(time.Until(begin.Add(timeout * 13 / 10)))
	c.nc.Write(b[1:]) // may fail: the broker closed
	if rc := c.expectClosed(); rc != -1 {
		t.Fatalf("DISCONNECT %#x", rc)
	}
}
