package broker

import (
	"sync"

	"github.com/mqttx/mqttx/internal/packet"
)

// The decoders below keep their packet (with its properties) out of
// handle's frame: a small frame lets a parked goroutine answer a PINGREQ
// or DISCONNECT without growing its stack.

//go:noinline
func (c *conn) decodeSubscribe(h packet.FixedHeader, body []byte) error {
	var p packet.Subscribe
	if err := p.DecodeInto(h.First(), body, c.version); err != nil {
		return err
	}
	return c.handleSubscribe(&p)
}

//go:noinline
func (c *conn) decodeUnsubscribe(h packet.FixedHeader, body []byte) error {
	var p packet.Unsubscribe
	if err := p.DecodeInto(h.First(), body, c.version); err != nil {
		return err
	}
	c.handleUnsubscribe(&p)
	return nil
}

//go:noinline
func (c *conn) decodeDisconnect(h packet.FixedHeader, body []byte) error {
	// Pooled, not on the stack: DISCONNECT usually comes to a parked
	// goroutine, whose stack is small.
	p := disconnectPool.Get().(*packet.Disconnect)
	defer disconnectPool.Put(p)
	if err := p.DecodeInto(h.First(), body, c.version); err != nil {
		return err
	}
	return c.handleDisconnect(p)
}

var disconnectPool = sync.Pool{New: func() any { return new(packet.Disconnect) }}

func (c *conn) handle(h packet.FixedHeader, body []byte) error {
	switch h.Type {
	case packet.PUBLISH:
		return c.handlePublish(h, body)
	case packet.PUBACK, packet.PUBREC, packet.PUBREL, packet.PUBCOMP:
		if c.ack == nil {
			c.ack = new(packet.Ack)
		}
		*c.ack = packet.Ack{PacketType: h.Type}
		if err := c.ack.DecodeInto(h.First(), body, c.version); err != nil {
			return err
		}
		return c.handleAck(c.ack)
	case packet.SUBSCRIBE:
		return c.decodeSubscribe(h, body)
	case packet.UNSUBSCRIBE:
		return c.decodeUnsubscribe(h, body)
	case packet.PINGREQ:
		var p packet.Pingreq
		if err := p.DecodeInto(h.First(), body, c.version); err != nil {
			return err
		}
		it := outItem{n: 2}
		it.ctl[0] = byte(packet.PINGRESP) << 4
		c.reply(it)
		return nil
	case packet.DISCONNECT:
		return c.decodeDisconnect(h, body)
	case packet.CONNECT:
		// A second CONNECT is a protocol error [MQTT-3.1.0-2].
		return protoErr{packet.ProtocolError}
	case packet.AUTH:
		// Enhanced authentication was not negotiated in CONNECT.
		return protoErr{packet.ProtocolError}
	}
	return protoErr{packet.ProtocolError}
}
