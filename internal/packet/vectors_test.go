package packet

import (
	"fmt"
	"io"
	"testing"
)

func pubProps() Properties {
	var p Properties
	p.Set(PropPayloadFormatIndicator)
	p.PayloadFormat = 1
	p.Set(PropMessageExpiryInterval)
	p.MessageExpiry = 60
	return p
}

// vectors are byte-exact encodings laid out as the specifications' figures describe them
// (MQTT 3.1.1 section 3, MQTT 5 section 3); the 3.1.1 SUBSCRIBE, SUBACK, UNSUBSCRIBE
// and PUBLISH examples and the MQTT 5 CONNECT variable header are the spec's own.
var vectors = []struct {
	name string
	v    Version
	hex  string
	p    Packet
}{
	{"connect 3.1 MQIsdp", V31, `10 0F 00 06 'MQIsdp' 03 02 00 3C 00 01 'a'`,
		&Connect{ProtocolName: "MQIsdp", Version: V31, CleanStart: true, KeepAlive: 60, ClientID: "a"}},
	{"connect 3.1.1 minimal", V311, `10 0D 00 04 'MQTT' 04 02 00 3C 00 01 'a'`,
		&Connect{ProtocolName: "MQTT", Version: V311, CleanStart: true, KeepAlive: 60, ClientID: "a"}},
	{"connect 3.1.1 empty client id", V311, `10 0C 00 04 'MQTT' 04 02 00 00 00 00`,
		&Connect{ProtocolName: "MQTT", Version: V311, CleanStart: true}},
	// MQTT 3.1.1 figure 3.6 flags 0xCE: user name, password, will QoS 1, will, clean session.
	{"connect 3.1.1 will and credentials", V311,
		`10 23 00 04 'MQTT' 04 CE 00 0A 00 03 'cid' 00 03 'w/t' 00 03 'bye' 00 04 'user' 00 02 'pw'`,
		&Connect{ProtocolName: "MQTT", Version: V311, CleanStart: true, KeepAlive: 10, ClientID: "cid",
			WillFlag: true, WillQoS: 1, WillTopic: "w/t", WillPayload: []byte("bye"),
			UsernameFlag: true, Username: "user", PasswordFlag: true, Password: []byte("pw")}},
	{"connect 3.1.1 will retain qos 2", V311,
		`10 12 00 04 'MQTT' 04 34 00 00 00 01 'c' 00 01 't' 00 00`,
		&Connect{ProtocolName: "MQTT", Version: V311, ClientID: "c", WillFlag: true, WillQoS: 2, WillRetain: true, WillTopic: "t"}},
	// MQTT 5 figure 3-? CONNECT variable header example: flags 0xCE, keep alive 10,
	// properties length 5, Session Expiry Interval 10.
	{"connect 5 spec variable header", V5,
		`10 2A 00 04 'MQTT' 05 CE 00 0A 05 11 00 00 00 0A 00 03 'cid' 00 00 03 'w/t' 00 03 'bye' 00 04 'user' 00 02 'pw'`,
		&Connect{ProtocolName: "MQTT", Version: V5, CleanStart: true, KeepAlive: 10, ClientID: "cid",
			Properties: func() Properties { var p Properties; p.SetSessionExpiry(10); return p }(),
			WillFlag:   true, WillQoS: 1, WillTopic: "w/t", WillPayload: []byte("bye"),
			UsernameFlag: true, Username: "user", PasswordFlag: true, Password: []byte("pw")}},
	{"connect 5 password without user name", V5, `10 12 00 04 'MQTT' 05 40 00 00 00 00 01 'c' 00 02 'pw'`,
		&Connect{ProtocolName: "MQTT", Version: V5, ClientID: "c", PasswordFlag: true, Password: []byte("pw")}},

	{"connack 3.1 accepted", V31, `20 02 00 00`, &Connack{}},
	{"connack 3.1 identifier rejected", V31, `20 02 00 02`, &Connack{ReasonCode: V3RefusedIdentifierRejected}},
	{"connack 3.1.1 accepted", V311, `20 02 00 00`, &Connack{}},
	{"connack 3.1.1 session present", V311, `20 02 01 00`, &Connack{SessionPresent: true}},
	{"connack 3.1.1 not authorized", V311, `20 02 00 05`, &Connack{ReasonCode: V3RefusedNotAuthorized}},
	{"connack 5 success", V5, `20 03 00 00 00`, &Connack{}},
	{"connack 5 refused with reason string", V5, `20 08 00 87 05 1F 00 02 'no'`,
		&Connack{ReasonCode: NotAuthorized, Properties: func() Properties { var p Properties; p.SetReasonString([]byte("no")); return p }()}},
	{"connack 5 receive maximum and assigned id", V5, `20 0D 01 00 0A 12 00 04 'auto' 21 00 14`,
		&Connack{SessionPresent: true, Properties: func() Properties {
			var p Properties
			p.SetReceiveMaximum(20)
			p.SetAssignedClientID([]byte("auto"))
			return p
		}()}},

	{"publish 3.1.1 qos 0", V311, `30 07 00 03 'a/b' 'hi'`, &Publish{Topic: []byte("a/b"), Payload: []byte("hi")}},
	{"publish 3.1.1 qos 0 empty payload", V311, `30 05 00 03 'a/b'`, &Publish{Topic: []byte("a/b")}},
	// MQTT 3.1.1 figure 3.11: topic "a/b", packet identifier 10.
	{"publish 3.1.1 qos 1 spec example", V311, `32 09 00 03 'a/b' 00 0A 'hi'`,
		&Publish{Topic: []byte("a/b"), QoS: 1, PacketID: 10, Payload: []byte("hi")}},
	{"publish 3.1 qos 2 dup retain", V31, `3D 09 00 03 'a/b' FF FF 'hi'`,
		&Publish{Topic: []byte("a/b"), QoS: 2, Dup: true, Retain: true, PacketID: 65535, Payload: []byte("hi")}},
	{"publish 5 qos 1 no properties", V5, `32 0A 00 03 'a/b' 00 0A 00 'hi'`,
		&Publish{Topic: []byte("a/b"), QoS: 1, PacketID: 10, Payload: []byte("hi")}},
	{"publish 5 properties", V5, `31 0F 00 03 'a/b' 07 01 01 02 00 00 00 3C 'hi'`,
		&Publish{Topic: []byte("a/b"), Retain: true, Payload: []byte("hi"), Properties: pubProps()}},
	{"publish 5 topic alias with empty topic", V5, `30 08 00 00 03 23 00 05 'hi'`,
		&Publish{Payload: []byte("hi"), Properties: func() Properties { var p Properties; p.SetTopicAlias(5); return p }()}},
	{"publish 5 subscription identifiers", V5, `30 0A 00 01 't' 05 0B 01 0B 80 01 'x'`,
		&Publish{Topic: []byte("t"), Payload: []byte("x"), Properties: Properties{SubscriptionIDs: []uint32{1, 128}}}},

	{"puback 3.1", V31, `40 02 00 01`, &Ack{PacketType: PUBACK, PacketID: 1}},
	{"pubrel 3.1", V31, `62 02 00 01`, &Ack{PacketType: PUBREL, PacketID: 1}},
	{"unsubscribe 3.1", V31, `A2 05 00 01 00 01 'a'`, &Unsubscribe{PacketID: 1, Filters: []string{"a"}}},
	{"suback 3.1", V31, `90 03 00 01 01`, &Suback{PacketID: 1, ReasonCodes: []ReasonCode{GrantedQoS1}}},
	{"unsuback 3.1", V31, `B0 02 00 01`, &Unsuback{PacketID: 1}},
	{"pingreq 3.1", V31, `C0 00`, &Pingreq{}},
	{"disconnect 3.1", V31, `E0 00`, &Disconnect{}},
	{"puback 3.1.1", V311, `40 02 00 0A`, &Ack{PacketType: PUBACK, PacketID: 10}},
	{"pubrec 3.1.1", V311, `50 02 00 0A`, &Ack{PacketType: PUBREC, PacketID: 10}},
	{"pubrel 3.1.1 [MQTT-3.6.1-1]", V311, `62 02 00 0A`, &Ack{PacketType: PUBREL, PacketID: 10}},
	{"pubcomp 3.1.1", V311, `70 02 00 0A`, &Ack{PacketType: PUBCOMP, PacketID: 10}},
	{"puback 5 success short form [MQTT-3.4.2-1]", V5, `40 02 00 0A`, &Ack{PacketType: PUBACK, PacketID: 10}},
	{"puback 5 no matching subscribers", V5, `40 03 00 0A 10`, &Ack{PacketType: PUBACK, PacketID: 10, ReasonCode: NoMatchingSubscribers}},
	{"pubrec 5 reason string", V5, `50 08 00 0A 97 04 1F 00 01 'q'`, &Ack{PacketType: PUBREC, PacketID: 10, ReasonCode: QuotaExceeded,
		Properties: func() Properties { var p Properties; p.SetReasonString([]byte("q")); return p }()}},
	{"pubrel 5 packet id not found", V5, `62 03 00 0A 92`, &Ack{PacketType: PUBREL, PacketID: 10, ReasonCode: PacketIdentifierNotFound}},
	{"pubcomp 5", V5, `70 02 12 34`, &Ack{PacketType: PUBCOMP, PacketID: 0x1234}},

	// MQTT 3.1.1 figure 3.22: "a/b" QoS 1, "c/d" QoS 2, packet identifier 10.
	{"subscribe 3.1.1 spec example", V311, `82 0E 00 0A 00 03 'a/b' 01 00 03 'c/d' 02`,
		&Subscribe{PacketID: 10, Subscriptions: []Subscription{{Filter: "a/b", QoS: 1}, {Filter: "c/d", QoS: 2}}}},
	{"subscribe 3.1", V31, `82 08 00 01 00 03 'a/#' 00`,
		&Subscribe{PacketID: 1, Subscriptions: []Subscription{{Filter: "a/#"}}}},
	{"subscribe 5 options and subscription id", V5, `82 12 00 0A 02 0B 07 00 03 'a/b' 2D 00 04 '$SYS' 10`,
		&Subscribe{PacketID: 10, Properties: Properties{SubscriptionIDs: []uint32{7}}, Subscriptions: []Subscription{
			{Filter: "a/b", QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2},
			{Filter: "$SYS", RetainHandling: 1}}}},

	// MQTT 3.1.1 figure 3.26: granted QoS 0, granted QoS 2, failure.
	{"suback 3.1.1 spec example", V311, `90 05 00 0A 00 02 80`,
		&Suback{PacketID: 10, ReasonCodes: []ReasonCode{GrantedQoS0, GrantedQoS2, V3SubackFailure}}},
	{"suback 5", V5, `90 06 00 0A 00 01 8F A2`,
		&Suback{PacketID: 10, ReasonCodes: []ReasonCode{GrantedQoS1, TopicFilterInvalid, WildcardSubscriptionsNotSupported}}},

	// MQTT 3.1.1 figure 3.30: "a/b" and "c/d", packet identifier 10.
	{"unsubscribe 3.1.1 spec example", V311, `A2 0C 00 0A 00 03 'a/b' 00 03 'c/d'`,
		&Unsubscribe{PacketID: 10, Filters: []string{"a/b", "c/d"}}},
	{"unsubscribe 5 user property", V5, `A2 0D 00 0A 07 26 00 01 'k' 00 01 'v' 00 01 '#'`,
		&Unsubscribe{PacketID: 10, Filters: []string{"#"}, Properties: Properties{User: []UserProperty{{[]byte("k"), []byte("v")}}}}},

	{"unsuback 3.1.1", V311, `B0 02 00 0A`, &Unsuback{PacketID: 10}},
	{"unsuback 5", V5, `B0 05 00 0A 00 00 11`, &Unsuback{PacketID: 10, ReasonCodes: []ReasonCode{Success, NoSubscriptionExisted}}},

	{"pingreq", V311, `C0 00`, &Pingreq{}},
	{"pingresp", V5, `D0 00`, &Pingresp{}},

	{"disconnect 3.1.1", V311, `E0 00`, &Disconnect{}},
	{"disconnect 5 normal short form", V5, `E0 00`, &Disconnect{}},
	{"disconnect 5 with will", V5, `E0 01 04`, &Disconnect{ReasonCode: DisconnectWithWill}},
	{"disconnect 5 session expiry", V5, `E0 07 00 05 11 00 00 00 00`, &Disconnect{
		Properties: func() Properties { var p Properties; p.SetSessionExpiry(0); return p }()}},

	{"auth 5 success short form", V5, `F0 00`, &Auth{}},
	{"auth 5 continue", V5, `F0 0C 18 0A 15 00 02 'SC' 16 00 02 01 02`, &Auth{ReasonCode: ContinueAuthentication,
		Properties: func() Properties {
			var p Properties
			p.SetAuthMethod([]byte("SC"))
			p.SetAuthData([]byte{1, 2})
			return p
		}()}},
}

