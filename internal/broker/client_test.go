package broker_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChildBroker() // BenchmarkPeer runs the broker in its own process
		return
	}
	goleak.VerifyTestMain(m)
}

// rawClient speaks MQTT packet by packet so tests can send exact packets
// and assert exact answers.
type rawClient struct {
	t   testing.TB
	nc  net.Conn
	br  *bufio.Reader
	v   packet.Version
	buf []byte
	// stash holds packets read ahead while waiting for another one.
	stash []packet.Packet
}

func dial(t testing.TB, addr string, v packet.Version) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	c := &rawClient{t: t, nc: nc, br: bufio.NewReader(nc), v: v}
	t.Cleanup(func() { nc.Close() })
	return c
}

func (c *rawClient) send(p packet.Packet) {
	c.t.Helper()
	b, err := p.AppendTo(nil, c.v)
	if err != nil {
		c.t.Fatalf("encode %v: %v", p.Type(), err)
	}
	c.sendRaw(b)
}

func (c *rawClient) sendRaw(b []byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// readErr reads one packet within d.
func (c *rawClient) readErr(d time.Duration) (packet.Packet, error) {
	if len(c.stash) > 0 {
		p := c.stash[0]
		c.stash = c.stash[1:]
		return p, nil
	}
	c.nc.SetReadDeadline(time.Now().Add(d))
	p, buf, err := packet.ReadPacket(c.br, c.v, 0, c.buf)
	c.buf = nil
	_ = buf
	return p, err
}

func (c *rawClient) read() packet.Packet {
	c.t.Helper()
	p, err := c.readErr(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return p
}

func expect[T packet.Packet](c *rawClient) T {
	c.t.Helper()
	p := c.read()
	x, ok := p.(T)
	if !ok {
		var zero T
		c.t.Fatalf("got %v %+v, want %T", p.Type(), p, zero)
	}
	return x
}

func (c *rawClient) expectPublish() *packet.Publish {
	c.t.Helper()
	return expect[*packet.Publish](c)
}

func (c *rawClient) expectAck(t packet.Type, pid uint16) *packet.Ack {
	c.t.Helper()
	a := expect[*packet.Ack](c)
	if a.PacketType != t || a.PacketID != pid {
		c.t.Fatalf("got %v id %d, want %v id %d", a.PacketType, a.PacketID, t, pid)
	}
	return a
}

// receive answers m as its receiver does first: PUBACK at QoS 1, PUBREC at
// QoS 2, for which it returns true (a PUBREL is to come; see complete).
func (c *rawClient) receive(m *packet.Publish) (qos2 bool) {
	if m.QoS == 1 {
		c.send(&packet.Ack{PacketType: packet.PUBACK, PacketID: m.PacketID})
		return false
	}
	c.send(&packet.Ack{PacketType: packet.PUBREC, PacketID: m.PacketID})
	return true
}

// complete expects the PUBREL of each QoS 2 packet id in turn and answers
// it with PUBCOMP.
func (c *rawClient) complete(pids ...uint16) {
	c.t.Helper()
	for _, pid := range pids {
		c.expectAck(packet.PUBREL, pid)
		c.send(&packet.Ack{PacketType: packet.PUBCOMP, PacketID: pid})
	}
}

// acknowledge runs m's whole QoS 1 or 2 flow as its receiver.
func (c *rawClient) acknowledge(m *packet.Publish) {
	c.t.Helper()
	if c.receive(m) {
		c.complete(m.PacketID)
	}
}

// expectNothing asserts that no packet arrives within d.
func (c *rawClient) expectNothing(d time.Duration) {
	c.t.Helper()
	p, err := c.readErr(d)
	if err == nil {
		c.t.Fatalf("got unexpected %v %+v", p.Type(), p)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		c.t.Fatalf("expected silence, got error %v", err)
	}
}

// expectClosed asserts the broker closes the connection, after an optional
// DISCONNECT whose reason code is returned (-1 when none was sent).
func (c *rawClient) expectClosed() int {
	c.t.Helper()
	rc := -1
	for {
		p, err := c.readErr(5 * time.Second)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
				return rc
			}
			c.t.Fatalf("expected close, got %v", err)
		}
		if d, ok := p.(*packet.Disconnect); ok {
			rc = int(d.ReasonCode)
			continue
		}
		c.t.Fatalf("expected close, got %v %+v", p.Type(), p)
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}

func (c *rawClient) connect(cp *packet.Connect) *packet.Connack {
	c.t.Helper()
	c.send(cp)
	return expect[*packet.Connack](c)
}

// conn dials and connects with a clean or resumed session; for v5 a
// non-clean session gets an expiry of one hour.
func conn(t testing.TB, addr string, v packet.Version, id string, clean bool) (*rawClient, *packet.Connack) {
	t.Helper()
	c := dial(t, addr, v)
	cp := &packet.Connect{ClientID: id, CleanStart: clean, KeepAlive: 60}
	if v == packet.V5 && !clean {
		cp.Properties.SetSessionExpiry(3600)
	}
	ack := c.connect(cp)
	if ack.ReasonCode != 0 {
		t.Fatalf("CONNACK %v for %q", ack.ReasonCode, id)
	}
	return c, ack
}

func (c *rawClient) subscribe(pid uint16, subs ...packet.Subscription) *packet.Suback {
	c.t.Helper()
	c.send(&packet.Subscribe{PacketID: pid, Subscriptions: subs})
	sa := expect[*packet.Suback](c)
	if sa.PacketID != pid {
		c.t.Fatalf("SUBACK id %d, want %d", sa.PacketID, pid)
	}
	return sa
}

func sub(filter string, qos byte) packet.Subscription {
	return packet.Subscription{Filter: filter, QoS: qos}
}

func (c *rawClient) publish(topic, payload string, qos byte, retain bool, pid uint16) {
	c.t.Helper()
	if qos == 0 {
		pid = 0
	}
	c.send(&packet.Publish{Topic: []byte(topic), Payload: []byte(payload), QoS: qos, Retain: retain, PacketID: pid})
	switch qos {
	case 0:
		// A PINGREQ is handled after the PUBLISH, so once PINGRESP is back
		// the message has been routed (and retained).
		c.send(&packet.Pingreq{})
		var ahead []packet.Packet
		for {
			p, err := c.readErr(5 * time.Second)
			if err != nil {
				c.t.Fatalf("waiting for PINGRESP: %v", err)
			}
			if p.Type() == packet.PINGRESP {
				break
			}
			ahead = append(ahead, p) // e.g. the publisher's own subscription
		}
		c.stash = append(ahead, c.stash...)
	case 1:
		c.expectAck(packet.PUBACK, pid)
	case 2:
		c.expectAck(packet.PUBREC, pid)
		c.send(&packet.Ack{PacketType: packet.PUBREL, PacketID: pid})
		c.expectAck(packet.PUBCOMP, pid)
	}
}

func (c *rawClient) disconnect() {
	c.t.Helper()
	c.send(&packet.Disconnect{})
	c.nc.Close()
}

func start(t testing.TB) string { return brokertest.Start(t) }
