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