func TestVectors(t *testing.T) {
	for _, tt := range vectors {
		t.Run(fmt.Sprintf("%s/v%s", tt.name, tt.v), func(t *testing.T) {
			want := h(t, tt.hex)
			got := encode(t, tt.p, tt.v)
			assertBytes(t, got, want)
			p, err := decodeAll(want, tt.v)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			assertEqual(t, p, tt.p)
		})
	}
}

// Variable Byte Integer boundaries from MQTT 5 table 1-1 / 3.1.1 table 2.4.
func TestVarIntTable(t *testing.T) {
	for _, tt := range []struct {
		v   uint32
		hex string
	}{
		{0, "00"}, {127, "7F"}, {128, "80 01"}, {16383, "FF 7F"}, {16384, "80 80 01"},
		{2097151, "FF FF 7F"}, {2097152, "80 80 80 01"}, {268435455, "FF FF FF 7F"},
	} {
		want := h(t, tt.hex)
		assertBytes(t, AppendVarInt(nil, tt.v), want)
		if VarIntLen(tt.v) != len(want) {
			t.Errorf("VarIntLen(%d) = %d, want %d", tt.v, VarIntLen(tt.v), len(want))
		}
		got, n, err := DecodeVarInt(want)
		if err != nil || got != tt.v || n != len(want) {
			t.Errorf("DecodeVarInt(% X) = %d, %d, %v", want, got, n, err)
		}
		r, err := ReadVarInt(bufioReader(want))
		if err != nil || r != tt.v {
			t.Errorf("ReadVarInt(% X) = %d, %v", want, r, err)
		}
	}
}

