package broker_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

func TestQoSDowngradeAndAcks_MQTT_3_8_4_6(t *testing.T) {
	addr := start(t)
	for _, v := range []packet.Version{packet.V31, packet.V311, packet.V5} {
		for subQoS := byte(0); subQoS <= 2; subQoS++ {
			for pubQoS := byte(0); pubQoS <= 2; pubQoS++ {
				name := fmt.Sprintf("%v sub%d pub%d", v, subQoS, pubQoS)
				s, _ := conn(t, addr, v, "s", true)
				sa := s.subscribe(7, sub("q/x", subQoS))
				if sa.ReasonCodes[0] != packet.ReasonCode(subQoS) {
					t.Fatalf("%s: granted %v", name, sa.ReasonCodes)
				}
				p, _ := conn(t, addr, v, "p", true)
				p.publish("q/x", name, pubQoS, false, 100)
				got := s.expectPublish()
				want := min(subQoS, pubQoS)
				if got.QoS != want || string(got.Payload) != name || string(got.Topic) != "q/x" || got.Retain || got.Dup {
					t.Fatalf("%s: got qos %d %q retain %v dup %v", name, got.QoS, got.Payload, got.Retain, got.Dup)
				}
				if want > 0 {
					s.acknowledge(got)
				}
				s.send(&packet.Pingreq{})
				expect[*packet.Pingresp](s)
				s.disconnect()
				p.disconnect()
			}
		}
	}
}

func TestWildcardsAndDollarTopics_MQTT_4_7_2_1(t *testing.T) {
	addr := start(t)
	s, _ := conn(t, addr, packet.V311, "s", true)
	s.subscribe(1, sub("#", 0), sub("+/status", 0))
	p, _ := conn(t, addr, packet.V311, "p", true)
	p.publish("$SYS/status", "hidden", 0, false, 0)
	p.publish("home/status", "seen", 0, false, 0)
	got := s.expectPublish()
	if string(got.Payload) != "seen" {
		t.Fatalf("got %q first: a $ topic matched a first-level wildcard", got.Payload)
	}
	// Overlapping "#" and "+/status": delivered once [MQTT-3.3.4-2].
	s.expectNothing(200 * time.Millisecond)
}

func TestOverlappingSubscriptionsHighestQoSAndAllIdentifiers_MQTT_3_3_4_2(t *testing.T) {
	addr := start(t)
	s := dial(t, addr, packet.V5)
	s.connect(&packet.Connect{ClientID: "s", CleanStart: true})
	sp := &packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{sub("a/+", 0)}}
	sp.Properties.SubscriptionIDs = []uint32{11}
	s.send(sp)
	expect[*packet.Suback](s)
	sp = &packet.Subscribe{PacketID: 2, Subscriptions: []packet.Subscription{sub("a/#", 2)}}
	sp.Properties.SubscriptionIDs = []uint32{22}
	s.send(sp)
	expect[*packet.Suback](s)
	p, _ := conn(t, addr, packet.V5, "p", true)
	p.publish("a/b", "x", 2, false, 5)
	got := s.expectPublish()
	ids := slices.Clone(got.Properties.SubscriptionIDs)
	slices.Sort(ids)
	if got.QoS != 2 || !slices.Equal(ids, []uint32{11, 22}) {
		t.Fatalf("qos %d ids %v, want 2 [11 22]", got.QoS, ids)
	}
	s.expectNothing(200 * time.Millisecond)
}

func TestSharedSubscriptionRoundRobin_MQTT_4_8_2(t *testing.T) {
	addr := start(t)
	a, _ := conn(t, addr, packet.V5, "a", true)
	b, _ := conn(t, addr, packet.V311, "b", true)
	a.subscribe(1, sub("$share/g/work/+", 1))
	b.subscribe(1, sub("$share/g/work/+", 1))
	p, _ := conn(t, addr, packet.V5, "p", true)
	for i := range 4 {
		p.publish("work/x", fmt.Sprint(i), 1, false, uint16(i+1))
	}
	var gotA, gotB []string
	for range 2 {
		m := a.expectPublish()
		a.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
		gotA = append(gotA, string(m.Payload))
		m = b.expectPublish()
		b.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
		gotB = append(gotB, string(m.Payload))
	}
	all := append(slices.Clone(gotA), gotB...)
	slices.Sort(all)
	if !slices.Equal(all, []string{"0", "1", "2", "3"}) {
		t.Fatalf("a got %v, b got %v", gotA, gotB)
	}
	a.expectNothing(100 * time.Millisecond)
	b.expectNothing(100 * time.Millisecond)
}

