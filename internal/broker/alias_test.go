package broker_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/packet"
)

// connectAlias connects a v5 client asking for Topic Alias Maximum max (not
// sent when 0), with a session of one hour when clean is false.
func connectAlias(t *testing.T, addr, id string, max uint16, clean bool) *rawClient {
	t.Helper()
	c := dial(t, addr, packet.V5)
	cp := &packet.Connect{ClientID: id, CleanStart: clean, KeepAlive: 60}
	if max > 0 {
		cp.Properties.SetTopicAliasMaximum(max)
	}
	if !clean {
		cp.Properties.SetSessionExpiry(3600)
	}
	if ack := c.connect(cp); ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %v for %q", ack.ReasonCode, id)
	}
	return c
}

// aliasOf returns the Topic Alias of m, or 0 when it has none.
func aliasOf(m *packet.Publish) uint16 {
	if !m.Properties.Has(packet.PropTopicAlias) {
		return 0
	}
	return m.Properties.TopicAlias
}

// expectAliased reads a PUBLISH and checks its wire topic, alias and
// payload, acknowledging it when it is QoS 1.
func (c *rawClient) expectAliased(topic string, alias uint16, payload string) *packet.Publish {
	c.t.Helper()
	m := c.expectPublish()
	if string(m.Topic) != topic || aliasOf(m) != alias || string(m.Payload) != payload {
		c.t.Fatalf("got topic %q alias %d payload %.20q (%d bytes), want topic %q alias %d payload %.20q (%d bytes)",
			m.Topic, aliasOf(m), m.Payload, len(m.Payload), topic, alias, payload, len(payload))
	}
	if m.QoS == 1 {
		c.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
	}
	return m
}

// closeAfterAcks waits until the broker has handled what c sent (a PINGREQ
// is answered after the packets before it), then drops the connection.
func (c *rawClient) closeAfterAcks() {
	c.t.Helper()
	c.send(&packet.Pingreq{})
	expect[*packet.Pingresp](c)
	c.nc.Close()
}

// TestTopicAliasOutbound_MQTT_3_3_2_11_12: with Topic Alias Maximum 2 the
// first two topics get aliases 1 and 2, sent with the topic once and then
// with an empty topic; a third topic goes in full without an alias, and no
// alias above 2 is ever used. Subscribers asking for no aliases, and MQTT
// 3.1.1 subscribers, get the full topic every time.
func TestTopicAliasOutbound_MQTT_3_3_2_11_12(t *testing.T) {
	addr := start(t)
	a2 := connectAlias(t, addr, "a2", 2, true)
	a2.subscribe(1, sub("al/#", 1))
	a0 := connectAlias(t, addr, "a0", 0, true)
	a0.subscribe(1, sub("al/#", 1))
	v3, _ := conn(t, addr, packet.V311, "v3", true)
	v3.subscribe(1, sub("al/#", 1))

	p, _ := conn(t, addr, packet.V5, "p", true)
	sends := []struct {
		topic string
		qos   byte
		// want on the alias subscriber
		wireTopic string
		alias     uint16
	}{
		{"al/a", 0, "al/a", 1},
		{"al/a", 1, "", 1},
		{"al/a", 0, "", 1},
		{"al/b", 1, "al/b", 2},
		{"al/c", 1, "al/c", 0}, // no alias left: full topic, no alias
		{"al/b", 0, "", 2},
		{"al/c", 0, "al/c", 0},
		{"al/a", 1, "", 1},
	}
	for i, s := range sends {
		pub := &packet.Publish{Topic: []byte(s.topic), Payload: []byte(strconv.Itoa(i)), QoS: s.qos}
		if s.qos > 0 {
			pub.PacketID = uint16(i + 1)
		}
		pub.Properties.User = []packet.UserProperty{{Key: []byte("k"), Value: []byte("v" + strconv.Itoa(i))}}
		p.send(pub)
		if s.qos == 1 {
			p.expectAck(packet.PUBACK, uint16(i+1))
		}
	}
	for i, s := range sends {
		m := a2.expectAliased(s.wireTopic, s.alias, strconv.Itoa(i))
		if a := aliasOf(m); a > 2 {
			t.Fatalf("alias %d above the client's maximum 2 [MQTT-3.3.2-11]", a)
		}
		if m.QoS != s.qos || len(m.Properties.User) != 1 || string(m.Properties.User[0].Value) != "v"+strconv.Itoa(i) {
			t.Fatalf("message %d: QoS %d user properties %+v", i, m.QoS, m.Properties.User)
		}
		if s.qos == 1 && m.PacketID == 0 {
			t.Fatalf("message %d: QoS 1 with packet identifier 0", i)
		}
	}
	for _, c := range []*rawClient{a0, v3} {
		for i, s := range sends {
			c.expectAliased(s.topic, 0, strconv.Itoa(i))
		}
	}
	a2.expectNothing(100 * time.Millisecond)
}