// [MQTT-1.5.5-1]: the shortest form is required; five bytes are never valid.
func TestVarIntMalformed(t *testing.T) {
	for _, s := range []string{"80 00", "FF 00", "80 80 00", "FF FF FF 80", "FF FF FF FF 7F", "80", ""} {
		b := h(t, s)
		if _, _, err := DecodeVarInt(b); err == nil {
			t.Errorf("DecodeVarInt(% X) succeeded", b)
		} else {
			assertCode(t, err, MalformedPacket)
		}
	}
}

// MQTT 3.1 set DUP on retried PUBREL, SUBSCRIBE and UNSUBSCRIBE (their QoS was 1); such
// packets decode for 3.1 only and are written back without DUP.
func TestV31DupOnQoS1Packets(t *testing.T) {
	for _, s := range []string{`6A 02 00 01`, `8A 06 00 01 00 01 'a' 00`, `AA 05 00 01 00 01 'a'`} {
		b := h(t, s)
		p, err := decodeAll(b, V31)
		if err != nil {
			t.Fatalf("3.1 decode % X: %v", b, err)
		}
		out := encode(t, p, V31)
		if out[0] != b[0]&^0x08 {
			t.Fatalf("re-encoded first byte %02X, want %02X", out[0], b[0]&^0x08)
		}
		_, err = decodeAll(b, V311)
		assertCode(t, err, MalformedPacket) // [MQTT-2.1.3-1]
	}
}

// A stream of packets decodes one after another into one reused buffer.
func TestReadPacketStream(t *testing.T) {
	var stream []byte
	ps := samples(V5)
	for _, p := range ps {
		var err error
		if stream, err = p.AppendTo(stream, V5); err != nil {
			t.Fatal(err)
		}
	}
	r := bufioReader(stream)
	buf := make([]byte, 0, 8)
	for i, want := range ps {
		var got Packet
		var err error
		got, buf, err = ReadPacket(r, V5, 1<<20, buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		// Compare through re-encoding: got aliases buf, which the next read reuses.
		assertBytes(t, encode(t, got, V5), encode(t, want, V5))
	}
	if _, _, err := ReadPacket(r, V5, 0, buf); err != io.EOF {
		t.Fatalf("after the last packet: %v, want io.EOF", err)
	}
}