func TestRetained(t *testing.T) {
	addr := start(t)
	p, _ := conn(t, addr, packet.V311, "p", true)
	p.publish("r/1", "old", 1, true, 1)
	p.publish("r/1", "new", 1, true, 2)
	p.publish("r/2", "two", 0, true, 0)
	p.publish("r/3", "gone", 0, true, 0)
	p.publish("r/3", "", 0, true, 0) // [MQTT-3.3.1-10] deletes

	t.Run("retained flag set for new subscriptions MQTT-3.3.1-6", func(t *testing.T) {
		s, _ := conn(t, addr, packet.V311, "s1", true)
		s.subscribe(1, sub("r/#", 1))
		got := map[string]string{}
		for range 2 {
			m := s.expectPublish()
			if !m.Retain {
				t.Fatalf("retained message %q delivered without the retain flag", m.Topic)
			}
			if m.QoS == 1 {
				s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
			}
			got[string(m.Topic)] = string(m.Payload)
		}
		if got["r/1"] != "new" || got["r/2"] != "two" {
			t.Fatalf("retained = %v, want last only", got)
		}
		s.expectNothing(200 * time.Millisecond)
		// A live message on the subscription: retain 0 for v3 [MQTT-3.3.1-9].
		p.publish("r/2", "live", 0, true, 0)
		if m := s.expectPublish(); m.Retain || string(m.Payload) != "live" {
			t.Fatalf("live: retain %v payload %q", m.Retain, m.Payload)
		}
	})
	t.Run("retain handling MQTT-3.3.1-9..11", func(t *testing.T) {
		s, _ := conn(t, addr, packet.V5, "s2", true)
		s.subscribe(1, packet.Subscription{Filter: "r/1", RetainHandling: 2})
		s.expectNothing(150 * time.Millisecond)
		s.subscribe(2, packet.Subscription{Filter: "r/2", RetainHandling: 1})
		if m := s.expectPublish(); string(m.Payload) != "live" {
			t.Fatalf("rh=1 new: %q", m.Payload)
		}
		s.subscribe(3, packet.Subscription{Filter: "r/2", RetainHandling: 1})
		s.expectNothing(150 * time.Millisecond)
		s.subscribe(4, packet.Subscription{Filter: "r/2", RetainHandling: 0})
		if m := s.expectPublish(); string(m.Payload) != "live" || !m.Retain {
			t.Fatalf("rh=0 existing: %q retain %v", m.Payload, m.Retain)
		}
	})
	t.Run("retain as published MQTT-3.3.1-12", func(t *testing.T) {
		s, _ := conn(t, addr, packet.V5, "s3", true)
		s.subscribe(1, packet.Subscription{Filter: "rap/a", RetainAsPublished: true, RetainHandling: 2})
		s.subscribe(2, packet.Subscription{Filter: "rap/b", RetainHandling: 2})
		p.publish("rap/a", "1", 0, true, 0)
		if m := s.expectPublish(); !m.Retain {
			t.Fatal("retain as published: flag cleared")
		}
		p.publish("rap/b", "2", 0, true, 0)
		if m := s.expectPublish(); m.Retain {
			t.Fatal("without retain as published: flag kept")
		}
	})
	t.Run("shared subscriptions get no retained messages", func(t *testing.T) {
		s, _ := conn(t, addr, packet.V5, "s4", true)
		s.subscribe(1, sub("$share/g/r/#", 1))
		s.expectNothing(150 * time.Millisecond)
	})
}