// TestTopicAliasOutboundNewConnection_MQTT_3_3_2_7: aliases do not survive
// the network connection. A message resent with DUP after a reconnect, and
// one queued meanwhile, arrive with the full topic the first time on the new
// connection, even though the session was resumed.
func TestTopicAliasOutboundNewConnection_MQTT_3_3_2_7(t *testing.T) {
	addr := start(t)
	s := connectAlias(t, addr, "resume", 2, false)
	s.subscribe(1, sub("re/#", 1))
	p, _ := conn(t, addr, packet.V5, "p", true)
	p.publish("re/a", "1", 1, false, 1)
	p.publish("re/a", "2", 1, false, 2)
	s.expectAliased("re/a", 1, "1")
	m := s.expectPublish() // not acknowledged: resent on the next connection
	if len(m.Topic) != 0 || aliasOf(m) != 1 || string(m.Payload) != "2" {
		t.Fatalf("second message: topic %q alias %d payload %q", m.Topic, aliasOf(m), m.Payload)
	}
	// Whether the broker has noticed the close yet or not, the next
	// messages are resent or queued in order.
	s.closeAfterAcks()
	p.publish("re/a", "3", 1, false, 3)
	p.publish("re/b", "4", 1, false, 4)

	s = connectAlias(t, addr, "resume", 2, false)
	r := s.expectAliased("re/a", 1, "2")
	if !r.Dup || r.PacketID != m.PacketID {
		t.Fatalf("resent message: DUP %v id %d, want DUP and id %d", r.Dup, r.PacketID, m.PacketID)
	}
	s.expectAliased("", 1, "3")
	s.expectAliased("re/b", 2, "4")

	// Reconnecting without a Topic Alias Maximum: no aliases at all.
	p.publish("re/a", "5", 1, false, 5)
	s.expectAliased("", 1, "5")
	s.closeAfterAcks()
	p.publish("re/b", "6", 1, false, 6)
	s = connectAlias(t, addr, "resume", 0, false)
	s.expectAliased("re/b", 0, "6")
}

// TestTopicAliasOutboundPacketSize_MQTT_3_1_2_25: a message that fits the
// client's Maximum Packet Size only without the alias property goes with
// its full topic and no alias, and takes no alias.
func TestTopicAliasOutboundPacketSize_MQTT_3_1_2_25(t *testing.T) {
	addr := start(t)
	s := dial(t, addr, packet.V5)
	cp := &packet.Connect{ClientID: "small", CleanStart: true}
	cp.Properties.SetTopicAliasMaximum(4)
	cp.Properties.SetMaximumPacketSize(20)
	s.connect(cp)
	s.subscribe(1, sub("m/a", 0))
	p, _ := conn(t, addr, packet.V5, "p", true)
	// 1 + 1 + (2 + 3) + 1 + 12 = 20 bytes without an alias, 23 with one.
	big := strings.Repeat("x", 12)
	p.publish("m/a", big, 0, false, 0)
	p.publish("m/a", "s", 0, false, 0)
	p.publish("m/a", "t", 0, false, 0)
	s.expectAliased("m/a", 0, big)
	s.expectAliased("m/a", 1, "s")
	s.expectAliased("", 1, "t")
}

