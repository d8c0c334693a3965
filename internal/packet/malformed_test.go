package packet

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// Malformed or forbidden input and the reason code the decoder reports for it.
var malformed = []struct {
	name string
	v    Version
	hex  string
	code ReasonCode
}{
	{"reserved type 0", V311, `00 00`, MalformedPacket},
	{"AUTH before MQTT 5", V311, `F0 00`, MalformedPacket},
	{"remaining length not minimal [MQTT-1.5.5-1]", V311, `C0 80 00`, MalformedPacket},
	{"remaining length five bytes", V311, `30 FF FF FF FF 7F`, MalformedPacket},

	// [MQTT-2.1.3-1] reserved fixed header flags.
	{"CONNECT flags [MQTT-2.1.3-1]", V311, `11 0D 00 04 'MQTT' 04 02 00 3C 00 01 'a'`, MalformedPacket},
	{"CONNACK flags [MQTT-2.1.3-1]", V311, `21 02 00 00`, MalformedPacket},
	{"PUBACK flags [MQTT-2.1.3-1]", V311, `42 02 00 01`, MalformedPacket},
	{"PUBREL flags 0 [MQTT-3.6.1-1]", V311, `60 02 00 01`, MalformedPacket},
	{"SUBSCRIBE flags 0 [MQTT-3.8.1-1]", V311, `80 06 00 01 00 01 'a' 00`, MalformedPacket},
	{"UNSUBSCRIBE flags 0 [MQTT-3.10.1-1]", V5, `A0 05 00 01 00 00 01 'a'`, MalformedPacket},
	{"PINGREQ flags [MQTT-2.1.3-1]", V311, `C1 00`, MalformedPacket},
	{"DISCONNECT flags 5 [MQTT-2.1.3-1]", V5, `E8 00`, MalformedPacket},
	{"AUTH flags [MQTT-2.1.3-1]", V5, `F1 00`, MalformedPacket},

	// CONNECT.
	{"CONNECT unknown protocol name [MQTT-3.1.2-1]", V311, `10 0D 00 04 'MQTX' 04 02 00 3C 00 01 'a'`, UnsupportedProtocolVersion},
	{"CONNECT level 6 [MQTT-3.1.2-2]", V311, `10 0D 00 04 'MQTT' 06 02 00 3C 00 01 'a'`, UnsupportedProtocolVersion},
	{"CONNECT MQTT with level 3", V311, `10 0D 00 04 'MQTT' 03 02 00 3C 00 01 'a'`, UnsupportedProtocolVersion},
	{"CONNECT MQIsdp with level 4", V311, `10 0F 00 06 'MQIsdp' 04 02 00 3C 00 01 'a'`, UnsupportedProtocolVersion},
	{"CONNECT reserved flag [MQTT-3.1.2-3]", V311, `10 0D 00 04 'MQTT' 04 03 00 3C 00 01 'a'`, MalformedPacket},
	{"CONNECT will QoS without will [MQTT-3.1.2-13]", V311, `10 0D 00 04 'MQTT' 04 0A 00 3C 00 01 'a'`, MalformedPacket},
	{"CONNECT will retain without will [MQTT-3.1.2-15]", V311, `10 0D 00 04 'MQTT' 04 22 00 3C 00 01 'a'`, MalformedPacket},
	{"CONNECT will QoS 3 [MQTT-3.1.2-14]", V311, `10 12 00 04 'MQTT' 04 1C 00 3C 00 01 'a' 00 01 't' 00 00`, MalformedPacket},
	{"CONNECT 5 will QoS without will [MQTT-3.1.2-11]", V5, `10 0E 00 04 'MQTT' 05 08 00 3C 00 00 01 'a'`, MalformedPacket},
	{"CONNECT password without user name 3.1.1 [MQTT-3.1.2-22]", V311, `10 11 00 04 'MQTT' 04 40 00 00 00 01 'c' 00 02 'pw'`, ProtocolError},
	{"CONNECT password without user name 3.1", V31, `10 13 00 06 'MQIsdp' 03 40 00 00 00 01 'c' 00 02 'pw'`, ProtocolError},
	{"CONNECT user name flag without field", V311, `10 0D 00 04 'MQTT' 04 80 00 3C 00 01 'a'`, MalformedPacket},
	{"CONNECT trailing bytes", V311, `10 0E 00 04 'MQTT' 04 02 00 3C 00 01 'a' 00`, MalformedPacket},
	{"CONNECT client id invalid UTF-8 [MQTT-1.5.4-1]", V311, `10 0D 00 04 'MQTT' 04 02 00 3C 00 01 FF`, MalformedPacket},
	{"CONNECT client id U+0000 [MQTT-1.5.4-2]", V311, `10 0D 00 04 'MQTT' 04 02 00 3C 00 01 00`, MalformedPacket},
	{"CONNECT client id surrogate [MQTT-1.5.4-1]", V311, `10 0F 00 04 'MQTT' 04 02 00 3C 00 03 ED A0 80`, MalformedPacket},
	{"CONNECT will topic with wildcard", V311, `10 12 00 04 'MQTT' 04 06 00 3C 00 01 'a' 00 01 '#' 00 00`, TopicNameInvalid},
	{"CONNECT truncated", V311, `10 05 00 04 'MQT'`, MalformedPacket},
	{"CONNECT 5 property not allowed", V5, `10 10 00 04 'MQTT' 05 02 00 3C 02 23 00 01 00 00`, ProtocolError},
	{"CONNECT 5 duplicate Session Expiry", V5, `10 17 00 04 'MQTT' 05 02 00 3C 0A 11 00 00 00 01 11 00 00 00 02 00 00`, ProtocolError},
	{"CONNECT 5 unknown property", V5, `10 0F 00 04 'MQTT' 05 02 00 3C 02 7F 00 00 00`, MalformedPacket},
	{"CONNECT 5 Receive Maximum 0", V5, `10 10 00 04 'MQTT' 05 02 00 3C 03 21 00 00 00 00`, ProtocolError},
	{"CONNECT 5 Maximum Packet Size 0", V5, `10 12 00 04 'MQTT' 05 02 00 3C 05 27 00 00 00 00 00 00`, ProtocolError},
	{"CONNECT 5 Request Problem Information 2", V5, `10 0F 00 04 'MQTT' 05 02 00 3C 02 17 02 00 00`, ProtocolError},
	{"CONNECT 5 Authentication Data without Method", V5, `10 10 00 04 'MQTT' 05 02 00 3C 03 16 00 00 00 00`, ProtocolError},
	{"CONNECT 5 property length beyond packet", V5, `10 0D 00 04 'MQTT' 05 02 00 3C 09 00 00`, MalformedPacket},
	{"CONNECT 5 Will Delay outside Will Properties", V5, `10 12 00 04 'MQTT' 05 02 00 3C 05 18 00 00 00 01 00 00`, ProtocolError},
	{"CONNECT 5 Topic Alias in Will Properties", V5, `10 16 00 04 'MQTT' 05 06 00 3C 00 00 00 03 23 00 01 00 01 't' 00 00`, ProtocolError},
	{"CONNECT 5 user property invalid UTF-8", V5, `10 14 00 04 'MQTT' 05 02 00 3C 07 26 00 01 FF 00 01 'v' 00 00`, MalformedPacket},

	// CONNACK.
	{"CONNACK reserved ack flags [MQTT-3.2.2-1]", V311, `20 02 02 00`, MalformedPacket},
	{"CONNACK 3.1.1 return code 6", V311, `20 02 00 06`, MalformedPacket},
	{"CONNACK session present with error [MQTT-3.2.2-4]", V311, `20 02 01 05`, ProtocolError},
	{"CONNACK 5 invalid reason code", V5, `20 03 00 04 00`, ProtocolError},
	{"CONNACK 5 Maximum QoS 2", V5, `20 05 00 00 02 24 02`, ProtocolError},
	{"CONNACK 5 truncated", V5, `20 02 00 00`, MalformedPacket},
	{"CONNACK 3.1.1 too long", V311, `20 03 00 00 00`, MalformedPacket},

	// PUBLISH.
	{"PUBLISH QoS 3 [MQTT-3.3.1-4]", V311, `36 07 00 03 'a/b' 00 01`, MalformedPacket},
	{"PUBLISH QoS 0 with DUP [MQTT-3.3.1-2]", V311, `38 05 00 03 'a/b'`, MalformedPacket},
	{"PUBLISH packet id 0 [MQTT-2.2.1-3]", V311, `32 07 00 03 'a/b' 00 00`, ProtocolError},
	{"PUBLISH topic with + [MQTT-3.3.2-2]", V311, `30 05 00 03 'a/+'`, TopicNameInvalid},
	{"PUBLISH topic with # [MQTT-3.3.2-2]", V5, `30 04 00 01 '#' 00`, TopicNameInvalid},
	{"PUBLISH topic invalid UTF-8 [MQTT-3.3.2-1]", V311, `30 04 00 02 C3 28`, MalformedPacket},
	{"PUBLISH topic with U+0000 [MQTT-4.7.3-2]", V311, `30 05 00 03 'a' 00 'b'`, MalformedPacket},
	{"PUBLISH empty topic 3.1.1 [MQTT-4.7.3-1]", V311, `30 03 00 00 'x'`, TopicNameInvalid},
	{"PUBLISH 5 empty topic without alias", V5, `30 03 00 00 00`, ProtocolError},
	{"PUBLISH 5 Topic Alias 0 [MQTT-3.3.2-8]", V5, `30 07 00 01 't' 03 23 00 00`, TopicAliasInvalid},
	{"PUBLISH 5 Payload Format 2", V5, `30 06 00 01 't' 02 01 02`, ProtocolError},
	{"PUBLISH 5 Subscription Identifier 0", V5, `30 06 00 01 't' 02 0B 00`, ProtocolError},
	{"PUBLISH 5 Response Topic with wildcard [MQTT-3.3.2-14]", V5, `30 09 00 01 't' 05 08 00 02 'a#'`, ProtocolError},
	{"PUBLISH 5 Session Expiry not allowed", V5, `30 09 00 01 't' 05 11 00 00 00 01`, ProtocolError},
	{"PUBLISH 5 duplicate Message Expiry", V5, `30 0E 00 01 't' 0A 02 00 00 00 01 02 00 00 00 01`, ProtocolError},
	{"PUBLISH 5 truncated property", V5, `30 06 00 01 't' 02 02 00`, MalformedPacket},
	{"PUBLISH 5 Subscription Identifier not minimal", V5, `30 07 00 01 't' 03 0B 81 00`, MalformedPacket},
	{"PUBLISH topic length beyond packet", V311, `30 03 00 05 'a'`, MalformedPacket},

	// PUBACK, PUBREC, PUBREL, PUBCOMP.
	{"PUBACK packet id 0", V311, `40 02 00 00`, ProtocolError},
	{"PUBACK 3.1.1 reason code", V311, `40 03 00 01 00`, MalformedPacket},
	{"PUBACK truncated", V311, `40 01 00`, MalformedPacket},
	{"PUBACK 5 invalid reason code", V5, `40 03 00 01 92`, ProtocolError},
	{"PUBREL 5 invalid reason code", V5, `62 03 00 01 10`, ProtocolError},
	{"PUBCOMP 5 property not allowed", V5, `70 06 00 01 00 02 23 00`, ProtocolError},
	{"PUBREC 5 property length too long", V5, `50 05 00 01 00 05 1F`, MalformedPacket},

	// SUBSCRIBE.
	{"SUBSCRIBE no filters 3.1.1 [MQTT-3.8.3-3]", V311, `82 02 00 01`, ProtocolError},
	{"SUBSCRIBE no filters 5 [MQTT-3.8.3-2]", V5, `82 03 00 01 00`, ProtocolError},
	{"SUBSCRIBE packet id 0", V311, `82 06 00 00 00 01 'a' 00`, ProtocolError},
	{"SUBSCRIBE 3.1.1 QoS 3 [MQTT-3-8.3-4]", V311, `82 06 00 01 00 01 'a' 03`, MalformedPacket},
	{"SUBSCRIBE 3.1.1 reserved option bits [MQTT-3-8.3-4]", V311, `82 06 00 01 00 01 'a' 04`, MalformedPacket},
	{"SUBSCRIBE 5 reserved option bits [MQTT-3.8.3-5]", V5, `82 07 00 01 00 00 01 'a' 40`, MalformedPacket},
	{"SUBSCRIBE 5 QoS 3", V5, `82 07 00 01 00 00 01 'a' 03`, ProtocolError},
	{"SUBSCRIBE 5 Retain Handling 3", V5, `82 07 00 01 00 00 01 'a' 30`, ProtocolError},
	{"SUBSCRIBE 5 No Local on shared [MQTT-3.8.3-4]", V5, `82 10 00 01 00 00 0A '$share/g/a' 04`, ProtocolError},
	{"SUBSCRIBE 5 two Subscription Identifiers", V5, `82 0B 00 01 04 0B 01 0B 02 00 01 'a' 00`, ProtocolError},
	{"SUBSCRIBE 5 Subscription Identifier 0", V5, `82 09 00 01 02 0B 00 00 01 'a' 00`, ProtocolError},
	{"SUBSCRIBE filter invalid UTF-8", V311, `82 06 00 01 00 01 FF 00`, MalformedPacket},
	{"SUBSCRIBE missing options byte", V311, `82 05 00 01 00 01 'a'`, MalformedPacket},

	// SUBACK, UNSUBSCRIBE, UNSUBACK.
	{"SUBACK 3.1.1 return code 3", V311, `90 03 00 01 03`, MalformedPacket},
	{"SUBACK 5 invalid reason code", V5, `90 04 00 01 00 10`, ProtocolError},
	{"SUBACK without codes", V311, `90 02 00 01`, ProtocolError},
	{"UNSUBSCRIBE no filters [MQTT-3.10.3-2]", V311, `A2 02 00 01`, ProtocolError},
	{"UNSUBSCRIBE 5 property not allowed", V5, `A2 0A 00 01 04 1F 00 01 'r' 00 01 'a'`, ProtocolError},
	{"UNSUBACK 3.1.1 with payload", V311, `B0 03 00 01 00`, MalformedPacket},
	{"UNSUBACK 5 invalid reason code", V5, `B0 04 00 01 00 01`, ProtocolError},

	// PINGREQ, DISCONNECT, AUTH.
	{"PINGREQ with body", V311, `C0 01 00`, MalformedPacket},
	{"DISCONNECT 3.1.1 with body", V311, `E0 01 00`, MalformedPacket},
	{"DISCONNECT 5 invalid reason code", V5, `E0 01 05`, ProtocolError},
	{"DISCONNECT 5 property not allowed", V5, `E0 04 00 02 23 00`, ProtocolError},
	{"DISCONNECT 5 trailing bytes", V5, `E0 03 00 00 00`, MalformedPacket},
	{"AUTH 5 invalid reason code", V5, `F0 02 04 00`, ProtocolError},
	{"AUTH 5 reason code 0x87", V5, `F0 01 87`, ProtocolError},
	{"AUTH 5 continue without Authentication Method", V5, `F0 02 18 00`, ProtocolError},
}

