package broker

import (
	"unsafe"

	"github.com/mqttx/mqttx/internal/packet"
)

// message is one application message as routed: immutable once built and
// shared by every delivery, queue and the retained store.
type message struct {
	topic     string
	payload   []byte
	qos       byte
	retain    bool
	origin    string             // client id of the publisher, for No Local
	expiresAt int64              // unix nanoseconds; 0 when the message does not expire
	props     *packet.Properties // the forwarded properties (forwardProps); nil when none
	ack       *pubAck            // the publisher's PUBACK, when it may go before the commit (persist.go)
}

// expired reports whether m's Message Expiry Interval has passed at now.
func (m *message) expired(now int64) bool {
	return m.expiresAt != 0 && now >= m.expiresAt
}

// forwardProps copies the properties a server forwards with an application
// message [MQTT-3.3.2-4..20]: payload format, message expiry (recomputed on
// send), content type, response topic, correlation data and user properties
// in order. Topic Alias and Subscription Identifiers are per connection.
// It returns nil when there is nothing to forward: most messages carry no
// properties, and a message without them is a quarter of the size.
func forwardProps(in *packet.Properties) *packet.Properties {
	if p := forwardedProps(in); !p.Empty() {
		return &p
	}
	return nil
}

// propsOf returns p, or nil when p is empty (see forwardProps).
func propsOf(p packet.Properties) *packet.Properties {
	if p.Empty() {
		return nil
	}
	return &p
}

func forwardedProps(in *packet.Properties) packet.Properties {
	var p packet.Properties
	if in.Has(packet.PropPayloadFormatIndicator) {
		p.PayloadFormat = in.PayloadFormat
		p.Set(packet.PropPayloadFormatIndicator)
	}
	if in.Has(packet.PropContentType) {
		p.ContentType = clone(in.ContentType)
		p.Set(packet.PropContentType)
	}
	if in.Has(packet.PropResponseTopic) {
		p.ResponseTopic = clone(in.ResponseTopic)
		p.Set(packet.PropResponseTopic)
	}
	if in.Has(packet.PropCorrelationData) {
		p.CorrelationData = clone(in.CorrelationData)
		p.Set(packet.PropCorrelationData)
	}
	if len(in.User) > 0 {
		p.User = make([]packet.UserProperty, len(in.User))
		for i, u := range in.User {
			p.User[i] = packet.UserProperty{Key: clone(u.Key), Value: clone(u.Value)}
		}
	}
	return p
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// bytesOf returns the bytes of s without copying; the result must not be
// modified.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// delivery is a message as one session receives it.
type delivery struct {
	msg    *message
	qos    byte
	retain bool
	subIDs []uint32
	seq    uint64 // number in a stored session's queue (see persist.go); 0 when not stored
	// queued is when it entered its session's queue, in unix nanoseconds
	// (Options.MaxOfflineAge); 0 when it was sent at once.
	queued int64
}

// encoded is an encoded PUBLISH shared by every subscriber of the same wire
// form. pidOff is the offset of the packet identifier (0 for QoS 0); the
// writer patches the identifier and DUP flag per subscriber while copying
// into its buffer, so the bytes themselves are never modified.
type encoded struct {
	buf    []byte
	pidOff int
}

// encodePublish encodes d for a connection of version v. The message
// expiry is the remaining interval at now [MQTT-3.3.2-6]. With pid 0 and
// QoS > 0 the identifier is left as zero for the writer to patch.
func encodePublish(d *delivery, v packet.Version, pid uint16, dup bool, now int64) (encoded, error) {
	m := d.msg
	p := packet.Publish{
		Topic:    bytesOf(m.topic),
		Payload:  m.payload,
		QoS:      d.qos,
		Retain:   d.retain,
		Dup:      dup,
		PacketID: pid,
	}
	if v == packet.V5 {
		if m.props != nil {
			p.Properties = *m.props
		}
		if m.expiresAt != 0 {
			rem := (m.expiresAt - now + 999_999_999) / 1e9
			if rem < 1 {
				rem = 1
			}
			p.Properties.MessageExpiry = uint32(rem)
			p.Properties.Set(packet.PropMessageExpiryInterval)
		}
		p.Properties.SubscriptionIDs = d.subIDs
	}
	if d.qos > 0 && pid == 0 {
		p.PacketID = 1 // a placeholder: identifiers must be non-zero to encode
	}
	n, err := p.EncodedLen(v)
	if err != nil {
		return encoded{}, err
	}
	buf, err := p.AppendTo(make([]byte, 0, n), v)
	if err != nil {
		return encoded{}, err
	}
	e := encoded{buf: buf}
	if d.qos > 0 {
		vl := 1
		for buf[vl]&0x80 != 0 {
			vl++
		}
		e.pidOff = 1 + vl + 2 + len(m.topic)
	}
	return e, nil
}
