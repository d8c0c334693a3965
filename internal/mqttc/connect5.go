package mqttc

import (
	"fmt"
	"net"
	"sync"

	"github.com/mqttx/mqttx/internal/packet"
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

// encodeConnectV5 encodes o as an MQTT 5 CONNECT packet with the codec.
func encodeConnectV5(o *Options) ([]byte, error) {
	b, err := ConnectPacket(o, packet.V5).AppendTo(nil, packet.V5)
	if err != nil {
		return nil, fmt.Errorf("invalid connect options: %w", err)
	}
	return b, nil
}

// ConnectPacket returns the CONNECT packet of version v that o describes: identity,
// session, will and, on MQTT 5, the CONNECT and will properties. The load engine
// encodes its CONNECTs from it too.
func ConnectPacket(o *Options, v packet.Version) *packet.Connect {
	c := &packet.Connect{
		Version:    v,
		CleanStart: o.CleanStart,
		KeepAlive:  o.KeepAlive,
		ClientID:   o.ClientID,
	}
	if o.Username != "" {
		c.UsernameFlag, c.Username = true, o.Username
	}
	if o.HasPassword || o.Password != "" {
		c.PasswordFlag, c.Password = true, []byte(o.Password)
	}
	if w := o.Will; w != nil {
		c.WillFlag, c.WillQoS, c.WillRetain, c.WillTopic, c.WillPayload = true, w.QoS, w.Retain, w.Topic, w.Payload
	}
	if v != packet.V5 {
		return c
	}
	p := &c.Properties
	if o.SessionExpiry != nil {
		p.SetSessionExpiry(*o.SessionExpiry)
	}
	if o.ReceiveMaximum != nil {
		p.SetReceiveMaximum(*o.ReceiveMaximum)
	}
	if o.MaximumPacketSize != nil {
		p.SetMaximumPacketSize(*o.MaximumPacketSize)
	}
	if o.TopicAliasMaximum != nil {
		p.SetTopicAliasMaximum(*o.TopicAliasMaximum)
	}
	if o.RequestResponseInfo {
		p.SetRequestResponseInfo(1)
	}
	if o.RequestProblemInfo != nil && !*o.RequestProblemInfo {
		p.SetRequestProblemInfo(0)
	}
	p.User = appendUser(p.User, o.UserProperties)
	if o.AuthenticationMethod != "" {
		p.SetAuthMethod([]byte(o.AuthenticationMethod))
	}
	if o.AuthenticationData != nil {
		p.SetAuthData(o.AuthenticationData)
	}
	if w := o.Will; w != nil {
		wp := &c.WillProperties
		if w.DelayInterval != nil {
			wp.SetWillDelay(*w.DelayInterval)
		}
		if w.PayloadFormat != nil {
			wp.SetPayloadFormat(*w.PayloadFormat)
		}
		if w.MessageExpiry != nil {
			wp.SetMessageExpiry(*w.MessageExpiry)
		}
		if w.ContentType != "" {
			wp.SetContentType([]byte(w.ContentType))
		}
		if w.ResponseTopic != "" {
			wp.SetResponseTopic([]byte(w.ResponseTopic))
		}
		if w.CorrelationData != nil {
			wp.SetCorrelationData(w.CorrelationData)
		}
		wp.User = appendUser(wp.User, w.UserProperties)
	}
	return c
}

func appendUser(dst []packet.UserProperty, ps []UserProperty) []packet.UserProperty {
	for _, u := range ps {
		dst = append(dst, packet.UserProperty{Key: []byte(u.Key), Value: []byte(u.Value)})
	}
	return dst
}

// appendVarint appends n as an MQTT Variable Byte Integer.
func appendVarint(b []byte, n int) []byte { return packet.AppendVarInt(b, uint32(n)) }