// TestPacketIdentifiersIndependent checks that a resumed session's
// SUBSCRIBE whose packet identifier equals one of the server's outbound
// QoS 1 identifiers is accepted: the two directions are independent.
func TestPacketIdentifiersIndependent_MQTT_2_2_1(t *testing.T) {
	addr := start(t)
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		id := "indep-" + v.String()
		s, _ := conn(t, addr, v, id, false)
		s.subscribe(1, sub("ind/x", 1))
		s.disconnect()
		time.Sleep(50 * time.Millisecond)
		p, _ := conn(t, addr, v, "pub-"+id, true)
		p.publish("ind/x", "m1", 1, false, 1)
		p.publish("ind/x", "m2", 1, false, 2)
		s, _ = conn(t, addr, v, id, false)
		m1 := s.expectPublish()
		m2 := s.expectPublish()
		if string(m1.Payload) != "m1" || string(m2.Payload) != "m2" {
			t.Fatalf("%v: order %q %q", v, m1.Payload, m2.Payload)
		}
		// Subscribe again with the identifier the server used, unacked.
		sa := s.subscribe(m1.PacketID, sub("ind/y", 1))
		if sa.ReasonCodes[0] != packet.GrantedQoS1 {
			t.Fatalf("%v: SUBACK %v for a reused packet id", v, sa.ReasonCodes)
		}
		// Also publish with the same id: PUBACK, not a collision.
		s.send(&packet.Publish{Topic: []byte("ind/y"), Payload: []byte("own"), QoS: 1, PacketID: m2.PacketID})
		var m *packet.Publish
		gotAck := false
		for range 2 {
			switch x := s.read().(type) {
			case *packet.Ack:
				if x.PacketType != packet.PUBACK || x.PacketID != m2.PacketID {
					t.Fatalf("%v: got %v %d", v, x.PacketType, x.PacketID)
				}
				gotAck = true
			case *packet.Publish:
				m = x
			default:
				t.Fatalf("%v: got %v", v, x.Type())
			}
		}
		if !gotAck || m == nil || string(m.Payload) != "own" {
			t.Fatalf("%v: ack %v message %v", v, gotAck, m)
		}
		s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m1.PacketID})
		s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m2.PacketID})
		s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
		s.disconnect()
		p.disconnect()
	}
}

func TestOfflineQueueInOrderAndBounded(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.MaxOfflineQueue = 50 })
	s, _ := conn(t, addr, packet.V311, "off", false)
	s.subscribe(1, sub("o/#", 2))
	s.disconnect()
	time.Sleep(50 * time.Millisecond)
	p, _ := conn(t, addr, packet.V5, "p", true)
	for i := range 60 {
		p.publish("o/t", fmt.Sprint(i), byte(1+i%2), false, uint16(i+1))
	}
	p.publish("o/t", "qos0 not queued", 0, false, 0)
	s, ack := conn(t, addr, packet.V311, "off", false)
	if !ack.SessionPresent {
		t.Fatal("session not present")
	}
	var qos2 []uint16
	for i := range 50 {
		m := s.expectPublish()
		if string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d: got %q: offline queue out of order", i, m.Payload)
		}
		if s.receive(m) {
			qos2 = append(qos2, m.PacketID)
		}
	}
	// The 10 beyond MaxOfflineQueue were dropped, so only PUBRELs follow.
	s.complete(qos2...)
	s.expectNothing(200 * time.Millisecond)
}

func TestRedeliveryWithDupInOrder_MQTT_4_4_0_1(t *testing.T) {
	addr := start(t)
	s, _ := conn(t, addr, packet.V5, "re", false)
	s.subscribe(1, sub("d/#", 2))
	p, _ := conn(t, addr, packet.V5, "p", true)
	p.publish("d/1", "a", 1, false, 1)
	p.publish("d/2", "b", 2, false, 2)
	p.publish("d/3", "c", 2, false, 3)
	a := s.expectPublish()
	b := s.expectPublish()
	c := s.expectPublish()
	// Complete nothing for a; PUBREC b (PUBREL state); nothing for c.
	s.send(&packet.Ack{PacketType: packet.PUBREC, PacketID: b.PacketID})
	s.expectAck(packet.PUBREL, b.PacketID)
	s.nc.Close()
	time.Sleep(50 * time.Millisecond)
	s, _ = conn(t, addr, packet.V5, "re", false)
	ra := s.expectPublish()
	if !ra.Dup || ra.PacketID != a.PacketID || string(ra.Payload) != "a" {
		t.Fatalf("first resend: dup %v id %d %q", ra.Dup, ra.PacketID, ra.Payload)
	}
	s.expectAck(packet.PUBREL, b.PacketID)
	rc := s.expectPublish()
	if !rc.Dup || rc.PacketID != c.PacketID || string(rc.Payload) != "c" {
		t.Fatalf("third resend: dup %v id %d %q", rc.Dup, rc.PacketID, rc.Payload)
	}
	s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: a.PacketID})
	s.send(&packet.Ack{PacketType: packet.PUBCOMP, PacketID: b.PacketID})
	s.send(&packet.Ack{PacketType: packet.PUBREC, PacketID: c.PacketID})
	s.expectAck(packet.PUBREL, c.PacketID)
	s.send(&packet.Ack{PacketType: packet.PUBCOMP, PacketID: c.PacketID})
	s.expectNothing(150 * time.Millisecond)
}

