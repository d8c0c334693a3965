package packet

import (
	"fmt"
	"testing"
)

// samples returns one packet of every type with every field (and, for MQTT 5, every
// property the packet may carry) populated, as a decoder for version v returns them.
func samples(v Version) []Packet {
	v5 := v == V5
	props := func(t Type) Properties {
		if !v5 {
			return Properties{}
		}
		return fullProps(t)
	}
	name := "MQTT"
	if v == V31 {
		name = "MQIsdp"
	}
	connect := &Connect{ProtocolName: name, Version: v, CleanStart: true, KeepAlive: 65535, ClientID: "client-ü",
		WillFlag: true, WillQoS: 2, WillRetain: true, WillTopic: "will/topic", WillPayload: []byte{0, 1, 2},
		WillProperties: props(willKind), UsernameFlag: true, Username: "user", PasswordFlag: true,
		Password: []byte{0xFF, 0}, Properties: props(CONNECT)}
	connack := &Connack{SessionPresent: true, Properties: props(CONNACK)}
	refused := &Connack{ReasonCode: V3RefusedBadUsernameOrPassword}
	if v5 {
		refused = &Connack{ReasonCode: QuotaExceeded, Properties: props(CONNACK)}
	}
	pub := &Publish{Topic: []byte("a/b/ü"), Payload: []byte("payload"), QoS: 2, Retain: true, Dup: true, PacketID: 7, Properties: props(PUBLISH)}
	pub0 := &Publish{Topic: []byte("x"), Properties: props(PUBLISH)}
	rcs := []ReasonCode{GrantedQoS0, GrantedQoS1, GrantedQoS2, V3SubackFailure}
	unsubRC := []ReasonCode(nil)
	if v5 {
		rcs = []ReasonCode{GrantedQoS0, GrantedQoS1, GrantedQoS2, NotAuthorized, SharedSubscriptionsNotSupported}
		unsubRC = []ReasonCode{Success, NoSubscriptionExisted, TopicFilterInvalid}
	}
	subs := []Subscription{{Filter: "a/+/c", QoS: 1}, {Filter: "#", QoS: 2}, {Filter: "$share/g/x"}}
	if v5 {
		subs = append(subs, Subscription{Filter: "n/#", QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2})
	}
	ps := []Packet{connect, connack, refused, pub, pub0}
	for t := PUBACK; t <= PUBCOMP; t++ {
		a := &Ack{PacketType: t, PacketID: 65535, Properties: props(t)}
		if v5 {
			a.ReasonCode = PacketIdentifierNotFound
			if t == PUBACK || t == PUBREC {
				a.ReasonCode = PayloadFormatInvalid
			}
		}
		ps = append(ps, a, &Ack{PacketType: t, PacketID: 1})
	}
	ps = append(ps,
		&Subscribe{PacketID: 3, Subscriptions: subs, Properties: props(SUBSCRIBE)},
		&Suback{PacketID: 3, ReasonCodes: rcs, Properties: props(SUBACK)},
		&Unsubscribe{PacketID: 4, Filters: []string{"a/b", "+/#"}, Properties: props(UNSUBSCRIBE)},
		&Unsuback{PacketID: 4, ReasonCodes: unsubRC, Properties: props(UNSUBACK)},
		&Pingreq{}, &Pingresp{}, &Disconnect{})
	if v5 {
		ps = append(ps,
			&Disconnect{ReasonCode: ServerMoved, Properties: props(DISCONNECT)},
			&Disconnect{ReasonCode: KeepAliveTimeout},
			&Auth{ReasonCode: ReAuthenticate, Properties: props(AUTH)},
			&Auth{})
	}
	return ps
}

