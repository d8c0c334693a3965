package packet

import "unicode/utf8"

// PUBLISH fixed header flags.
const (
	pubRetain   = 0x01
	pubQoSShift = 1
	pubDup      = 0x08
)

func (p *Publish) sizes(v Version) (n, pl int, err error) {
	if p.QoS > 2 {
		return 0, 0, errorf(MalformedPacket, "PUBLISH QoS %d: must be 0, 1 or 2 [MQTT-3.3.1-4]", p.QoS)
	}
	if p.QoS == 0 {
		if p.PacketID != 0 {
			return 0, 0, errorf(ProtocolError, "QoS 0 PUBLISH must not carry packet identifier %d", p.PacketID)
		}
		if p.Dup {
			return 0, 0, errorf(ProtocolError, "QoS 0 PUBLISH must not set DUP [MQTT-3.3.1-2]")
		}
	} else if p.PacketID == 0 {
		return 0, 0, errorf(ProtocolError, "QoS %d PUBLISH needs a non-zero packet identifier", p.QoS)
	}
	if len(p.Topic) > MaxStringLen {
		return 0, 0, errorf(TopicNameInvalid, "topic of %d bytes exceeds %d", len(p.Topic), MaxStringLen)
	}
	n = 2 + len(p.Topic) + len(p.Payload)
	if p.QoS > 0 {
		n += 2
	}
	if v == V5 {
		if len(p.Topic) == 0 && p.Properties.mask&(1<<PropTopicAlias) == 0 {
			return 0, 0, errorf(ProtocolError, "PUBLISH with an empty topic needs a Topic Alias")
		}
		if pl, err = p.Properties.size(PUBLISH); err != nil {
			return 0, 0, err
		}
		n += VarIntLen(uint32(pl)) + pl
	} else if len(p.Topic) == 0 {
		return 0, 0, errorf(TopicNameInvalid, "PUBLISH with an empty topic [MQTT-4.7.3-1]")
	}
	return n, pl, checkRemaining(PUBLISH, n)
}

// EncodedLen returns the encoded size in bytes, fixed header included.
func (p *Publish) EncodedLen(v Version) (int, error) {
	n, _, err := p.sizes(v)
	return totalLen(n), err
}

// First returns the first byte of the PUBLISH fixed header (type, DUP, QoS, RETAIN).
func (p *Publish) First() byte {
	b := byte(PUBLISH)<<4 | p.QoS<<pubQoSShift
	if p.Dup {
		b |= pubDup
	}
	if p.Retain {
		b |= pubRetain
	}
	return b
}

// AppendTo appends the PUBLISH packet. It allocates nothing when dst has room.
func (p *Publish) AppendTo(dst []byte, v Version) ([]byte, error) {
	n, pl, err := p.sizes(v)
	if err != nil {
		return dst, err
	}
	dst = header(dst, p.First(), n)
	dst = appendBin(dst, p.Topic)
	if p.QoS > 0 {
		dst = appendU16(dst, p.PacketID)
	}
	if v == V5 {
		dst = p.Properties.appendTo(dst, pl)
	}
	return append(dst, p.Payload...), nil
}

// DecodeInto decodes a PUBLISH into p, reusing p's slices; it allocates nothing. Topic,
// Payload and the properties alias body, and any slices p held before are overwritten.
func (p *Publish) DecodeInto(first byte, body []byte, v Version) error {
	p.Topic, p.Payload, p.PacketID = nil, nil, 0
	p.Properties.Reset()
	if err := checkType(first, PUBLISH); err != nil {
		return err
	}
	p.Dup = first&pubDup != 0
	p.QoS = first >> pubQoSShift & 3
	p.Retain = first&pubRetain != 0
	if p.QoS == 3 {
		return errorf(MalformedPacket, "PUBLISH with QoS 3 [MQTT-3.3.1-4]")
	}
	if p.Dup && p.QoS == 0 {
		return errorf(MalformedPacket, "QoS 0 PUBLISH with DUP set [MQTT-3.3.1-2]")
	}
	d := decoder{b: body}
	p.Topic = d.bin("topic name")
	if p.QoS > 0 {
		p.PacketID = d.u16("packet identifier")
		if d.err == nil && p.PacketID == 0 {
			return errorf(ProtocolError, "QoS %d PUBLISH with packet identifier 0 [MQTT-2.2.1-3]", p.QoS)
		}
	}
	if v == V5 {
		d.props(&p.Properties, PUBLISH)
	}
	if d.err != nil {
		return d.err
	}
	if len(p.Topic) == 0 {
		if v != V5 {
			return errorf(TopicNameInvalid, "PUBLISH with an empty topic name [MQTT-4.7.3-1]")
		}
		if p.Properties.mask&(1<<PropTopicAlias) == 0 {
			return errorf(ProtocolError, "PUBLISH with an empty topic name and no Topic Alias")
		}
	} else if !validTopicNameBytes(p.Topic) {
		if !ValidUTF8(p.Topic) {
			return errorf(MalformedPacket, "PUBLISH topic name is not valid UTF-8 [MQTT-1.5.4-1]")
		}
		return errorf(TopicNameInvalid, "PUBLISH topic name %q contains a wildcard [MQTT-3.3.2-2]", p.Topic)
	}
	if len(d.b) > 0 {
		p.Payload = d.b
	}
	return nil
}

// Clone returns a deep copy of p whose slices alias no decode buffer.
func (p *Publish) Clone() *Publish {
	c := *p
	buf := make([]byte, len(p.Topic)+len(p.Payload))
	n := copy(buf, p.Topic)
	copy(buf[n:], p.Payload)
	c.Topic, c.Payload = nil, nil
	if p.Topic != nil {
		c.Topic = buf[:n:n]
	}
	if p.Payload != nil {
		c.Payload = buf[n:]
	}
	c.Properties = p.Properties.Clone()
	return &c
}

// PayloadFormatValid reports whether the payload agrees with the Payload Format Indicator:
// with indicator 1 it must be well-formed UTF-8. A receiver that checks it answers
// PayloadFormatInvalid ([MQTT-3.3.2-4] makes the check optional).
func (p *Publish) PayloadFormatValid() bool {
	return p.Properties.mask&(1<<PropPayloadFormatIndicator) == 0 || p.Properties.PayloadFormat == 0 || utf8.Valid(p.Payload)
}