func TestMalformed(t *testing.T) {
	for _, tt := range malformed {
		t.Run(tt.name, func(t *testing.T) {
			b := h(t, tt.hex)
			_, err := decodeAll(b, tt.v)
			assertCode(t, err, tt.code)
		})
	}
}

// ReadRaw refuses a packet above the maximum size before reading its body.
func TestReadPacketTooLarge(t *testing.T) {
	pub := &Publish{Topic: []byte("t"), Payload: make([]byte, 100)}
	b := encode(t, pub, V311)
	// Only the fixed header is available: a body read would fail with EOF, so a
	// PacketTooLarge error proves the size was checked first.
	_, _, err := ReadPacket(bufio.NewReader(bytes.NewReader(b[:2])), V311, uint32(len(b)-1), nil)
	assertCode(t, err, PacketTooLarge)
	p, buf, err := ReadPacket(bufio.NewReader(bytes.NewReader(b)), V311, uint32(len(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, p, pub)
	if cap(buf) < 102 {
		t.Fatalf("returned buffer has capacity %d", cap(buf))
	}
}

func TestReadPacketTruncated(t *testing.T) {
	b := encode(t, &Publish{Topic: []byte("t"), Payload: []byte("abc")}, V311)
	for i := 1; i < len(b); i++ {
		_, _, err := ReadPacket(bufio.NewReader(bytes.NewReader(b[:i])), V311, 0, nil)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%d of %d bytes: err = %v, want io.ErrUnexpectedEOF", i, len(b), err)
		}
	}
	_, _, err := ReadPacket(bufio.NewReader(bytes.NewReader(nil)), V311, 0, nil)
	if err != io.EOF {
		t.Errorf("empty stream: err = %v, want io.EOF", err)
	}
}

// The encoder refuses packets the decoder would refuse.
func TestEncodeInvalid(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    Packet
		v    Version
		code ReasonCode
	}{
		{"publish QoS 3", &Publish{Topic: []byte("t"), QoS: 3, PacketID: 1}, V311, MalformedPacket},
		{"publish QoS 0 with packet id", &Publish{Topic: []byte("t"), PacketID: 1}, V311, ProtocolError},
		{"publish QoS 0 with DUP", &Publish{Topic: []byte("t"), Dup: true}, V311, ProtocolError},
		{"publish QoS 1 without packet id", &Publish{Topic: []byte("t"), QoS: 1}, V5, ProtocolError},
		{"publish empty topic 3.1.1", &Publish{}, V311, TopicNameInvalid},
		{"publish empty topic 5 without alias", &Publish{}, V5, ProtocolError},
		{"publish property not allowed", &Publish{Topic: []byte("t"), Properties: func() Properties {
			var p Properties
			p.SetSessionExpiry(1)
			return p
		}()}, V5, ProtocolError},
		{"connect password without user 3.1.1", &Connect{Password: []byte("x")}, V311, ProtocolError},
		{"connect will QoS without will", &Connect{WillQoS: 1}, V5, MalformedPacket},
		{"connect version 6", &Connect{Version: 6}, V5, UnsupportedProtocolVersion},
		{"subscribe empty", &Subscribe{PacketID: 1}, V5, ProtocolError},
		{"subscribe two ids", &Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: "a"}},
			Properties: Properties{SubscriptionIDs: []uint32{1, 2}}}, V5, ProtocolError},
		{"unsubscribe empty", &Unsubscribe{PacketID: 1}, V311, ProtocolError},
		{"ack without packet id", &Ack{PacketType: PUBACK}, V311, ProtocolError},
		{"ack wrong type", &Ack{PacketType: PUBLISH, PacketID: 1}, V311, ProtocolError},
		{"auth in 3.1.1", &Auth{}, V311, ProtocolError},
		{"too long topic", &Publish{Topic: make([]byte, 70000)}, V311, TopicNameInvalid},
		{"too long property", &Publish{Topic: []byte("t"), Properties: func() Properties {
			var p Properties
			p.SetContentType(make([]byte, 70000))
			return p
		}()}, V5, MalformedPacket},
		{"too long user property", &Ack{PacketType: PUBACK, PacketID: 1, Properties: Properties{
			User: []UserProperty{{Key: []byte("k"), Value: make([]byte, 65536)}}}}, V5, MalformedPacket},
		{"will property not allowed", &Connect{WillFlag: true, WillTopic: "w", WillProperties: func() Properties {
			var p Properties
			p.SetTopicAlias(1)
			return p
		}()}, V5, ProtocolError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.AppendTo(nil, tt.v)
			assertCode(t, err, tt.code)
			_, err = tt.p.EncodedLen(tt.v)
			assertCode(t, err, tt.code)
		})
	}
}

