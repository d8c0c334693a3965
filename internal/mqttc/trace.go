package mqttc

import (
	"net"
	"sync"

	"github.com/mqttx/mqttx/internal/packet"
)

// PacketTrace describes one MQTT packet sent or received, for sub -d/--debug. Fields
// that do not apply to the packet's type are zero.
type PacketTrace struct {
	Sent     bool   // sent by us; else received
	Type     string // "PUBLISH", "PUBACK", ...
	Size     int    // bytes on the wire, fixed header included
	ID       uint16 // packet identifier
	Topic    string // PUBLISH topic
	QoS      byte   // PUBLISH QoS
	Retain   bool   // PUBLISH retain flag
	Dup      bool   // PUBLISH DUP flag
	Reason   byte   // reason code of acks, CONNACK, DISCONNECT
	Filters  []string
	ClientID string // CONNECT
	Err      string // why the packet could not be decoded
}

// traceConn reports every whole packet that crosses conn to fn, decoded by the codec.
type traceConn struct {
	net.Conn
	v  Version
	fn func(PacketTrace)

	rmu, wmu sync.Mutex
	in, out  []byte
}

func traced(conn net.Conn, v Version, fn func(PacketTrace)) net.Conn {
	if fn == nil {
		return conn
	}
	return &traceConn{Conn: conn, v: v, fn: fn}
}

func (c *traceConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.rmu.Lock()
		c.in = c.report(c.in, p[:n], false)
		c.rmu.Unlock()
	}
	return n, err
}

// Write reports before writing, so a packet sent shows before the answer to it.
func (c *traceConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	c.out = c.report(c.out, p, true)
	c.wmu.Unlock()
	return c.Conn.Write(p)
}

// report appends b to buf, reports the whole packets in it and returns the rest.
func (c *traceConn) report(buf, b []byte, sent bool) []byte {
	buf = append(buf, b...)
	for {
		if len(buf) < 2 {
			return buf
		}
		length, n, err := packet.DecodeVarInt(buf[1:])
		if err != nil {
			if len(buf) < 5 {
				return buf // the length may still be arriving
			}
			c.fn(PacketTrace{Sent: sent, Type: "?", Size: len(buf), Err: err.Error()})
			return buf[:0]
		}
		size := 1 + n + int(length)
		if len(buf) < size {
			return buf
		}
		c.fn(describe(buf[0], buf[1+n:size], c.v, sent, size))
		rest := copy(buf, buf[size:])
		buf = buf[:rest]
	}
}

// describe decodes one packet into a PacketTrace.
func describe(first byte, body []byte, v Version, sent bool, size int) PacketTrace {
	t := PacketTrace{Sent: sent, Type: packet.Type(first >> 4).String(), Size: size}
	p, err := packet.Decode(first, body, v)
	if err != nil {
		t.Err = err.Error()
		return t
	}
	switch q := p.(type) {
	case *packet.Connect:
		t.ClientID = q.ClientID
	case *packet.Connack:
		t.Reason = byte(q.ReasonCode)
	case *packet.Publish:
		t.Topic, t.QoS, t.Retain, t.Dup, t.ID = string(q.Topic), q.QoS, q.Retain, q.Dup, q.PacketID
	case *packet.Ack:
		t.ID, t.Reason = q.PacketID, byte(q.ReasonCode)
	case *packet.Subscribe:
		t.ID = q.PacketID
		for _, s := range q.Subscriptions {
			t.Filters = append(t.Filters, s.Filter)
		}
	case *packet.Suback:
		t.ID = q.PacketID
	case *packet.Unsubscribe:
		t.ID = q.PacketID
	case *packet.Unsuback:
		t.ID = q.PacketID
	case *packet.Disconnect:
		t.Reason = byte(q.ReasonCode)
	}
	return t
}