// TestTopicAliasOutboundDisabled: a negative Options.OutboundTopicAliases
// turns outbound aliases off.
func TestTopicAliasOutboundDisabled(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.OutboundTopicAliases = -1 })
	s := connectAlias(t, addr, "s", 5, true)
	s.subscribe(1, sub("d", 0))
	p, _ := conn(t, addr, packet.V5, "p", true)
	p.publish("d", "1", 0, false, 0)
	p.publish("d", "2", 0, false, 0)
	s.expectAliased("d", 0, "1")
	s.expectAliased("d", 0, "2")
}

// TestTopicAliasOutboundPaho_MQTT_3_3_2_12: paho.golang, through our client
// adapter, resolves the aliases the broker sends back to full topics.
func TestTopicAliasOutboundPaho_MQTT_3_3_2_12(t *testing.T) {
	addr := start(t)
	host, port, _ := net.SplitHostPort(addr)
	portN, _ := strconv.Atoi(port)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := func(id string) mqttc.Options {
		return mqttc.Options{Version: mqttc.V5, Scheme: "mqtt", Host: host, Port: portN, ClientID: id,
			KeepAlive: 30, CleanStart: true, ConnectTimeout: 5 * time.Second}
	}

	got := make(chan mqttc.Message, 100)
	so := opts("alias-sub")
	max := uint16(2)
	so.TopicAliasMaximum = &max
	so.OnMessage = func(m mqttc.Message) bool { got <- m; return true }
	sub, err := mqttc.New(so)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Connect(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer sub.Disconnect(ctx)
	if _, err := sub.Subscribe(ctx, []mqttc.Subscription{{Topic: "pa/#", QoS: 1}}, mqttc.SubscribeOptions{}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	pub, err := mqttc.New(opts("alias-pub"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Connect(ctx); err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer pub.Disconnect(ctx)

	topics := []string{"pa/one", "pa/two", "pa/one", "pa/three", "pa/two", "pa/one", "pa/three"}
	for i, topic := range topics {
		if err := pub.Publish(ctx, mqttc.Message{Topic: topic, QoS: byte(i % 2), Payload: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	aliased := 0
	for i, topic := range topics {
		select {
		case m := <-got:
			if m.Topic != topic || string(m.Payload) != strconv.Itoa(i) {
				t.Fatalf("message %d: topic %q payload %q, want %q %q", i, m.Topic, m.Payload, topic, strconv.Itoa(i))
			}
			if m.Properties != nil && m.Properties.TopicAlias != nil {
				if a := *m.Properties.TopicAlias; a == 0 || a > max {
					t.Fatalf("message %d: alias %d outside 1..%d", i, a, max)
				}
				aliased++
			}
		case <-ctx.Done():
			t.Fatalf("message %d (%s) not received", i, topic)
		}
	}
	if aliased != 5 { // every message but the two on pa/three
		t.Fatalf("%d messages carried an alias, want 5", aliased)
	}
}

// TestTopicAliasOutboundBurst_MQTT_3_3_2_12: under a burst that fills the
// socket (batched writes, partial writes), every aliased message still
// resolves to its own topic, in order, and aliases stay within 1..3.
func TestTopicAliasOutboundBurst_MQTT_3_3_2_12(t *testing.T) {
	addr := start(t)
	s := connectAlias(t, addr, "burst", 3, true)
	s.subscribe(1, sub("bu/#", 0))
	p, _ := conn(t, addr, packet.V311, "p", true)
	const n = 3000
	payload := strings.Repeat("x", 500)
	topics := []string{"bu/a", "bu/b", "bu/c", "bu/d"}
	for i := range n {
		p.send(&packet.Publish{Topic: []byte(topics[i%len(topics)]), Payload: []byte(payload)})
	}
	p.publish("bu/a", "end", 0, false, 0) // the subscriber reads only now
	aliases := map[uint16]string{}
	for i := range n + 1 {
		m := s.expectPublish()
		topic := string(m.Topic)
		if a := aliasOf(m); a != 0 {
			if a > 3 {
				t.Fatalf("message %d: alias %d above 3", i, a)
			}
			if topic == "" {
				topic = aliases[a]
			} else {
				aliases[a] = topic
			}
		}
		want := topics[i%len(topics)]
		if i == n {
			want = "bu/a"
		}
		if topic != want {
			t.Fatalf("message %d: topic %q (alias %d), want %q", i, topic, aliasOf(m), want)
		}
	}
	if len(aliases) != 3 {
		t.Fatalf("aliases %v, want 3", aliases)
	}
}

// TestTopicAliasOutboundLargeMessage_MQTT_3_3_2_12: a message larger than
// the socket buffers, written in parts, keeps its alias, and the next
// message on its topic uses the alias alone.
func TestTopicAliasOutboundLargeMessage_MQTT_3_3_2_12(t *testing.T) {
	addr := brokertest.Start(t, func(o *broker.Options) { o.MaxPacketSize = packet.MaxPacketSize })
	s := connectAlias(t, addr, "large", 2, true)
	s.subscribe(1, sub("lg/#", 0))
	p, _ := conn(t, addr, packet.V311, "p", true)
	big := strings.Repeat("y", 8<<20)
	p.send(&packet.Publish{Topic: []byte("lg/a"), Payload: []byte(big)})
	p.publish("lg/a", "small", 0, false, 0)
	s.expectAliased("lg/a", 1, big)
	s.expectAliased("", 1, "small")
}

// BenchmarkFanOutTopicAlias compares MQTT 5 subscribers that take topic
// aliases (each rewrites the shared PUBLISH into its own buffer) with ones
// that do not (they write the shared bytes).
func BenchmarkFanOutTopicAlias(b *testing.B) {
	for _, max := range []uint16{0, 10} {
		b.Run(fmt.Sprintf("QoS0/16subs/aliasmax%d", max), func(b *testing.B) {
			addr := benchBroker(b)
			v := packet.V5
			const subs = 16
			counts := make([]atomic.Int64, subs)
			conns := make([]*benchConn, subs)
			for i := range subs {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				c := &benchConn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 64<<10)}
				cp := &packet.Connect{ClientID: fmt.Sprint("sub", i), CleanStart: true}
				if max > 0 {
					cp.Properties.SetTopicAliasMaximum(max)
				}
				buf, _ := cp.AppendTo(nil, v)
				nc.Write(buf)
				if h, _, _, err := packet.ReadRaw(c.br, 0, nil); err != nil || h.Type != packet.CONNACK {
					b.Fatalf("connect: %v %v", h.Type, err)
				}
				c.subscribe(b, "bench/alias/topic/name", 0, v)
				conns[i] = c
			}
			pub := benchDial(b, addr, "pub", v)
			go pub.drainAcks()
			slowest := func() int64 {
				m := counts[0].Load()
				for i := 1; i < subs; i++ {
					m = min(m, counts[i].Load())
				}
				return m
			}
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			begin := time.Now()
			wg.Add(subs)
			for i := range subs {
				go conns[i].consume(int64(b.N), &counts[i], v, &wg)
			}
			var sent atomic.Int64
			pub.publish(b.N, "bench/alias/topic/name", 0, v, slowest, 2000, &sent)
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(time.Since(begin).Nanoseconds())/float64(b.N*subs), "ns/msg")
			for _, c := range conns {
				c.nc.Close()
			}
			pub.nc.Close()
		})
	}
}