func TestInboundQoS2ExactlyOnce_MQTT_4_3_3_9(t *testing.T) {
	addr := start(t)
	s, _ := conn(t, addr, packet.V311, "s", true)
	s.subscribe(1, sub("eo", 0))
	p, _ := conn(t, addr, packet.V311, "p", false)
	p.send(&packet.Publish{Topic: []byte("eo"), Payload: []byte("once"), QoS: 2, PacketID: 9})
	p.expectAck(packet.PUBREC, 9)
	p.send(&packet.Publish{Topic: []byte("eo"), Payload: []byte("once"), QoS: 2, PacketID: 9, Dup: true})
	p.expectAck(packet.PUBREC, 9)
	// Across a reconnect, the identifier is still held until PUBREL.
	p.nc.Close()
	time.Sleep(50 * time.Millisecond)
	p, _ = conn(t, addr, packet.V311, "p", false)
	p.send(&packet.Publish{Topic: []byte("eo"), Payload: []byte("once"), QoS: 2, PacketID: 9, Dup: true})
	p.expectAck(packet.PUBREC, 9)
	p.send(&packet.Ack{PacketType: packet.PUBREL, PacketID: 9})
	p.expectAck(packet.PUBCOMP, 9)
	if m := s.expectPublish(); string(m.Payload) != "once" {
		t.Fatalf("got %q", m.Payload)
	}
	s.expectNothing(200 * time.Millisecond)
}

func TestReceiveMaximumOutbound_MQTT_3_3_4_9(t *testing.T) {
	addr := start(t)
	s := dial(t, addr, packet.V5)
	cp := &packet.Connect{ClientID: "rm", CleanStart: true}
	cp.Properties.SetReceiveMaximum(2)
	s.connect(cp)
	s.subscribe(1, sub("rm", 1))
	p, _ := conn(t, addr, packet.V5, "p", true)
	for i := range 5 {
		p.publish("rm", fmt.Sprint(i), 1, false, uint16(i+1))
	}
	m0 := s.expectPublish()
	m1 := s.expectPublish()
	s.expectNothing(200 * time.Millisecond)
	s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m0.PacketID})
	m2 := s.expectPublish()
	s.expectNothing(100 * time.Millisecond)
	s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m1.PacketID})
	s.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m2.PacketID})
	m3 := s.expectPublish()
	m4 := s.expectPublish()
	got := []string{string(m0.Payload), string(m1.Payload), string(m2.Payload), string(m3.Payload), string(m4.Payload)}
	if !slices.Equal(got, []string{"0", "1", "2", "3", "4"}) {
		t.Fatalf("order %v", got)
	}
}

func TestReceiveMaximumInboundExceeded_MQTT_3_3_4_8(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.MaxInflight = 2 })
	c := dial(t, addr, packet.V5)
	ack := c.connect(&packet.Connect{ClientID: "x", CleanStart: true})
	if ack.Properties.ReceiveMaximum != 2 {
		t.Fatalf("CONNACK Receive Maximum %d, want 2", ack.Properties.ReceiveMaximum)
	}
	for i := uint16(1); i <= 2; i++ {
		c.send(&packet.Publish{Topic: []byte("t"), QoS: 2, PacketID: i})
		c.expectAck(packet.PUBREC, i)
	}
	c.send(&packet.Publish{Topic: []byte("t"), QoS: 2, PacketID: 3})
	if rc := c.expectClosed(); rc != int(packet.ReceiveMaximumExceeded) {
		t.Fatalf("DISCONNECT %#x, want 0x93", rc)
	}
}

