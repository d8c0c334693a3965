package broker

import "github.com/mqttx/mqttx/internal/packet"

// Outbound topic aliases [MQTT-3.3.2-11] [MQTT-3.3.2-12]
//
// An MQTT 5 client that sends a Topic Alias Maximum N > 0 in CONNECT lets
// us replace topic names by small numbers. The policy is the simplest one
// that pays: the first min(N, Options.OutboundTopicAliases) distinct topics
// written on a connection get aliases 1, 2, ... in the order they are
// written; the first PUBLISH with a topic carries the topic and its alias,
// later ones an empty topic and the alias. Topics past the limit are sent
// in full, without an alias; an alias is never reassigned. The mapping
// belongs to the network connection and starts empty on each one, resumed
// sessions included [MQTT-3.3.2-7], so a message resent with DUP on a new
// connection carries its topic again.
//
// Aliases are chosen while writing, by whoever holds the connection's
// writer role (conn.writing), so they follow the order of the bytes on the
// wire whatever is dropped from the queue before it. The shared encoding
// of a PUBLISH is left alone: only connections using aliases rewrite it,
// into their own buffer; the others write the shared bytes as before.

// defaultOutboundTopicAliases is Options.OutboundTopicAliases when unset,
// as mosquitto's max_topic_alias_broker.
const defaultOutboundTopicAliases = 10

// setOutboundAliases decides, while handling CONNECT, how many aliases we
// may use towards the client: its Topic Alias Maximum within our limit.
func (c *conn) setOutboundAliases(clientMax uint16) {
	limit := c.srv.opts.OutboundTopicAliases
	if limit <= 0 || clientMax == 0 {
		return // none when the client sent no or a zero maximum [MQTT-3.3.2-11]
	}
	c.aliasMax = uint16(min(int(clientMax), limit))
}

// appendAliased appends the PUBLISH of it, as appendItem does, with a Topic
// Alias property when one applies. It is called only by the holder of the
// writer role and updates the connection's alias mapping, so the bytes it
// returns must be written.
func (c *conn) appendAliased(dst []byte, it *outItem) []byte {
	b := it.buf
	rem, vl, err := packet.DecodeVarInt(b[1:])
	if err != nil || int(rem) != len(b)-1-vl {
		return appendItem(dst, it)
	}
	off := 1 + vl
	tl := int(b[off])<<8 | int(b[off+1])
	topic := b[off+2 : off+2+tl]
	off += 2 + tl
	pidAt := -1
	if b[0]>>1&3 > 0 {
		pidAt = off
		off += 2
	}
	plen, pvl, err := packet.DecodeVarInt(b[off:])
	if err != nil || tl == 0 {
		return appendItem(dst, it)
	}
	props := b[off+pvl : off+pvl+int(plen)]
	payload := b[off+pvl+int(plen):]

	alias, known := c.outAlias[string(topic)]
	if !known && len(c.outAlias) >= int(c.aliasMax) {
		return appendItem(dst, it) // all aliases taken: the full topic
	}
	if !known {
		alias = uint16(len(c.outAlias) + 1)
	}
	sentTopic := 0 // the topic name's length as written
	if !known {
		sentTopic = tl
	}
	nplen := int(plen) + 3
	nrem := 2 + sentTopic + packet.VarIntLen(uint32(nplen)) + nplen + len(payload)
	if pidAt >= 0 {
		nrem += 2
	}
	if nrem > maxRemaining || (c.maxOut > 0 && 1+packet.VarIntLen(uint32(nrem))+nrem > int(c.maxOut)) {
		// Too large with the alias [MQTT-3.1.2-25]: the full topic alone,
		// which sendLocked has checked, and the mapping stays as it is.
		return appendItem(dst, it)
	}
	if !known {
		if c.outAlias == nil {
			c.outAlias = make(map[string]uint16, c.aliasMax)
		}
		c.outAlias[string(topic)] = alias
	}

	first := b[0]
	if it.dup {
		first |= 0x08
	}
	dst = append(dst, first)
	dst = packet.AppendVarInt(dst, uint32(nrem))
	dst = append(dst, byte(sentTopic>>8), byte(sentTopic))
	if !known {
		dst = append(dst, topic...)
	}
	if pidAt >= 0 {
		if it.pidOff != 0 {
			dst = append(dst, byte(it.pid>>8), byte(it.pid))
		} else {
			dst = append(dst, b[pidAt], b[pidAt+1])
		}
	}
	dst = packet.AppendVarInt(dst, uint32(nplen))
	dst = append(dst, byte(packet.PropTopicAlias), byte(alias>>8), byte(alias))
	dst = append(dst, props...)
	return append(dst, payload...)
}

// maxRemaining is the largest Remaining Length a packet can have.
const maxRemaining = 268_435_455
