package mqttc

import (
	"encoding/binary"
	"net"
	"sync"
)

// paho.golang v0.23.0 encodes will properties with the CONNECT property rules, which
// silently drops the will's payload format, message expiry, content type, response topic
// and correlation data; paho.mqtt.golang never sends an empty password. When that
// matters connectFixConn swallows the library's CONNECT and sends a corrected one.

// needsOwnConnect reports whether paho would drop part of o's will.
func needsOwnConnect(o *Options) bool {
	w := o.Will
	return w != nil && (w.PayloadFormat != nil || w.MessageExpiry != nil || w.ContentType != "" ||
		w.ResponseTopic != "" || w.CorrelationData != nil)
}

type connectFixConn struct {
	net.Conn
	mu      sync.Mutex
	fix     func(connect []byte) []byte // nil once the CONNECT is sent
	pending []byte                      // the library's CONNECT so far
}

func (c *connectFixConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fix == nil {
		return c.Conn.Write(p)
	}
	c.pending = append(c.pending, p...)
	n := completePackets(c.pending)
	if n == 0 {
		return len(p), nil
	}
	// The first complete packet is the CONNECT: send its fixed form, then the rest.
	first := packetLen(c.pending)
	out := append(c.fix(c.pending[:first]), c.pending[first:]...)
	c.fix, c.pending = nil, nil
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// packetLen is the length of the complete packet at the start of b (see completePackets).
func packetLen(b []byte) int {
	i, length, mult := 1, 0, 1
	for i < len(b) && i < 5 {
		d := b[i]
		length += int(d&0x7f) * mult
		i++
		if d&0x80 == 0 {
			break
		}
		mult *= 128
	}
	return min(i+length, len(b))
}

// addEmptyPassword sets the password flag of a 3.x CONNECT and appends an empty password.
func addEmptyPassword(pkt []byte) []byte {
	i := 1
	for i < len(pkt) && pkt[i]&0x80 != 0 {
		i++
	}
	body := append([]byte(nil), pkt[i+1:]...)
	if len(body) < 2 {
		return pkt
	}
	nameLen := int(body[0])<<8 | int(body[1])
	flagsAt := 2 + nameLen + 1 // protocol name, then protocol level
	if flagsAt >= len(body) || body[flagsAt]&0x40 != 0 {
		return pkt
	}
	body[flagsAt] |= 0x40
	body = append(body, 0, 0)
	return append(appendVarint([]byte{pkt[0]}, len(body)), body...)
}

// encodeConnectV5 encodes o as an MQTT 5 CONNECT packet.
func encodeConnectV5(o *Options) []byte {
	var flags byte
	if o.CleanStart {
		flags |= 0x02
	}
	if w := o.Will; w != nil {
		flags |= 0x04 | w.QoS<<3
		if w.Retain {
			flags |= 0x20
		}
	}
	if o.HasPassword || o.Password != "" {
		flags |= 0x40
	}
	if o.Username != "" {
		flags |= 0x80
	}
	var props []byte
	if o.SessionExpiry != nil {
		props = appendU32(append(props, 0x11), *o.SessionExpiry)
	}
	if o.ReceiveMaximum != nil {
		props = appendU16(append(props, 0x21), *o.ReceiveMaximum)
	}
	if o.MaximumPacketSize != nil {
		props = appendU32(append(props, 0x27), *o.MaximumPacketSize)
	}
	if o.TopicAliasMaximum != nil {
		props = appendU16(append(props, 0x22), *o.TopicAliasMaximum)
	}
	if o.RequestResponseInfo {
		props = append(props, 0x19, 1)
	}
	if o.RequestProblemInfo != nil && !*o.RequestProblemInfo {
		props = append(props, 0x17, 0)
	}
	props = appendUserProps(props, o.UserProperties)
	if o.AuthenticationMethod != "" {
		props = appendStr(append(props, 0x15), o.AuthenticationMethod)
	}
	if o.AuthenticationData != nil {
		props = appendStr(append(props, 0x16), string(o.AuthenticationData))
	}

	body := appendStr(nil, "MQTT")
	body = append(body, 5, flags)
	body = appendU16(body, o.KeepAlive)
	body = appendVarint(body, len(props))
	body = append(body, props...)
	body = appendStr(body, o.ClientID)
	if w := o.Will; w != nil {
		var wp []byte
		if w.DelayInterval != nil {
			wp = appendU32(append(wp, 0x18), *w.DelayInterval)
		}
		if w.PayloadFormat != nil {
			wp = append(wp, 0x01, *w.PayloadFormat)
		}
		if w.MessageExpiry != nil {
			wp = appendU32(append(wp, 0x02), *w.MessageExpiry)
		}
		if w.ContentType != "" {
			wp = appendStr(append(wp, 0x03), w.ContentType)
		}
		if w.ResponseTopic != "" {
			wp = appendStr(append(wp, 0x08), w.ResponseTopic)
		}
		if w.CorrelationData != nil {
			wp = appendStr(append(wp, 0x09), string(w.CorrelationData))
		}
		wp = appendUserProps(wp, w.UserProperties)
		body = appendVarint(body, len(wp))
		body = append(body, wp...)
		body = appendStr(body, w.Topic)
		body = appendStr(body, string(w.Payload))
	}
	if o.Username != "" {
		body = appendStr(body, o.Username)
	}
	if flags&0x40 != 0 {
		body = appendStr(body, o.Password)
	}
	pkt := appendVarint([]byte{0x10}, len(body))
	return append(pkt, body...)
}

func appendU16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

// appendStr appends a two-byte length and s (UTF-8 string or binary data).
func appendStr(b []byte, s string) []byte { return append(appendU16(b, uint16(len(s))), s...) }

func appendUserProps(b []byte, ps []UserProperty) []byte {
	for _, p := range ps {
		b = appendStr(appendStr(append(b, 0x26), p.Key), p.Value)
	}
	return b
}

func appendVarint(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}