func TestTopicAliasInbound_MQTT_3_3_2_12(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.TopicAliasMaximum = 5 })
	s, _ := conn(t, addr, packet.V311, "s", true)
	s.subscribe(1, sub("alias/#", 0))
	p := dial(t, addr, packet.V5)
	ack := p.connect(&packet.Connect{ClientID: "p", CleanStart: true})
	if ack.Properties.TopicAliasMaximum != 5 {
		t.Fatalf("Topic Alias Maximum %d", ack.Properties.TopicAliasMaximum)
	}
	pub := &packet.Publish{Topic: []byte("alias/long/name"), Payload: []byte("1")}
	pub.Properties.SetTopicAlias(3)
	p.send(pub)
	pub = &packet.Publish{Payload: []byte("2")}
	pub.Properties.SetTopicAlias(3)
	p.send(pub)
	for _, want := range []string{"1", "2"} {
		m := s.expectPublish()
		if string(m.Topic) != "alias/long/name" || string(m.Payload) != want {
			t.Fatalf("got %q %q", m.Topic, m.Payload)
		}
	}
	pub = &packet.Publish{Topic: []byte("alias/x")}
	pub.Properties.SetTopicAlias(6)
	p.send(pub)
	if rc := p.expectClosed(); rc != int(packet.TopicAliasInvalid) {
		t.Fatalf("DISCONNECT %#x, want 0x94", rc)
	}
}

func TestClientMaximumPacketSizeRespected_MQTT_3_1_2_25(t *testing.T) {
	addr := start(t)
	s := dial(t, addr, packet.V5)
	cp := &packet.Connect{ClientID: "small", CleanStart: true}
	cp.Properties.SetMaximumPacketSize(64)
	s.connect(cp)
	s.subscribe(1, sub("mp", 1))
	p, _ := conn(t, addr, packet.V5, "p", true)
	p.publish("mp", strings.Repeat("x", 100), 1, false, 1)
	p.publish("mp", "small", 1, false, 2)
	m := s.expectPublish()
	if string(m.Payload) != "small" {
		t.Fatalf("got %d bytes, want the small message only", len(m.Payload))
	}
}

func TestPayloadFormatInvalid_MQTT_3_3_2_4(t *testing.T) {
	addr := start(t)
	p, _ := conn(t, addr, packet.V5, "p", true)
	pub := &packet.Publish{Topic: []byte("pf"), Payload: []byte{0xff, 0xfe}, QoS: 1, PacketID: 1}
	pub.Properties.SetPayloadFormat(1)
	p.send(pub)
	if a := p.expectAck(packet.PUBACK, 1); a.ReasonCode != packet.PayloadFormatInvalid {
		t.Fatalf("PUBACK %v, want 0x99", a.ReasonCode)
	}
	pub = &packet.Publish{Topic: []byte("pf"), Payload: []byte{0xff}}
	pub.Properties.SetPayloadFormat(1)
	p.send(pub)
	if rc := p.expectClosed(); rc != int(packet.PayloadFormatInvalid) {
		t.Fatalf("DISCONNECT %#x, want 0x99", rc)
	}
}

func TestNoLocal_MQTT_3_8_3_3(t *testing.T) {
	addr := start(t)
	c, _ := conn(t, addr, packet.V5, "nl", true)
	c.subscribe(1, packet.Subscription{Filter: "nl/a", NoLocal: true}, packet.Subscription{Filter: "nl/b"})
	c.publish("nl/a", "own", 0, false, 0)
	c.publish("nl/b", "echo", 0, false, 0)
	if m := c.expectPublish(); string(m.Topic) != "nl/b" {
		t.Fatalf("no local: got own message on %q", m.Topic)
	}
	c.expectNothing(100 * time.Millisecond)
	// No Local on a shared subscription is a protocol error [MQTT-3.8.3-4].
	c.send(&packet.Subscribe{PacketID: 2, Subscriptions: []packet.Subscription{{Filter: "$share/g/x", NoLocal: true}}})
	if rc := c.expectClosed(); rc != int(packet.ProtocolError) {
		t.Fatalf("DISCONNECT %#x, want 0x82", rc)
	}
}

