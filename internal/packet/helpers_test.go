package packet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// h decodes a hex string with spaces and quoted ASCII runs: `10 0D 'MQTT' 04`.
func h(t testing.TB, s string) []byte {
	t.Helper()
	var out []byte
	for len(s) > 0 {
		s = strings.TrimLeft(s, " \n\t")
		if s == "" {
			break
		}
		if s[0] == '\'' {
			end := strings.IndexByte(s[1:], '\'')
			out = append(out, s[1:end+1]...)
			s = s[end+2:]
			continue
		}
		b, err := hex.DecodeString(s[:2])
		if err != nil {
			t.Fatalf("bad hex %q: %v", s, err)
		}
		out = append(out, b...)
		s = s[2:]
	}
	return out
}

// fullProps returns properties with every property allowed in kind set to a distinctive
// value (Will Properties for kind 0).
func fullProps(kind Type) Properties {
	var p Properties
	for id := PropID(1); id < 64; id++ {
		if !PropAllowed(id, kind) {
			continue
		}
		switch id {
		case PropSubscriptionIdentifier:
			p.SubscriptionIDs = []uint32{MaxVarInt}
			if kind == PUBLISH {
				p.SubscriptionIDs = append(p.SubscriptionIDs, 1, 300)
			}
			continue
		case PropUserProperty:
			p.User = []UserProperty{{Key: []byte("k"), Value: []byte("v")}, {Key: []byte("k"), Value: []byte("ü2")}}
			continue
		}
		p.Set(id)
		switch id {
		case PropPayloadFormatIndicator:
			p.PayloadFormat = 1
		case PropMessageExpiryInterval:
			p.MessageExpiry = 0x01020304
		case PropContentType:
			p.ContentType = []byte("text/plain")
		case PropResponseTopic:
			p.ResponseTopic = []byte("reply/to")
		case PropCorrelationData:
			p.CorrelationData = []byte{0, 1, 2, 0xFF}
		case PropSessionExpiryInterval:
			p.SessionExpiry = 0xFFFFFFFF
		case PropAssignedClientIdentifier:
			p.AssignedClientID = []byte("auto-1")
		case PropServerKeepAlive:
			p.ServerKeepAlive = 30
		case PropAuthenticationMethod:
			p.AuthMethod = []byte("SCRAM-SHA-1")
		case PropAuthenticationData:
			p.AuthData = []byte{9, 8, 7}
		case PropRequestProblemInformation:
			p.RequestProblemInfo = 1
		case PropWillDelayInterval:
			p.WillDelay = 60
		case PropRequestResponseInformation:
			p.RequestResponseInfo = 1
		case PropResponseInformation:
			p.ResponseInfo = []byte("resp")
		case PropServerReference:
			p.ServerReference = []byte("other:1883")
		case PropReasonString:
			p.ReasonString = []byte("because")
		case PropReceiveMaximum:
			p.ReceiveMaximum = 65535
		case PropTopicAliasMaximum:
			p.TopicAliasMaximum = 10
		case PropTopicAlias:
			p.TopicAlias = 3
		case PropMaximumQoS:
			p.MaximumQoS = 1
		case PropRetainAvailable:
			p.RetainAvailable = 1
		case PropMaximumPacketSize:
			p.MaximumPacketSize = 1 << 20
		case PropWildcardSubscriptionAvailable:
			p.WildcardSubAvailable = 1
		case PropSubscriptionIdentifierAvailable:
			p.SubIDAvailable = 0
		case PropSharedSubscriptionAvailable:
			p.SharedSubAvailable = 1
		}
	}
	return p
}

func encode(t testing.TB, p Packet, v Version) []byte {
	t.Helper()
	b, err := Append(nil, p, v)
	if err != nil {
		t.Fatalf("encode %s v%s: %v", p.Type(), v, err)
	}
	n, err := EncodedLen(p, v)
	if err != nil || n != len(b) {
		t.Fatalf("EncodedLen %s v%s = %d, %v; encoded %d bytes", p.Type(), v, n, err, len(b))
	}
	return b
}

// decodeAll decodes one whole packet held in b through ReadPacket and checks nothing is
// left over.
func decodeAll(b []byte, v Version) (Packet, error) {
	r := bufioReader(b)
	p, _, err := ReadPacket(r, v, 0, nil)
	if err != nil {
		return nil, err
	}
	if r.Buffered() != 0 {
		return nil, errors.New("bytes left after the packet")
	}
	return p, nil
}

func assertCode(t testing.TB, err error, want ReasonCode) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want *Error with code %s", err, want)
	}
	if e.Code != want {
		t.Fatalf("error code = 0x%02X %s (%s), want 0x%02X %s", byte(e.Code), e.Code, e.Msg, byte(want), want)
	}
}

func assertEqual(t testing.TB, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mismatch\n got: %+v\nwant: %+v", got, want)
	}
}

func assertBytes(t testing.TB, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("bytes mismatch\n got: % X\nwant: % X", got, want)
	}
}
