package packet

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/mosquittotest"
)

// peer is a raw MQTT client speaking only through this codec, used against mosquitto.
type peer struct {
	t    *testing.T
	c    net.Conn
	r    *bufio.Reader
	v    Version
	buf  []byte
	got  []Packet
	pubs []*Publish
}

func (p *peer) send(pk Packet) {
	p.t.Helper()
	b, err := pk.AppendTo(nil, p.v)
	if err != nil {
		p.t.Fatalf("encode %s: %v", pk.Type(), err)
	}
	if _, err := p.c.Write(b); err != nil {
		p.t.Fatalf("write %s: %v", pk.Type(), err)
	}
}

// until reads packets, answering the broker's QoS 1 and 2 flows, until done is true.
func (p *peer) until(what string, done func() bool) {
	p.t.Helper()
	for !done() {
		_ = p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		pk, buf, err := ReadPacket(p.r, p.v, 1<<20, p.buf)
		p.buf = buf
		if err != nil {
			p.t.Fatalf("waiting for %s: %v", what, err)
		}
		switch x := pk.(type) {
		case *Publish:
			c := x.Clone()
			p.pubs = append(p.pubs, c)
			switch c.QoS {
			case 1:
				p.send(&Ack{PacketType: PUBACK, PacketID: c.PacketID})
			case 2:
				p.send(&Ack{PacketType: PUBREC, PacketID: c.PacketID})
			}
			continue
		case *Ack:
			switch x.PacketType {
			case PUBREC:
				p.send(&Ack{PacketType: PUBREL, PacketID: x.PacketID})
			case PUBREL:
				p.send(&Ack{PacketType: PUBCOMP, PacketID: x.PacketID})
			}
			cp := *x
			cp.Properties = x.Properties.Clone()
			pk = &cp
		case *Connack:
			cp := *x
			cp.Properties = x.Properties.Clone()
			pk = &cp
		}
		p.got = append(p.got, pk)
	}
}

func (p *peer) has(t Type, id uint16) func() bool {
	return func() bool {
		for _, g := range p.got {
			if g.Type() != t {
				continue
			}
			switch x := g.(type) {
			case *Ack:
				if x.PacketID == id {
					return true
				}
			case *Suback:
				return x.PacketID == id
			case *Unsuback:
				return x.PacketID == id
			default:
				return true
			}
		}
		return false
	}
}

// TestMosquittoPeer drives Debian's mosquitto with packets from this codec only, for each
// protocol version: connect, subscribe, publish at QoS 0, 1 and 2 (MQTT 5 with
// properties), receive the messages back, ping, unsubscribe, disconnect.
func TestMosquittoPeer(t *testing.T) {
	for _, v := range []Version{V31, V311, V5} {
		t.Run("v"+v.String(), func(t *testing.T) {
			addr := mosquittotest.Start(t)
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p := &peer{t: t, c: c, r: bufio.NewReader(c), v: v}

			conn := &Connect{Version: v, CleanStart: true, KeepAlive: 30, ClientID: "codec-" + v.String()}
			if v == V5 {
				conn.Properties.SetSessionExpiry(0)
				conn.Properties.SetReceiveMaximum(20)
				conn.Properties.User = []UserProperty{{Key: []byte("from"), Value: []byte("codec")}}
			}
			p.send(conn)
			p.until("CONNACK", p.has(CONNACK, 0))
			ack := p.got[0].(*Connack)
			if ack.ReasonCode != Success || ack.SessionPresent {
				t.Fatalf("CONNACK = %+v", ack)
			}

			topic := fmt.Sprintf("codec/%s", v)
			sub := &Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: topic + "/#", QoS: 2}}}
			if v == V5 {
				sub.Properties.SubscriptionIDs = []uint32{42}
			}
			p.send(sub)
			p.until("SUBACK", p.has(SUBACK, 1))
			if sa := p.got[1].(*Suback); len(sa.ReasonCodes) != 1 || sa.ReasonCodes[0] != GrantedQoS2 {
				t.Fatalf("SUBACK = %+v, want granted QoS 2", sa)
			}

			var props Properties
			if v == V5 {
				props.SetPayloadFormat(1)
				props.SetContentType([]byte("text/plain"))
				props.SetMessageExpiry(120)
				props.SetCorrelationData([]byte{1, 2, 3})
				props.SetResponseTopic([]byte("reply/here"))
				props.User = []UserProperty{{Key: []byte("k"), Value: []byte("v")}}
			}
			sent := []*Publish{
				{Topic: []byte(topic + "/q0"), Payload: []byte("zero"), Properties: props},
				{Topic: []byte(topic + "/q1"), Payload: []byte("one"), QoS: 1, PacketID: 10, Properties: props},
				{Topic: []byte(topic + "/q2"), Payload: make([]byte, 70000), QoS: 2, PacketID: 11, Properties: props},
			}
			for _, pub := range sent {
				p.send(pub)
			}
			p.until("PUBACK and PUBCOMP and 3 messages", func() bool {
				return p.has(PUBACK, 10)() && p.has(PUBCOMP, 11)() && len(p.pubs) == 3
			})
			for i, got := range p.pubs {
				want := sent[i]
				if string(got.Topic) != string(want.Topic) || string(got.Payload) != string(want.Payload) || got.QoS != want.QoS {
					t.Fatalf("message %d = %s qos %d %d bytes, want %s qos %d", i, got.Topic, got.QoS, len(got.Payload), want.Topic, want.QoS)
				}
				if v == V5 {
					gp := got.Properties
					if string(gp.ContentType) != "text/plain" || gp.PayloadFormat != 1 || string(gp.CorrelationData) != "\x01\x02\x03" ||
						string(gp.ResponseTopic) != "reply/here" || len(gp.User) != 1 || string(gp.User[0].Key) != "k" ||
						!gp.Has(PropMessageExpiryInterval) || gp.MessageExpiry > 120 {
						t.Fatalf("message %d properties not forwarded: %+v", i, gp)
					}
					if len(gp.SubscriptionIDs) != 1 || gp.SubscriptionIDs[0] != 42 {
						t.Fatalf("message %d subscription identifiers = %v, want [42]", i, gp.SubscriptionIDs)
					}
				}
			}

			p.send(&Pingreq{})
			p.until("PINGRESP", p.has(PINGRESP, 0))
			p.send(&Unsubscribe{PacketID: 2, Filters: []string{topic + "/#"}})
			p.until("UNSUBACK", p.has(UNSUBACK, 2))
			p.send(&Disconnect{})
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, _, err := ReadPacket(p.r, v, 0, nil); err == nil {
				t.Fatal("connection still open after DISCONNECT")
			}
		})
	}
}

// A CONNECT with an unknown protocol level gets mosquitto's 3.1.1-style CONNACK with return
// code 0x01, which this codec decodes ([MQTT-3.1.2-2]).
func TestMosquittoRefusesVersion(t *testing.T) {
	addr := mosquittotest.Start(t)
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Level 6 cannot be encoded by AppendTo on purpose; write the bytes by hand.
	if _, err := c.Write(h(t, `10 0D 00 04 'MQTT' 06 02 00 3C 00 01 'a'`)); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	pk, _, err := ReadPacket(bufio.NewReader(c), V311, 0, nil)
	if err != nil {
		t.Fatalf("read CONNACK: %v", err)
	}
	ack, ok := pk.(*Connack)
	if !ok || ack.ReasonCode != V3RefusedProtocolVersion {
		t.Fatalf("got %+v, want CONNACK return code 1", pk)
	}
}