func TestPropertiesForwarded_MQTT_3_3_2_17(t *testing.T) {
	addr := start(t)
	s5, _ := conn(t, addr, packet.V5, "s5", true)
	s5.subscribe(1, sub("props", 1))
	s3, _ := conn(t, addr, packet.V311, "s3", true)
	s3.subscribe(1, sub("props", 1))
	p, _ := conn(t, addr, packet.V5, "p", true)
	pub := &packet.Publish{Topic: []byte("props"), Payload: []byte("{}"), QoS: 1, PacketID: 1}
	pub.Properties.SetPayloadFormat(1)
	pub.Properties.SetContentType([]byte("application/json"))
	pub.Properties.SetResponseTopic([]byte("reply/here"))
	pub.Properties.SetCorrelationData([]byte{1, 2, 3})
	pub.Properties.SetMessageExpiry(3600)
	pub.Properties.User = []packet.UserProperty{{Key: []byte("k"), Value: []byte("2")}, {Key: []byte("a"), Value: []byte("1")}, {Key: []byte("k"), Value: []byte("1")}}
	p.send(pub)
	p.expectAck(packet.PUBACK, 1)
	m := s5.expectPublish()
	pr := &m.Properties
	if pr.PayloadFormat != 1 || string(pr.ContentType) != "application/json" || string(pr.ResponseTopic) != "reply/here" ||
		string(pr.CorrelationData) != "\x01\x02\x03" || !pr.Has(packet.PropMessageExpiryInterval) || pr.MessageExpiry > 3600 || pr.MessageExpiry < 3598 {
		t.Fatalf("properties not forwarded: %+v", pr)
	}
	var users []string
	for _, u := range pr.User {
		users = append(users, string(u.Key)+"="+string(u.Value))
	}
	if !slices.Equal(users, []string{"k=2", "a=1", "k=1"}) {
		t.Fatalf("user properties %v, want in order", users)
	}
	// v5 -> v3: the message arrives without properties.
	m3 := s3.expectPublish()
	if string(m3.Payload) != "{}" || m3.QoS != 1 {
		t.Fatalf("v3 subscriber got %+v", m3)
	}
}

func TestMessageExpiry_MQTT_3_3_2_5(t *testing.T) {
	addr := start(t)
	s, _ := conn(t, addr, packet.V5, "exp", false)
	s.subscribe(1, sub("e", 1))
	s.disconnect()
	time.Sleep(50 * time.Millisecond)
	p, _ := conn(t, addr, packet.V5, "p", true)
	pub := &packet.Publish{Topic: []byte("e"), Payload: []byte("short"), QoS: 1, PacketID: 1}
	pub.Properties.SetMessageExpiry(1)
	p.send(pub)
	p.expectAck(packet.PUBACK, 1)
	pub = &packet.Publish{Topic: []byte("e"), Payload: []byte("long"), QoS: 1, PacketID: 2}
	pub.Properties.SetMessageExpiry(100)
	p.send(pub)
	p.expectAck(packet.PUBACK, 2)
	time.Sleep(1100 * time.Millisecond)
	s, _ = conn(t, addr, packet.V5, "exp", false)
	m := s.expectPublish()
	if string(m.Payload) != "long" {
		t.Fatalf("got %q: expired message delivered", m.Payload)
	}
	if m.Properties.MessageExpiry >= 100 || m.Properties.MessageExpiry < 97 {
		t.Fatalf("remaining expiry %d, want below 100", m.Properties.MessageExpiry)
	}
}