// A decoder error names the code, and errors.Is matches on the code.
func TestErrorMatching(t *testing.T) {
	_, err := decodeAll(h(t, `36 07 00 03 'a/b' 00 01`), V311)
	if !errors.Is(err, &Error{Code: MalformedPacket}) {
		t.Fatalf("errors.Is(%v, MalformedPacket) = false", err)
	}
	if errors.Is(err, &Error{Code: ProtocolError}) {
		t.Fatal("errors.Is matched another code")
	}
	if CodeOf(err) != MalformedPacket || CodeOf(nil) != Success || CodeOf(io.EOF) != UnspecifiedError {
		t.Fatal("CodeOf wrong")
	}
}

// A server answers an unsupported level in the client's format, so the decoder reports the
// level it saw ([MQTT-3.1.2-2]).
func TestConnectUnsupportedVersionReportsLevel(t *testing.T) {
	var c Connect
	b := h(t, `10 0D 00 04 'MQTT' 06 02 00 3C 00 01 'a'`)
	err := c.DecodeInto(b[0], b[2:], 0)
	assertCode(t, err, UnsupportedProtocolVersion)
	if c.Version != 6 || c.ProtocolName != "MQTT" {
		t.Fatalf("Connect = %+v, want version 6 and name MQTT", c)
	}
}