func TestRoundTrip(t *testing.T) {
	for _, v := range []Version{V31, V311, V5} {
		for i, p := range samples(v) {
			t.Run(fmt.Sprintf("v%s/%d-%s", v, i, p.Type()), func(t *testing.T) {
				b := encode(t, p, v)
				got, err := decodeAll(b, v)
				if err != nil {
					t.Fatalf("decode % X: %v", b, err)
				}
				assertEqual(t, got, p)
				// Decoding into a used packet of the same type replaces everything.
				reuse := New(p.Type())
				for _, q := range samples(V5) {
					if q.Type() == p.Type() {
						qb := encode(t, q, V5)
						h, body, _, err := ReadRaw(bufioReader(qb), 0, nil)
						if err != nil || reuse.DecodeInto(h.First(), body, V5) != nil {
							t.Fatalf("decode v5 sample: %v", err)
						}
					}
				}
				hd, body, _, err := ReadRaw(bufioReader(b), 0, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := reuse.DecodeInto(hd.First(), body, v); err != nil {
					t.Fatalf("DecodeInto reused: %v", err)
				}
				again := encode(t, reuse, v)
				assertBytes(t, again, b)
			})
		}
	}
}

// Every property a packet may carry survives a round trip, and the property tables agree
// with the specification's list in section 2.2.2.2.
func TestPropertiesAllowed(t *testing.T) {
	want := map[PropID][]Type{
		PropPayloadFormatIndicator:          {PUBLISH, willKind},
		PropMessageExpiryInterval:           {PUBLISH, willKind},
		PropContentType:                     {PUBLISH, willKind},
		PropResponseTopic:                   {PUBLISH, willKind},
		PropCorrelationData:                 {PUBLISH, willKind},
		PropSubscriptionIdentifier:          {PUBLISH, SUBSCRIBE},
		PropSessionExpiryInterval:           {CONNECT, CONNACK, DISCONNECT},
		PropAssignedClientIdentifier:        {CONNACK},
		PropServerKeepAlive:                 {CONNACK},
		PropAuthenticationMethod:            {CONNECT, CONNACK, AUTH},
		PropAuthenticationData:              {CONNECT, CONNACK, AUTH},
		PropRequestProblemInformation:       {CONNECT},
		PropWillDelayInterval:               {willKind},
		PropRequestResponseInformation:      {CONNECT},
		PropResponseInformation:             {CONNACK},
		PropServerReference:                 {CONNACK, DISCONNECT},
		PropReasonString:                    {CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, DISCONNECT, AUTH},
		PropReceiveMaximum:                  {CONNECT, CONNACK},
		PropTopicAliasMaximum:               {CONNECT, CONNACK},
		PropTopicAlias:                      {PUBLISH},
		PropMaximumQoS:                      {CONNACK},
		PropRetainAvailable:                 {CONNACK},
		PropUserProperty:                    {CONNECT, CONNACK, PUBLISH, willKind, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, DISCONNECT, AUTH},
		PropMaximumPacketSize:               {CONNECT, CONNACK},
		PropWildcardSubscriptionAvailable:   {CONNACK},
		PropSubscriptionIdentifierAvailable: {CONNACK},
		PropSharedSubscriptionAvailable:     {CONNACK},
	}
	for id := PropID(0); id < 64; id++ {
		allowed := map[Type]bool{}
		for _, k := range want[id] {
			allowed[k] = true
		}
		for k := Type(0); k < 16; k++ {
			if PropAllowed(id, k) != allowed[k] {
				t.Errorf("PropAllowed(0x%02X, %s) = %v, want %v", byte(id), kindName(k), !allowed[k], allowed[k])
			}
		}
	}
}

func TestPropertiesHasSetClear(t *testing.T) {
	var p Properties
	if !p.Empty() || p.Has(PropTopicAlias) {
		t.Fatal("zero Properties not empty")
	}
	p.SetTopicAlias(4)
	if !p.Has(PropTopicAlias) || p.Has(PropTopicAliasMaximum) || p.Empty() {
		t.Fatal("SetTopicAlias presence wrong")
	}
	p.Clear(PropTopicAlias)
	if p.Has(PropTopicAlias) || !p.Empty() {
		t.Fatal("Clear did not remove Topic Alias")
	}
	p.User = append(p.User, UserProperty{Key: []byte("a")})
	p.SubscriptionIDs = append(p.SubscriptionIDs, 9)
	if !p.Has(PropUserProperty) || !p.Has(PropSubscriptionIdentifier) {
		t.Fatal("multi-valued presence wrong")
	}
	p.Reset()
	if !p.Empty() || cap(p.User) == 0 {
		t.Fatal("Reset must empty and keep capacity")
	}
}

// Clone detaches a decoded PUBLISH from the buffer it was decoded from.
func TestCloneDetaches(t *testing.T) {
	src := &Publish{Topic: []byte("t/1"), Payload: []byte("data"), QoS: 1, PacketID: 2, Properties: fullProps(PUBLISH)}
	b := encode(t, src, V5)
	h, body, _, err := ReadRaw(bufioReader(b), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var p Publish
	if err := p.DecodeInto(h.First(), body, V5); err != nil {
		t.Fatal(err)
	}
	c := p.Clone()
	for i := range body {
		body[i] = 0xEE
	}
	assertEqual(t, c, src)

	cs := &Connect{ProtocolName: "MQTT", Version: V5, ClientID: "c", WillFlag: true, WillTopic: "w", WillPayload: []byte("x"),
		PasswordFlag: true, Password: []byte("p"), Properties: fullProps(CONNECT), WillProperties: fullProps(willKind)}
	b = encode(t, cs, V5)
	h, body, _, err = ReadRaw(bufioReader(b), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var c2 Connect
	if err := c2.DecodeInto(h.First(), body, 0); err != nil {
		t.Fatal(err)
	}
	cc := c2.Clone()
	for i := range body {
		body[i] = 0xEE
	}
	assertEqual(t, cc, cs)
}

func TestPayloadFormatValid(t *testing.T) {
	p := &Publish{Topic: []byte("t"), Payload: []byte{0xFF}}
	if !p.PayloadFormatValid() {
		t.Fatal("no indicator: any payload is valid")
	}
	p.Properties.SetPayloadFormat(1)
	if p.PayloadFormatValid() {
		t.Fatal("indicator 1 with invalid UTF-8 accepted")
	}
	p.Payload = []byte("ü ok")
	if !p.PayloadFormatValid() {
		t.Fatal("indicator 1 with UTF-8 refused")
	}
}

// Every typed setter marks its own property present and no other.
func TestSetters(t *testing.T) {
	for id, set := range map[PropID]func(*Properties){
		PropPayloadFormatIndicator:          func(p *Properties) { p.SetPayloadFormat(1) },
		PropMessageExpiryInterval:           func(p *Properties) { p.SetMessageExpiry(1) },
		PropContentType:                     func(p *Properties) { p.SetContentType([]byte("c")) },
		PropResponseTopic:                   func(p *Properties) { p.SetResponseTopic([]byte("r")) },
		PropCorrelationData:                 func(p *Properties) { p.SetCorrelationData([]byte("d")) },
		PropSessionExpiryInterval:           func(p *Properties) { p.SetSessionExpiry(1) },
		PropAssignedClientIdentifier:        func(p *Properties) { p.SetAssignedClientID([]byte("a")) },
		PropServerKeepAlive:                 func(p *Properties) { p.SetServerKeepAlive(1) },
		PropAuthenticationMethod:            func(p *Properties) { p.SetAuthMethod([]byte("m")) },
		PropAuthenticationData:              func(p *Properties) { p.SetAuthData([]byte("d")) }, // method added below
		PropRequestProblemInformation:       func(p *Properties) { p.SetRequestProblemInfo(1) },
		PropWillDelayInterval:               func(p *Properties) { p.SetWillDelay(1) },
		PropRequestResponseInformation:      func(p *Properties) { p.SetRequestResponseInfo(1) },
		PropResponseInformation:             func(p *Properties) { p.SetResponseInfo([]byte("i")) },
		PropServerReference:                 func(p *Properties) { p.SetServerReference([]byte("s")) },
		PropReasonString:                    func(p *Properties) { p.SetReasonString([]byte("r")) },
		PropReceiveMaximum:                  func(p *Properties) { p.SetReceiveMaximum(1) },
		PropTopicAliasMaximum:               func(p *Properties) { p.SetTopicAliasMaximum(1) },
		PropTopicAlias:                      func(p *Properties) { p.SetTopicAlias(1) },
		PropMaximumQoS:                      func(p *Properties) { p.SetMaximumQoS(1) },
		PropRetainAvailable:                 func(p *Properties) { p.SetRetainAvailable(1) },
		PropMaximumPacketSize:               func(p *Properties) { p.SetMaximumPacketSize(1) },
		PropWildcardSubscriptionAvailable:   func(p *Properties) { p.SetWildcardSubAvailable(1) },
		PropSubscriptionIdentifierAvailable: func(p *Properties) { p.SetSubIDAvailable(1) },
		PropSharedSubscriptionAvailable:     func(p *Properties) { p.SetSharedSubAvailable(1) },
	} {
		var p Properties
		set(&p)
		for other := PropID(1); other < 64; other++ {
			if p.Has(other) != (other == id) {
				t.Errorf("setter for 0x%02X: Has(0x%02X) = %v", byte(id), byte(other), p.Has(other))
			}
		}
		if id == PropAuthenticationData {
			_, err := (&Connack{Properties: p}).AppendTo(nil, V5)
			assertCode(t, err, ProtocolError)
			p.SetAuthMethod([]byte("m"))
		}
		// The property survives a round trip in a packet that allows it.
		for kind := Type(0); kind < 16; kind++ {
			if !PropAllowed(id, kind) || kind == 0 {
				continue
			}
			var pk Packet
			switch kind {
			case CONNECT:
				pk = &Connect{ProtocolName: "MQTT", Version: V5, Properties: p}
			case CONNACK:
				pk = &Connack{Properties: p}
			case PUBLISH:
				pk = &Publish{Topic: []byte("t"), Properties: p}
			case DISCONNECT:
				pk = &Disconnect{Properties: p}
			case AUTH:
				pk = &Auth{Properties: p}
			default:
				continue
			}
			got, err := decodeAll(encode(t, pk, V5), V5)
			if err != nil {
				t.Fatalf("0x%02X in %s: %v", byte(id), kind, err)
			}
			assertEqual(t, got, pk)
			break
		}
	}
}

func TestReasonCodeHelpers(t *testing.T) {
	if Success.IsError() || !UnspecifiedError.IsError() || NoMatchingSubscribers.IsError() {
		t.Fatal("IsError wrong")
	}
	for _, tt := range []struct {
		t  Type
		rc ReasonCode
		ok bool
	}{
		{PUBACK, NoMatchingSubscribers, true}, {PUBREL, NoMatchingSubscribers, false},
		{DISCONNECT, DisconnectWithWill, true}, {CONNACK, DisconnectWithWill, false},
		{AUTH, ReAuthenticate, true}, {SUBACK, GrantedQoS2, true}, {UNSUBACK, GrantedQoS1, false},
		{PUBLISH, Success, false}, {Type(200), Success, false},
	} {
		if ValidReasonCode(tt.t, tt.rc) != tt.ok {
			t.Errorf("ValidReasonCode(%s, %s) = %v", tt.t, tt.rc, !tt.ok)
		}
	}
	err := &Error{Code: PacketTooLarge, Msg: "packet of 10 bytes exceeds 5"}
	if err.Error() != "Packet too large: packet of 10 bytes exceeds 5" {
		t.Fatalf("Error() = %q", err.Error())
	}
	for rc := V3Accepted; rc <= V3RefusedNotAuthorized; rc++ {
		if V3ConnackText(rc) == "" || V3ConnackText(rc)[:10] != "Connection" {
			t.Errorf("V3ConnackText(%d) = %q", rc, V3ConnackText(rc))
		}
	}
}

// A Connect reused for a second, smaller CONNECT keeps nothing of the first.
func TestConnectDecodeIntoReused(t *testing.T) {
	full := samples(V5)[0].(*Connect)
	small := &Connect{ProtocolName: "MQTT", Version: V311, KeepAlive: 30, ClientID: "c"}
	var reused Connect
	for _, p := range []*Connect{full, small} {
		b, err := p.AppendTo(nil, p.Version)
		if err != nil {
			t.Fatal(err)
		}
		h, body := splitPacket(t, b)
		if err := reused.DecodeInto(h, body, 0); err != nil {
			t.Fatalf("decode %+v: %v", p, err)
		}
	}
	if !reused.Properties.Empty() || !reused.WillProperties.Empty() {
		t.Fatalf("properties left over: %+v / %+v", reused.Properties, reused.WillProperties)
	}
	got := reused
	got.Properties, got.WillProperties = Properties{}, Properties{}
	assertEqual(t, &got, small)
}

func splitPacket(t *testing.T, b []byte) (byte, []byte) {
	t.Helper()
	n, l, err := DecodeVarInt(b[1:])
	if err != nil {
		t.Fatal(err)
	}
	return b[0], b[1+l : 1+l+int(n)]
}