func TestRequestResponseInformation(t *testing.T) {
	addr := start(t)
	c := dial(t, addr, packet.V5)
	cp := &packet.Connect{ClientID: "rr", CleanStart: true}
	cp.Properties.SetRequestResponseInfo(1)
	ack := c.connect(cp)
	if len(ack.Properties.ResponseInfo) == 0 {
		t.Fatal("no Response Information")
	}
	c2 := dial(t, addr, packet.V5)
	ack = c2.connect(&packet.Connect{ClientID: "rr2", CleanStart: true})
	if ack.Properties.Has(packet.PropResponseInformation) {
		t.Fatal("Response Information sent unasked [MQTT-3.1.2-28]")
	}
}

func TestUnsubscribe(t *testing.T) {
	addr := start(t)
	c, _ := conn(t, addr, packet.V5, "u", true)
	c.subscribe(1, sub("u/1", 0))
	c.send(&packet.Unsubscribe{PacketID: 2, Filters: []string{"u/1", "u/none"}})
	ua := expect[*packet.Unsuback](c)
	if !slices.Equal(ua.ReasonCodes, []packet.ReasonCode{packet.Success, packet.NoSubscriptionExisted}) {
		t.Fatalf("UNSUBACK %v", ua.ReasonCodes)
	}
	c.publish("u/1", "x", 0, false, 0)
	c.expectNothing(150 * time.Millisecond)
}

func TestInvalidFilterRefused(t *testing.T) {
	addr := start(t)
	c, _ := conn(t, addr, packet.V311, "f", true)
	c.send(&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{sub("ok/+", 0)}})
	expect[*packet.Suback](c)
	c5, _ := conn(t, addr, packet.V5, "f5", true)
	// "a/#/b" is invalid; encoded raw because the encoder refuses it.
	c5.sendRaw([]byte{0x82, 11, 0, 1, 0, 0, 5, 'a', '/', '#', '/', 'b', 0})
	if p, err := c5.readErr(2 * time.Second); err == nil {
		if sa, ok := p.(*packet.Suback); ok && sa.ReasonCodes[0] != packet.TopicFilterInvalid {
			t.Fatalf("SUBACK %v, want 0x8F", sa.ReasonCodes)
		}
	}
}

// TestOfflineMessagesOlderThanMaxAgeDropped checks that QoS 1/2 messages
// queued for an offline session longer than MaxOfflineAge are dropped, and
// counted, when the client comes back, and that younger ones are sent.
func TestOfflineMessagesOlderThanMaxAgeDropped(t *testing.T) {
	const age = 300 * time.Millisecond
	events := make(chan broker.Event, 64)
	srv, addr := brokertest.StartServer(t, func(o *broker.Options) {
		o.MaxOfflineAge = age
		o.OnEvent = func(e broker.Event) {
			select {
			case events <- e:
			default:
			}
		}
	})
	for _, v := range []packet.Version{packet.V311, packet.V5} {
		id := fmt.Sprintf("aged-%d", v)
		s, _ := conn(t, addr, v, id, false)
		s.subscribe(1, sub(id+"/#", 2))
		s.disconnect()
		waitEvent(t, events, broker.EventDisconnected, id)
		dropped := srv.DroppedMessages()

		p, _ := conn(t, addr, packet.V5, "p", true)
		p.publish(id+"/1", "old1", 1, false, 1)
		p.publish(id+"/2", "old2", 2, false, 2)
		queuedOld := time.Now()
		for time.Since(queuedOld) <= age {
			time.Sleep(age - time.Since(queuedOld) + 10*time.Millisecond)
		}
		p.publish(id+"/3", "new3", 1, false, 3)
		p.publish(id+"/4", "new4", 2, false, 4)
		p.disconnect()

		s, ack := conn(t, addr, v, id, false)
		if !ack.SessionPresent {
			t.Fatalf("v%d: session not present", v)
		}
		for _, want := range []string{"new3", "new4"} {
			m := s.expectPublish()
			if string(m.Payload) != want {
				t.Fatalf("v%d: got %q, want %q: messages older than MaxOfflineAge were sent", v, m.Payload, want)
			}
			s.acknowledge(m)
		}
		s.expectNothing(100 * time.Millisecond)
		if got := srv.DroppedMessages() - dropped; got != 2 {
			t.Fatalf("v%d: %d messages counted as dropped, want 2", v, got)
		}
		s.disconnect()
		waitEvent(t, events, broker.EventDisconnected, id)
	}
}
