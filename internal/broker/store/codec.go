package store

import (
	"encoding/binary"
	"errors"

	"github.com/mqttx/mqttx/internal/packet"
)

// The values of the bbolt file: fields in a fixed order, integers as
// varints, strings and byte slices with a varint length before them.

var errShort = errors.New("value ends early")

type enc []byte

func (e enc) uint(v uint64) enc  { return binary.AppendUvarint(e, v) }
func (e enc) int(v int64) enc    { return binary.AppendVarint(e, v) }
func (e enc) byte(v byte) enc    { return append(e, v) }
func (e enc) bytes(b []byte) enc { return append(e.uint(uint64(len(b))), b...) }
func (e enc) str(s string) enc   { return append(e.uint(uint64(len(s))), s...) }
func (e enc) bool(v bool) enc    { return e.byte(boolByte(v)) }
func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.err = errShort
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) bool() bool { return d.byte() != 0 }

// bytes returns a copy: bbolt's values are valid only in their transaction.
func (d *dec) bytes() []byte {
	n := d.uint()
	if d.err != nil {
		return nil
	}
	if uint64(len(d.b)) < n {
		d.err = errShort
		return nil
	}
	v := append([]byte{}, d.b[:n]...)
	d.b = d.b[n:]
	return v
}

func (d *dec) str() string {
	n := d.uint()
	if d.err != nil {
		return ""
	}
	if uint64(len(d.b)) < n {
		d.err = errShort
		return ""
	}
	v := string(d.b[:n])
	d.b = d.b[n:]
	return v
}

func encodeSession(s *Session) []byte {
	return enc(nil).str(s.User).uint(uint64(s.Expiry)).byte(s.Version).int(s.DisconnectedAt)
}

func decodeSession(b []byte) (Session, error) {
	d := dec{b: b}
	s := Session{User: d.str(), Expiry: uint32(d.uint()), Version: d.byte(), DisconnectedAt: d.int()}
	return s, d.err
}

func encodeSub(s *Subscription) []byte {
	return enc(nil).byte(s.QoS).bool(s.NoLocal).bool(s.RetainAsPub).byte(s.RetainHandling).uint(uint64(s.ID))
}

func decodeSub(filter string, b []byte) (Subscription, error) {
	d := dec{b: b}
	s := Subscription{Filter: filter, QoS: d.byte(), NoLocal: d.bool(), RetainAsPub: d.bool(), RetainHandling: d.byte(), ID: uint32(d.uint())}
	return s, d.err
}

// Forwarded properties present, as bits of the first byte.
const (
	propPayloadFormat = 1 << iota
	propContentType
	propResponseTopic
	propCorrelationData
)

func encodeMessage(m *Message) []byte {
	return encodeWith(m, m.QoS, m.Retain, m.SubIDs, m.EnqueuedAt)
}

// encodeQueued encodes the message of a MsgPut event, with the event's
// QoS, Retain, SubIDs and enqueue time.
// The first byte of a queued message's value: whether it was sent when
// queued, and then its packet identifier and state follow.
const (
	queuedWaiting = 0
	queuedSent    = 1
)

func encodeQueued(m *Message, ev *Event) []byte {
	head := make([]byte, 1, 36+len(m.Topic)+len(m.Payload))
	if ev.PID != 0 {
		head[0] = queuedSent
		head = append(binary.BigEndian.AppendUint16(head, ev.PID), ev.State)
	}
	return encodeTo(head, m, ev.QoS, ev.Retain, ev.SubIDs, ev.At)
}

func encodeWith(m *Message, qos byte, retain bool, subIDs []uint32, at int64) []byte {
	return encodeTo(make([]byte, 0, 32+len(m.Topic)+len(m.Payload)), m, qos, retain, subIDs, at)
}

// encodeTo appends the encoding of m to dst.
func encodeTo(dst []byte, m *Message, qos byte, retain bool, subIDs []uint32, at int64) []byte {
	e := enc(dst)
	e = e.str(m.Topic).bytes(m.Payload).byte(qos).bool(retain).str(m.Origin).int(m.ExpiresAt).int(at)
	e = e.uint(uint64(len(subIDs)))
	for _, id := range subIDs {
		e = e.uint(uint64(id))
	}
	p := &m.Props
	var has byte
	if p.Has(packet.PropPayloadFormatIndicator) {
		has |= propPayloadFormat
	}
	if p.Has(packet.PropContentType) {
		has |= propContentType
	}
	if p.Has(packet.PropResponseTopic) {
		has |= propResponseTopic
	}
	if p.Has(packet.PropCorrelationData) {
		has |= propCorrelationData
	}
	e = e.byte(has)
	if has&propPayloadFormat != 0 {
		e = e.byte(p.PayloadFormat)
	}
	if has&propContentType != 0 {
		e = e.bytes(p.ContentType)
	}
	if has&propResponseTopic != 0 {
		e = e.bytes(p.ResponseTopic)
	}
	if has&propCorrelationData != 0 {
		e = e.bytes(p.CorrelationData)
	}
	e = e.uint(uint64(len(p.User)))
	for _, u := range p.User {
		e = e.bytes(u.Key).bytes(u.Value)
	}
	return e
}

func decodeMessage(b []byte) (*Message, error) {
	d := dec{b: b}
	m := &Message{Topic: d.str(), Payload: d.bytes(), QoS: d.byte(), Retain: d.bool(), Origin: d.str(), ExpiresAt: d.int(), EnqueuedAt: d.int()}
	if n := d.uint(); n > 0 && n <= uint64(len(d.b)) {
		m.SubIDs = make([]uint32, n)
		for i := range m.SubIDs {
			m.SubIDs[i] = uint32(d.uint())
		}
	} else if n > 0 {
		return nil, errShort
	}
	has := d.byte()
	p := &m.Props
	if has&propPayloadFormat != 0 {
		p.PayloadFormat = d.byte()
		p.Set(packet.PropPayloadFormatIndicator)
	}
	if has&propContentType != 0 {
		p.ContentType = d.bytes()
		p.Set(packet.PropContentType)
	}
	if has&propResponseTopic != 0 {
		p.ResponseTopic = d.bytes()
		p.Set(packet.PropResponseTopic)
	}
	if has&propCorrelationData != 0 {
		p.CorrelationData = d.bytes()
		p.Set(packet.PropCorrelationData)
	}
	if n := d.uint(); n > 0 && n <= uint64(len(d.b)) {
		p.User = make([]packet.UserProperty, n)
		for i := range p.User {
			p.User[i] = packet.UserProperty{Key: d.bytes(), Value: d.bytes()}
		}
	} else if n > 0 {
		return nil, errShort
	}
	if m.Payload == nil {
		m.Payload = []byte{}
	}
	return m, d.err
}

// clientKey is the prefix of a client's keys: its id with its length
// before it, so no id is a prefix of another's keys.
func clientKey(dst []byte, client string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(client)))
	return append(dst, client...)
}

// splitClientKey returns the client id of a key and the rest.
func splitClientKey(k []byte) (client string, rest []byte, ok bool) {
	if len(k) < 2 {
		return "", nil, false
	}
	n := int(binary.BigEndian.Uint16(k))
	if len(k) < 2+n {
		return "", nil, false
	}
	return string(k[2 : 2+n]), k[2+n:], true
}
